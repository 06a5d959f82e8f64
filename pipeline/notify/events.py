"""A notice: what happened, to whom it goes, and its words (Thai, with one English line),
as plain text and HTML, with files attached by path and links into the web desk.

A notice is built once, when the event happens, and queued as one row per channel (mail,
webhook, LINE) in the journal (:func:`rows`); the senders read it back from the row's payload.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pipeline.records.notices import NoticeRow
from pipeline.settings.config import Config
from pipeline.settings.notify import NotifySettings


class Kind(StrEnum):
    """Every event a notice is sent for (the webhook's ``event``)."""

    AWAITING_DIRECTOR = "awaiting-director"  # to the director, at once
    DIRECTOR_DIGEST = "director-digest"  # to the director, once a day at director_digest
    DIRECTOR_REMINDER = "director-reminder"  # a request waited more than director_days
    APPROVED = "approved"  # to the provider, the signed PDF attached (or linked)
    REJECTED_BY_DIRECTOR = "rejected-by-director"  # to the provider, with the reason
    REFUSED_AT_INTAKE = "refused-at-intake"  # to the provider: the report and corrected.xlsx
    WEBMASTER_DIGEST = "webmaster-digest"  # approved items waiting for upload, once a day
    WEBMASTER_REMINDER = "webmaster-reminder"  # an approved item waited more than webmaster_days
    HELD = "held"  # to the admin: a request held longer than held_hours
    TIMESTAMPS_DUE = "timestamps-due"  # to the admin: timestamps to refresh within the window
    DISK_FULL = "disk-full"  # to the admin: the workspace's disk fuller than disk_percent
    OBLIGATION_DUE = "obligation-due"  # to the responsible group: due within remind_days
    OBLIGATION_OVERDUE = "obligation-overdue"  # to the responsible group and the director
    PUBLICATION_CHANGED = "publication-changed"  # to the webmaster: a published page gone
    TEST = "test"  # `pipeline notify test ADDRESS`


EVENT_KINDS: tuple[str, ...] = tuple(Kind)
CHANNELS = ("mail", "webhook", "line")


@dataclass(frozen=True)
class Notice:
    kind: Kind
    key: str  # unique per notice: a second one with the same key is never queued
    subject: str  # Thai first, then English
    lines: tuple[str, ...]  # the body, Thai lines then one English line
    recipients: tuple[str, ...] = ()  # e-mail addresses (empty: webhook and LINE only)
    request_id: str = ""
    status: str = ""  # the request's state, for the webhook
    attachments: tuple[Path, ...] = ()
    links: tuple[str, ...] = ()  # into the web desk (when [web] base_url is set)

    @property
    def text(self) -> str:
        return "\n".join([*self.lines, *self.links, ""])

    @property
    def html(self) -> str:
        """The same words as HTML, every text escaped (titles and reasons come from sheets)."""
        body = "".join(f"<p>{html.escape(line)}</p>" if line else "<br>" for line in self.lines)
        links = "".join(f'<p><a href="{html.escape(u, quote=True)}">{html.escape(u)}</a></p>'
                        for u in self.links)
        return (f'<!DOCTYPE html><html lang="th"><head><meta charset="utf-8">'
                f"<title>{html.escape(self.subject)}</title></head>"
                f'<body style="font-family: sans-serif">{body}{links}</body></html>')

    @property
    def message_id(self) -> str:
        """The same for every send of this notice: a resend after a crash is recognisable."""
        return hashlib.sha256(f"pipeline-notice:{self.key}".encode()).hexdigest()[:32]

    def to_payload(self) -> str:
        return json.dumps({"kind": self.kind, "key": self.key, "subject": self.subject,
                           "lines": self.lines, "recipients": self.recipients,
                           "request_id": self.request_id, "status": self.status,
                           "attachments": [str(p) for p in self.attachments],
                           "links": self.links}, ensure_ascii=False)

    @classmethod
    def from_payload(cls, payload: str) -> Notice:
        d = json.loads(payload)
        return cls(Kind(d["kind"]), d["key"], d["subject"], tuple(d["lines"]),
                   tuple(d["recipients"]), d["request_id"], d["status"],
                   tuple(Path(p) for p in d["attachments"]), tuple(d["links"]))


def channels(settings: NotifySettings, notice: Notice) -> tuple[str, ...]:
    """Where this notice goes: e-mail when it has recipients and SMTP is set up, the webhook
    and LINE whenever they are."""
    return tuple(c for c, on in (("mail", settings.mail and bool(notice.recipients)),
                                 ("webhook", settings.webhook is not None),
                                 ("line", settings.line is not None)) if on)


def rows(config: Config, notice: Notice) -> tuple[NoticeRow, ...]:
    """The journal rows that queue ``notice``: one per channel it goes to."""
    payload = notice.to_payload()
    return tuple(NoticeRow(notice.key, channel, notice.kind, notice.request_id, payload)
                 for channel in channels(config.notify, notice))


def desk_link(config: Config, path: str) -> tuple[str, ...]:
    """A link into the desk (``path`` such as ``/requests/REQ-2569-00001``) when ``[web]
    base_url`` gives its address."""
    base = config.web.base_url.rstrip("/")
    return (f"{base}{path}",) if base else ()
