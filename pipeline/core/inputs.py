"""What a person types, checked before anything is written: request IDs, web addresses,
reasons, years and months, output folders.

Every check is a pure function that returns the value as it is to be used, or raises
InputError with one line in Thai, then English. The command line turns it into its one line
(exit 1, or 2 for a value that cannot be what the option means, such as a month that is not
a month); the web desk will call the same functions.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from pipeline.core import guard
from pipeline.core.errors import PipelineError
from pipeline.core.folders import Workspace

BE_OFFSET = 543  # thai.BE_OFFSET: the Buddhist Era is 543 years ahead
# Years a report may name: Buddhist Era 2500..2700, or the same years of the Gregorian era.
# A year from 2400 on is read as Buddhist Era (as everywhere in the pipeline), below as
# Gregorian; anything else is a typo (9569 for 2569, 0000).
BE_YEARS = range(2500, 2701)
CE_YEARS = range(BE_YEARS.start - BE_OFFSET, BE_YEARS.stop - BE_OFFSET)
MAX_REASON = 2000  # characters: a reason is read on a form, a spreadsheet cell and a report
MAX_URL = 2000  # characters: what browsers and servers handle everywhere
MAX_ID = 64
# Unicode's bidirectional overrides and isolates reorder what a terminal or a page shows.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class InputError(PipelineError):
    """The value typed cannot be used; ``str()`` is one line, Thai then English.
    ``usage``: the value is not even of the kind asked (exit 2 on the command line)."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage
        self.exit_code = 2 if usage else 1


def shown(value: str, limit: int = 80) -> str:
    """``value`` quoted for a message, control characters escaped, cut at ``limit``."""
    text = value if len(value) <= limit else value[:limit] + "…"
    return ascii_escaped(repr(text))


def ascii_escaped(text: str) -> str:
    """``text`` with control characters (C0, DEL, C1) and bidirectional overrides written
    as ``\\xNN`` / ``\\uNNNN``: what goes on one line of a terminal stays one line."""
    return "".join(_escape(c) if _is_control(c) else c for c in text)


def _escape(c: str) -> str:
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def _is_control(c: str) -> bool:
    return unicodedata.category(c) == "Cc" or c in _BIDI


# -- request IDs -------------------------------------------------------------------------------
ANY_ID = re.compile(r"[A-Za-z]+-\d{4}-\d{5,}")  # a request ID of any office, in free text


def id_pattern(prefix: str) -> re.Pattern[str]:
    """``REQ-2569-00042``: the office's prefix, a Buddhist-Era year, a number of 5 digits or
    more (journal.claim)."""
    return re.compile(rf"{re.escape(prefix)}-\d{{4}}-\d{{5,}}")


def request_id(value: str, prefix: str = "REQ") -> str:
    """A request ID of this office, as typed (surrounding spaces dropped); a path, or
    anything else, is refused."""
    text = value.strip()
    if len(text) > MAX_ID or not id_pattern(prefix).fullmatch(text):
        raise InputError(f"รหัสคำขอไม่ถูกต้อง (ต้องเป็นแบบ {prefix}-2569-00001) / not a request "
                         f"ID: {shown(value)} (IDs look like {prefix}-2569-00001)")
    return text


def waiting_id(value: str, waiting: Iterable[str], prefix: str = "REQ") -> str:
    """A request ID as the director may type it: whole, or only its number as ``pending``
    shows it (``7`` for REQ-2569-00007), which must name exactly one waiting request."""
    text = value.strip()
    if not text.isdigit() or len(text) > MAX_ID:
        return request_id(value, prefix)
    matches = [i for i in waiting if i.rsplit("-", 1)[-1].lstrip("0") == text.lstrip("0")]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise InputError(f"ไม่มีคำขอเลขที่ {text} รออนุมัติ (ดูด้วย pipeline pending) / no waiting "
                         f"request numbered {text} (see `pipeline pending`)")
    raise InputError(f"เลขที่ {text} ตรงกับหลายคำขอ ให้พิมพ์เลขที่เต็ม: {', '.join(matches)} / "
                     f"{text} names several waiting requests; type one in full: "
                     f"{', '.join(matches)}")


def bundle_folder(value: str, ws: Workspace, prefix: str = "REQ") -> Path:
    """The folder of the archived request ``value`` in this workspace's outbox: the ID is
    checked by pattern first, then the folder must be a real folder there (not a link) with
    a manifest."""
    rid = request_id(value, prefix)
    folder = ws.outbox / rid
    try:
        kind = guard.entry_kind(folder)
    except FileNotFoundError:
        kind = None
        present = False
    else:
        present = True
    if not present or kind is not guard.FOLDER or not (folder / "manifest.json").is_file():
        raise InputError(f"ไม่พบคำขอที่อนุมัติแล้ว {rid} ใน {ws.outbox} / no approved request "
                         f"{rid} in {ws.outbox} (only archived, signed requests can be "
                         f"published)")
    return folder


# -- web addresses -----------------------------------------------------------------------------
def url(value: str) -> str:
    """An absolute http(s) address, as recorded (surrounding spaces dropped): no control
    characters (a terminal escape would be echoed to every later reader), no spaces, no
    more than MAX_URL characters."""
    text = value.strip()
    if any(_is_control(c) for c in text):
        raise InputError(f"ที่อยู่เว็บมีอักขระควบคุม / the address holds control characters: "
                         f"{shown(value)}")
    if len(text) > MAX_URL:
        raise InputError(f"ที่อยู่เว็บยาวเกิน {MAX_URL} อักขระ / the address is longer than "
                         f"{MAX_URL} characters")
    if not re.fullmatch(r"https?://[^\s/?#]+\S*", text, re.IGNORECASE):
        raise InputError(f"ไม่ใช่ที่อยู่เว็บ (ต้องขึ้นต้นด้วย http:// หรือ https://) / "
                         f"{shown(value)} is not a web address: give the full http:// or "
                         f"https:// address of the published page")
    return text


# -- reasons -----------------------------------------------------------------------------------
def reason(value: str) -> str:
    """Why the director does not approve: not empty, at most MAX_REASON characters, no
    control characters but line breaks and tabs."""
    text = value.strip()
    if not text:
        raise InputError("ต้องระบุเหตุผล / the reason is empty: say why, the provider reads it")
    if len(text) > MAX_REASON:
        raise InputError(f"เหตุผลยาวเกิน {MAX_REASON:,} อักขระ ({len(text):,}) / the reason is "
                         f"longer than {MAX_REASON:,} characters ({len(text):,}): shorten it")
    if any(_is_control(c) and c not in "\n\t" for c in text.replace("\r\n", "\n")):
        raise InputError("เหตุผลมีอักขระควบคุม / the reason holds control characters")
    return text.replace("\r\n", "\n")


# -- years and months --------------------------------------------------------------------------
def _digits(text: str) -> str:
    return text.translate(str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")).strip()


def year(value: int | str) -> int:
    """The Gregorian year a typed year names: Buddhist Era (2500..2700) or Gregorian
    (1957..2157); any other (9569, 0000) is refused."""
    text = _digits(str(value))
    if not re.fullmatch(r"\d{4}", text):
        raise InputError(f"ไม่ใช่ปี (เขียนเช่น 2569) / {shown(str(value))} is not a year: "
                         f"write it as 2569 (Buddhist Era) or 2026", usage=True)
    number = int(text)
    if number in BE_YEARS:
        return number - BE_OFFSET
    if number in CE_YEARS:
        return number
    raise InputError(f"ปี {text} อยู่นอกช่วง พ.ศ. {BE_YEARS.start}-{BE_YEARS.stop - 1} "
                     f"(ค.ศ. {CE_YEARS.start}-{CE_YEARS.stop - 1}) / year {text} is out of "
                     f"range: {BE_YEARS.start} to {BE_YEARS.stop - 1} (Buddhist Era) or "
                     f"{CE_YEARS.start} to {CE_YEARS.stop - 1}", usage=True)


def month(value: str) -> tuple[int, int]:
    """(Gregorian year, month) of ``2569-11`` (Buddhist Era), ``2026-11`` or ``11/2569``."""
    text = _digits(value)
    if m := re.fullmatch(r"(\d{4})[-/.](\d{1,2})", text):
        typed_year, number = m[1], int(m[2])
    elif m := re.fullmatch(r"(\d{1,2})[-/.](\d{4})", text):
        typed_year, number = m[2], int(m[1])
    else:
        raise InputError(f"ไม่ใช่เดือน (เขียนเช่น 2569-11) / {shown(value)} is not a month: "
                         f"write it as 2569-11 (Buddhist Era) or 2026-11", usage=True)
    if not 1 <= number <= 12:
        raise InputError(f"ไม่มีเดือนที่ {number} / {shown(value)}: there is no month {number}",
                         usage=True)
    return year(typed_year), number


# -- output folders ----------------------------------------------------------------------------
def output_folder(target: Path, ws: Workspace, *, allowed: tuple[Path, ...] = ()) -> Path:
    """A folder a command may write into: outside the workspace's outbox, inbox, pending and
    state folders (whose every file is evidence or work in progress; ``allowed`` names
    subfolders that are fine, such as outbox/reports), a folder (or to be made under one),
    and writable, tried by making a file there. Returns it resolved."""
    resolved = target.expanduser().resolve()
    fine = [a.resolve() for a in allowed]
    if not any(resolved.is_relative_to(a) for a in fine):
        for own in (ws.outbox, ws.inbox, ws.pending, ws.state):
            own_resolved = own.resolve()
            if resolved.is_relative_to(own_resolved):
                raise InputError(
                    f"ห้ามเขียนลงในโฟลเดอร์ {own.name} ของพื้นที่ทำงาน: เลือกโฟลเดอร์อื่น / "
                    f"{ascii_escaped(str(target))} is inside the workspace's {own.name}/ "
                    f"folder, which only the pipeline writes: choose another folder")
    existing = resolved
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{ascii_escaped(str(existing))} ไม่ใช่โฟลเดอร์ / "
                         f"{ascii_escaped(str(existing))} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".pipeline-probe-")
    except OSError as exc:
        raise InputError(f"เขียนลงในโฟลเดอร์ {ascii_escaped(str(existing))} ไม่ได้ / cannot "
                         f"write in {ascii_escaped(str(existing))}: "
                         f"{exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)
    return resolved
