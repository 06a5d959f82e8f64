"""Monthly and fiscal-year reports to the head of the office (รายงานผลการเผยแพร่ข้อมูลต่อ
สาธารณะผ่านเว็บไซต์ และสรุปปัญหาอุปสรรค): per work group and for the whole office, as a
spreadsheet and as a PDF from ``templates/monthly_report.docx``, optionally signed by the
director as acknowledged.

A report is computed from the same rows as the index (index.gather: the manifests and the
journal), so it says what the archive says. The period's rules, in Bangkok time:

- requested: received in the period;
- approved: signed by the director in the period;
- published: published (the webmaster's date) in the period;
- not passed: returned for correction or refused in the period, with the reasons;
- still waiting: at the end of the period (or now, for a period not over), received and
  neither published nor returned: waiting for the director, or approved and waiting to be
  put on the website; with the days waited.

Problems and obstacles are pre-filled from the reasons for returns and refusals and from
delays beyond DIRECTOR_DAYS and PUBLISH_DAYS, for the work group to complete.
"""

from __future__ import annotations

import functools
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from pipeline.core import fsutil, inputs, scratch, thai
from pipeline.external.office import Converter
from pipeline.form import render
from pipeline.records import index
from pipeline.records.index import Row, Status
from pipeline.settings import workspace
from pipeline.settings.config import Config
from pipeline.signatures import evidence, keys, signing
from pipeline.signatures.model import B_B_ONLY, Evidence

TEMPLATE_NAME = "monthly_report.docx"
REPORTS_DIR = "reports"
TITLE = "รายงานผลการเผยแพร่ข้อมูลต่อสาธารณะผ่านเว็บไซต์ และสรุปปัญหาอุปสรรค"
WHOLE_OFFICE = "ทุกกลุ่มงาน"
UNKNOWN = "ไม่ระบุ"
ACKNOWLEDGE_BOOKMARK = "SigAcknowledged"
ACKNOWLEDGE_FIELD = "acknowledged"
ACKNOWLEDGE_TITLE = "ผู้บริหาร ลงนามรับทราบ"
DIRECTOR_DAYS = 3  # days a request may wait for the director before it counts as a delay
PUBLISH_DAYS = 7  # days an approved item may wait to go on the website
DIRECTOR_WAIT = "รอผู้อนุมัติลงนาม"
UPLOAD_WAIT = "รอนำขึ้นเผยแพร่"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ReportError(Exception):
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

    @property
    def whole_office(self) -> bool:
        return self.scope == WHOLE_OFFICE


def match_group(value: str, groups: Sequence[str]) -> str | None:
    """The configured work group meant by ``value``: its name (spacing ignored) or number."""
    number = thai.arabic_digits(value).strip().rstrip(".")
    if number.isdigit() and 1 <= int(number) <= len(groups):
        return groups[int(number) - 1]
    key = "".join(thai.normalize_text(value).split())
    return next((g for g in groups if "".join(g.split()) == key), None)


def build(rows: Sequence[Row], *, unit: str, categories: Sequence[str], period: Period,
          work_group: str | None = None, groups: Sequence[str] = (),
          now: datetime | None = None) -> Report:
    """The report of ``period`` for ``work_group`` (None: the whole office)."""
    now = now or datetime.now(UTC)
    end = datetime.combine(period.end, time(), thai.BANGKOK)
    cutoff = min(end, now.astimezone(thai.BANGKOK))
    # a returned sheet may name its work group by number or with other spacing
    rows = [replace(r, work_group=match_group(r.work_group, groups) or r.work_group)
            if r.work_group and groups else r for r in rows]
    if work_group is not None:
        rows = [r for r in rows if r.work_group == work_group]
    requested = tuple(r for r in rows if r.received_at in period)
    approved = tuple(r for r in rows if r.approved_at in period)
    published = tuple(sorted((r for r in rows if r.published_on in period),
                             key=lambda r: (r.published_on, index.request_id_key(r.request_id))))
    not_passed = tuple(r for r in rows if r.status in (Status.RETURNED, Status.NOT_APPROVED)
                       and r.closed_at in period)
    waiting = tuple(w for r in rows if (w := _waiting(r, cutoff)) is not None)
    names = list(categories)
    seen = {r.category or UNKNOWN for r in (*requested, *approved, *published, *not_passed)}
    names += sorted(seen - set(names))
    counts = tuple(_counts(name, period, [r for r in rows if (r.category or UNKNOWN) == name])
                   for name in names)
    months = tuple(_counts(m.label.removeprefix("เดือน"), m, rows) for m in months_of(period)
                   ) if period.fiscal else ()
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
        problems=_problems(not_passed, waiting, published),
    )


def _counts(name: str, period: Period, rows: Sequence[Row]) -> Counts:
    return Counts(
        name,
        sum(r.received_at in period for r in rows),
        sum(r.approved_at in period for r in rows),
        sum(r.published_on in period for r in rows),
        sum(r.status in (Status.RETURNED, Status.NOT_APPROVED) and r.closed_at in period
            for r in rows),
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
              published: Sequence[Row]) -> tuple[str, ...]:
    """Pre-filled problems and obstacles: why requests did not pass (the same reason once,
    with the requests it hit), and the delays."""
    found = []
    reasons: dict[str, list[str]] = {}
    for row in not_passed:
        for reason in row.reasons or ("ไม่ระบุเหตุผล",):  # as recorded: never split text
            reasons.setdefault(reason.strip(), []).append(row.request_id)
    for reason, ids in reasons.items():
        found.append(f"ไม่ผ่าน {thai.thai_digits(len(ids))} เรื่อง เพราะ {reason} "
                     f"({', '.join(dict.fromkeys(ids))})")
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
    return tuple(found)


# -- writing: spreadsheet ----------------------------------------------------------------------
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_ITEM_COLUMNS = (("เลขที่คำขอ", 17), ("วันที่", 14), ("กลุ่มงาน", 30), ("ประเภทข้อมูล", 28),
                 ("หัวข้อ", 50), ("URL", 40), ("หมายเหตุ", 50))


def write_xlsx(report: Report, path: Path) -> None:
    """The report as a workbook: a summary sheet, one sheet per list, and the problems, for
    the work group to complete before it goes to the head of the office."""
    wb = Workbook()
    summary = wb.active
    summary.title = "สรุป"
    line = 1
    for text, bold in ((TITLE, True), (report.unit, False), (report.scope, False),
                       (f"ประจำ{report.period.label}", False),
                       (f"ข้อมูล ณ วันที่ {thai.long_datetime(report.as_of)}", False)):
        _put(summary, line, 1, text).font = Font(bold=bold, size=14 if bold else 11)
        line += 1
    line += 1
    line = _table(summary, line, ("รายการ", "จำนวน (เรื่อง)"), [
        ("ขอเผยแพร่", len(report.requested)),
        ("อนุมัติ", len(report.approved)),
        ("เผยแพร่แล้ว", len(report.published)),
        ("ไม่ผ่าน (ส่งกลับแก้ไข / ไม่อนุมัติ)", len(report.not_passed)),
        ("รอดำเนินการ", len(report.waiting)),
    ]) + 1
    head = ("ขอเผยแพร่", "อนุมัติ", "เผยแพร่แล้ว", "ไม่ผ่าน")
    line = _table(summary, line, ("ประเภทข้อมูล", *head), [
        (c.name, c.requested, c.approved, c.published, c.not_passed) for c in report.categories
    ] + [("รวม", *_totals(report.categories))]) + 1
    if report.months:
        _table(summary, line, ("เดือน", *head), [
            (c.name, c.requested, c.approved, c.published, c.not_passed) for c in report.months
        ] + [("รวม", *_totals(report.months))])
    summary.column_dimensions["A"].width = 55
    for col in "BCDE":
        summary.column_dimensions[col].width = 14

    def items(title: str, rows: Sequence[tuple]) -> None:
        ws = wb.create_sheet(title)
        _table(ws, 1, tuple(name for name, _ in _ITEM_COLUMNS), rows)
        for i, (_, width) in enumerate(_ITEM_COLUMNS, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A2"
        if rows:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(_ITEM_COLUMNS))}{len(rows) + 1}"

    def item(r: Row, when: date | datetime | None, note: str = "") -> tuple:
        return (r.request_id, _local(when), r.work_group, r.category, r.title,
                r.published_url, note)

    items("ขอเผยแพร่", [item(r, r.received_at) for r in report.requested])
    items("อนุมัติ", [item(r, r.approved_at) for r in report.approved])
    items("เผยแพร่แล้ว", [item(r, r.published_on) for r in report.published])
    items("ไม่ผ่าน", [item(r, r.closed_at, f"{r.status}: {r.note}") for r in report.not_passed])
    items("รอดำเนินการ", [item(w.row, w.since, f"{w.waiting_for} {w.days} วัน")
                          for w in report.waiting])
    ws = wb.create_sheet("ปัญหาอุปสรรค")
    _table(ws, 1, ("ที่", "ปัญหาอุปสรรค / ข้อเสนอแนะ"),
           [(i, p) for i, p in enumerate(report.problems, start=1)])
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = 120
    fsutil.write_via(path, lambda partial: wb.save(partial))


def _totals(counts: Sequence[Counts]) -> tuple[int, int, int, int]:
    return (sum(c.requested for c in counts), sum(c.approved for c in counts),
            sum(c.published for c in counts), sum(c.not_passed for c in counts))


def _table(ws, first: int, head: Sequence[str], rows: Sequence[Sequence[object]]) -> int:
    """Write a header and rows from row ``first``; return the row after the table."""
    for col, name in enumerate(head, start=1):
        cell = _put(ws, first, col, name)
        cell.font = Font(bold=True)
        cell.fill = _HEAD_FILL
    for r, values in enumerate(rows, start=first + 1):
        for col, value in enumerate(values, start=1):
            _put(ws, r, col, value)
    return first + 1 + len(rows)


def _put(ws, row: int, col: int, value: object):
    """A cell holding ``value`` as data: text stays text (never a formula), dates are dates
    shown in the Buddhist Era."""
    cell = ws.cell(row, col)
    if isinstance(value, str):
        cell.value = index.ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    else:
        cell.value = value
        if isinstance(value, datetime):
            cell.number_format = index.DATETIME_FORMAT
        elif isinstance(value, date):
            cell.number_format = index.DATE_FORMAT
    return cell


def _local(moment: date | datetime | None) -> date | datetime | None:
    if isinstance(moment, datetime):
        return moment.astimezone(thai.BANGKOK).replace(tzinfo=None)
    return moment



# -- writing: the document ---------------------------------------------------------------------
def _n(value: int) -> Markup:
    return render.text(thai.thai_digits(value))


def _day(moment: date | datetime | None) -> str:
    if moment is None:
        return "-"
    day = moment.astimezone(thai.BANGKOK).date() if isinstance(moment, datetime) else moment
    return thai.short_date(day, digits=True)


def context(report: Report, director_name: str, director_position: str) -> dict:
    """The template's placeholders; every value is escaped text."""

    def subject(r: Row, *extra: str) -> Markup:
        lines = [r.title or r.source_name or "-"]
        if report.whole_office and r.work_group:
            lines.append(r.work_group)
        lines += [e for e in extra if e]
        return render.text("\n".join(lines))

    def items(rows: Sequence[tuple[Row, date | datetime | None, tuple[str, ...]]]) -> list:
        return [{"no": _n(i), "id": render.text(r.request_id), "subject": subject(r, *extra),
                 "date": render.text(_day(when))}
                for i, (r, when, extra) in enumerate(rows, start=1)]

    def counts(rows: Sequence[Counts]) -> list:
        return [{"name": render.text(c.name), "requested": _n(c.requested),
                 "approved": _n(c.approved), "published": _n(c.published),
                 "not_passed": _n(c.not_passed)} for c in rows]

    totals = dict(zip(("requested", "approved", "published", "not_passed"),
                      map(_n, _totals(report.categories)), strict=True))
    return {
        "title": render.text(TITLE.replace(" และ", "\nและ")),  # two lines, as on the form
        "unit": render.text(report.unit),
        "scope": render.text(report.scope if report.whole_office else f"กลุ่มงาน: {report.scope}"
                       if not report.scope.startswith("กลุ่มงาน") else report.scope),
        "period": render.text(report.period.label),
        "as_of": render.text(thai.long_datetime(report.as_of)),
        "requested_count": _n(len(report.requested)),
        "approved_count": _n(len(report.approved)),
        "published_count": _n(len(report.published)),
        "not_passed_count": _n(len(report.not_passed)),
        "waiting_count": _n(len(report.waiting)),
        "categories": counts(report.categories),
        "totals": totals,
        "months": counts(report.months),
        "month_totals": dict(zip(("requested", "approved", "published", "not_passed"),
                                 map(_n, _totals(report.months)), strict=True)),
        "requested": items([(r, r.received_at, ()) for r in report.requested]),
        "approved": items([(r, r.approved_at, ()) for r in report.approved]),
        "published": items([(r, r.published_on, (r.published_url,)) for r in report.published]),
        "not_passed": items([(r, r.closed_at, (f"{r.status}: {r.note}",))
                             for r in report.not_passed]),
        "waiting": items([(w.row, w.since, (f"{w.waiting_for} {thai.thai_digits(w.days)} วัน",))
                          for w in report.waiting]),
        "problems": [render.text(p) for p in report.problems],
        "director_name": render.text(director_name),
        "director_position": render.text(director_position),
    }


def write_docx(report: Report, template: Path, out: Path, *, director_name: str,
               director_position: str) -> None:
    """Fill the report template and write the .docx atomically."""
    try:
        render.fill_docx(template, context(report, director_name, director_position), out,
                         title=f"{TITLE} {report.scope} {report.period.label}",
                         subject=report.unit)
    except render.RenderError as exc:
        raise ReportError(str(exc)) from None


# -- everything for a period -------------------------------------------------------------------
@dataclass(frozen=True)
class Written:
    scope: str
    xlsx: Path
    pdf: Path
    signature: signing.SignatureInfo | None = None


def template_path(config: Config) -> Path:
    """The workspace's report template, else the one shipped with the pipeline."""
    own = config.workspace.templates / TEMPLATE_NAME
    if own.is_file():
        return own
    return workspace.builtin_template(TEMPLATE_NAME)


def reports(config: Config, period: Period, work_group: str | None = None,
            now: datetime | None = None) -> list[Report]:
    """The office's report and each work group's (or only ``work_group``'s)."""
    groups = list(config.work_groups)
    if work_group is not None:
        chosen = match_group(work_group, groups)
        if chosen is None:
            raise ReportError(f"{work_group!r} is not a work group of the office: "
                              + "; ".join(f"{i}. {g}" for i, g in enumerate(groups, start=1)))
    rows = index.gather(config.workspace)
    one = functools.partial(build, rows, unit=config.unit, categories=config.categories,
                            period=period, groups=groups, now=now)
    if work_group is not None:
        return [one(work_group=chosen)]
    return [one()] + [one(work_group=g) for g in groups]


def file_stem(report: Report, groups: Sequence[str]) -> str:
    """ASCII names for any file system: ``2569-11-office``, ``2569-11-group03`` (the work
    group's number in pipeline.toml); the Thai names are inside."""
    if report.whole_office:
        return f"{report.period.key}-office"
    number = list(groups).index(report.scope) + 1 if report.scope in groups else 0
    return f"{report.period.key}-group{number:02d}"


def write_reports(config: Config, period: Period, converter: Converter, *,
                  out_dir: Path | None = None, work_group: str | None = None,
                  sign: bool = False, now: datetime | None = None) -> list[Written]:
    """Write each report as .xlsx and .pdf into ``out_dir`` (default outbox/reports/<key>/);
    with ``sign``, the director signs each PDF as acknowledged."""
    folder = out_dir or config.workspace.outbox / REPORTS_DIR / period.key
    folder.mkdir(parents=True, exist_ok=True)
    with scratch.locked(folder):  # one run per folder: then what a killed one left can go
        scratch.sweep_partials(folder)
        for legacy in folder.glob(".report-*"):  # staging folders of earlier versions
            shutil.rmtree(legacy, ignore_errors=True)
        return _write_reports(config, period, converter, folder, work_group, sign, now)


def _write_reports(config: Config, period: Period, converter: Converter, folder: Path,
                   work_group: str | None, sign: bool, now: datetime | None) -> list[Written]:
    template = template_path(config)
    director = config.director
    signer = keys.load_signer(director.key) if sign else None
    proof = evidence.gather(config) if sign else B_B_ONLY  # the level the forms have
    written = []
    for report in reports(config, period, work_group, now):
        stem = file_stem(report, config.work_groups)
        xlsx, pdf = folder / f"{stem}.xlsx", folder / f"{stem}.pdf"
        write_xlsx(report, xlsx)
        with scratch.folder(config.workspace, "report-") as tmp:
            docx = tmp / f"{stem}.docx"
            write_docx(report, template, docx, director_name=director.person.name,
                       director_position=director.person.position)
            if signer is None:
                converter.convert(docx, pdf)
                written.append(Written(report.scope, xlsx, pdf))
                continue
            unsigned = tmp / f"{stem}.pdf"
            converter.convert(docx, unsigned)
            info = sign_report(unsigned, pdf, signer=signer, config=config, proof=proof)
            written.append(Written(report.scope, xlsx, pdf, info))
    return written


def sign_report(src: Path, dst: Path, *, signer: keys.LoadedSigner, config: Config,
                proof: Evidence = B_B_ONLY) -> signing.SignatureInfo:
    """The director's signature on a report, as acknowledged, in the template's
    ``SigAcknowledged`` box, at the PAdES level ``proof`` allows."""
    return signing.sign_at_bookmark(
        src, dst, bookmark=ACKNOWLEDGE_BOOKMARK, field=ACKNOWLEDGE_FIELD,
        title=ACKNOWLEDGE_TITLE, signer=signer, person=config.director.person,
        font=config.font, evidence=proof)


def summary_counts(report: Report) -> Counter:
    """The report's counts, for the command line."""
    return Counter(requested=len(report.requested), approved=len(report.approved),
                   published=len(report.published), not_passed=len(report.not_passed),
                   waiting=len(report.waiting))

