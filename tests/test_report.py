"""Monthly and fiscal-year reports: exactly the expected rows and counts for a seeded month,
the Thai text in the PDF, and the director's acknowledgement that validates."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from seeding import archived, awaiting, refused_problem, request, returned

from pipeline import demo
from pipeline.audit import signature
from pipeline.core import thai
from pipeline.records import index, report, report_files

PIPELINE = [sys.executable, "-m", "pipeline"]
NOW = datetime(2026, 12, 10, 9, 0, tzinfo=thai.BANGKOK)


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=thai.BANGKOK)


@dataclass(frozen=True)
class Seeded:
    a: str  # November: requested, approved, published (group 3, news)
    b: str  # November: requested, approved, not published (group 3, knowledge)
    c: str  # October request, published 2 November (group 1, unit information)
    d: str  # November: returned for correction (work group typed as "3")
    e: str  # November: waiting for the director (group 2)
    f: str  # December: outside the month
    g: str  # November: refused by the director (group 3)
    h: str  # September: approved, never published (group 3)


def _seed(cfg, tmp_path) -> Seeded:
    values = demo.sample_values(date(2026, 11, 1))
    h = archived(cfg, tmp_path, request(cfg, "กันยายน"), at(9, 20))
    c = archived(cfg, tmp_path, request(cfg, "ข้อมูลหน่วยงาน", work_group=0, category=0),
                 at(10, 28), published=(date(2026, 11, 2), "https://example.go.th/c"))
    a = archived(cfg, tmp_path, request(cfg, "ข่าวไข้เลือดออก"), at(11, 3),
                 published=(date(2026, 11, 5), "https://example.go.th/news/a"))
    b = archived(cfg, tmp_path, request(cfg, "คลังความรู้เรื่องยุง", category=2), at(11, 10))
    g = returned(cfg, tmp_path, at(11, 15, 9), values={**values, "title": "ไม่อนุมัติเรื่องนี้"},
                 thai=refused_problem("ข้อมูลไม่ครบ")[0],
                 english=refused_problem("ข้อมูลไม่ครบ")[1], refused=True)
    d = returned(cfg, tmp_path, at(11, 20), values={**values, "title": "", "work_group": "3"},
                 cell="คำขอ!B8", thai="หัวข้อ: ว่าง กรุณากรอก", english="title is empty")
    e = awaiting(cfg, request(cfg, "รอผู้อนุมัติ", work_group=1), at(11, 25))
    f = archived(cfg, tmp_path, request(cfg, "ธันวาคม"), at(12, 2))
    return Seeded(a, b, c, d, e, f, g, h)


def _ids(rows) -> list[str]:
    return sorted(r.request_id for r in rows)


def test_periods():
    nov = report.month("2569-11")
    assert nov == report.month("2026-11") == report.month("11/2569") == report.month("๒๕๖๙-๑๑")
    assert (nov.start, nov.end, nov.key, nov.label) == (
        date(2026, 11, 1), date(2026, 12, 1), "2569-11", "เดือนพฤศจิกายน ๒๕๖๙")
    dec = report.month("2569-12")
    assert (dec.start, dec.end) == (date(2026, 12, 1), date(2027, 1, 1))
    fy = report.fiscal_year("2569")
    assert (fy.start, fy.end, fy.key) == (date(2025, 10, 1), date(2026, 10, 1), "FY2569")
    assert report.fiscal_year(2026) == fy
    assert "๑ ตุลาคม ๒๕๖๘" in fy.label and "๓๐ กันยายน ๒๕๖๙" in fy.label
    assert [m.key for m in report.months_of(fy)][::11] == ["2568-10", "2569-09"]
    for bad in ("2569-13", "พฤศจิกายน", "11"):
        with pytest.raises(report.ReportError):
            report.month(bad)


def test_a_seeded_month_holds_exactly_the_expected_rows_and_counts(demo_ws, tmp_path):
    s = _seed(demo_ws, tmp_path)
    rows = index.gather(demo_ws.workspace)
    groups = demo_ws.work_groups
    common = {"unit": demo_ws.unit, "categories": demo_ws.categories,
              "period": report.month("2569-11"), "groups": groups, "now": NOW}
    office = report.build(rows, **common)
    assert _ids(office.requested) == sorted([s.a, s.b, s.d, s.e, s.g])
    assert _ids(office.approved) == sorted([s.a, s.b])
    assert [r.request_id for r in office.published] == [s.c, s.a]  # by publication date
    assert [r.published_url for r in office.published] == ["https://example.go.th/c",
                                                           "https://example.go.th/news/a"]
    assert _ids(office.not_passed) == sorted([s.d, s.g])
    assert {r.request_id: r.status for r in office.not_passed} == {
        s.d: index.Status.RETURNED, s.g: index.Status.NOT_APPROVED}
    assert sorted((w.row.request_id, w.waiting_for, w.days) for w in office.waiting) == sorted([
        (s.b, "รอนำขึ้นเผยแพร่", 20),  # approved 10 Nov 10:00, as of 1 Dec 00:00
        (s.e, "รอผู้อนุมัติลงนาม", 5),
        (s.h, "รอนำขึ้นเผยแพร่", 71),
    ])
    counts = {c.name: (c.requested, c.approved, c.published, c.not_passed)
              for c in office.categories}
    cats = demo_ws.categories
    assert list(counts) == list(cats)  # every category of the framework, in its order
    assert counts[cats[7]] == (4, 1, 1, 2)
    assert counts[cats[2]] == (1, 1, 0, 0)
    assert counts[cats[0]] == (0, 0, 1, 0)
    assert sum(n[0] for n in counts.values()) == 5
    assert office.months == ()
    assert office.problems == (
        f"{s.g} เรื่อง ไม่อนุมัติเรื่องนี้: ผู้อนุมัติไม่อนุมัติ เหตุผล: ข้อมูลไม่ครบ",
        f"ส่งกลับแก้ไขและยังไม่ได้ส่งใหม่ ๑ เรื่อง เพราะ หัวข้อ: ว่าง กรุณากรอก ({s.d})",
        f"คำขอรอผู้อนุมัติลงนามเกิน ๓ วัน ๑ เรื่อง: {s.e} (๕ วัน)",
        f"อนุมัติแล้วแต่ยังไม่ได้นำขึ้นเผยแพร่เกิน ๗ วัน ๒ เรื่อง: {s.h} (๗๑ วัน), {s.b} (๒๐ วัน)",
    )

    group = report.build(rows, work_group=groups[2], **common)
    assert group.scope == groups[2]
    assert _ids(group.requested) == sorted([s.a, s.b, s.d, s.g])  # d typed its group as "3"
    assert [r.request_id for r in group.published] == [s.a]
    assert _ids(group.not_passed) == sorted([s.d, s.g])
    assert sorted(w.row.request_id for w in group.waiting) == sorted([s.b, s.h])
    other = report.build(rows, work_group=groups[0], **common)
    assert ([r.request_id for r in other.published], other.requested, other.problems) == (
        [s.c], (), ())


def test_the_fiscal_year_counts_each_month(demo_ws, tmp_path):
    s = _seed(demo_ws, tmp_path)
    rows = index.gather(demo_ws.workspace)
    fy = report.build(rows, unit=demo_ws.unit, categories=demo_ws.categories,
                      period=report.fiscal_year("2570"), now=NOW)
    assert [m.name for m in fy.months[:3]] == ["ตุลาคม ๒๕๖๙", "พฤศจิกายน ๒๕๖๙", "ธันวาคม ๒๕๖๙"]
    assert [(m.requested, m.approved, m.published, m.not_passed) for m in fy.months[:3]] == [
        (1, 1, 0, 0), (5, 2, 2, 2), (1, 1, 0, 0)]
    assert len(fy.months) == 12 and all(m.requested == 0 for m in fy.months[3:])
    assert _ids(fy.requested) == sorted([s.a, s.b, s.c, s.d, s.e, s.f, s.g])  # not h (FY2569)
    # as of now (10 December, 09:00): f approved 2 December 10:03, waiting 7 whole days
    assert (s.f, 7) in [(w.row.request_id, w.days) for w in fy.waiting]


def test_the_report_pdf_has_the_thai_text_and_the_signed_acknowledgement_validates(
        demo_ws, tmp_path, converter):
    s = _seed(demo_ws, tmp_path)
    written = report_files.write_reports(demo_ws, report.month("2569-11"), converter,
                                         sign=True, now=NOW)
    folder = demo_ws.workspace.outbox / "reports" / "2569-11"
    # the work groups with something in November: 1 (c published), 2 (e waiting), 3, and 6,
    # whose yearly obligations (due 31 October) are overdue; not 4 and 5, whose only
    # obligation (the monthly activities news, due on the month's last day) is merely due
    assert [w.pdf.name for w in written] == ["2569-11-office.pdf"] + [
        f"2569-11-group{i:02d}.pdf" for i in (1, 2, 3, 6)]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [w.pdf.name for w in written] + [w.xlsx.name for w in written])
    assert all(w.pdf.parent == folder and w.xlsx.is_file() for w in written)
    office = written[0]
    text = "".join(subprocess.run(["pdftotext", "-raw", str(office.pdf), "-"], check=True,
                                  capture_output=True, text=True).stdout.split())
    for expected in (report.TITLE, demo_ws.unit, "ประจำเดือนพฤศจิกายน ๒๕๖๙", s.a, s.c,
                     "https://example.go.th/news/a", "ผู้อนุมัติไม่อนุมัติ เหตุผล: ข้อมูลไม่ครบ",
                     "รอนำขึ้นเผยแพร่ ๒๐ วัน", "ปัญหาอุปสรรค", "๕ พ.ย. ๒๕๖๙",
                     f"คำขอรอผู้อนุมัติลงนามเกิน ๓ วัน ๑ เรื่อง: {s.e} (๕ วัน)",
                     demo_ws.director.person.name):
        assert "".join(expected.split()) in text, expected
    assert s.f not in text
    fonts = subprocess.run(["pdffonts", str(office.pdf)], capture_output=True, text=True,
                           check=True).stdout
    assert "Laksaman" in fonts
    statuses = signature.verify_pdf(office.pdf, demo_ws.trust_roots)
    assert [(st.field, st.intact, st.trusted, st.ok) for st in statuses] == [
        ("acknowledged", True, True, True)]
    assert statuses[0].signer == demo_ws.director.person.name
    assert office.signature is not None and office.signature.signer == statuses[0].signer

    wb = load_workbook(office.xlsx)
    assert wb.sheetnames == ["สรุป", "ขอเผยแพร่", "อนุมัติ", "เผยแพร่แล้ว", "ไม่ผ่าน",
                             "รอดำเนินการ", "ปัญหาอุปสรรค", "ภาระการเผยแพร่"]
    published = [r for r in wb["เผยแพร่แล้ว"].iter_rows(min_row=2, values_only=True)]
    assert [(r[0], r[1], r[5]) for r in published] == [
        (s.c, datetime(2026, 11, 2), "https://example.go.th/c"),
        (s.a, datetime(2026, 11, 5), "https://example.go.th/news/a")]
    assert "107041E" in wb["เผยแพร่แล้ว"].cell(2, 2).number_format
    assert wb["ปัญหาอุปสรรค"].max_row == 5  # heading + the four problems


def test_report_command_for_one_work_group_unsigned(demo_ws, tmp_path):
    _seed(demo_ws, tmp_path)
    out = tmp_path / "out"
    run = subprocess.run([*PIPELINE, "-w", str(demo_ws.workspace.root), "report", "--month",
                          "2026-11", "--work-group", "3", "--out", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == ["2569-11-group03.pdf",
                                                    "2569-11-group03.xlsx"]
    assert signature.verify_pdf(out / "2569-11-group03.pdf", demo_ws.trust_roots) == []
    wrong = subprocess.run([*PIPELINE, "-w", str(demo_ws.workspace.root), "report",
                            "--fiscal-year", "2569", "--work-group", "ไม่มีกลุ่มนี้"],
                           capture_output=True, text=True)
    assert wrong.returncode == 1 and "not a work group" in wrong.stderr
