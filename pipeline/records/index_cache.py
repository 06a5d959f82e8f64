"""Each bundle's index row kept between gatherings, so that gathering the archive reads
only the manifests that changed since the last one (index.py's ``gather``: the index, the
reports, the desk, ``pipeline index``).

Which bundles changed is told by the file system, never guessed: a kept row is used only
while the bundle's folder and its ``manifest.json`` have the very same device, inode, size,
modification and change times as when the row was read (the key is taken *before* the
manifest is read, so a change during the read shows next time). Every writer of a bundle
replaces its manifest by a rename (a new inode) and stages files in the folder (the folder's
times change), so an update always shows; a manifest edited in place whose modification
time is then set back still shows, because no one but the clock sets the change time
(st_ctime). A row whose files are younger than :data:`RACY_SECONDS` is not kept: within a
file system's time granularity a second change could keep every time (git's "racy"
entries), so it is read again next time. A bundle that cannot be read is never kept.

The rows live in ``.pipeline/index-rows.sqlite``, shared by every process (the watcher, the
desk, the commands), not in a process's memory: 1.5 KB a bundle, so a long-lived process
would grow with the archive. Each gathering reads the file and writes only the entries that
changed, in one SQLite transaction (a reader sees the old entries or all the new ones). The
file is derived data: one that cannot be read, or written by another version of the code
that makes rows (``version``: a hash of its source), is dropped and made again; one that
cannot be written only costs the next process its reading.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CACHE_NAME = "index-rows.sqlite"
RACY_SECONDS = 2.0  # files younger than this are read again next time (coarse file times)
MANIFEST = "manifest.json"

Key = str  # the numbers of :func:`key`, joined


def key(folder: str) -> Key | None:
    """What must not change for a kept row to be used: the folder's and its manifest's
    identity, size and times (None when ``folder`` holds no manifest: not a bundle)."""
    try:
        d = os.stat(folder)
        m = os.stat(os.path.join(folder, MANIFEST))
    except OSError:
        return None
    if not stat.S_ISDIR(d.st_mode) or not stat.S_ISREG(m.st_mode):
        return None
    return (f"{d.st_dev},{d.st_ino},{d.st_mtime_ns},{d.st_ctime_ns},"
            f"{m.st_dev},{m.st_ino},{m.st_size},{m.st_mtime_ns},{m.st_ctime_ns}")


def _settled(k: Key, before_ns: int) -> bool:
    """Every time in the key older than the racy margin before the scan began."""
    n = k.split(",")
    return max(int(n[i]) for i in (2, 3, 7, 8)) < before_ns - int(RACY_SECONDS * 1e9)


def rows(outbox: Path, state: Path, version: str, read: Callable[[Path], Any | None],
         encode: Callable[[Any], str], decode: Callable[[str], Any]) -> list[Any]:
    """``read(folder)`` of every bundle in ``outbox`` (those it returns None for left out),
    from the kept rows where the files are unchanged, in no particular order."""
    path = state / CACHE_NAME
    kept = _load(path, version)
    began = time.time_ns()
    out: list[Any] = []
    seen: set[str] = set()
    changed: dict[str, tuple[Key, str]] = {}
    dropped: set[str] = set()  # kept entries no longer true, not replaced
    with os.scandir(outbox) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            k = key(entry.path)
            if k is None:
                continue
            seen.add(name)
            held = kept.get(name)
            if held is not None and held[0] == k:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    out.append(decode(held[1]))
                    continue
            value = read(Path(entry.path))
            if value is not None:
                out.append(value)
            if value is not None and _settled(k, began):
                changed[name] = (k, encode(value))
            elif held is not None:
                dropped.add(name)
    dropped |= kept.keys() - seen
    if (changed or dropped) and state.is_dir():
        _store(path, version, changed, dropped)
    return out


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=10)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # a cache: losing the last write costs a read
    db.execute("CREATE TABLE IF NOT EXISTS meta (version TEXT NOT NULL)")
    db.execute("CREATE TABLE IF NOT EXISTS rows "
               "(name TEXT PRIMARY KEY, key TEXT NOT NULL, value TEXT NOT NULL)")
    return db


def _load(path: Path, version: str) -> dict[str, tuple[Key, str]]:
    if not path.is_file():
        return {}
    try:
        db = _connect(path)
        try:
            found = db.execute("SELECT version FROM meta").fetchone()
            if found is None or found[0] != version:
                return {}  # another version's rows: replaced at the first write
            return {name: (k, value)
                    for name, k, value in db.execute("SELECT name, key, value FROM rows")}
        finally:
            db.close()
    except sqlite3.OperationalError as exc:  # busy or locked by another process: not damage
        log.info("index: %s not read now (%s); every manifest is read", path.name, exc)
        return {}
    except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
        log.warning("index: %s cannot be read (%s); every manifest is read again",
                    path.name, exc)
        with contextlib.suppress(OSError):
            path.unlink()
        return {}


def _store(path: Path, version: str, changed: dict[str, tuple[Key, str]],
           dropped: set[str]) -> None:
    try:
        db = _connect(path)
        try:
            with db:  # one transaction: all of it or none
                found = db.execute("SELECT version FROM meta").fetchone()
                if found is None or found[0] != version:
                    db.execute("DELETE FROM rows")
                    db.execute("DELETE FROM meta")
                    db.execute("INSERT INTO meta (version) VALUES (?)", (version,))
                db.executemany("DELETE FROM rows WHERE name = ?", ((n,) for n in dropped))
                db.executemany("INSERT OR REPLACE INTO rows (name, key, value) VALUES (?, ?, ?)",
                               ((n, k, v) for n, (k, v) in changed.items()))
        finally:
            db.close()
    except sqlite3.Error as exc:  # the rows stay in memory; the next process reads again
        log.info("index: %s not written (%s)", path.name, exc)
        if not isinstance(exc, sqlite3.OperationalError):  # not a database: made again
            with contextlib.suppress(OSError):
                path.unlink()
