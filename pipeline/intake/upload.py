"""A sheet and its attachments handed in through the web desk, put into the inbox as if the
clerk had dropped them there: the watcher takes them like any dropped file.

Names are reduced to a plain file name (no folder, no ``..``, no control character) and
checked by the rules the sheet's own attachment names obey
(:func:`pipeline.intake.validate.attachment_name_problem`); sizes by the inbox's limits.
Each file is written beside its place under a hidden name the watcher ignores, made durable,
then linked into place without replacing anything (``link(2)`` fails on an existing name):
the watcher never sees half a file, and nothing already in the inbox is overwritten. The
attachments go in before the sheet, so the sheet finds them when it is taken.
"""

from __future__ import annotations

import errno
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from pipeline.core import fsutil
from pipeline.core.errors import PipelineError
from pipeline.intake.validate import attachment_name_problem
from pipeline.settings.config import Config


class UploadRefused(PipelineError):
    """What was handed in cannot go into the inbox; the message says why, Thai then English."""


@dataclass(frozen=True)
class Handed:
    """One file as it came from the browser: the name it had there, and its bytes."""

    name: str
    data: bytes


def plain_name(name: str) -> str:
    """The file's own name, without any folder a browser (or an attacker) put before it,
    in Unicode NFC (a Mac sends Thai decomposed)."""
    base = PureWindowsPath(PurePosixPath(name.replace("\x00", "")).name).name
    return unicodedata.normalize("NFC", base).strip()


def _checked(handed: Handed, limit: int, *, sheet: bool) -> str:
    name = plain_name(handed.name)
    if sheet:
        if not name.lower().endswith(".xlsx") or name.startswith((".", "~$")) or any(
                unicodedata.category(c) == "Cc" for c in name):
            raise UploadRefused(f"แบบคำขอต้องเป็นไฟล์ .xlsx: {name!r} / the request sheet must "
                                f"be an .xlsx file: {name!r}")
    elif why := attachment_name_problem(name) if name else (
            "ไม่มีชื่อไฟล์", "has no file name"):
        raise UploadRefused(f"ไฟล์แนบ {name!r} {why[0]} / attachment {name!r} {why[1]}")
    if len(handed.data) > limit:
        raise UploadRefused(f"ไฟล์ {name} ใหญ่เกิน {limit >> 20} MB / {name} is larger than "
                            f"{limit >> 20} MB")
    return name


def _taken(name: str) -> UploadRefused:
    return UploadRefused(f"มีไฟล์ชื่อ {name} รออยู่ใน inbox แล้ว / a file named {name} is "
                         f"already waiting in the inbox")


def _link(partial: Path, candidate: Path) -> None:
    """``candidate`` made a second name of ``partial``; FileExistsError if it is taken."""
    try:
        os.link(partial, candidate)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV):
            raise
        # a share without hard links: the name was free a moment ago
        if os.path.lexists(candidate):
            raise FileExistsError(candidate) from None
        os.rename(partial, candidate)


def _place(folder: Path, name: str, data: bytes, *, rename_if_taken: bool) -> Path:
    partial = fsutil.temp_beside(folder / name)
    try:
        with partial.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        while True:
            candidate = fsutil.unique_path(folder, name) if rename_if_taken else folder / name
            try:
                _link(partial, candidate)
            except FileExistsError:
                if rename_if_taken:
                    continue  # taken in the meantime: the next free name
                raise _taken(name) from None
            fsutil.fsync_dir(folder)
            return candidate
    finally:
        partial.unlink(missing_ok=True)


def drop(config: Config, sheet: Handed, attachments: list[Handed]) -> Path:
    """Put ``attachments`` then ``sheet`` into the inbox; the sheet's path (its name may
    have gained `` (2)`` if one of that name waits already). Everything is checked before
    anything is written."""
    rules = config.sheet
    sheet_name = _checked(sheet, rules.max_sheet_bytes, sheet=True)
    names = [_checked(a, rules.max_attachment_bytes, sheet=False) for a in attachments]
    if len(set(names)) != len(names):
        raise UploadRefused("มีไฟล์แนบชื่อซ้ำกัน / two attachments have the same name")
    if sum(len(a.data) for a in attachments) > rules.max_request_bytes:
        raise UploadRefused(f"ไฟล์แนบรวมกันใหญ่เกิน {rules.max_request_bytes >> 20} MB / the "
                            f"attachments together exceed {rules.max_request_bytes >> 20} MB")
    inbox = config.workspace.inbox
    inbox.mkdir(parents=True, exist_ok=True)
    for name, handed in zip(names, attachments, strict=True):
        _place(inbox, name, handed.data, rename_if_taken=False)
    return _place(inbox, sheet_name, sheet.data, rename_if_taken=True)
