"""The desk's own connection to the journal's SQLite file, where its tables live.

The desk's tables (accounts, sessions, sign-in failures, the audit log) sit beside the
journal's requests so that one file holds the office's state and one backup takes it all;
they are made by the desk (``CREATE TABLE IF NOT EXISTS``), never by the journal, and read
through a connection of the desk's own with the journal's settings: WAL (the watcher, its
workers and the desk read and write at once), ``synchronous=FULL`` (a committed sign-in
failure or audit row survives a power cut), a 30 s wait for another writer.

One connection per object, shared by the web server's threads under a lock: SQLite
serialises writers anyway, and nothing slow (a password hash) is done while holding it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self


def connect(journal_file: Path) -> sqlite3.Connection:
    journal_file.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(journal_file, timeout=30, isolation_level=None,
                         check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


def stamp(moment: datetime) -> str:
    """A moment as stored: UTC, ISO 8601, so that text order is time order."""
    if moment.tzinfo is None:
        raise ValueError("the desk's times must carry their time zone")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


class Tables:
    """A set of the desk's tables: made on first use (``SCHEMA``), then read and written
    through :meth:`transaction` and :meth:`rows`."""

    SCHEMA = ""

    def __init__(self, journal_file: Path) -> None:
        self._lock = threading.Lock()
        self._db = connect(journal_file)
        self._db.executescript(self.SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One writer's all-or-nothing change (BEGIN IMMEDIATE: a read-then-write such as a
        failure count is not lost to another process counting at the same time)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def disconnect(self) -> None:
        """Close the connection (``close`` is a session's end in :mod:`sessions`)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.disconnect()
