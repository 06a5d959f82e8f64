"""Proof of publication: does the address the webmaster recorded still serve what was
approved? For each published bundle, its current address (the newest publication: a later
one corrects an earlier) is fetched, bounded (external/web.py), and judged:

- a PDF: its SHA-256 against the signed PDF's (the manifest's), or an earlier revision of
  it (the form uploaded before the webmaster signed its third block, or before a timestamp
  refresh: the events keep those hashes);
- a page: whether its text (charset from the header, else the page's ``<meta>``, else
  UTF-8; compared after the Thai normalisation, NFC first) carries the request's title or ID;
- no answer, an HTTP error, something else, or more than the size limit.

The verdict is appended to the bundle's events (``publication-checked``), under its lock,
all or nothing, when it differs from the last one recorded for that address or that one is
``RECORD_AGAIN`` days old: a daily check adds a line when something changes (and once a
month), not 365 a year. The index, the reports and the desk read the newest.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from html.parser import HTMLParser
from pathlib import Path

from pipeline.bundles import bundle, publish
from pipeline.core import fsutil, thai
from pipeline.external import web
from pipeline.settings.config import Config

log = logging.getLogger(__name__)

EVENT_CHECKED = "publication-checked"
RECORD_AGAIN = timedelta(days=30)
DAILY_MARKER = "published-checked.txt"
PARALLEL = 4  # fetches at once: a dead site costs its timeout, not the whole run's
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
_CHARSET_ALIASES = {"windows-874": "cp874", "x-windows-874": "cp874", "tis620": "tis-620"}


class Verdict(StrEnum):
    SAME_PDF = "same-pdf"
    EARLIER_PDF = "earlier-revision"
    OTHER_PDF = "different-pdf"
    PAGE_OK = "page-names-request"
    PAGE_WITHOUT = "page-without-request"
    GONE = "http-error"
    NO_ANSWER = "no-answer"
    TOO_LARGE = "too-large"
    OTHER = "other-content"

    @property
    def ok(self) -> bool:
        return self in (Verdict.SAME_PDF, Verdict.EARLIER_PDF, Verdict.PAGE_OK)

    @property
    def thai(self) -> str:
        return _THAI[self]


_THAI = {
    Verdict.SAME_PDF: "ตรงกับไฟล์ที่ลงนาม",
    Verdict.EARLIER_PDF: "ตรงกับไฟล์ที่ลงนามฉบับก่อนหน้า",
    Verdict.OTHER_PDF: "PDF ไม่ตรงกับไฟล์ที่ลงนาม",
    Verdict.PAGE_OK: "หน้าเว็บมีหัวข้อหรือเลขที่คำขอ",
    Verdict.PAGE_WITHOUT: "หน้าเว็บไม่มีหัวข้อหรือเลขที่คำขอ",
    Verdict.GONE: "ไม่พบหน้า",
    Verdict.NO_ANSWER: "เข้าเว็บไม่ได้",
    Verdict.TOO_LARGE: "ไฟล์ใหญ่เกินกำหนด",
    Verdict.OTHER: "ไม่ใช่ PDF หรือหน้าเว็บ",
}


@dataclass(frozen=True)
class Check:
    """One address checked: the verdict and, in English, what was seen."""

    request_id: str
    url: str
    verdict: Verdict
    detail: str
    checked_at: datetime
    http_status: int | None = None
    sha256: str = ""  # of the PDF served, when one was
    recorded: bool = False  # appended to the bundle's events now

    def to_event(self) -> dict:
        return {"type": EVENT_CHECKED, "url": self.url, "checked_at": self.checked_at.isoformat(),
                "verdict": str(self.verdict), "answered": self.http_status is not None,
                "http_status": self.http_status, "sha256": self.sha256 or None,
                "detail": self.detail}

    def line(self) -> str:
        """One line, Thai first, for the terminal and notices."""
        return (f"{self.request_id}  {self.verdict.thai} / {self.detail}  {self.url}")


def last_check(manifest: dict, url: str) -> tuple[Verdict, datetime] | None:
    """The newest recorded verdict for ``url`` and when it was made, or None."""
    for event in reversed(manifest.get("events", ())):
        if event.get("type") == EVENT_CHECKED and event.get("url") == url:
            try:
                return Verdict(event["verdict"]), datetime.fromisoformat(event["checked_at"])
            except (KeyError, ValueError, TypeError):
                return None
    return None


# -- judging what was fetched ------------------------------------------------------------------
class _Text(HTMLParser):
    """The text a browser shows of a page (and its title), without scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(body: bytes, charset: str = "") -> str:
    """A page's text: decoded by the header's charset, else its ``<meta>`` one, else its
    byte-order mark, else UTF-8 (an undecodable byte becomes U+FFFD, never an error)."""
    name = charset or ""
    if not name and (m := _META_CHARSET.search(body[:4096])):
        name = m[1].decode("ascii").lower()
    if not name and body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        name = "utf-16"
    name = _CHARSET_ALIASES.get(name, name) or "utf-8"
    try:
        text = body.decode(name, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    parser = _Text()
    parser.feed(text.removeprefix("\ufeff"))
    parser.close()
    return " ".join(parser.parts)


def _revisions(manifest: dict) -> set[str]:
    """SHA-256 of the earlier revisions of the signed PDF the events name."""
    return {e["previous_pdf"]["sha256"] for e in manifest.get("events", ())
            if isinstance(e.get("previous_pdf"), dict) and "sha256" in e["previous_pdf"]}


def judge(fetched: web.Fetched, manifest: dict, limits: web.Limits) -> tuple[Verdict, str, str]:
    """(verdict, what was seen in English, SHA-256 of a PDF served)."""
    if not fetched.answered:
        return Verdict.NO_ANSWER, fetched.error or "no answer", ""
    assert fetched.status is not None
    if fetched.status >= 400:
        return Verdict.GONE, f"HTTP {fetched.status}", ""
    if fetched.status >= 300:
        return Verdict.NO_ANSWER, f"HTTP {fetched.status} without a usable Location", ""
    if fetched.truncated:
        return (Verdict.TOO_LARGE, f"more than {limits.max_bytes / web.MB:g} MB, not read "
                                   f"further", "")
    body = fetched.body
    if fetched.content_type == "application/pdf" or body.startswith(b"%PDF-"):
        digest = hashlib.sha256(body).hexdigest()
        signed = manifest["files"][manifest["signed_pdf"]]["sha256"]
        if digest == signed:
            return Verdict.SAME_PDF, "the signed PDF, byte for byte", digest
        if digest in _revisions(manifest):
            return Verdict.EARLIER_PDF, "an earlier revision of the signed PDF", digest
        return Verdict.OTHER_PDF, f"a PDF whose SHA-256 is {digest[:16]}…, not the signed " \
                                  f"PDF's", digest
    if fetched.content_type in ("text/html", "application/xhtml+xml", "text/plain") or (
            not fetched.content_type and body.lstrip()[:15].lower().startswith(
                (b"<!doctype html", b"<html"))):
        text = thai.compact_key(page_text(body, fetched.charset))
        request = manifest.get("request", {})
        wanted = [thai.compact_key(manifest.get("request_id", "")),
                  thai.compact_key(request.get("title", ""))]
        if any(w and w in text for w in wanted):
            return Verdict.PAGE_OK, "a page naming the request (title or ID)", ""
        return Verdict.PAGE_WITHOUT, "a page that names neither the title nor the ID", ""
    return Verdict.OTHER, f"neither a PDF nor a page ({fetched.content_type or 'no type'})", ""


# -- checking the archive ----------------------------------------------------------------------
def check_bundle(folder: Path, limits: web.Limits = web.DEFAULT, *,
                 now: datetime | None = None) -> Check | None:
    """Check the bundle's current address and record the verdict (see the module's
    docstring); None when it is not published."""
    bundle.recover(folder)
    manifest = bundle.read_manifest(folder)
    current = publish.publications(manifest)
    if not current:
        return None
    url = current[-1].url
    fetched = web.fetch(url, limits)
    verdict, detail, digest = judge(fetched, manifest, limits)
    check = Check(folder.name, url, verdict, detail, now or datetime.now(UTC),
                  fetched.status if fetched.answered else None, digest)
    with fsutil.locked_folder(folder):  # read-decide-write, as publish.record does
        bundle.recover(folder)
        manifest = bundle.read_manifest(folder)
        latest = publish.publications(manifest)
        if not latest or latest[-1].url != url:  # corrected meanwhile: judged next time
            return check
        previous = last_check(manifest, url)
        if previous is None or previous[0] != verdict or (
                check.checked_at - previous[1] >= RECORD_AGAIN):
            bundle.append_event(folder, check.to_event())
            return replace(check, recorded=True)
    return check


def check_published(config: Config, since: date | None = None,
                    limits: web.Limits = web.DEFAULT, *, now: datetime | None = None
                    ) -> list[Check]:
    """Check every published bundle (published on or after ``since``), a few at a time;
    a bundle that cannot be read is logged and left for ``pipeline verify``."""
    folders = []
    for folder in bundle.listed(config.workspace.outbox):
        try:
            found = publish.publications(bundle.read_manifest(folder))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("check-published: %s cannot be read (%s)", folder.name, exc)
            continue
        if found and (since is None or found[-1].published_on >= since):
            folders.append(folder)

    def one(folder: Path) -> Check | None:
        try:
            return check_bundle(folder, limits, now=now)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("check-published: %s: %s", folder.name, exc)
            return None

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return [c for c in pool.map(one, folders) if c is not None]


def check_daily(config: Config, *, now: datetime | None = None,
                limits: web.Limits = web.DEFAULT) -> list[Check] | None:
    """For the watcher: check once per Bangkok day (``.pipeline/published-checked.txt``
    holds the day of the last run); None when today's check is done."""
    now = now or datetime.now(UTC)
    today = now.astimezone(thai.BANGKOK).date().isoformat()
    marker = config.workspace.state / DAILY_MARKER
    try:
        if marker.read_text(encoding="ascii").strip() == today:
            return None
    except (OSError, UnicodeDecodeError):
        pass
    checks = check_published(config, limits=limits, now=now)
    fsutil.write_bytes(marker, today.encode("ascii"))
    return checks


def problems(checks: Iterable[Check]) -> list[Check]:
    """The addresses gone or changed: what the webmaster is told."""
    return [c for c in checks if not c.verdict.ok]
