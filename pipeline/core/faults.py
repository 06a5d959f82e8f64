"""A sick machine, named plainly: a full disk, a read-only folder, a folder the service may
not write. These are no fault of the request: it is held in its state, with the reason, and
tried again later (issue 15: a full disk used to kill the watcher, a read-only outbox made it
retry in a tight loop, 1,250 log lines a second).
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024
DEFAULT_MIN_FREE_MB = 200

DISK_FULL = "disk-full"
READ_ONLY = "read-only"
NO_PERMISSION = "no-permission"


@dataclass(frozen=True)
class Fault:
    """What is wrong with the machine (not with a request), in Thai and English. ``str``
    gives the journal's message: its stable part first, the figures in parentheses last, so
    that a repeat of the same fault is recognised (:func:`same_reason`)."""

    kind: str
    where: str
    thai: str
    english: str
    detail: str = ""

    def __str__(self) -> str:
        text = f"{self.thai} / {self.english}"
        return f"{text} ({self.detail})" if self.detail else text


def free_mb(path: Path) -> float:
    """Free space for an unprivileged user on the file system holding ``path``."""
    st = os.statvfs(_existing(path))
    return st.f_bavail * st.f_frsize / MB


def device_of(path: Path) -> int:
    """The file system holding ``path`` (or its nearest existing parent)."""
    return os.stat(_existing(path)).st_dev


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def disk_full(where: Path, free: float | None = None, floor: int | None = None) -> Fault:
    free = free_mb(where) if free is None else free
    detail = f"{free:.0f} MB free" + (f", at least {floor} MB needed" if floor else "")
    return Fault(DISK_FULL, str(where), f"ดิสก์เต็ม ที่ {where}", f"disk full on {where}",
                 detail)


def read_only(where: Path | str) -> Fault:
    return Fault(READ_ONLY, str(where), f"โฟลเดอร์อ่านได้อย่างเดียว: {where}",
                 f"read-only: {where}")


def no_permission(where: Path | str) -> Fault:
    return Fault(NO_PERMISSION, str(where), f"ไม่มีสิทธิ์เขียนโฟลเดอร์/ไฟล์: {where}",
                 f"no permission to write: {where}")


def low_space(folders: Iterable[Path], floor_mb: int) -> Fault | None:
    """The first folder whose file system has less than ``floor_mb`` free: a step is not
    started there, since one that fills the disk halfway leaves more to clean up."""
    if floor_mb <= 0:
        return None
    for folder in folders:
        try:
            free = free_mb(folder)
        except OSError:
            continue
        if free < floor_mb:
            return disk_full(folder, free, floor_mb)
    return None


def read_only_folder(folder: Path) -> Fault | None:
    """The folder's file system is mounted read-only, or the service may not write it."""
    try:
        if os.statvfs(_existing(folder)).f_flag & os.ST_RDONLY:
            return read_only(folder)
    except OSError:
        return None
    if folder.exists() and not os.access(folder, os.W_OK):
        return no_permission(folder)
    return None


_DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def classify(exc: BaseException, journal: Path | None = None) -> Fault | None:
    """The fault behind an exception, or None when it is something else (a bug, a bad
    file). SQLite reports its own write failures as ``OperationalError`` with a message:
    matched here, in one place."""
    if isinstance(exc, OSError) and exc.errno is not None:
        where = exc.filename or exc.filename2 or "?"
        if exc.errno in _DISK_FULL_ERRNOS:
            return disk_full(Path(where)) if where != "?" else Fault(
                DISK_FULL, "?", "ดิสก์เต็ม", "disk full")
        if exc.errno == errno.EROFS:
            return read_only(where)
        if exc.errno in (errno.EACCES, errno.EPERM):
            return no_permission(where)
        return None
    if isinstance(exc, sqlite3.OperationalError):
        message = str(exc).lower()
        where = journal or Path("journal")
        if "disk is full" in message or "database or disk is full" in message:
            return disk_full(where) if journal else Fault(DISK_FULL, str(where), "ดิสก์เต็ม",
                                                          "disk full (journal)")
        if "readonly" in message or "read-only" in message:
            return read_only(where)
        if "disk i/o error" in message or "unable to open" in message:
            return Fault(READ_ONLY, str(where), f"เขียนบันทึกงาน (journal) ไม่ได้: {where}",
                         f"the journal cannot be written: {where}", str(exc))
    return None


def same_reason(previous: str, current: str) -> bool:
    """Whether two hold messages name the same fault (figures aside)."""
    return previous.split(" (", 1)[0] == current.split(" (", 1)[0]
