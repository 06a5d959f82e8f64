"""Which obligation reminders are due on a given day, and to whom: a pure function over the
same calendar as ``pipeline obligations`` (records/obligations.py). It sends nothing: the
notice queue (in the journal) takes what it returns, once per ``key``.

- ``soon``: from ``remind_days`` (default 3) days before the due day to the due day itself,
  while the occurrence is not met;
- ``overdue``: from the day after the due day to the end of the occurrence's window, while
  it is not met.

Each occurrence gives each kind of reminder at most once, whatever the day the function is
called on (a watcher that was down on the exact day still reminds the next day): the caller
queues each reminder under its ``key`` and a key already queued is not queued again. Once
the window has closed (the month is over, for a monthly item), nothing more is reminded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from pipeline.core import thai
from pipeline.records import obligations
from pipeline.records.index import Row
from pipeline.records.obligations import Occurrence, State
from pipeline.settings.obligations import Obligations

SOON = "soon"
OVERDUE = "overdue"


@dataclass(frozen=True)
class Reminder:
    key: str  # "obligation|procurement|กลุ่มงาน...|2026-12-10|soon": queue it once
    kind: str  # SOON or OVERDUE
    occurrence: Occurrence
    recipients: tuple[str, ...]  # provider names of the work group; () when none is known

    @property
    def work_group(self) -> str:
        return self.occurrence.work_group

    def line(self) -> str:
        """One line, Thai first, saying what to do."""
        o = self.occurrence
        due = o.window.due
        if self.kind == SOON:
            return (f"ใกล้ถึงกำหนดเผยแพร่ {o.obligation.title} ภายใน {thai.short_date(due)} "
                    f"({o.work_group}): ส่งแบบคำขอเผยแพร่ / due {due:%Y-%m-%d}: "
                    f"{o.obligation.id} ({o.work_group}); send the request to publish it")
        return (f"เลยกำหนดเผยแพร่ {o.obligation.title} ซึ่งครบกำหนด {thai.short_date(due)} "
                f"({o.work_group}): ส่งแบบคำขอเผยแพร่โดยเร็ว / overdue since "
                f"{due:%Y-%m-%d}: {o.obligation.id} ({o.work_group}); send the request now")


def due_reminders(setting: Obligations, groups: Sequence[str], rows: Sequence[Row],
                  today: date) -> list[Reminder]:
    """The reminders due on ``today`` (see the module's docstring)."""
    found = []
    for obligation in setting.items:
        for group in groups:
            if group not in obligation.work_groups:
                continue
            for o in obligations.occurrences(obligation, group, rows, today, today, today):
                kind = _kind(o, today)
                if kind is None:
                    continue
                key = f"obligation|{obligation.id}|{group}|{o.window.due.isoformat()}|{kind}"
                found.append(Reminder(key, kind, o, setting.people_of(group)))
    return found


def _kind(o: Occurrence, today: date) -> str | None:
    if o.state == State.MET or not o.window.start <= today <= o.window.end:
        return None
    due = o.window.due
    if due - timedelta(days=o.obligation.remind_days) <= today <= due:
        return SOON
    return OVERDUE if today > due else None
