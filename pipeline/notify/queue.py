"""The public face of the queue: queue a notice (:func:`enqueue`), and what waits
(:func:`status`) for ``pipeline status`` and the desk's status page.

Other parts of the pipeline (publication obligations, check-published) build a
:class:`~pipeline.notify.events.Notice` (by hand or with :mod:`pipeline.notify.build`) and
call ``enqueue(journal, config, notice)``: queued once per key, sent by the watcher or
``pipeline notify --send``. A state change queues its notices in its own transaction instead:
``journal.advance(..., notices=events.rows(config, notice))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pipeline.notify.events import Notice, rows
from pipeline.records.journal import Journal
from pipeline.settings.config import Config


def enqueue(journal: Journal, config: Config, notice: Notice | None,
            now: datetime | None = None) -> int:
    """Queue ``notice`` on every channel it goes to; one already queued under its key is
    not queued again. Returns how many rows were new (0: already queued, or nowhere to go)."""
    if notice is None:
        return 0
    return journal.notices.enqueue(rows(config, notice), now or datetime.now(UTC))


@dataclass(frozen=True)
class Waiting:
    """One notice not sent yet, as a person reads it."""

    kind: str
    channel: str
    request_id: str
    subject: str
    queued_at: datetime
    attempts: int
    last_error: str  # never a secret: the sender scrubs it
    next_try: datetime

    @property
    def failing(self) -> bool:
        return self.attempts > 0


def status(journal: Journal) -> list[Waiting]:
    """Every notice waiting to be sent, the failing ones first (for ``pipeline status`` and
    the desk's status page)."""
    return [Waiting(q.kind, q.channel, q.request_id, Notice.from_payload(q.payload).subject,
                    q.created_at, q.attempts, q.last_error, q.next_try)
            for q in journal.notices.waiting()]
