"""The office's publication obligations (``[[obligations]]``, settings/obligations.py) against
what was published: for a period, per work group, each obligation's occurrences, met (with
the requests and their publication dates), due or overdue. Pure functions over the index's
rows (index.gather), so the command line, the reports, the reminders and the desk say the
same.

The calendar, in Bangkok dates:

- ``every = "month"``: one occurrence per month; its window is the month, due on ``day`` of
  it (0: its last day; a day past the month's end is its last day).
- ``"quarter"`` and ``"year"``: the same over fiscal quarters and years (from 1 October, as
  the government's budget year; ``day`` counted from the period's first day: ``year`` with
  ``day = 31`` is due on 31 October).
- ``dates``: one occurrence per date, due on it; its window runs from the day after the
  previous date (the first: from the start of its fiscal year) to the day before the next
  date (the last: to the end of its fiscal year), so an item published late still meets it,
  as long as it is not needed for the next one: publications are taken in date order, each
  by the earliest occurrence not yet met whose window holds it.

A request meets an obligation when it is published in the occurrence's window and the clerk
picked the obligation on the sheet, or, when the sheet names none, its category is the
obligation's and its work group one of the obligation's (each work group meets an obligation
it shares for itself). Met after the due day is met, and marked late.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from pipeline.core import thai
from pipeline.records import index
from pipeline.records.index import Row, Status
from pipeline.settings.config import Config
from pipeline.settings.obligations import Obligation, Obligations


class State(StrEnum):
    """An occurrence's state, as the office names it (its English name: ``english``)."""

    MET = "เผยแพร่แล้ว"
    DUE = "ถึงกำหนด"
    OVERDUE = "เลยกำหนด"

    @property
    def english(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Window:
    """One occurrence's dates: the window (``start`` to ``end``, both included) in which a
    publication meets it, and its due day."""

    start: date
    end: date
    due: date


@dataclass(frozen=True)
class Evidence:
    request_id: str
    title: str
    published_on: date
    url: str


@dataclass(frozen=True)
class Occurrence:
    obligation: Obligation
    work_group: str
    window: Window
    state: State
    evidence: tuple[Evidence, ...] = ()  # what met it, oldest first
    waiting: tuple[str, ...] = ()  # matching requests received, not yet published

    @property
    def late(self) -> bool:
        return bool(self.evidence) and self.evidence[0].published_on > self.window.due


@dataclass(frozen=True)
class GroupObligations:
    work_group: str
    occurrences: tuple[Occurrence, ...]


# -- the calendar ------------------------------------------------------------------------------
def _fiscal_start(day: date) -> date:
    return date(day.year - (day.month < 10), 10, 1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _period_of(every: str, day: date) -> tuple[date, date]:
    """The month, fiscal quarter or fiscal year holding ``day``: (first day, last day)."""
    if every == "month":
        start = date(day.year, day.month, 1)
        months = 1
    else:
        fiscal = _fiscal_start(day)
        months = 3 if every == "quarter" else 12
        elapsed = (day.year * 12 + day.month) - (fiscal.year * 12 + fiscal.month)
        start = _add_months(fiscal, elapsed // months * months)
    return start, _add_months(start, months) - timedelta(days=1)


def windows(obligation: Obligation, first: date, last: date) -> list[Window]:
    """The occurrences of ``obligation`` whose windows meet ``first``..``last``."""
    if obligation.dates:
        return [w for w in _fixed(obligation.dates) if w.start <= last and w.end >= first]
    found = []
    start, end = _period_of(obligation.every, first)
    while start <= last:
        day = obligation.day or (end - start).days + 1
        found.append(Window(start, end, min(start + timedelta(days=day - 1), end)))
        start, end = _period_of(obligation.every, end + timedelta(days=1))
    return found


def _fixed(dates: Sequence[date]) -> list[Window]:
    found = []
    for i, due in enumerate(dates):
        start = dates[i - 1] + timedelta(days=1) if i else _fiscal_start(due)
        end = (dates[i + 1] - timedelta(days=1) if i + 1 < len(dates)
               else _add_months(_fiscal_start(due), 12) - timedelta(days=1))
        found.append(Window(start, end, due))
    return found


# -- what meets what ---------------------------------------------------------------------------
def meets(row: Row, obligation: Obligation, work_group: str) -> bool:
    """Whether ``row`` counts for ``obligation`` in ``work_group`` (dates aside)."""
    if row.obligation:
        if row.obligation != obligation.id:
            return False
        # a shared obligation counts for the row's own group; a single one for its group
        return len(obligation.work_groups) == 1 or row.work_group == work_group
    return row.category == obligation.category and row.work_group == work_group


def _settle(obligation: Obligation, work_group: str, spans: Sequence[Window],
            rows: Sequence[Row], as_of: date) -> list[Occurrence]:
    """Each window's state as of ``as_of``: publications in date order, each taken by the
    earliest window not yet met that holds it (or, every window holding it met, by the
    first of them, as more evidence)."""
    mine = [r for r in rows if meets(r, obligation, work_group)]
    published = sorted((r for r in mine if r.published_on is not None
                        and r.published_on <= as_of),
                       key=lambda r: (r.published_on, r.request_id))
    taken: list[list[Evidence]] = [[] for _ in spans]
    for row in published:
        assert row.published_on is not None
        holding = [i for i, w in enumerate(spans) if w.start <= row.published_on <= w.end]
        if holding:
            chosen = next((i for i in holding if not taken[i]), holding[0])
            taken[chosen].append(Evidence(row.request_id, row.title, row.published_on,
                                          row.published_url))
    waiting = tuple(r.request_id for r in mine if r.published_on is None
                    and r.status in (Status.WAITING, Status.APPROVED))
    found = []
    for span, evidence in zip(spans, taken, strict=True):
        state = State.MET if evidence else State.OVERDUE if as_of > span.due else State.DUE
        found.append(Occurrence(obligation, work_group, span, state, tuple(evidence),
                                waiting if state != State.MET else ()))
    return found


def occurrences(obligation: Obligation, work_group: str, rows: Sequence[Row], first: date,
                last: date, as_of: date) -> list[Occurrence]:
    """The occurrences of ``obligation`` for ``work_group`` whose windows meet
    ``first``..``last``, settled as of ``as_of``. Fixed dates are settled over all of them
    (a late publication is taken by the earlier date)."""
    if obligation.dates:
        every = _settle(obligation, work_group, _fixed(obligation.dates), rows, as_of)
        return [o for o in every if o.window.start <= last and o.window.end >= first]
    return _settle(obligation, work_group, windows(obligation, first, last), rows, as_of)


def for_period(setting: Obligations, groups: Sequence[str], rows: Sequence[Row], first: date,
               last: date, as_of: date, work_group: str | None = None
               ) -> tuple[GroupObligations, ...]:
    """Per work group (in the config's order; only ``work_group`` when given), the
    occurrences a report of ``first``..``last`` shows: those due in it, and those whose
    window meets it and that were not yet met when it began (an overdue yearly item is
    shown each month until it is met)."""
    found = []
    for group in groups:
        if work_group is not None and group != work_group:
            continue
        shown = []
        for obligation in setting.items:
            if group not in obligation.work_groups:
                continue
            for o in occurrences(obligation, group, rows, first, last, as_of):
                met_before = o.evidence and o.evidence[0].published_on < first
                if first <= o.window.due <= last or not met_before:
                    shown.append(o)
        if shown:
            shown.sort(key=lambda o: (o.window.due, o.obligation.id))
            found.append(GroupObligations(group, tuple(shown)))
    return tuple(found)


def open_obligations(setting: Obligations, groups: Sequence[str], rows: Sequence[Row],
                     today: date) -> list[Obligation]:
    """The obligations with an occurrence not yet met whose window holds ``today``, for any
    work group: what the blank sheet's drop-down lists."""
    found = []
    for obligation in setting.items:
        if any(o.state != State.MET
               for group in groups if group in obligation.work_groups
               for o in occurrences(obligation, group, rows, today, today, today)):
            found.append(obligation)
    return found


# -- the ITA evidence pack ---------------------------------------------------------------------
@dataclass(frozen=True)
class IndicatorEvidence:
    indicator: str
    obligations: tuple[Obligation, ...]
    evidence: tuple[tuple[Obligation, str, Evidence], ...]  # (obligation, work group, item)


def evidence_by_indicator(setting: Obligations, rows: Sequence[Row], first: date, last: date,
                          work_group: str | None = None) -> tuple[IndicatorEvidence, ...]:
    """For each ITA indicator the obligations name (in the order first named), every
    publication in ``first``..``last`` that meets one of its obligations: the evidence an
    office hands to the assessment. With ``work_group``, only the indicators of the
    obligations it answers for."""
    mine = [o for o in setting.items if o.indicator
            and (work_group is None or work_group in o.work_groups)]
    found = []
    for indicator in dict.fromkeys(o.indicator for o in mine):
        items = tuple(o for o in mine if o.indicator == indicator)
        evidence = []
        for obligation in items:
            for group in obligation.work_groups:
                if work_group is not None and group != work_group:
                    continue
                evidence += [(obligation, group, Evidence(r.request_id, r.title,
                                                          r.published_on, r.published_url))
                             for r in rows if r.published_on is not None
                             and first <= r.published_on <= last
                             and meets(r, obligation, group)]
        evidence.sort(key=lambda e: (e[2].published_on, e[2].request_id))
        found.append(IndicatorEvidence(indicator, items,
                                       tuple(dict.fromkeys(evidence))))
    return tuple(found)


def of_office(config: Config, first: date, last: date, *, today: date | None = None,
              work_group: str | None = None) -> tuple[GroupObligations, ...]:
    """:func:`for_period` over the workspace's archive (index.gather), as of ``today``
    (default: today in Bangkok) or the period's last day, whichever is earlier."""
    today = today or thai.today()
    rows = index.gather(config.workspace)
    return for_period(config.obligations, config.work_groups, rows, first, last,
                      min(last, today), work_group)
