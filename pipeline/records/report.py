"""Monthly and fiscal-year reports to the head of the office (รายงานผลการเผยแพร่ข้อมูลต่อ
สาธารณะผ่านเว็บไซต์ และสรุปปัญหาอุปสรรค), per work group and for the whole office: what they
say (their files, a spreadsheet and a PDF from ``templates/monthly_report.docx``, optionally
signed by the director as acknowledged: report_files.py).

A report is computed from the same rows as the index (index.gather: the manifests and the
journal), so it says what the archive says. The period's rules, in Bangkok time:

- requested: received in the period, a request once: a sheet returned or refused and sent
  again (index.link_resubmissions) counts as its resubmission only;
- approved: signed by the director in the period;
- published: published (the webmaster's date) in the period;
- not passed: returned for correction (and not sent again corrected) or refused in the
  period, with the reasons;
- still waiting: at the end of the period (or now, for a period not over), received and
  neither published nor returned: waiting for the director, or approved and waiting to be
  put on the website; with the days waited.

Problems and obstacles are pre-filled from the reasons for returns and refusals (each
request once, its reasons in plain Thai, without cell references) and from delays beyond
DIRECTOR_DAYS and PUBLISH_DAYS, for the work group to complete. Counts per category are of
the office's categories only (a returned sheet's category typed as its number counts under
that category; anything else under none).

"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from pipeline.core import inputs, thai
from pipeline.core.errors import PipelineError
from pipeline.core.request import request_id_key
from pipeline.records import index
from pipeline.records import obligations as obligations_mod
from pipeline.records.index import Row, Status
from pipeline.settings.config import Config
from pipeline.settings.obligations import Obligations

TITLE = "รายงานผลการเผยแพร่ข้อมูลต่อสาธารณะผ่านเว็บไซต์ และสรุปปัญหาอุปสรรค"
WHOLE_OFFICE = "ทุกกลุ่มงาน"
DIRECTOR_DAYS = 3  # days a request may wait for the director before it counts as a delay
PUBLISH_DAYS = 7  # days an approved item may wait to go on the website
DIRECTOR_WAIT = "รอผู้อนุมัติลงนาม"
UPLOAD_WAIT = "รอนำขึ้นเผยแพร่"


class ReportError(PipelineError):
    """The report cannot be made as asked; the message says why."""


class BadPeriod(ReportError, inputs.InputError):
    """The month or fiscal year typed is not one (or out of range in both eras)."""


# -- periods -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """Days ``start`` (included) to ``end`` (excluded), in Bangkok."""

    start: date
    end: date
    key: str  # for file names: "2569-11", "FY2569"
    label: str  # Thai, for the report: "เดือนพฤศจิกายน ๒๕๖๙"
    fiscal: bool = False

    def __contains__(self, moment: date | datetime | None) -> bool:
        if moment is None:
            return False
        day = moment.astimezone(thai.BANGKOK).date() if isinstance(moment, datetime) else moment
        return self.start <= day < self.end

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


def month(text: str) -> Period:
    """``2569-11`` (Buddhist Era) or ``2026-11`` (Gregorian); also ``11/2569``. A year out of
    range in both eras (inputs.year) is refused."""
    try:
        year, mon = inputs.month(text)
    except inputs.InputError as exc:
        raise BadPeriod(str(exc), usage=exc.usage) from None
    return _month(year, mon)


def _month(year: int, mon: int) -> Period:
    """The month ``mon`` of the Gregorian ``year``."""
    start = date(year, mon, 1)
    end = date(year + (mon == 12), mon % 12 + 1, 1)
    be = thai.be_year(start)
    return Period(start, end, f"{be}-{mon:02d}",
                  f"เดือน{thai.MONTHS[mon - 1]} {thai.thai_digits(be)}")


def fiscal_year(text: str | int) -> Period:
    """ปีงบประมาณ: 1 October to 30 September, named by the Buddhist-Era year it ends in
    (``2569``: 1 Oct 2025 to 30 Sep 2026). A Gregorian year is taken as the year it ends in;
    a year out of range in both eras (inputs.year) is refused."""
    try:
        end_year = inputs.year(text)
    except inputs.InputError as exc:
        raise BadPeriod(str(exc), usage=exc.usage) from None
    start, end = date(end_year - 1, 10, 1), date(end_year, 10, 1)
    be = end_year + thai.BE_OFFSET
    label = (f"ปีงบประมาณ {thai.thai_digits(be)} ({thai.long_date(start)} ถึง "
             f"{thai.long_date(end - timedelta(days=1))})")
    return Period(start, end, f"FY{be}", label, fiscal=True)


def months_of(period: Period) -> list[Period]:
    """The months of a period, from its Gregorian dates (never re-read as typed years)."""
    found, day = [], period.start
    while day < period.end:
        found.append(_month(day.year, day.month))
        day = found[-1].end
    return found


# -- the report --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Waiting:
    row: Row
    waiting_for: str  # Thai: for whom or what
    since: datetime
    days: int


@dataclass(frozen=True)
class Counts:
    name: str  # a category, or a month's label
    requested: int
    approved: int
    published: int
    not_passed: int


@dataclass(frozen=True)
class Report:
    unit: str
    scope: str  # the work group, or WHOLE_OFFICE
    period: Period
    as_of: datetime  # the end of the period, or the moment the report was made if earlier
    requested: tuple[Row, ...]
    approved: tuple[Row, ...]
    published: tuple[Row, ...]
    not_passed: tuple[Row, ...]
    waiting: tuple[Waiting, ...]
    categories: tuple[Counts, ...]
    months: tuple[Counts, ...]  # fiscal-year reports only
    problems: tuple[str, ...]
    obligations: tuple[obligations_mod.GroupObligations, ...] = ()
    evidence: tuple[obligations_mod.IndicatorEvidence, ...] = ()  # fiscal-year reports only
    checks: tuple[Row, ...] = ()  # published items whose address is gone or changed

    @property
    def whole_office(self) -> bool:
        return self.scope == WHOLE_OFFICE

    @property
    def empty(self) -> bool:
        """Nothing to report: no request in any list, no published address gone or changed,
        no obligation overdue (a work group's report is then not written). An obligation
        merely due is not enough: one every group shares each month would make every group's
        report every month."""
        overdue = any(o.state == obligations_mod.State.OVERDUE
                      for group in self.obligations for o in group.occurrences)
        return not (self.requested or self.approved or self.published or self.not_passed
                    or self.waiting or self.checks or overdue)


def match_group(value: str, groups: Sequence[str]) -> str | None:
    """The configured work group meant by ``value``: its name (spacing ignored) or number."""
    number = thai.arabic_digits(value).strip().rstrip(".")
    if number.isdigit() and 1 <= int(number) <= len(groups):
        return groups[int(number) - 1]
    key = "".join(thai.normalize_text(value).split())
    return next((g for g in groups if "".join(g.split()) == key), None)


def match_category(value: str, categories: Sequence[str]) -> str | None:
    """The office's category meant by ``value``: its name (spacing ignored) or its number in
    the list (what the sheet's hint allows)."""
    return match_group(value, categories)


def _counted(row: Row) -> bool:
    """Whether ``row`` is a request of its own: not a sheet that a resubmission replaced."""
    return not row.replaced_by


def _not_passed(row: Row) -> bool:
    """Returned and never sent again, or refused by the director (a refusal stays one even
    when the request is sent again)."""
    return row.status == Status.NOT_APPROVED or (row.status == Status.RETURNED
                                                 and not row.replaced_by)


def build(rows: Sequence[Row], *, unit: str, categories: Sequence[str], period: Period,
          work_group: str | None = None, groups: Sequence[str] = (),
          now: datetime | None = None, obligations: Obligations | None = None) -> Report:
    """The report of ``period`` for ``work_group`` (None: the whole office), with the
    state of ``obligations`` (records/obligations.py) at its end."""
    now = now or datetime.now(UTC)
    end = datetime.combine(period.end, time(), thai.BANGKOK)
    cutoff = min(end, now.astimezone(thai.BANGKOK))
    # a returned sheet may name its work group by number or with other spacing
    rows = [replace(r, work_group=match_group(r.work_group, groups) or r.work_group)
            if r.work_group and groups else r for r in rows]
    # likewise its category, by number; one that is none of the office's is counted under none
    rows = [replace(r, category=match_category(r.category, categories) or r.category)
            if r.category and r.rejected else r for r in rows]
    if work_group is not None:
        rows = [r for r in rows if r.work_group == work_group]
    requested = tuple(r for r in rows if r.received_at in period and _counted(r))
    approved = tuple(r for r in rows if r.approved_at in period)
    published = tuple(sorted((r for r in rows if r.published_on in period),
                             key=lambda r: (r.published_on, request_id_key(r.request_id))))
    not_passed = tuple(r for r in rows if _not_passed(r) and r.closed_at in period)
    waiting = tuple(w for r in rows if (w := _waiting(r, cutoff)) is not None)
    counts = tuple(_counts(name, period, [r for r in rows if r.category == name])
                   for name in categories)
    months = tuple(_counts(m.label.removeprefix("เดือน"), m, rows) for m in months_of(period)
                   ) if period.fiscal else ()
    as_of = min(period.last_day, cutoff.date())
    obligations = obligations or Obligations()
    every_group = groups or tuple(dict.fromkeys(g for o in obligations.items
                                                for g in o.work_groups))
    checks = tuple(r for r in rows if r.check_verdict is not None and not r.check_verdict.ok)
    return Report(
        unit=unit,
        scope=work_group or WHOLE_OFFICE,
        period=period,
        as_of=cutoff,
        requested=requested,
        approved=approved,
        published=published,
        not_passed=not_passed,
        waiting=waiting,
        categories=counts,
        months=months,
        problems=_problems(not_passed, waiting, published, checks),
        obligations=obligations_mod.for_period(obligations, every_group, rows, period.start,
                                               period.last_day, as_of, work_group),
        evidence=obligations_mod.evidence_by_indicator(obligations, rows, period.start,
                                                       period.last_day, work_group)
        if period.fiscal else (),
        checks=checks,
    )


def _counts(name: str, period: Period, rows: Sequence[Row]) -> Counts:
    return Counts(
        name,
        sum(r.received_at in period and _counted(r) for r in rows),
        sum(r.approved_at in period for r in rows),
        sum(r.published_on in period for r in rows),
        sum(_not_passed(r) and r.closed_at in period for r in rows),
    )


def _waiting(row: Row, cutoff: datetime) -> Waiting | None:
    """What ``row`` was waiting for at ``cutoff``, if it was still open then."""
    if row.received_at >= cutoff:
        return None
    if row.closed_at is not None and row.closed_at < cutoff:
        return None
    if (row.published_on is not None
            and datetime.combine(row.published_on, time(), thai.BANGKOK) < cutoff):
        return None
    approved = row.approved_at
    if approved is not None and approved < cutoff:
        return Waiting(row, UPLOAD_WAIT, approved, (cutoff - approved).days)
    if row.status in (Status.RETURNED, Status.NOT_APPROVED) and row.closed_at is None:
        return None
    if row.status == Status.APPROVED and approved is None:  # a damaged bundle: not waiting
        return None
    waiting_for = (row.note or DIRECTOR_WAIT) if row.status == Status.WAITING else DIRECTOR_WAIT
    return Waiting(row, waiting_for, row.received_at, (cutoff - row.received_at).days)


def _problems(not_passed: Sequence[Row], waiting: Sequence[Waiting],
              published: Sequence[Row], checks: Sequence[Row]) -> tuple[str, ...]:
    """Pre-filled problems and obstacles: each refusal once, with the director's reason;
    the returns (the same reasons once, with the requests they hit); the delays; and the
    published addresses gone or changed. Reasons are the plain Thai of the problems as
    recorded (Problem.plain_thai), never split."""
    found = []
    for row in not_passed:
        if row.status == Status.NOT_APPROVED:
            title = f" เรื่อง {row.title}" if row.title else ""
            again = f" (ส่งใหม่เป็น {row.replaced_by})" if row.replaced_by else ""
            reason = "; ".join(row.reasons) or "ผู้อนุมัติไม่อนุมัติ (ไม่ระบุเหตุผล)"
            found.append(f"{row.request_id}{title}: {reason}{again}")
    reasons: dict[str, list[str]] = {}
    for row in not_passed:
        if row.status == Status.RETURNED:
            reasons.setdefault("; ".join(r.strip() for r in row.reasons) or "ไม่ระบุเหตุผล",
                               []).append(row.request_id)
    for reason, ids in reasons.items():
        found.append(f"ส่งกลับแก้ไขและยังไม่ได้ส่งใหม่ {thai.thai_digits(len(ids))} เรื่อง "
                     f"เพราะ {reason} ({', '.join(ids)})")
    director = [w for w in waiting if w.waiting_for == DIRECTOR_WAIT
                and w.days > DIRECTOR_DAYS]
    if director:
        found.append(f"คำขอรอผู้อนุมัติลงนามเกิน {thai.thai_digits(DIRECTOR_DAYS)} วัน "
                     f"{thai.thai_digits(len(director))} เรื่อง: "
                     + ", ".join(f"{w.row.request_id} ({thai.thai_digits(w.days)} วัน)"
                                 for w in director))
    upload = [w for w in waiting if w.waiting_for == UPLOAD_WAIT and w.days > PUBLISH_DAYS]
    if upload:
        found.append(f"อนุมัติแล้วแต่ยังไม่ได้นำขึ้นเผยแพร่เกิน {thai.thai_digits(PUBLISH_DAYS)} "
                     f"วัน {thai.thai_digits(len(upload))} เรื่อง: "
                     + ", ".join(f"{w.row.request_id} ({thai.thai_digits(w.days)} วัน)"
                                 for w in upload))
    late = [(r, (r.published_on - r.approved_at.astimezone(thai.BANGKOK).date()).days)
            for r in published if r.approved_at is not None and r.published_on is not None]
    late = [(r, d) for r, d in late if d > PUBLISH_DAYS]
    if late:
        found.append(f"นำขึ้นเผยแพร่หลังอนุมัติเกิน {thai.thai_digits(PUBLISH_DAYS)} วัน "
                     f"{thai.thai_digits(len(late))} เรื่อง: "
                     + ", ".join(f"{r.request_id} ({thai.thai_digits(d)} วัน)" for r, d in late))
    if checks:
        found.append(f"หน้าที่เผยแพร่หายไปหรือไม่ตรงกับที่อนุมัติ {thai.thai_digits(len(checks))} "
                     f"เรื่อง: " + ", ".join(f"{r.request_id} ({r.check_verdict.thai})"
                                           for r in checks if r.check_verdict))
    return tuple(found)


def reports(config: Config, period: Period, work_group: str | None = None,
            now: datetime | None = None) -> list[Report]:
    """The office's report and each work group's that has something in the period (or only
    ``work_group``'s, asked for by name, even if empty)."""
    groups = list(config.work_groups)
    if work_group is not None:
        chosen = match_group(work_group, groups)
        if chosen is None:
            raise ReportError(f"{work_group!r} is not a work group of the office: "
                              + "; ".join(f"{i}. {g}" for i, g in enumerate(groups, start=1)))
    rows = index.gather(config.workspace)
    one = functools.partial(build, rows, unit=config.unit, categories=config.categories,
                            period=period, groups=groups, now=now,
                            obligations=config.obligations)
    if work_group is not None:
        return [one(work_group=chosen)]
    return [one()] + [r for r in (one(work_group=g) for g in groups) if not r.empty]


def summary_counts(report: Report) -> Counter:
    """The report's counts, for the command line."""
    return Counter(requested=len(report.requested), approved=len(report.approved),
                   published=len(report.published), not_passed=len(report.not_passed),
                   waiting=len(report.waiting))
