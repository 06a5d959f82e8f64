"""Holding a request for a fault that is not the clerk's to fix (the office's set-up, a
service, the machine): it stays in its state, with the reason, and is tried again later,
ever less often (:meth:`pipeline.flow.processing.Processor.run` holds, the watcher retries)."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pipeline.core import faults
from pipeline.core.request import Problem
from pipeline.records.journal import Entry, Journal, State

log = logging.getLogger(__name__)

RETRY_MAX = 1800  # seconds: the longest wait between retries ([watch] retry_first: the first)


def retry_delay(first: float, attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: ``first``, doubling, at
    most RETRY_MAX."""
    return min(first * 2 ** min(attempts, 16), RETRY_MAX)


@dataclass(frozen=True)
class Hold:
    """A request held: in which state, why, and not to be tried again before ``retry_at``."""

    state: State
    message: str
    retry_at: datetime
    repeated: bool  # held again for the reason it was held for last time

    @property
    def problem(self) -> Problem:
        return Problem("", "", "คำขอรอผู้ดูแลระบบหรือบริการภายนอก แล้วจะดำเนินการต่อเอง",
                       f"waiting for the administrator or a service: {self.message}")


def hold(journal: Journal, entry: Entry, reason: Exception | faults.Fault, first: float, *,
         unexpected: bool = False) -> Hold:
    """A fault of the set-up, of a service (the timestamp authority) or of the machine:
    the request stays in its state, with the reason, and is tried again later, waiting
    twice as long after each failure (30 s, 1 min, 2 min ... at most 30 min) so that a
    service that is down is not hammered. One log line when the reason changes, not one
    per retry. When the journal itself cannot be written (the disk is full), the hold
    lives only in the outcome, whose ``retry_at`` the watcher keeps in memory."""
    current = journal.get(entry.id) or entry
    delay = retry_delay(first, current.attempts)
    now = datetime.now(UTC)
    message = (f"unexpected error: {type(reason).__name__}: {reason}" if unexpected
               else str(reason))
    repeated = current.attempts > 0 and faults.same_reason(current.message, message)
    try:
        journal.hold(entry.id, now, message, now + timedelta(seconds=delay))
    except sqlite3.Error as exc:
        log.debug("%s: the hold could not be recorded: %s", entry.id, exc)
    if not repeated:
        log.error("%s held in %s (%s), next try in %.0f s: %s", entry.id, current.state,
                  entry.source_name, delay, message,
                  exc_info=reason if unexpected and isinstance(reason, Exception) else None)
    return Hold(current.state, message, now + timedelta(seconds=delay), repeated)
