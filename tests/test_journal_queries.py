"""What the watcher asks the journal at every turn of its loop (requests between steps, held
requests, the oldest open one) costs the same with 20,000 archived requests as with none,
and answers what the scanning queries they replace answered."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.records.journal import _COLUMNS, FINAL_STATES, Journal, State, _entry

T0 = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


def _archive(path: Path, count: int) -> None:
    Journal(path).close()
    stamp = (T0 - timedelta(days=400)).isoformat()
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO requests (id, source_name, source_path, source_sha256, state, "
            "received_at, updated_at, taken) VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
            ((f"REQ-2568-{n:06d}", "s.xlsx", "/inbox/s.xlsx", f"{n:064x}",
              State.ARCHIVED if n % 7 else State.REJECTED, stamp, stamp)
             for n in range(count)))


def _open_requests(journal: Journal) -> None:
    """One request in every state, two of them held; received in reverse order of state."""
    for i, state in enumerate(State):
        entry = journal.claim(Path(f"/inbox/{state}.xlsx"), f"{i:064x}",
                              T0 - timedelta(minutes=i), taken=True)
        if state != State.RECEIVED:
            journal.advance(entry.id, state, T0 + timedelta(minutes=i))
        if state in (State.RENDERED, State.SIGNED):
            journal.hold(entry.id, T0, "TSA down", T0 + timedelta(minutes=10 - i))


def _steps(journal: Journal, ask) -> int:  # noqa: ANN001 - a method of the journal
    """SQLite's virtual-machine steps for one question (in thousands): the work, not time."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    journal._db.set_progress_handler(count, 1000)
    try:
        ask()
    finally:
        journal._db.set_progress_handler(None, 0)
    return steps[0]


def test_the_watchers_questions_do_not_read_the_archive(tmp_path):
    small, large = tmp_path / "small.sqlite", tmp_path / "large.sqlite"
    _archive(small, 0)
    _archive(large, 20_000)
    costs = {}
    for path in (small, large):
        journal = Journal(path)
        try:
            _open_requests(journal)
            costs[path] = [_steps(journal, ask) for ask in
                           (journal.unfinished, journal.held, journal.oldest_open)]
        finally:
            journal.close()
    assert costs[large] == costs[small]  # scanning 20,000 rows takes hundreds of thousands


def test_the_answers_are_those_of_the_scanning_queries(tmp_path):
    path = tmp_path / "journal.sqlite"
    _archive(path, 50)
    journal = Journal(path)
    try:
        _open_requests(journal)
        db = journal._db
        scanned_unfinished = [_entry(r) for r in db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE state NOT IN (?, ?, ?) ORDER BY id",
            (*FINAL_STATES, State.AWAITING_DIRECTOR))]
        scanned_held = [_entry(r) for r in db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE retry_at != '' AND state NOT IN (?, ?) "
            "ORDER BY retry_at, id", FINAL_STATES)]
        scanned_oldest = _entry(db.execute(
            f"SELECT {_COLUMNS} FROM requests WHERE state NOT IN (?, ?) "
            "ORDER BY received_at LIMIT 1", FINAL_STATES).fetchone())
        assert journal.unfinished() == scanned_unfinished
        assert len(scanned_unfinished) == len(State) - 3
        assert journal.held() == scanned_held and len(scanned_held) == 2
        assert journal.oldest_open() == scanned_oldest
        assert scanned_oldest.state == State.SIGNED  # received first of the open ones
    finally:
        journal.close()


def test_a_journal_of_an_earlier_version_gets_the_held_index(tmp_path):
    """A journal made before ``retry_at`` existed: the column is added, then its index."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE requests (id TEXT PRIMARY KEY, source_name TEXT NOT NULL, "
                   "source_path TEXT NOT NULL, source_sha256 TEXT NOT NULL, state TEXT NOT "
                   "NULL, received_at TEXT NOT NULL, updated_at TEXT NOT NULL, message TEXT "
                   "NOT NULL DEFAULT '', taken INTEGER NOT NULL DEFAULT 0)")
    journal = Journal(path)
    try:
        assert journal.held() == []
        names = {r[0] for r in journal._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "requests_held" in names
    finally:
        journal.close()
