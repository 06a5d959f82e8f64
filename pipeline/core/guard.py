"""What the pipeline takes from a shared folder is a regular file of its own, never a link.

Anyone who can write to the shared inbox can also put a symbolic link there. A service that
opened, hashed and then *moved* what the name points to (as ``Path.resolve()`` followed by a
rename does) would move ``/etc/passwd`` into ``inbox/rejected/`` (found in issue 15). So:

- an entry is classified with ``lstat`` (the entry itself, never its target) before anything
  else, so that a device or FIFO is never even opened;
- a file is then opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked again with ``fstat`` on
  the opened descriptor: what is read is what was checked, whatever is renamed meanwhile;
- a regular file with more than one hard link is refused too: its content is shared with a
  name elsewhere (which could change it after it was hashed, or which it would expose);
- what is moved is the entry (``rename`` never follows a link), and after a move the
  pipeline checks that the name now holds the very inode it verified.

Refused entries are moved as they are, the link itself, into ``inbox/rejected/``.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Kind:
    """What a directory entry is, in the words a clerk reads."""

    thai: str
    english: str


SYMLINK = Kind("ทางลัด (symbolic link)", "a symbolic link")
HARDLINK = Kind("ลิงก์ (hard link) ไปยังไฟล์อื่น", "a hard link to another file")
FOLDER = Kind("โฟลเดอร์", "a folder")
FIFO = Kind("ท่อส่งข้อมูล (FIFO)", "a FIFO (named pipe)")
SOCKET = Kind("ซ็อกเก็ต (socket)", "a socket")
DEVICE = Kind("อุปกรณ์ (device)", "a device")


class NotAFile(Exception):
    """The entry is not a regular file of its own; ``kind`` says what it is."""

    def __init__(self, path: Path, kind: Kind) -> None:
        super().__init__(f"{path.name} is {kind.english}, not a file")
        self.path = path
        self.kind = kind


def kind_of(st: os.stat_result) -> Kind | None:
    """None for a regular file with a single name; else what it is."""
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return HARDLINK if st.st_nlink > 1 else None
    if stat.S_ISLNK(mode):
        return SYMLINK
    if stat.S_ISDIR(mode):
        return FOLDER
    if stat.S_ISFIFO(mode):
        return FIFO
    if stat.S_ISSOCK(mode):
        return SOCKET
    return DEVICE


def entry_kind(path: Path) -> Kind | None:
    """What ``path`` itself is (links are not followed); raises FileNotFoundError."""
    return kind_of(os.lstat(path))


def is_hostile(path: Path) -> bool:
    """An entry to refuse: a link, FIFO, socket or device (not a plain folder, which the
    inbox may hold, e.g. ``rejected/``). False for what no longer exists."""
    try:
        kind = entry_kind(path)
    except FileNotFoundError:
        return False
    return kind is not None and kind is not FOLDER


@contextmanager
def open_regular(path: Path) -> Iterator[tuple[int, os.stat_result]]:
    """Open ``path`` for reading only if it is a regular file with one name, and yield the
    descriptor with its ``fstat``. Raises NotAFile (also when the entry turns into something
    else between the ``lstat`` and the ``open``: ``O_NOFOLLOW`` fails on a link, and the
    ``fstat`` of the descriptor is what is trusted)."""
    kind = entry_kind(path)
    if kind is not None:
        raise NotAFile(path, kind)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotAFile(path, SYMLINK) from None
        raise
    try:
        st = os.fstat(fd)
        kind = kind_of(st)
        if kind is not None:
            raise NotAFile(path, kind)
        yield fd, st
    finally:
        os.close(fd)


def same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class UnsafeFolder(Exception):
    """A folder the pipeline writes into is a link pointing outside the workspace."""


def real_folder(folder: Path) -> None:
    """Make ``folder`` if it is missing, and refuse it if it is a symbolic link: a folder of
    the shared inbox (``rejected/``, ``received/``) can be replaced by anyone with a link (to
    ``/etc``, say), and nothing may be written or moved there then."""
    if not folder.is_symlink():
        folder.mkdir(parents=True, exist_ok=True)
        return
    raise UnsafeFolder(
        f"{folder} เป็นทางลัด (symbolic link) ไม่ใช่โฟลเดอร์จริง: ลบทางลัดนี้ออก ระบบจะสร้าง"
        f"โฟลเดอร์ใหม่เอง / {folder} is a symbolic link, not a real folder: remove the "
        "link and the pipeline makes the folder anew")


def check_folder(folder: Path, root: Path) -> None:
    """Refuse a folder of the workspace that is a symbolic link leading outside ``root``
    (say ``inbox/rejected`` replaced, through the share, by a link to ``/etc``): the pipeline
    would write and move files there. A link inside the workspace, or a mount point, is
    fine. Missing folders are fine (they are made as real folders)."""
    for part in _own_parts(folder, root):
        if part.is_symlink():
            target = part.resolve()
            if not target.is_relative_to(root.resolve()):
                raise UnsafeFolder(
                    f"{part} เป็นทางลัดไปยัง {target} ซึ่งอยู่นอกพื้นที่ทำงาน: ให้เป็นโฟลเดอร์จริง "
                    f"(หรือเมานต์โฟลเดอร์แชร์ที่ตำแหน่งนี้โดยตรง) / {part} is a symbolic link to "
                    f"{target}, outside the workspace: make it a real folder (or mount the "
                    f"share at this place itself)")


def _own_parts(folder: Path, root: Path) -> Iterator[Path]:
    """``folder`` and its parents up to (not including) ``root``."""
    try:
        relative = folder.relative_to(root)
    except ValueError:
        yield folder
        return
    current = root
    for name in relative.parts:
        current = current / name
        yield current


class TooLarge(Exception):
    """A file is larger than what the reader takes; ``size`` is what it is (or more)."""

    def __init__(self, path: Path, size: int, limit: int) -> None:
        super().__init__(f"{path} is larger than {limit:,} bytes ({size:,})")
        self.path = path
        self.size = size
        self.limit = limit


def read_file(path: Path, limit: int, *, head: bytes = b"") -> bytes:
    """The content of ``path``, a regular file (followed if a link: an auditor names files
    where they are), read only if it holds at most ``limit`` bytes, and only past ``head``
    if it starts with those bytes (else ValueError, after reading ``len(head)`` bytes). A
    FIFO, device, socket or folder raises NotAFile before anything is read: ``/dev/zero``
    is never read until memory runs out. Memory: at most ``limit`` bytes, even if the file
    grows while it is read. OSError as ``open`` raises it."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        kind = kind_of(st)
        if kind is not None and kind is not HARDLINK:  # another name is fine for reading
            raise NotAFile(path, kind)
        start = os.read(fd, len(head)) if head else b""
        if start != head:
            raise ValueError(f"{path} does not start with {head!r}")
        if st.st_size > limit:
            raise TooLarge(path, st.st_size, limit)
        chunks, total = [start], len(start)
        while chunk := os.read(fd, min(1 << 20, limit + 1 - total) or 1):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise TooLarge(path, total, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)
