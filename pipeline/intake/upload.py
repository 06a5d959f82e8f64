"""A sheet and its attachments handed in through the web desk, put into the inbox as if the
clerk had dropped them there: the watcher takes them like any dropped file.

Names are reduced to a plain file name (no folder) and must obey the rules of the sheet's
own attachment names (:func:`pipeline.intake.validate.file_name_problem`: no control
character, nothing hidden, at most the 255 bytes a file system allows), the sheet's being an
``.xlsx``; sizes obey the inbox's limits. Everything is checked, every name found free,
before anything is written. Then each file is written under a short hidden name the watcher
ignores (``.upload-<random>.part``: short whatever the file's own name, which may take all
255 bytes) and made durable; only then are they linked into place, attachments first so the
sheet finds them when it is taken, without replacing anything (``link(2)`` fails on an
existing name). If one cannot be placed, those already placed are removed again (only when
they are still the files placed here), so that a refusal leaves the inbox as it was: no
orphan attachment for a retry to trip over or another clerk's sheet to take. The sheet's
link is the commit point; any failure before it is a refusal with one line, never a 500.
"""

from __future__ import annotations

import errno
import logging
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from pipeline.core import fsutil, guard
from pipeline.core.errors import PipelineError
from pipeline.intake.validate import attachment_name_problem, file_name_problem
from pipeline.settings.config import Config

log = logging.getLogger(__name__)
TEMP_PREFIX = ".upload-"  # hidden: the watcher never takes a file being written


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
    what = ("แบบคำขอ", "the request sheet") if sheet else ("ไฟล์แนบ", "attachment")
    why = ((file_name_problem if sheet else attachment_name_problem)(name) if name
           else ("ไม่มีชื่อไฟล์", "has no file name"))
    if why is None and sheet and not name.lower().endswith(".xlsx"):
        why = ("ต้องเป็นไฟล์ .xlsx", "must be an .xlsx file")
    if why:
        raise UploadRefused(f"{what[0]} {name!r} {why[0]} / {what[1]} {name!r} {why[1]}")
    if len(handed.data) > limit:
        raise UploadRefused(f"ไฟล์ {name} ใหญ่เกิน {limit >> 20} MB / {name} is larger than "
                            f"{limit >> 20} MB")
    return name


def _taken(name: str) -> UploadRefused:
    return UploadRefused(f"มีไฟล์ชื่อ {name} รออยู่ใน inbox แล้ว / a file named {name} is "
                         f"already waiting in the inbox")


def _failed(exc: OSError, name: str) -> UploadRefused:
    """What the clerk is told when the inbox's disk fails them (the log keeps the details:
    the page shows no path of the server's)."""
    if exc.errno == errno.ENAMETOOLONG:
        return UploadRefused(f"ชื่อไฟล์ {name} ยาวเกินไป: เปลี่ยนชื่อไฟล์ให้สั้นลงแล้วส่งใหม่ / the "
                             f"file name {name} is too long: rename the file to something "
                             f"shorter and hand it in again")
    log.warning("a sheet handed in at the desk could not go into the inbox: %s", exc)
    return UploadRefused("วางไฟล์ลงใน inbox ไม่ได้ ไม่มีไฟล์ใดถูกส่ง: แจ้งผู้ดูแลระบบ แล้วส่งใหม่ภายหลัง / "
                         "the inbox could not take the files and nothing was handed in: tell "
                         "the administrator and hand them in again later")


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


@dataclass(frozen=True)
class _Staged:
    """One file written under its temporary name, and what it is on disk (to know it later)."""

    name: str
    partial: Path
    written: os.stat_result


def _stage(folder: Path, name: str, data: bytes) -> _Staged:
    partial = fsutil.temp_in(folder, TEMP_PREFIX)
    try:
        with partial.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            return _Staged(name, partial, os.fstat(f.fileno()))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _place(folder: Path, staged: _Staged, *, rename_if_taken: bool) -> Path:
    """Link ``staged`` into ``folder`` under its name (or the next free one)."""
    while True:
        candidate = (fsutil.unique_path(folder, staged.name) if rename_if_taken
                     else folder / staged.name)
        try:
            _link(staged.partial, candidate)
        except FileExistsError:
            if rename_if_taken:
                continue  # taken in the meantime: the next free name
            raise _taken(staged.name) from None
        except OSError as exc:
            raise _failed(exc, candidate.name) from None
        return candidate


def _take_back(placed: list[tuple[Path, _Staged]]) -> None:
    """Remove what was placed, each only while it is still the file written here (the
    watcher may have taken it, another clerk may have put theirs in its place)."""
    for path, staged in placed:
        try:
            if guard.same_file(os.lstat(path), staged.written):
                path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.error("%s, handed in at the desk and refused, is still in the inbox: %s",
                      path.name, exc)


def _put(inbox: Path, staged: list[_Staged]) -> Path:
    """Link the attachments, then the sheet (``staged[-1]``); the sheet's path. Nothing is
    left placed if any of them cannot be."""
    placed: list[tuple[Path, _Staged]] = []
    try:
        for item in staged[:-1]:
            placed.append((_place(inbox, item, rename_if_taken=False), item))
        fsutil.fsync_dir(inbox)  # the attachments are there for good before the sheet is
        return _place(inbox, staged[-1], rename_if_taken=True)
    except BaseException:
        _take_back(placed)
        raise


def drop(config: Config, sheet: Handed, attachments: list[Handed]) -> Path:
    """Put ``attachments`` then ``sheet`` into the inbox; the sheet's path (its name may
    have gained `` (2)`` if one of that name waits already). Everything is checked before
    anything is written; UploadRefused, with nothing left in the inbox, if it cannot be
    done."""
    rules = config.sheet
    sheet_name = _checked(sheet, rules.max_sheet_bytes, sheet=True)
    names = [_checked(a, rules.max_attachment_bytes, sheet=False) for a in attachments]
    if len({n.casefold() for n in names}) != len(names):
        raise UploadRefused("มีไฟล์แนบชื่อซ้ำกัน / two attachments have the same name")
    if sum(len(a.data) for a in attachments) > rules.max_request_bytes:
        raise UploadRefused(f"ไฟล์แนบรวมกันใหญ่เกิน {rules.max_request_bytes >> 20} MB / the "
                            f"attachments together exceed {rules.max_request_bytes >> 20} MB")
    inbox = config.workspace.inbox
    staged: list[_Staged] = []
    try:
        inbox.mkdir(parents=True, exist_ok=True)
        for name in names:
            if os.path.lexists(inbox / name):
                raise _taken(name)
        for name, handed in zip([*names, sheet_name], [*attachments, sheet], strict=True):
            staged.append(_stage(inbox, name, handed.data))
        placed = _put(inbox, staged)
    except OSError as exc:
        raise _failed(exc, sheet_name) from None
    finally:
        for item in staged:
            item.partial.unlink(missing_ok=True)
    try:
        fsutil.fsync_dir(inbox)
    except OSError as exc:  # the sheet is in place and may be taken already: not undone
        log.warning("the inbox folder could not be synced after %s: %s", placed.name, exc)
    return placed
