"""The desk's accounts: who may sign in, in which role, as which person of pipeline.toml.

Passwords are kept only as Argon2id hashes (argon2-cffi's defaults, RFC 9106's second
profile), rehashed at the next sign-in when those parameters change; there is no default
password anywhere: every account is given one when it is made. A sign-in that fails says
the same, in the same time, whether the login exists or not (an unknown login is checked
against a dummy hash), so the desk tells nobody which logins there are. Failures are
counted (:mod:`pipeline.desk.throttle`) and a guesser is refused for a growing back-off.

The ``generation`` of an account goes up with every password change and when it is
disabled; a session made under an older one is over (:mod:`pipeline.desk.sessions`).
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pipeline.core import thai
from pipeline.core.errors import PipelineError
from pipeline.desk import rules, totp
from pipeline.desk.rules import MAX_PASSWORD, AccountError
from pipeline.desk.store import Tables, stamp
from pipeline.desk.throttle import Throttle
from pipeline.settings.config import Config


class Role(StrEnum):
    DIRECTOR = "director"
    WEBMASTER = "webmaster"
    STAFF = "staff"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Account:
    login: str
    role: Role
    person: str  # "" or the name of a person of pipeline.toml, as spelled there
    disabled: bool
    has_totp: bool
    generation: int  # bumped by every password change and by disabling
    email: str = ""


class SignInRefused(PipelineError):
    """A sign-in that did not succeed. ``retry_at``: attempts are refused until then (the
    page says when); ``needs_code``: the password was right and the account's one-time code
    is needed (or was wrong); ``needs_totp_setup``: the account must have a second factor
    and has none yet. The message never says whether the login or the password was wrong,
    nor that an account is disabled; ``disabled`` (the right password of a disabled
    account) is for the audit log only, never for the page."""

    def __init__(self, message: str, *, retry_at: datetime | None = None,
                 needs_code: bool = False, needs_totp_setup: bool = False,
                 disabled: bool = False) -> None:
        super().__init__(message)
        self.retry_at = retry_at
        self.needs_code = needs_code
        self.needs_totp_setup = needs_totp_setup
        self.disabled = disabled


WRONG = ("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง ตรวจสอบทั้งสองอย่างแล้วลองใหม่ / wrong login or "
         "password: check both and try again")


def _wait_message(retry_at: datetime) -> str:
    local = retry_at.astimezone(thai.BANGKOK)
    return (f"ลงชื่อเข้าใช้ผิดหลายครั้งเกินไป ลองใหม่ได้เวลา {local:%H:%M:%S} น. / too many "
            f"failed sign-ins: try again at {local:%H:%M:%S} (Thailand time)")


class Accounts(Tables):
    """The accounts of one workspace. ``config`` says who the people are (an account's
    person is checked against it) and whether signing accounts need a second factor;
    ``hasher`` is argon2-cffi's, with its defaults unless given."""

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS accounts (
        login TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        person TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL DEFAULT '',
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        generation INTEGER NOT NULL DEFAULT 1,
        totp_secret TEXT NOT NULL DEFAULT '',
        totp_pending TEXT NOT NULL DEFAULT '',
        totp_last_step INTEGER NOT NULL DEFAULT 0,
        created TEXT NOT NULL,
        changed TEXT NOT NULL
    );
    """
    _COLUMNS = "login, role, person, disabled, totp_secret != '', generation, email"

    def __init__(self, journal_file: Path, config: Config,
                 hasher: PasswordHasher | None = None) -> None:
        super().__init__(journal_file)
        self._config = config
        self._hasher = hasher or PasswordHasher()
        self._throttle = Throttle(journal_file)

    @cached_property
    def _dummy(self) -> str:
        """What an unknown login's password is checked against: a hash made with the same
        parameters as every account's, so that the check takes as long (made when first
        needed: the commands that change accounts need none)."""
        return self._hasher.hash(secrets.token_urlsafe(16))

    def disconnect(self) -> None:
        self._throttle.disconnect()
        super().disconnect()

    # -- reading ------------------------------------------------------------------------------
    def get(self, login: str) -> Account | None:
        rows = self.rows(f"SELECT {self._COLUMNS} FROM accounts WHERE login = ?",
                         (rules.login_name(login),))
        return _account(rows[0]) if rows else None

    def all(self) -> list[Account]:
        return [_account(r) for r in self.rows(f"SELECT {self._COLUMNS} FROM accounts "
                                               "ORDER BY login")]

    def can_sign(self, account: Account) -> bool:
        """Whether the account's sign-in leads to a signature: the director's role, or the
        publisher's account when the publisher signs with a key."""
        return account.role == Role.DIRECTOR or (
            self._config.publisher_key is not None and bool(account.person)
            and thai.name_key(account.person) == thai.name_key(self._config.publisher.name))

    # -- changing -----------------------------------------------------------------------------
    def add(self, login: str, role: Role | str, password: str, person: str = "",
            email: str = "", *, now: datetime | None = None) -> Account:
        name = rules.new_login(login)
        try:
            kind = Role(role)
        except ValueError:
            raise AccountError(f"ไม่มีบทบาท {role!r} / no role {role!r}: one of "
                               f"{', '.join(Role)}") from None
        who = rules.person(self._config, person, director=kind == Role.DIRECTOR)
        address = rules.email(email)
        hashed = self._hasher.hash(rules.password(password, name))
        when = stamp(now or datetime.now(thai.BANGKOK))
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM accounts WHERE login = ?", (name,)).fetchone():
                raise AccountError(f"มีบัญชี {name} อยู่แล้ว / there is already an account "
                                   f"{name}: choose another login")
            db.execute("INSERT INTO accounts (login, role, person, email, password_hash, "
                       "created, changed) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (name, kind, who, address, hashed, when, when))
        account = self.get(name)
        assert account is not None
        return account

    def set_password(self, login: str, password: str) -> None:
        """A new password; the account's sessions end."""
        name = self._existing(login).login
        hashed = self._hasher.hash(rules.password(password, name))
        self._update(name, "password_hash = ?, generation = generation + 1", (hashed,))

    def disable(self, login: str) -> None:
        """The account can sign in no more; its sessions end."""
        self._update(self._existing(login).login,
                     "disabled = 1, generation = generation + 1", ())

    def start_totp(self, login: str) -> str:
        """A new second-factor secret for the account, not in use until confirmed with a
        code from the app (:meth:`confirm_totp`): its provisioning URI."""
        name = self._existing(login).login
        secret = totp.new_secret()
        self._update(name, "totp_pending = ?", (secret,))
        return totp.provisioning_uri(secret, name)

    def confirm_totp(self, login: str, code: str, now: datetime | None = None) -> None:
        """The secret started by :meth:`start_totp` replaces the account's, once ``code``
        shows that the app makes its codes."""
        name = self._existing(login).login
        with self.transaction() as db:
            pending = db.execute("SELECT totp_pending FROM accounts WHERE login = ?",
                                 (name,)).fetchone()[0]
            if not pending:
                raise AccountError(f"ยังไม่ได้เริ่มตั้งรหัสยืนยันของ {name} / no second factor "
                                   f"is being set up for {name}: run `pipeline user totp "
                                   f"{name}` first")
            step = totp.matching_step(pending, code, now or datetime.now(thai.BANGKOK))
            if step is None:
                raise AccountError("รหัสจากแอปไม่ถูกต้อง ลองรหัสใหม่ / that is not the app's "
                                   "current code: try the next one")
            db.execute("UPDATE accounts SET totp_secret = ?, totp_pending = '', "
                       "totp_last_step = ?, changed = ? WHERE login = ?",
                       (pending, step, stamp(datetime.now(thai.BANGKOK)), name))

    # -- signing in ---------------------------------------------------------------------------
    def sign_in(self, login: str, password: str, code: str | None, address: str,
                now: datetime) -> Account:
        """The account, when it is not disabled, ``password`` (and ``code``, when the
        account has a second factor) are right and no back-off is on; else SignInRefused.
        A disabled account is refused as a wrong password is, with the same words, after
        the same hash check and counted the same: the desk neither confirms a departed
        user's old password nor that the login exists."""
        name = rules.login_name(login)[:64]
        rows = self.rows("SELECT password_hash, disabled, totp_secret, totp_last_step "
                         "FROM accounts WHERE login = ?", (name,))
        stored, disabled, secret, last_step = rows[0] if rows else (self._dummy, 0, "", 0)
        counted = self._throttle.login_key(name, known=bool(rows))
        retry_at = self._throttle.retry_at(counted, address, now)
        if retry_at:
            raise SignInRefused(_wait_message(retry_at), retry_at=retry_at)
        right = self._verify(stored, password) and bool(rows)
        if not right or disabled:
            self._refuse(counted, address, now, WRONG, disabled=right and bool(disabled))
        if self._hasher.check_needs_rehash(stored):
            self._update(name, "password_hash = ?",
                         (self._hasher.hash(unicodedata.normalize("NFC", password)),))
        account = self.get(name)
        assert account is not None
        if secret:
            self._second_factor(account, secret, last_step, code, address, now)
        elif self._config.web.require_2fa_for_signing and self.can_sign(account):
            raise SignInRefused(
                f"บัญชีที่ลงนามได้ต้องใช้รหัสยืนยันจากแอป แต่ {name} ยังไม่ได้ตั้ง: ให้ผู้ดูแลระบบสั่ง "
                f"pipeline user totp {name} / an account that signs needs a one-time code "
                f"([web] require_2fa_for_signing) and {name} has none yet: the administrator "
                f"runs `pipeline user totp {name}` with you", needs_totp_setup=True)
        self._throttle.succeeded(counted)
        return account

    def _second_factor(self, account: Account, secret: str, last_step: int,
                       code: str | None, address: str, now: datetime) -> None:
        if not code or not code.strip():
            raise SignInRefused("ใส่รหัส 6 หลักจากแอปยืนยันตัวตน / enter the 6-digit code from "
                                "your authenticator app", needs_code=True)
        step = totp.matching_step(secret, code, now, after=last_step)
        if step is None:
            self._refuse(account.login, address, now,
                         "รหัสจากแอปไม่ถูกต้องหรือใช้ไปแล้ว รอรหัสใหม่แล้วลองอีกครั้ง / the code is "
                         "wrong or already used: wait for the next one and try again",
                         needs_code=True)
        with self.transaction() as db:  # a code is good once
            db.execute("UPDATE accounts SET totp_last_step = ? WHERE login = ?",
                       (step, account.login))

    def _refuse(self, name: str, address: str, now: datetime, message: str,
                needs_code: bool = False, *, disabled: bool = False) -> NoReturn:
        retry_at = self._throttle.failed(name, address, now)
        raise SignInRefused(_wait_message(retry_at) if retry_at else message,
                            retry_at=retry_at, needs_code=needs_code and not retry_at,
                            disabled=disabled)

    def _verify(self, stored: str, password: str) -> bool:
        candidate = unicodedata.normalize("NFC", password[:MAX_PASSWORD + 1])
        try:
            return self._hasher.verify(stored, candidate)
        except (VerificationError, InvalidHashError):
            return False

    # -- helpers ------------------------------------------------------------------------------
    def _existing(self, login: str) -> Account:
        account = self.get(login)
        if account is None:
            name = rules.login_name(login)
            raise AccountError(f"ไม่มีบัญชี {name!r} / no account {name!r} (see `pipeline user "
                               f"list`)")
        return account

    def _update(self, login: str, assignments: str, params: tuple[object, ...]) -> None:
        with self.transaction() as db:
            db.execute(f"UPDATE accounts SET {assignments}, changed = ? WHERE login = ?",
                       (*params, stamp(datetime.now(thai.BANGKOK)), login))



def _account(row: tuple) -> Account:
    login, role, person, disabled, has_totp, generation, email = row
    return Account(login, Role(role), person, bool(disabled), bool(has_totp), generation, email)
