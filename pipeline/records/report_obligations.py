"""The report's obligation sections (report_files.py writes the rest): the state of each
obligation at the end of the period, per work group, and, in a fiscal-year report, the
evidence per ITA indicator (request IDs, publication dates, addresses): what the office
hands to the assessment, signed by the director with the report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from markupsafe import Markup

from pipeline.core import thai
from pipeline.form import render
from pipeline.records.obligations import Occurrence
from pipeline.records.report import Report

OBLIGATIONS_SHEET = "ภาระการเผยแพร่"
EVIDENCE_SHEET = "หลักฐาน ITA"
Table = Callable[..., int]  # report_files._table: (ws, first row, head, rows) -> next row


def _state(o: Occurrence) -> str:
    return f"{o.state}{' (หลังกำหนด)' if o.late else ''}"


def occurrence_rows(report: Report) -> list[tuple[object, ...]]:
    """One spreadsheet row per occurrence and piece of evidence."""
    rows: list[tuple[object, ...]] = []
    for block in report.obligations:
        for o in block.occurrences:
            head = (block.work_group, o.obligation.title, o.window.due, _state(o))
            if not o.evidence:
                rows.append((*head, ", ".join(o.waiting), None, ""))
            rows += [(*head, e.request_id, e.published_on, e.url) for e in o.evidence]
    return rows


def add_sheets(wb, report: Report, table: Table) -> None:
    """The obligation sheets of the report's workbook (the evidence sheet in a fiscal-year
    report only)."""
    ws = wb.create_sheet(OBLIGATIONS_SHEET)
    table(ws, 1, ("กลุ่มงาน", "รายการที่ต้องเผยแพร่", "กำหนด", "สถานะ",
                  "เลขที่คำขอ (หรือที่รอดำเนินการ)", "วันที่เผยแพร่", "URL"),
          occurrence_rows(report))
    for letter, width in zip("ABCDEFG", (30, 50, 14, 18, 24, 14, 40), strict=True):
        ws.column_dimensions[letter].width = width
    if not report.period.fiscal:
        return
    ws = wb.create_sheet(EVIDENCE_SHEET)
    table(ws, 1, ("ตัวชี้วัด", "รายการที่ต้องเผยแพร่", "กลุ่มงาน", "เลขที่คำขอ", "หัวข้อ",
                  "วันที่เผยแพร่", "URL"),
          [(ind.indicator, o.title, group, e.request_id, e.title, e.published_on, e.url)
           for ind in report.evidence for o, group, e in ind.evidence])
    for letter, width in zip("ABCDEFG", (12, 40, 30, 17, 50, 14, 40), strict=True):
        ws.column_dimensions[letter].width = width


def context(report: Report, day: Callable[[date], str]) -> dict:
    """The template's placeholders for these sections; every value is escaped text."""

    def n(value: int) -> Markup:
        return render.text(thai.thai_digits(value))

    occurrences: list[dict[str, Markup]] = []
    for block in report.obligations:
        for o in block.occurrences:
            subject = [o.obligation.title] + ([block.work_group] if report.whole_office else [])
            done = ", ".join(f"{e.request_id} ({day(e.published_on)})" for e in o.evidence)
            waiting = f"รอดำเนินการ: {', '.join(o.waiting)}" if o.waiting else ""
            occurrences.append({
                "no": n(len(occurrences) + 1), "subject": render.text("\n".join(subject)),
                "due": render.text(day(o.window.due)), "state": render.text(_state(o)),
                "evidence": render.text(done or waiting or "-")})

    def items(evidence: Sequence) -> list[dict]:
        return [{"no": n(i), "id": render.text(e.request_id),
                 "subject": render.text("\n".join(x for x in (e.title, group, e.url) if x)),
                 "date": render.text(day(e.published_on))}
                for i, (_o, group, e) in enumerate(evidence, start=1)]

    return {
        "obligations": occurrences,
        "evidence": [{"indicator": render.text(ind.indicator),
                      "titles": render.text("; ".join(o.title for o in ind.obligations)),
                      "entries": items(ind.evidence)} for ind in report.evidence],
    }
