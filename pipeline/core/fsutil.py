"""Durable file operations: what is written is on disk before anything depends on it."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import itertools
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.core import guard


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_fd(fd: int) -> str:
    """The SHA-256 of an open file, read from its start (the offset is left at the end)."""
    digest = hashlib.sha256()
    os.lseek(fd, 0, os.SEEK_SET)
    for chunk in iter(lambda: os.read(fd, 1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write ``path`` atomically: a reader sees the old file or the whole new one. ``mode``
    (e.g. 0o600 for a file of secrets) is set before a byte is written."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as f:
        if mode is not None:
            os.fchmod(f.fileno(), mode)
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    fsync_dir(path.parent)


def copy_file(src: Path, dst: Path, *, sync_dir: bool = True) -> None:
    """Copy byte for byte, atomically and durably (``sync_dir=False`` leaves the folder's
    fsync to a caller that copies many files into it)."""
    tmp = dst.with_name(f".{dst.name}.tmp")
    with src.open("rb") as fin, tmp.open("wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.flush()
        os.fsync(fout.fileno())
    shutil.copystat(src, tmp)
    tmp.replace(dst)
    if sync_dir:
        fsync_dir(dst.parent)


def _names(folder: Path, name: str) -> Iterator[Path]:
    """``folder/name``, then ``name (2)``, ``name (3)``…"""
    yield folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in itertools.count(2):
        yield folder / f"{stem} ({n}){suffix}"


def unique_path(folder: Path, name: str) -> Path:
    """The first of ``folder/name``, ``name (2)``… that is free: nothing is overwritten
    (a dangling link counts as taken)."""
    return next(p for p in _names(folder, name) if not os.path.lexists(p))


def copy_unique(src: Path, folder: Path, name: str) -> Path:
    """Copy ``src`` into ``folder`` as ``name`` (or ``name (2)``… if taken), unless an
    identical copy is already there: doing it again after a crash makes no second copy."""
    digest = sha256_file(src)
    for candidate in _names(folder, name):
        if not candidate.exists():
            copy_file(src, candidate)
            return candidate
        if sha256_file(candidate) == digest:
            return candidate
    raise AssertionError("unreachable")


def take(src: Path, dst: Path) -> None:
    """Move the regular file ``src`` (from a shared folder) to ``dst``, never a link or what it
    points to (see :mod:`pipeline.core.guard`): raises ``guard.NotAFile`` and leaves ``src`` where
    it is. A rename, checked afterwards to have moved the very file that was verified; or,
    across file systems (an inbox on a network share), a durable copy of the verified
    descriptor, then the removal of ``src`` if it still is that file."""
    with guard.open_regular(src) as (fd, verified):
        try:
            os.rename(src, dst)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _copy_fd(fd, dst)
            with contextlib.suppress(FileNotFoundError):
                if guard.same_file(os.lstat(src), verified):
                    src.unlink()
        else:
            moved = os.lstat(dst)
            if not guard.same_file(moved, verified):  # swapped between the check and the move
                os.rename(dst, src)  # put the impostor back, to be refused as what it is
                raise guard.NotAFile(src, guard.kind_of(moved) or guard.HARDLINK)
    fsync_dir(dst.parent)


def _copy_fd(fd: int, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.tmp")
    os.lseek(fd, 0, os.SEEK_SET)
    with os.fdopen(os.dup(fd), "rb") as fin, tmp.open("wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.flush()
        os.fsync(fout.fileno())
    tmp.replace(dst)


def _read_umask() -> int:
    """The process's umask, read without changing it where Linux tells it (/proc, since
    4.7); else set and restored at once (at import, before any thread is started)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


UMASK = _read_umask()


def file_mode() -> int:
    """The mode a new file gets from ``open()``: 0666 less the umask (0644 under umask 022),
    so that readers on a share (the webmaster, an auditor) can open what is written."""
    return 0o666 & ~UMASK


def temp_beside(target: Path) -> Path:
    """A new empty file beside ``target`` (hidden, ``.part``) with the mode ``open()`` would
    give it: ``mkstemp``'s 0600 would end up on the target when it is renamed over it."""
    return temp_in(target.parent, f".{target.name}.")


def temp_in(folder: Path, prefix: str) -> Path:
    """A new empty file in ``folder`` named ``prefix``, random letters, ``.part``, with the
    mode ``open()`` would give it (see :func:`temp_beside`). A short ``prefix`` keeps the
    name short whatever the file will be called: a target's name may take all the 255 bytes
    a file system allows, and ``.<name>.<random>.part`` would then be too long."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".part")
    try:
        os.fchmod(fd, file_mode())
    finally:
        os.close(fd)
    return Path(name)


def write_via(target: Path, write: Callable[[Path], None]) -> None:
    """Have ``write`` make a temporary file beside ``target``, then rename it into place: for
    libraries that save to a path themselves (openpyxl, python-docx). A reader sees the old
    file or the whole new one; a failed ``write`` leaves nothing behind. The file gets the
    mode the umask gives new files (file_mode)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = temp_beside(target)
    try:
        write(partial)
        with partial.open("rb") as f:
            os.fchmod(f.fileno(), file_mode())  # a library that made the file anew
            os.fsync(f.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


_held: dict[tuple[int, int, int], int] = {}  # folders held locked, per thread: how deep


@contextmanager
def locked_folder(folder: Path) -> Iterator[None]:
    """One writer of ``folder`` at a time, across processes (a lock on the folder itself:
    nothing is added to it): one update of a bundle, one report run per report folder.
    Re-entrant within a process, so that a caller can hold it over a whole
    read-decide-write (``publish.record``) while the helpers it calls take it too (per
    thread: another thread waits, as another process does)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    st = os.fstat(fd)
    key = (threading.get_ident(), st.st_dev, st.st_ino)
    try:
        if key not in _held:
            fcntl.flock(fd, fcntl.LOCK_EX)
        _held[key] = _held.get(key, 0) + 1
        try:
            yield
        finally:
            _held[key] -= 1
            if not _held[key]:
                del _held[key]
    finally:
        os.close(fd)  # releases the lock (when this descriptor took it)
