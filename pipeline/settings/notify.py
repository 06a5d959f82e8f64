"""``[notify]`` in pipeline.toml: how notices reach people (SMTP, a webhook, LINE), when
digests and reminders go, and the people's e-mail addresses (the ``email`` key of
``[director]``, ``[[sheet.acting_directors]]``, ``[[providers]]`` and ``[publisher]``).

Secrets are never in pipeline.toml: only the names of the environment variables that hold
them (``smtp_password_env``, ``secret_env``, ``channel_token_env``). Every error names the key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from pathlib import Path

SECURITIES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
LINE_API = "https://api.line.me"
# one address, nothing a header could be forged with (no spaces, commas, control characters)
_ADDRESS = re.compile(r"[^\s@,;<>\"()\[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")

Fail = Callable[[str], Exception]  # the config reader's: an error naming the file


@dataclass(frozen=True)
class Webhook:
    url: str
    secret_env: str  # the environment variable holding the HMAC key

    def secret(self) -> bytes:
        return _from_env(self.secret_env, "notify.webhook.secret_env").encode()


@dataclass(frozen=True)
class Line:
    channel_token_env: str  # the environment variable holding the channel access token
    to: str  # a group, room or user ID
    api_base: str = LINE_API

    def token(self) -> str:
        return _from_env(self.channel_token_env, "notify.line.channel_token_env")


class MissingSecret(Exception):
    """An environment variable named in [notify] is not set (the notice waits and is retried)."""


def _from_env(name: str, key: str) -> str:
    try:
        return os.environ[name]
    except KeyError:
        raise MissingSecret(f"environment variable {name} is not set ({key})") from None


@dataclass(frozen=True)
class NotifySettings:
    smtp_host: str = ""  # empty: no e-mail (the webhook and LINE may still carry notices)
    smtp_port: int = 587
    security: str = "starttls"
    smtp_user: str = ""
    smtp_password_env: str = ""
    sender: str = ""  # the From: address (key ``from``)
    smtp_timeout: float = 10.0  # seconds per SMTP exchange: a slow server never blocks intake
    smtp_cafile: Path | None = None  # PEM: the CA of an office mail server (else the system's)
    director_digest: time | None = None  # None: each request at once; else one digest a day
    webmaster_digest: time = time(8, 30)
    director_days: int = 3  # a reminder when a request has waited longer for the director
    webmaster_days: int = 7  # a reminder when an approved item has waited longer for upload
    held_hours: float = 1.0  # the admin is told of a request held longer
    timestamps_days: int = 60  # the admin is told of bundles whose timestamps expire sooner
    disk_percent: int = 90  # the admin is told when the workspace's disk is fuller
    max_attachment_mb: int = 10  # a larger signed PDF is linked, not attached
    admin: tuple[str, ...] = ()  # the administrators' addresses
    webhook: Webhook | None = None
    line: Line | None = None
    director_email: str = ""
    publisher_email: str = ""
    # (name as configured, address) of the acting directors and the providers
    acting_emails: tuple[tuple[str, str], ...] = ()
    provider_emails: tuple[tuple[str, str], ...] = ()

    @property
    def mail(self) -> bool:
        return bool(self.smtp_host and self.sender)

    def password(self) -> str | None:
        if not self.smtp_password_env:
            return None
        return _from_env(self.smtp_password_env, "notify.smtp_password_env")

    def secrets(self) -> tuple[str, ...]:
        """Every secret value now in the environment, to be scrubbed from any error text."""
        names = (self.smtp_password_env, self.webhook.secret_env if self.webhook else "",
                 self.line.channel_token_env if self.line else "")
        return tuple(v for n in names if n and (v := os.environ.get(n, "")))


def read(data: dict, fail: Fail, root: Path) -> NotifySettings:
    """``[notify]``, ``[notify.webhook]``, ``[notify.line]`` and the
    people's ``email`` keys of a parsed pipeline.toml (paths relative to ``root``)."""
    return _Reader(data, fail, root).settings()


class _Reader:
    def __init__(self, data: dict, fail: Fail, root: Path) -> None:
        self.data = data
        self.fail = fail
        self.root = root

    def table(self, table: dict, name: str, where: str) -> dict:
        value = table.get(name, {})
        if not isinstance(value, dict):
            raise self.fail(f"[{where}] must be a table")
        return value

    def text(self, table: dict, key: str, where: str, default: str = "") -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or any(ord(c) < 32 for c in value):
            raise self.fail(f"{where}.{key} must be text on one line")
        return value.strip()

    def whole(self, table: dict, key: str, where: str, default: int, low: int = 0,
              high: int = 1 << 30) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(f"{where}.{key} must be a whole number from {low} to {high}")
        return value

    def address(self, table: dict, key: str, where: str) -> str:
        value = self.text(table, key, where)
        if value and not _ADDRESS.fullmatch(value):
            raise self.fail(f"{where}.{key} must be one e-mail address, e.g. "
                            f"\"name@example.go.th\", not {value!r}")
        return value

    def clock(self, table: dict, key: str, where: str, default: str) -> time | None:
        value = self.text(table, key, where, default)
        if not value:
            return None
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value)
        if not match:
            raise self.fail(f"{where}.{key} must be a time of day \"HH:MM\" (or \"\" for at "
                            f"once), not {value!r}")
        return time(int(match[1]), int(match[2]))

    def url(self, table: dict, key: str, where: str, default: str = "") -> str:
        value = self.text(table, key, where, default)
        if value and not re.match(r"https?://[^/\s@]+", value):
            raise self.fail(f"{where}.{key} must be an http:// or https:// address "
                            f"without a user name or password in it")
        return value.rstrip("/")

    def people(self, key: str) -> tuple[tuple[str, str], ...]:
        found = []
        entries = (self.table(self.data, "sheet", "sheet").get("acting_directors", [])
                   if key == "acting" else self.data.get("providers", []))
        where = "sheet.acting_directors" if key == "acting" else "providers"
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict) and (email := self.address(entry, "email",
                                                                  f"{where}[{i}]")):
                found.append((str(entry.get("name", "")), email))
        return tuple(found)

    def settings(self) -> NotifySettings:
        notify = self.table(self.data, "notify", "notify")
        w = "notify"
        security = self.text(notify, "security", w, "starttls")
        if security not in SECURITIES:
            raise self.fail(f"notify.security must be one of {', '.join(SECURITIES)}, "
                            f"not {security!r}")
        admin = notify.get("admin", [])
        if isinstance(admin, str):
            admin = [admin]
        if not isinstance(admin, list):
            raise self.fail("notify.admin must be an address or a list of addresses")
        d = NotifySettings()
        settings = NotifySettings(
            smtp_host=self.text(notify, "smtp_host", w),
            smtp_port=self.whole(notify, "smtp_port", w, DEFAULT_PORTS[security], 1, 65535),
            security=security,
            smtp_user=self.text(notify, "smtp_user", w),
            smtp_password_env=self.text(notify, "smtp_password_env", w),
            sender=self.address(notify, "from", w),
            smtp_timeout=float(self.whole(notify, "smtp_timeout", w, 10, 1, 300)),
            smtp_cafile=(self.root / cafile if (cafile := self.text(notify, "smtp_cafile", w))
                         else None),
            director_digest=self.clock(notify, "director_digest", w, ""),
            webmaster_digest=(self.clock(notify, "webmaster_digest", w, "08:30")
                              or d.webmaster_digest),
            director_days=self.whole(notify, "director_reminder_days", w, 3, 1, 365),
            webmaster_days=self.whole(notify, "webmaster_reminder_days", w, 7, 1, 365),
            held_hours=float(self.whole(notify, "held_hours", w, 1, 1, 24 * 30)),
            timestamps_days=self.whole(notify, "timestamps_due_days", w, 60, 1, 3650),
            disk_percent=self.whole(notify, "disk_percent", w, 90, 1, 100),
            max_attachment_mb=self.whole(notify, "max_attachment_mb", w, 10, 0, 100),
            admin=tuple(self.address({"admin": a}, "admin", w) for a in admin),
            webhook=self.webhook(self.table(notify, "webhook", "notify.webhook")),
            line=self.line(self.table(notify, "line", "notify.line")),
            director_email=self.address(self.table(self.data, "director", "director"),
                                        "email", "director"),
            publisher_email=self.address(self.table(self.data, "publisher", "publisher"),
                                         "email", "publisher"),
            acting_emails=self.people("acting"),
            provider_emails=self.people("providers"),
        )
        if settings.smtp_host and not settings.sender:
            raise self.fail("notify.from is required with notify.smtp_host: the address "
                            "notices are sent from")
        if settings.smtp_user and not settings.smtp_password_env:
            raise self.fail("notify.smtp_user needs notify.smtp_password_env: the environment "
                            "variable holding the password (never the password itself)")
        return settings

    def webhook(self, table: dict) -> Webhook | None:
        if not table:
            return None
        where = "notify.webhook"
        url = self.url(table, "url", where)
        secret = self.text(table, "secret_env", where)
        if not url or not secret:
            raise self.fail(f"{where} needs url and secret_env (the environment variable "
                            f"holding the HMAC key)")
        return Webhook(url, secret)

    def line(self, table: dict) -> Line | None:
        if not table:
            return None
        where = "notify.line"
        token, to = self.text(table, "channel_token_env", where), self.text(table, "to", where)
        if not token or not to:
            raise self.fail(f"{where} needs channel_token_env (the environment variable "
                            f"holding the channel access token) and to (a group or user ID)")
        return Line(token, to, self.url(table, "api_base", where, LINE_API))
