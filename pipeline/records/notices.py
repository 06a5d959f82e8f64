"""The journal's queue of notices waiting to be sent (the ``notices`` table).

The journal knows nothing of mail: a row is opaque (a payload the sender reads), keyed by
``(key, channel)`` so that the same notice is never queued twice (a digest of a day, a
reminder of a period, a request's approval). A row is written in the same SQLite transaction
as the state change behind it (:meth:`Journal.advance`, :meth:`Journal.reject`), and stays
until it is sent: a failure records the attempt, the error and the next try; nothing is
ever dropped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

SCHEMA = """
CREATE TABLE IF NOT EXISTS notices (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    request_id TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    next_try TEXT NOT NULL,
    sent_at TEXT NOT NULL DEFAULT '',
    UNIQUE (key, channel)
);
CREATE INDEX IF NOT EXISTS notices_waiting ON notices(sent_at, next_try);
"""
_COLUMNS = ("id, key, channel, kind, request_id, payload, created_at, attempts, last_error, "
            "next_try, sent_at")


@dataclass(frozen=True)
class NoticeRow:
    """A notice to queue, one per channel (``mail``, ``webhook``, ``line``)."""

    key: str  # what makes it one notice: "approved:REQ-2569-00001", "director-digest:2026-12-08"
    channel: str
    kind: str
    request_id: str
    payload: str  # for the sender alone (JSON)


@dataclass(frozen=True)
class Queued:
    """A queued row as the sender and ``pipeline status`` see it."""

    id: int
    key: str
    channel: str
    kind: str
    request_id: str
    payload: str
    created_at: datetime
    attempts: int
    last_error: str
    next_try: datetime
    sent_at: datetime | None


def _stamp(when: datetime) -> str:
    """UTC, one format, so that the text compares as the time does."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def insert(db: sqlite3.Connection, rows: Iterable[NoticeRow], now: datetime) -> int:
    """Queue ``rows`` on ``db`` (inside the caller's transaction); one already queued under
    the same key and channel is left as it is. Returns how many were new."""
    added = 0
    for row in rows:
        cursor = db.execute(
            "INSERT OR IGNORE INTO notices (key, channel, kind, request_id, payload, "
            "created_at, next_try) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (row.key, row.channel, row.kind, row.request_id, row.payload, _stamp(now),
             _stamp(now)))
        added += cursor.rowcount
    return added


class NoticeQueue:
    """The queue on the journal's connection (``Journal.notices``)."""

    def __init__(self, db: sqlite3.Connection,
                 transaction: Callable[[], AbstractContextManager[sqlite3.Connection]]) -> None:
        self._db = db
        self._transaction = transaction

    def enqueue(self, rows: Iterable[NoticeRow], now: datetime) -> int:
        """Queue notices that no state change causes (digests, reminders, the admin's)."""
        with self._transaction() as db:
            return insert(db, rows, now)

    def queued(self, key: str) -> bool:
        return self._db.execute("SELECT 1 FROM notices WHERE key = ? LIMIT 1",
                                (key,)).fetchone() is not None

    def due(self, now: datetime, limit: int = 100) -> list[Queued]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM notices WHERE sent_at = '' AND next_try <= ? "
            "ORDER BY next_try, id LIMIT ?", (_stamp(now), limit)).fetchall()
        return [_queued(r) for r in rows]

    def waiting(self) -> list[Queued]:
        """Every row not sent yet, the failing ones first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM notices WHERE sent_at = '' "
            "ORDER BY attempts = 0, next_try, id").fetchall()
        return [_queued(r) for r in rows]

    def sent(self, notice_id: int, now: datetime) -> None:
        self._db.execute("UPDATE notices SET sent_at = ?, last_error = '' WHERE id = ?",
                         (_stamp(now), notice_id))

    def failed(self, notice_id: int, error: str, next_try: datetime) -> None:
        """``error`` must carry no secret (the sender scrubs it)."""
        self._db.execute(
            "UPDATE notices SET attempts = attempts + 1, last_error = ?, next_try = ? "
            "WHERE id = ?", (error[:500], _stamp(next_try), notice_id))

    def all(self) -> list[Queued]:
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM notices ORDER BY id").fetchall()
        return [_queued(r) for r in rows]


def _queued(row: tuple) -> Queued:
    return Queued(row[0], row[1], row[2], row[3], row[4], row[5],
                  datetime.fromisoformat(row[6]), row[7], row[8],
                  datetime.fromisoformat(row[9]),
                  datetime.fromisoformat(row[10]) if row[10] else None)
