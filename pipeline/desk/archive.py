"""The archive's rows (:func:`pipeline.records.index.gather`, the same rows as the index)
kept in the desk's memory, for the auditor's search and the webmaster's list.

Gathering reads every manifest and the journal: seconds for 20,000 requests
(bench/bench_index.py), far beyond a page's budget (150 ms). So the rows are gathered once and
kept; every page asks first whether anything changed, which costs microseconds: the
journal's :meth:`~pipeline.records.journal.Journal.changed` (a new request or a change of
state) and the outbox folder's modification time (a bundle archived, or the index rewritten,
as every change of a bundle is followed by: ``published``, ``refresh-timestamps``). When
something changed, the rows are gathered again: before the page when the last gathering took
less than :data:`SYNC_BELOW` (an office's archive for years: the page is current, so a clerk
sees the request just handed in), else in a background thread while pages keep showing the
previous ones, a few seconds old at most; a row the desk itself just changed (a
publication recorded here) is replaced at once (:meth:`Archive.replace`), so the webmaster
never sees an item they just published still listed. A minute after the last gathering the
rows are gathered again anyway, for a change that touched neither (a bundle updated by a
command killed before it rewrote the index).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from pipeline.core import thai
from pipeline.core.folders import Workspace
from pipeline.core.request import request_id_key
from pipeline.records import index
from pipeline.records.index import Row, Status
from pipeline.records.journal import Journal

MAX_AGE = 60.0  # seconds after which the rows are gathered again even if nothing showed
SYNC_BELOW = 0.2  # seconds: an archive gathered faster is gathered before the page, not after


@dataclass(frozen=True)
class Snapshot:
    rows: tuple[Row, ...]  # sorted by request ID
    titles: tuple[str, ...]  # each row's title, case-folded, for the search
    to_publish: tuple[Row, ...]  # the webmaster's list (:func:`to_publish`)


def _snapshot(rows: Sequence[Row]) -> Snapshot:
    return Snapshot(tuple(rows), tuple(r.title.casefold() for r in rows), to_publish(rows))


_ARCHIVES: dict[Path, Archive] = {}
_ARCHIVES_LOCK = threading.Lock()


def of(ws: Workspace) -> Archive:
    """The desk process's one :class:`Archive` of ``ws``."""
    with _ARCHIVES_LOCK:
        return _ARCHIVES.setdefault(ws.root, Archive(ws))


class Archive:
    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._lock = threading.Lock()  # guards the fields below
        self._gathering = threading.Lock()  # one gathering at a time
        self._snapshot: Snapshot | None = None
        self._stamp: tuple[object, ...] = ()
        self._gathered = 0.0  # time.monotonic() when the kept rows' gathering began
        self._background = False
        self._took = float("inf")  # seconds the last gathering took
        self._replaced: list[tuple[float, Row]] = []  # rows changed here, and when

    def stamp(self) -> tuple[object, ...]:
        """What changes when the archive does (see the module's docstring)."""
        journal = Journal(self._ws.journal_file)
        try:
            changed = journal.changed()
        finally:
            journal.close()
        try:
            outbox = self._ws.outbox.stat().st_mtime_ns
        except FileNotFoundError:
            outbox = 0
        return changed, outbox

    def snapshot(self) -> Snapshot:
        """The rows, current or (while they are gathered again) a few seconds old."""
        stamp = self.stamp()
        with self._lock:
            kept = self._snapshot
            stale = stamp != self._stamp or time.monotonic() - self._gathered > MAX_AGE
            quick = self._took < SYNC_BELOW
            if kept is not None and stale and quick:
                kept = None  # a small archive: gathered again now, the page is current
            elif kept is not None and stale and not self._background:
                self._background = True
                threading.Thread(target=self._gather, args=(stamp, True),
                                  name="desk-archive", daemon=True).start()
        if kept is None:
            return self._gather(stamp, False)
        return kept

    def _gather(self, stamp: tuple[object, ...], background: bool) -> Snapshot:
        try:
            with self._gathering:
                with self._lock:
                    if not background and self._snapshot is not None and \
                            self._stamp == stamp:
                        return self._snapshot  # another page gathered them meanwhile
                began = time.monotonic()
                rows = index.gather(self._ws)
                with self._lock:
                    self._took = time.monotonic() - began
                    later = {r.request_id: r for t, r in self._replaced if t >= began}
                    self._replaced = [(t, r) for t, r in self._replaced if t >= began]
                    self._snapshot = _snapshot([later.get(r.request_id, r) for r in rows])
                    self._stamp, self._gathered = stamp, began
                    return self._snapshot
        finally:
            if background:
                with self._lock:
                    self._background = False

    def replace(self, request_id: str) -> None:
        """Read one bundle's row again, now: the desk just changed it."""
        row = index.bundle_row(self._ws.outbox, self._ws.outbox / request_id)
        if row is None:
            return
        with self._lock:
            kept = self._snapshot
            if kept is None:
                return
            old = next((r for r in kept.rows if r.request_id == request_id), None)
            if old is not None:  # what the journal adds to a bundle's row stays
                row = replace(row, journal_state=old.journal_state,
                              source_name=old.source_name or row.source_name)
            self._replaced.append((time.monotonic(), row))
            self._snapshot = _snapshot([row if r.request_id == request_id else r
                                        for r in kept.rows])


# -- the auditor's search ----------------------------------------------------------------------
@dataclass(frozen=True)
class Query:
    request_id: str = ""  # a part of the ID: "00042", "2569-0004"
    words: tuple[str, ...] = ()  # every one must be in the title
    work_group: str = ""
    category: str = ""
    since: date | None = None  # the request date (or, without one, the day received)
    until: date | None = None
    status: Status | None = None

    @property
    def empty(self) -> bool:
        return self == Query()


def day_of(row: Row) -> date:
    return row.request_date or row.received_at.astimezone(thai.BANGKOK).date()


def search(snapshot: Snapshot, query: Query) -> list[Row]:
    """The rows that match every part of ``query``, newest first."""
    words = [w.casefold() for w in query.words]
    needle = query.request_id.strip().casefold()
    found = []
    for row, title in zip(reversed(snapshot.rows), reversed(snapshot.titles), strict=True):
        if needle and needle not in row.request_id.casefold():
            continue
        if words and not all(w in title for w in words):
            continue
        if query.work_group and row.work_group != query.work_group:
            continue
        if query.category and row.category != query.category:
            continue
        if query.status is not None and row.status != query.status:
            continue
        if query.since is not None or query.until is not None:
            day = day_of(row)
            if (query.since and day < query.since) or (query.until and day > query.until):
                continue
        found.append(row)
    return found


def to_publish(rows: Sequence[Row]) -> tuple[Row, ...]:
    """Approved and not yet published (with a bundle to publish), oldest approval first:
    the webmaster's list, the same requests as ``pipeline collect`` copies."""
    chosen = [r for r in rows if r.status == Status.APPROVED and r.bundle]
    return tuple(sorted(chosen, key=lambda r: (r.director_signed_at or r.received_at,
                                               request_id_key(r.request_id))))
