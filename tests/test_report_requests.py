"""The monthly report as the head of the office reads it (issue 19 point 2): requests counted
once however many sheets they took, each refusal once with the director's reason in plain
Thai, only the office's categories, IDs never broken over two lines, the signature block on
the page of its text, and no report for a work group with nothing in the month. Counts are
checked against the journal; layout with ``pdftotext -bbox``."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook
from seeding import archived, refused_problem, request, returned

from pipeline import demo
from pipeline.core import thai
from pipeline.records import index, report, report_files
from pipeline.records.journal import Journal, State

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=thai.BANGKOK)
NOV = report.month("2569-11")
ID = re.compile(r"REQ-[0-9]{4}-[0-9]{5}")


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=thai.BANGKOK)


def _typo(cfg, tmp, when, title, name, *, category: str | None = None) -> str:
    values = {**demo.sample_values(date(2026, 11, 1)), "title": title}
    if category is not None:
        values["category"] = category
    return returned(cfg, tmp, when, values=values, cell="คำขอ!B8",
                    thai="ประเภทข้อมูล: ไม่อยู่ในรายการ (คำขอ!B8) กรุณาเลือกจากรายการ",
                    english="category: not one of the list", name=name)


def _seed_month(cfg, tmp) -> dict[str, list[str]]:
    """Six requests in ten sheets, as clerks send them: typos fixed minutes later under the
    highlighted copy's name or a copy's, once with the ID written in the note, one refusal."""
    seeded: dict[str, list[str]] = {}
    seeded["once"] = [archived(cfg, tmp, request(cfg, "ข่าวหนึ่ง"), at(2), name="ข่าวหนึ่ง.xlsx")]
    seeded["fixed"] = [
        _typo(cfg, tmp, at(3), "ข่าวสอง", "ข่าวสอง.xlsx", category="5"),
        archived(cfg, tmp, request(cfg, "ข่าวสอง"), at(3, 10, 20), name="ข่าวสอง.corrected.xlsx")]
    seeded["twice"] = [
        _typo(cfg, tmp, at(4), "ข่าวสาม", "ข่าวสาม.xlsx", category="ไม่มีประเภทนี้"),
        _typo(cfg, tmp, at(4, 11), "ข่าวสาม", "ข่าวสาม.corrected.xlsx"),
        archived(cfg, tmp, request(cfg, "ข่าวสาม"), at(4, 12), name="ข่าวสาม (2).corrected.xlsx")]
    first = _typo(cfg, tmp, at(5), "ข่าวสี่", "คำขอ.xlsx")
    seeded["by_id"] = [first, archived(cfg, tmp, replace(request(cfg, "ข่าวสี่ แก้แล้ว"),
                                                         note=f"ส่งใหม่แทน {first}"),
                                       at(6), name="ข่าวสี่ ฉบับแก้.xlsx")]
    seeded["refused"] = [returned(cfg, tmp, at(7), values={
        **demo.sample_values(date(2026, 11, 1)), "title": "ข่าวที่ไม่อนุมัติ"},
        thai=refused_problem("ภาพไม่ชัด")[0], english=refused_problem("ภาพไม่ชัด")[1],
        refused=True)]
    seeded["late"] = [_typo(cfg, tmp, at(8), "ข่าวหก", "ข่าวหก.xlsx")]  # never sent again
    return seeded


def _journal_ids(cfg) -> list[str]:
    journal = Journal(cfg.workspace.journal_file, cfg.id_prefix)
    try:
        return [e.id for state in State for e in journal.in_state(state)]
    finally:
        journal.close()


def test_requests_are_counted_once_however_many_sheets_they_took(demo_ws, tmp_path):
    seeded = _seed_month(demo_ws, tmp_path)
    rows = index.gather(demo_ws.workspace)
    assert len(rows) == len(_journal_ids(demo_ws)) == 10  # ten sheets, one journal entry each
    by_id = {r.request_id: r for r in rows}
    for chain in seeded.values():  # each sheet sent again is linked with the one it replaces
        for old, new in zip(chain, chain[1:], strict=False):
            assert (by_id[old].replaced_by, by_id[new].replaces) == (new, old)
    assert not by_id[seeded["once"][0]].replaces and not by_id[seeded["late"][0]].replaced_by

    office = report.build(rows, unit=demo_ws.unit, categories=demo_ws.categories, period=NOV,
                          groups=demo_ws.work_groups, now=NOW)
    replaced = {r.request_id for r in rows if r.replaced_by}
    assert len(office.requested) == len(_journal_ids(demo_ws)) - len(replaced) == 6
    assert sorted(r.request_id for r in office.requested) == sorted(
        chain[-1] for chain in seeded.values())
    # not passed: the refusal, and the typo never sent again; not the typos fixed at once
    assert sorted(r.request_id for r in office.not_passed) == sorted(
        [seeded["refused"][0], seeded["late"][0]])
    refusal = f"{seeded['refused'][0]} เรื่อง ข่าวที่ไม่อนุมัติ: ผู้อนุมัติไม่อนุมัติ เหตุผล: ภาพไม่ชัด"
    assert office.problems[:2] == (
        refusal, f"ส่งกลับแก้ไขและยังไม่ได้ส่งใหม่ ๑ เรื่อง เพราะ ประเภทข้อมูล: ไม่อยู่ในรายการ "
                 f"กรุณาเลือกจากรายการ ({seeded['late'][0]})")
    assert not any("คำขอ!" in p for p in office.problems)  # no cell references for the head
    assert [c.name for c in office.categories] == list(demo_ws.categories)  # ten, no "5"
    assert sum(c.requested for c in office.categories) == 6


def test_the_report_files_show_each_request_once_and_only_groups_with_work(
        demo_ws, tmp_path, converter):
    seeded = _seed_month(demo_ws, tmp_path)
    written = report_files.write_reports(demo_ws, NOV, converter, now=NOW)
    group = demo_ws.work_groups.index(request(demo_ws, "x").work_group) + 1
    # and the groups with obligations overdue in November (the demo's: 1, the quarter's
    # complaints and the month's procurement; 6, the yearly ones due 31 October)
    assert [w.pdf.name for w in written] == ["2569-11-office.pdf"] + [
        f"2569-11-group{i:02d}.pdf" for i in sorted({1, group, 6})]
    wb = load_workbook(written[0].xlsx)
    listed = [r[0] for r in wb["ขอเผยแพร่"].iter_rows(min_row=2, values_only=True)]
    assert sorted(listed) == sorted(chain[-1] for chain in seeded.values())
    words = _words(written[0].pdf)
    text = "".join(w for _, _, w in words)  # pdftotext spaces some Thai marks apart
    refused = seeded["refused"][0]
    # once in each list it belongs to (requested, not passed) and once among the problems
    assert sum(refused in w for _, _, w in words) == 3
    assert "ภาพไม่ชัด" in text and "คำขอ!B8" not in text


def _words(pdf: Path) -> list[tuple[int, float, str]]:
    """(page, top, word) of every word, from ``pdftotext -bbox``."""
    xhtml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True,
                           capture_output=True, text=True).stdout
    root = ET.fromstring(xhtml)
    found = []
    for number, page in enumerate(root.iter("{http://www.w3.org/1999/xhtml}page"), start=1):
        for word in page.iter("{http://www.w3.org/1999/xhtml}word"):
            found.append((number, float(word.get("yMin", 0)), word.text or ""))
    return found


def _long_report(problems: int) -> report.Report:
    ids = [f"REQ-2569-{n:05d}" for n in range(1, 9)]
    lines = ["คำขอรอผู้อนุมัติลงนามเกิน ๓ วัน ๘ เรื่อง: "
             + ", ".join(f"({i} ๕ วัน)" for i in ids)]
    lines += [f"ปัญหาที่ {thai.thai_digits(n)} ของหน่วยงาน" for n in range(problems)]
    return report.Report(unit=demo.UNIT, scope=report.WHOLE_OFFICE, period=NOV, as_of=NOW,
                         requested=(), approved=(), published=(), not_passed=(), waiting=(),
                         categories=(), months=(), problems=tuple(lines))


def test_ids_never_break_and_the_signature_block_stays_with_its_text(demo_ws, tmp_path,
                                                                      converter):
    """Rendered with more and more problem lines, so that the page ends at every height
    around the last section: its heading, its lines and the director's block are on one
    page each time, and every request ID is one word on one line."""
    template = report_files.template_path(demo_ws)
    director = demo_ws.director.person
    pages_seen = set()
    for problems in range(0, 34, 2):
        docx, pdf = tmp_path / f"r{problems}.docx", tmp_path / f"r{problems}.pdf"
        report_files.write_docx(_long_report(problems), template, docx,
                                director_name=director.name, director_position=director.position)
        converter.convert(docx, pdf)
        words = _words(pdf)
        heading = next(p for p, _, w in words if w.startswith("๑๐."))
        acknowledged = [p for p, _, w in words if w == "ทราบ"]
        name_page = [p for p, _, w in words if w == director.name.split()[-1]]
        assert acknowledged == [heading] and name_page[-1] == heading, (problems, heading)
        pages_seen.add(heading)
        # a broken ID leaves a piece ("(REQ-2569-000", "(R") that is not a whole one
        pieces = [w for _, _, w in words if "EQ" in w or w.startswith("(R")]
        assert len(pieces) == 8 and all(ID.search(w) for w in pieces), (problems, pieces)
    assert len(pages_seen) > 1  # the last section did move over a page break
