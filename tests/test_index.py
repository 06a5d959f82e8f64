"""The index: rows from the manifests and the journal, rebuilt exactly, text kept as text,
and a locked index that loses nothing."""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path

import pytest
from openpyxl import load_workbook
from seeding import archived, awaiting, refused_problem, request, returned

from pipeline import demo
from pipeline.bundles import publish
from pipeline.core import fsutil, thai
from pipeline.core.request import request_id_key
from pipeline.flow.processing import Processor
from pipeline.intake import blank_sheet
from pipeline.records import index, index_files
from pipeline.records.index import Row, Status
from pipeline.records.journal import State

PIPELINE = [sys.executable, "-m", "pipeline"]
NOV = datetime(2026, 11, 3, 9, 30, tzinfo=thai.BANGKOK)


def _values(path: Path) -> list[tuple]:
    return index_files.read_xlsx(path)


def _fill(path: Path, config, **changes: object) -> Path:
    blank_sheet.new_request(path, config)
    blank_sheet.fill(path, {**demo.sample_values(date.today()), **changes})
    return path


def test_rebuild_equals_the_index_the_pipeline_kept_up_to_date(processor, demo_ws, tmp_path):
    """The index kept by the pipeline request after request equals `pipeline index
    --rebuild` from nothing, byte for byte for the CSV and value for value for the workbook."""
    outbox = demo_ws.workspace.outbox
    for i in range(2):
        outcome = processor.process(_fill(tmp_path / f"{i}.xlsx", demo_ws, title=f"ข่าว {i}"))
        assert outcome.state == State.ARCHIVED
        processor.rebuild_index()
    bad = processor.process(_fill(tmp_path / "bad.xlsx", demo_ws, title=""))
    assert bad.state == State.REJECTED
    processor.rebuild_index()
    held = dataclasses.replace(demo_ws, auto_approve=False)
    with Processor(held, converter=processor.converter) as waiting:
        assert waiting.process(_fill(tmp_path / "w.xlsx", demo_ws, title="รอ")).state == \
            State.AWAITING_DIRECTOR
        waiting.rebuild_index()
    publish.record(demo_ws, outcome.request_id, "https://example.go.th/news/1", sign=False)
    index_files.refresh(demo_ws.workspace)

    kept_csv = (outbox / "index.csv").read_bytes()
    kept_rows = _values(outbox / "index.xlsx")
    (outbox / "index.csv").unlink()
    (outbox / "index.xlsx").unlink()
    run = subprocess.run([*PIPELINE, "--workspace", str(demo_ws.workspace.root), "index",
                          "--rebuild"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "4 requests" in run.stdout
    assert (outbox / "index.csv").read_bytes() == kept_csv
    assert _values(outbox / "index.xlsx") == kept_rows

    statuses = {r[0]: r[8] for r in kept_rows}
    assert list(statuses.values()) == ["อนุมัติแล้ว", "เผยแพร่แล้ว", "ส่งกลับแก้ไข", "รอลงนาม"]
    published = kept_rows[1]
    assert published[12] == datetime.combine(datetime.now(thai.BANGKOK).date(), time_of_day())
    assert published[13] == "https://example.go.th/news/1"
    returned_row = kept_rows[2]
    assert "หัวข้อ" in returned_row[17]  # the Thai reason from the rejection report
    assert returned_row[3] == demo_ws.work_groups[2]  # read from the returned sheet
    assert kept_rows[3][5] == "รอ" and kept_rows[3][17] == "รอผู้อนุมัติลงนาม"


def test_a_formula_like_title_stays_text(tmp_path):
    title = '=HYPERLINK("http://evil.example/","คลิก")'
    row = Row("REQ-2569-00001", Status.APPROVED, NOV, title=title, work_group="@SUM(A1)",
              note="#N/A", published_url="https://example.go.th/x",
              bundle="REQ-2569-00001/", signed_pdf="REQ-2569-00001/REQ-2569-00001.pdf")
    index_files.write_xlsx([row], tmp_path / "i.xlsx")
    index_files.write_csv([row], tmp_path / "i.csv")
    ws = load_workbook(tmp_path / "i.xlsx").active
    cell = ws.cell(3, 6)
    assert (cell.value, cell.data_type) == (title, "s")
    assert ws.cell(3, 18).value == "#N/A" and ws.cell(3, 18).data_type == "s"
    with zipfile.ZipFile(tmp_path / "i.xlsx") as z:
        assert b"<f>" not in z.read("xl/worksheets/sheet1.xml")
    text = (tmp_path / "i.csv").read_bytes()
    assert text.startswith(b"\xef\xbb\xbf")
    line = text.decode("utf-8-sig").splitlines()[1]
    assert "'=HYPERLINK(" in line and "'@SUM(A1)" in line


def test_the_workbook_is_frozen_filterable_linked_and_in_buddhist_era(demo_ws, tmp_path):
    request_id = archived(demo_ws, tmp_path, request(demo_ws, "ข่าว"), NOV,
                          published=(date(2026, 11, 5), "https://example.go.th/n/1"))
    result = index_files.refresh(demo_ws.workspace)
    assert result.written and result.rows == 1
    ws = load_workbook(result.xlsx).active
    assert ws.freeze_panes == "B3"
    assert ws.auto_filter.ref == "A2:T3"
    assert [ws.cell(1, c).value for c in (1, 9)] == ["เลขที่คำขอ", "สถานะ"]
    assert [ws.cell(2, c).value for c in (1, 9)] == ["Request ID", "Status"]
    assert ws.cell(3, 3).value == datetime(2026, 11, 3, 9, 30)  # Bangkok wall time
    assert "107041E" in ws.cell(3, 3).number_format  # shown with the Thai Buddhist calendar
    assert ws.cell(3, 13).value == datetime(2026, 11, 5)
    assert ws.cell(3, 14).hyperlink.target == "https://example.go.th/n/1"
    assert ws.cell(3, 15).hyperlink.target == f"{request_id}/"
    assert ws.cell(3, 16).hyperlink.target == f"{request_id}/{request_id}.pdf"
    assert ws.column_dimensions["F"].width >= 40
    csv_line = result.csv.read_text(encoding="utf-8-sig").splitlines()[1]
    assert csv_line.startswith(f"{request_id},2026-11-01,2026-11-03T09:30:00,")


def test_returned_refused_and_waiting_requests_come_from_the_journal(demo_ws, tmp_path):
    back = returned(demo_ws, tmp_path, NOV, values={
        **demo.sample_values(date(2026, 11, 3)), "title": "ส่งกลับ", "work_group": "5"},
        cell="คำขอ!B8", thai="หัวข้อ: ว่าง กรุณากรอก", english="title (title): is empty")
    no = returned(demo_ws, tmp_path, NOV, values={
        **demo.sample_values(date(2026, 11, 3)), "title": "ไม่อนุมัติ"},
        thai=refused_problem("ข้อมูลไม่ครบ")[0], english=refused_problem("ข้อมูลไม่ครบ")[1],
        refused=True)
    wait = awaiting(demo_ws, request(demo_ws, "รออนุมัติ", work_group=1), NOV)
    rows = {r.request_id: r for r in index.gather(demo_ws.workspace)}
    assert rows[back].status == Status.RETURNED
    assert rows[back].note == "หัวข้อ: ว่าง กรุณากรอก (ช่อง คำขอ!B8)"
    assert rows[back].title == "ส่งกลับ" and rows[back].work_group == "5"  # as typed
    assert rows[no].status == Status.NOT_APPROVED
    assert rows[no].note == "ผู้อนุมัติไม่อนุมัติ เหตุผล: ข้อมูลไม่ครบ"
    assert rows[no].closed_at == NOV + timedelta(minutes=30, seconds=5)
    assert rows[wait].status == Status.WAITING and rows[wait].title == "รออนุมัติ"
    assert rows[wait].work_group == demo_ws.work_groups[1]


def test_a_returned_request_keeps_each_reason_whole_from_the_journal(processor, demo_ws, tmp_path):
    """The reasons are recorded when the request is rejected, one per problem: a problem
    whose text holds "; " stays one reason (the monthly report split it into ten), and the
    index does not read them back from the clerk's report (removing it changes nothing)."""
    path = _fill(tmp_path / "ผิด.xlsx", demo_ws, title="", category="ประเภทที่ไม่มี; จริง ๆ")
    outcome = processor.process(path)
    assert outcome.state == State.REJECTED
    before = {r.request_id: r for r in index.gather(demo_ws.workspace)}[outcome.request_id]
    assert before.status == Status.RETURNED
    assert before.reasons == tuple(p.plain_thai() for p in outcome.problems)
    assert len(before.reasons) == len(outcome.problems) >= 2
    assert not any("!" in reason for reason in before.reasons)  # no cell reference in them
    assert before.category == "ประเภทที่ไม่มี; จริง ๆ" and before.title == ""
    for report in demo_ws.workspace.rejected.glob("*.error.txt"):
        report.unlink()
    after = {r.request_id: r for r in index.gather(demo_ws.workspace)}[outcome.request_id]
    assert after == before


def test_an_index_locked_by_another_program_loses_no_update(demo_ws, tmp_path, monkeypatch,
                                                             caplog):
    """Excel on Windows locks an open file, and Samba then refuses to replace it: the
    rename fails. The update is kept (the truth is in the bundles and the journal), a
    warning says so, and the index is written again once the lock is gone."""
    first = archived(demo_ws, tmp_path, request(demo_ws, "หนึ่ง"), NOV)
    assert index_files.refresh(demo_ws.workspace).written
    target = demo_ws.workspace.outbox / "index.xlsx"
    real_replace = os.replace
    locked = True

    def replace(src, dst):
        if locked and Path(dst) == target:
            raise PermissionError(13, "The process cannot access the file because it is "
                                      "being used by another process", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(fsutil.os, "replace", replace)
    second = archived(demo_ws, tmp_path, request(demo_ws, "สอง"), NOV + timedelta(hours=1))
    with caplog.at_level(logging.WARNING, logger="pipeline.records.index_files"):
        result = index_files.refresh(demo_ws.workspace, retry_after=0.2)
    assert not result.written and "index.xlsx" in result.problem
    assert "Nothing is lost" in caplog.text and "Excel" in caplog.text
    assert index_files.stale_reason(demo_ws.workspace)
    assert [r[0] for r in _values(target)] == [first]  # the old index, whole
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".part")]

    locked = False  # closed in Excel: the retry in the background writes it
    deadline = time.monotonic() + 10
    while index_files.stale_reason(demo_ws.workspace) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert index_files.stale_reason(demo_ws.workspace) is None
    assert [r[0] for r in _values(target)] == [first, second]


def test_index_command_reports_an_index_it_cannot_replace(demo_ws, tmp_path):
    """A real failure of the file system (a folder in the file's place) through the CLI:
    exit 1 with the reason, then success once the obstacle is gone."""
    archived(demo_ws, tmp_path, request(demo_ws, "หนึ่ง"), NOV)
    root = demo_ws.workspace.root
    blocker = demo_ws.workspace.outbox / "index.xlsx"
    blocker.mkdir(parents=True)
    (blocker / "keep").write_text("x")
    run = subprocess.run([*PIPELINE, "-w", str(root), "index", "--rebuild"],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "could not be written" in run.stderr
    status = subprocess.run([*PIPELINE, "-w", str(root), "index"], capture_output=True,
                            text=True)
    assert status.returncode == 1 and "stale" in status.stderr
    (blocker / "keep").unlink()
    blocker.rmdir()
    run = subprocess.run([*PIPELINE, "-w", str(root), "index", "--rebuild"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert len(_values(blocker)) == 1


@pytest.mark.parametrize("ids", [["REQ-2569-00010", "REQ-2569-00009", "REQ-2568-99999",
                                  "REQ-2569-100000"]])
def test_rows_sort_by_year_then_number(ids):
    assert sorted(ids, key=request_id_key) == [
        "REQ-2568-99999", "REQ-2569-00009", "REQ-2569-00010", "REQ-2569-100000"]


def test_times_are_bangkok_wall_times(tmp_path):
    utc = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # 1 December, 03:00 in Bangkok
    row = Row("REQ-2569-00001", Status.WAITING, utc)
    assert index_files.cells(row)[2] == datetime(2026, 12, 1, 3, 0)
