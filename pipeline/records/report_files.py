"""The files of a report to the head of the office (what it says: report.py): a spreadsheet
and a PDF from ``templates/monthly_report.docx``, optionally signed by the director as
acknowledged.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from pipeline.core import fsutil, inputs, scratch, thai
from pipeline.external.office import Converter
from pipeline.form import render
from pipeline.records import index_files, report_obligations
from pipeline.records.index import Row
from pipeline.records.report import TITLE, Counts, Period, Report, ReportError, reports
from pipeline.settings import workspace
from pipeline.settings.config import Config
from pipeline.signatures import evidence, keys, model, signing

TEMPLATE_NAME = "monthly_report.docx"
REPORTS_DIR = "reports"
ACKNOWLEDGE_BOOKMARK = "SigAcknowledged"
ACKNOWLEDGE_FIELD = "acknowledged"
ACKNOWLEDGE_TITLE = "ผู้บริหาร ลงนามรับทราบ"


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

    items("ขอเผยแพร่", [item(r, r.received_at, r.resubmission) for r in report.requested])
    items("อนุมัติ", [item(r, r.approved_at) for r in report.approved])
    items("เผยแพร่แล้ว", [item(r, r.published_on) for r in report.published])
    items("ไม่ผ่าน", [item(r, r.closed_at, _why(r)) for r in report.not_passed])
    items("รอดำเนินการ", [item(w.row, w.since, f"{w.waiting_for} {w.days} วัน")
                          for w in report.waiting])
    ws = wb.create_sheet("ปัญหาอุปสรรค")
    _table(ws, 1, ("ที่", "ปัญหาอุปสรรค / ข้อเสนอแนะ"),
           [(i, p) for i, p in enumerate(report.problems, start=1)])
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = 120
    report_obligations.add_sheets(wb, report, _table)
    fsutil.write_via(path, lambda partial: wb.save(partial))


def _why(row: Row) -> str:
    """Why a request did not pass, for the head of the office: its status and reasons in
    plain Thai (no cell references: those are for the clerk's report)."""
    return f"{row.status}: {'; '.join(row.reasons) or row.note}"


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
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    else:
        cell.value = value
        if isinstance(value, datetime):
            cell.number_format = index_files.DATETIME_FORMAT
        elif isinstance(value, date):
            cell.number_format = index_files.DATE_FORMAT
    return cell


def _local(moment: date | datetime | None) -> date | datetime | None:
    if isinstance(moment, datetime):
        return moment.astimezone(thai.BANGKOK).replace(tzinfo=None)
    return moment


# -- writing: the document ---------------------------------------------------------------------
NO_BREAK_HYPHEN = "\u2011"  # LibreOffice draws it as the font's hyphen and never breaks there


def _text(value: str) -> Markup:
    """``value`` as template text, every request ID in it unbreakable: a line never ends
    inside ``REQ-2569-00006`` (the template's Latin text follows English line breaking, which
    breaks only at spaces and hyphens; these hyphens do not break)."""
    return render.text(inputs.ANY_ID.sub(lambda m: m[0].replace("-", NO_BREAK_HYPHEN), value))


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
        return _text("\n".join(lines))

    def items(rows: Sequence[tuple[Row, date | datetime | None, tuple[str, ...]]]) -> list:
        return [{"no": _n(i), "id": _text(r.request_id), "subject": subject(r, *extra),
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
        "requested": items([(r, r.received_at, (r.resubmission,)) for r in report.requested]),
        "approved": items([(r, r.approved_at, ()) for r in report.approved]),
        "published": items([(r, r.published_on, (r.published_url, index_files.publication_check(r)
                                                  if r in report.checks else ""))
                            for r in report.published]),
        "not_passed": items([(r, r.closed_at, (_why(r),))
                             for r in report.not_passed]),
        "waiting": items([(w.row, w.since, (f"{w.waiting_for} {thai.thai_digits(w.days)} วัน",))
                          for w in report.waiting]),
        "problems": [_text(p) for p in report.problems],
        "director_name": render.text(director_name),
        "director_position": render.text(director_position),
        **report_obligations.context(report, _day),
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
    with fsutil.locked_folder(folder):  # one run per folder: then what a killed one left can go
        scratch.sweep_partials(folder)
        for legacy in folder.glob(".report-*"):  # staging folders of earlier versions
            shutil.rmtree(legacy, ignore_errors=True)
        return _write_reports(config, period, converter, folder, work_group, sign, now)


def _write_reports(config: Config, period: Period, converter: Converter, folder: Path,
                   work_group: str | None, sign: bool, now: datetime | None) -> list[Written]:
    template = template_path(config)
    director = config.director
    signer = keys.load_signer(director.key) if sign else None
    proof = evidence.gather(config) if sign else model.B_B_ONLY  # the level the forms have
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
                proof: model.Evidence = model.B_B_ONLY) -> signing.SignatureInfo:
    """The director's signature on a report, as acknowledged, in the template's
    ``SigAcknowledged`` box, at the PAdES level ``proof`` allows."""
    return signing.sign_at_bookmark(
        src, dst, bookmark=ACKNOWLEDGE_BOOKMARK, field=ACKNOWLEDGE_FIELD,
        title=ACKNOWLEDGE_TITLE, signer=signer, person=config.director.person,
        font=config.font, evidence=proof)


