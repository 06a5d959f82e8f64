"""The journal: every request's state, in SQLite (WAL), so nothing is lost or done twice.

A request is recorded before any work starts on it; each completed step moves it forward.
After a crash the journal says where every request was, and the steps are idempotent, so
resuming from the recorded state gives the same result.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from pipeline.core import thai
from pipeline.core.request import Rejected
from pipeline.records import notices as notices_mod
from pipeline.records.notices import NoticeQueue, NoticeRow


class State(StrEnum):
    RECEIVED = "received"
    VALIDATED = "validated"
    RENDERED = "rendered"
    PROVIDER_SIGNED = "provider-signed"
    AWAITING_DIRECTOR = "awaiting-director"
    SIGNED = "signed"
    ARCHIVED = "archived"
    REJECTED = "rejected"


FINAL_STATES = (State.ARCHIVED, State.REJECTED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    source_name TEXT NOT NULL,
    source_path TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    state TEXT NOT NULL,
    received_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    taken INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    retry_at TEXT NOT NULL DEFAULT '',
    rejected TEXT NOT NULL DEFAULT '',
    held_since TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS requests_sha ON requests(source_sha256);
CREATE INDEX IF NOT EXISTS requests_state ON requests(state);
CREATE INDEX IF NOT EXISTS requests_updated ON requests(updated_at);
CREATE TABLE IF NOT EXISTS counters (year INTEGER PRIMARY KEY, last INTEGER NOT NULL);
"""
_ADDED_COLUMNS = (("attempts", "INTEGER NOT NULL DEFAULT 0"),
                  ("retry_at", "TEXT NOT NULL DEFAULT ''"),
                  ("rejected", "TEXT NOT NULL DEFAULT ''"),
                  ("held_since", "TEXT NOT NULL DEFAULT ''"))
_COLUMNS = ("id, source_name, source_path, source_sha256, state, received_at, updated_at, "
            "message, taken, attempts, retry_at, rejected, held_since")


@dataclass(frozen=True)
class Entry:
    id: str
    source_name: str
    source_path: Path
    source_sha256: str
    state: State
    received_at: datetime
    updated_at: datetime
    message: str
    taken: bool  # the pipeline moved the sheet out of the inbox (else it copied it)
    attempts: int = 0  # failed tries of the current step (see Journal.hold)
    retry_at: datetime | None = None  # when a held request is to be tried again
    rejected: Rejected | None = None  # why, once rejected
    held_since: datetime | None = None  # the first hold of the current step


class Journal:
    def __init__(self, path: Path, id_prefix: str = "REQ") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._prefix = id_prefix
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._db.executescript(notices_mod.SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(requests)")}
        for column, kind in _ADDED_COLUMNS:  # journals made by an earlier version
            if column not in columns:
                self._db.execute(f"ALTER TABLE requests ADD COLUMN {column} {kind}")
        self.notices = NoticeQueue(self._db, self._transaction)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def claim(self, source: Path, sha256: str, now: datetime, *, taken: bool) -> Entry:
        """Record a new request and give it the next ID of its Buddhist-Era year,
        e.g. ``REQ-2569-00042``: readable, sortable, never reused."""
        year = thai.be_year(now.astimezone(thai.BANGKOK))
        with self._transaction() as db:
            row = db.execute("SELECT last FROM counters WHERE year = ?", (year,)).fetchone()
            number = (row[0] if row else 0) + 1
            db.execute("INSERT OR REPLACE INTO counters(year, last) VALUES (?, ?)", (year, number))
            request_id = f"{self._prefix}-{year}-{number:05d}"
            stamp = now.isoformat()
            db.execute(
                "INSERT INTO requests (id, source_name, source_path, source_sha256, state, "
                "received_at, updated_at, taken) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (request_id, source.name, str(source), sha256, State.RECEIVED, stamp, stamp,
                 int(taken)),
            )
        entry = self.get(request_id)
        assert entry is not None
        return entry

    def advance(self, request_id: str, state: State, now: datetime, message: str = "",
                notices: Sequence[NoticeRow] = ()) -> None:
        """The request reached ``state``; ``notices`` (who is told of it) are queued in the
        same transaction, so that a crash loses neither or both."""
        with self._transaction() as db:
            db.execute(
                "UPDATE requests SET state = ?, updated_at = ?, message = ?, attempts = 0, "
                "retry_at = '', held_since = '' WHERE id = ?",
                (state, now.isoformat(), message, request_id),
            )
            notices_mod.insert(db, notices, now)

    def reject(self, request_id: str, now: datetime, rejected: Rejected,
               notices: Sequence[NoticeRow] = ()) -> None:
        """The request ends rejected; ``rejected`` says why, for the index and the reports;
        ``notices`` are queued in the same transaction."""
        with self._transaction() as db:
            db.execute(
                "UPDATE requests SET state = ?, updated_at = ?, message = ?, attempts = 0, "
                "retry_at = '', held_since = '', rejected = ? WHERE id = ?",
                (State.REJECTED, now.isoformat(),
                 "; ".join(p.english for p in rejected.problems), rejected.to_json(),
                 request_id),
            )
            notices_mod.insert(db, notices, now)

    def hold(self, request_id: str, now: datetime, message: str, retry_at: datetime) -> None:
        """A step failed for a reason outside the request (a set-up fault, a timestamp
        authority that does not answer): it stays in its state, to be tried at ``retry_at``."""
        self._db.execute(
            "UPDATE requests SET updated_at = ?, message = ?, attempts = attempts + 1, "
            "held_since = CASE WHEN held_since = '' THEN ? ELSE held_since END, "
            "retry_at = ? WHERE id = ?",
            (now.isoformat(), message, now.isoformat(), retry_at.isoformat(), request_id),
        )

    def get(self, request_id: str) -> Entry | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM requests WHERE id = ?",
                               (request_id,)).fetchone()
        return _entry(row) if row else None

    def find_live(self, sha256: str, before: str) -> Entry | None:
        """The first request older than ``before``, not rejected, made from a sheet with
        these exact bytes."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE source_sha256 = ? AND state != ? "
            "AND rowid < (SELECT rowid FROM requests WHERE id = ?) ORDER BY rowid LIMIT 1",
            (sha256, State.REJECTED, before),
        ).fetchone()
        return _entry(row) if row else None

    def unfinished(self) -> list[Entry]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE state NOT IN (?, ?, ?) ORDER BY id",
            (*FINAL_STATES, State.AWAITING_DIRECTOR),
        ).fetchall()
        return [_entry(r) for r in rows]

    def counts(self) -> dict[State, int]:
        rows = self._db.execute("SELECT state, COUNT(*) FROM requests GROUP BY state")
        return {State(state): n for state, n in rows}

    def oldest_open(self) -> Entry | None:
        """The request that has waited longest for anything but the director."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE state NOT IN (?, ?) "
            "ORDER BY received_at LIMIT 1",
            FINAL_STATES).fetchone()
        return _entry(row) if row else None

    def recent_problems(self, limit: int = 5) -> list[Entry]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE message != '' "
            "ORDER BY updated_at DESC LIMIT ?",
            (limit,)).fetchall()
        return [_entry(r) for r in rows]

    def held(self) -> list[Entry]:
        """Requests held by a fault of the machine or a service, soonest retry first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE retry_at != '' AND state NOT IN (?, ?) "
            "ORDER BY retry_at, id", FINAL_STATES).fetchall()
        return [_entry(r) for r in rows]

    def changed(self) -> tuple[int, str]:
        """What changes whenever a request is claimed or changes (every write stamps
        ``updated_at`` with its time): a reader that keeps rows compares it, in microseconds
        (``requests_updated``), instead of reading every request again."""
        count, last = self._db.execute(
            "SELECT (SELECT COUNT(*) FROM requests), (SELECT MAX(updated_at) FROM requests)"
        ).fetchone()
        return count, last or ""

    def latest_with(self, sha256: str, since: datetime) -> Entry | None:
        """The newest request made from a sheet with these exact bytes, received at
        ``since`` or later (a sheet handed in through the desk, followed by its hash)."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE source_sha256 = ? AND received_at >= ? "
            "ORDER BY rowid DESC LIMIT 1", (sha256, since.isoformat())).fetchone()
        return _entry(row) if row else None

    def in_state(self, state: State) -> list[Entry]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE state = ? ORDER BY id", (state,)).fetchall()
        return [_entry(r) for r in rows]


def _entry(row: tuple) -> Entry:
    return Entry(
        id=row[0],
        source_name=row[1],
        source_path=Path(row[2]),
        source_sha256=row[3],
        state=State(row[4]),
        received_at=datetime.fromisoformat(row[5]),
        updated_at=datetime.fromisoformat(row[6]),
        message=row[7],
        taken=bool(row[8]),
        attempts=row[9],
        retry_at=datetime.fromisoformat(row[10]) if row[10] else None,
        rejected=Rejected.from_json(row[11]) if row[11] else None,
        held_since=datetime.fromisoformat(row[12]) if row[12] else None,
    )
