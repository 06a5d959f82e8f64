"""The pipeline's SQLite connections, with the settings every writer of the journal's file
must share: WAL (the watcher, its workers, the commands and the desk read and write at
once), ``synchronous=FULL`` (a committed row survives a power cut), a 30 s wait for another
writer, and transactions that take the write lock at their start.

The journal (records/journal.py) and the desk's tables (desk/store.py) open the same file;
this is where both are meant to get their connection and their transactions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def connect(path: Path, *, shared_by_threads: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are :func:`immediate`'s);
    ``shared_by_threads``: the caller serialises its use across threads itself."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30, isolation_level=None,
                         check_same_thread=not shared_by_threads)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One writer's all-or-nothing change (BEGIN IMMEDIATE: a read-then-write, such as a
    counter, is not lost to another process doing the same at the same time)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
