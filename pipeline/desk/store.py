"""The desk's own connection to the journal's SQLite file, where its tables live.

The desk's tables (accounts, sessions, sign-in failures, the audit log) sit beside the
journal's requests so that one file holds the office's state and one backup takes it all;
they are made by the desk (``CREATE TABLE IF NOT EXISTS``), never by the journal, and read
through a connection of the desk's own with the journal's settings (core/database.py).

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

from pipeline.core import database


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
        self._db = database.connect(journal_file, shared_by_threads=True)
        self._db.executescript(self.SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One writer's all-or-nothing change (:func:`database.immediate`)."""
        with self._lock, database.immediate(self._db) as db:
            yield db

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
