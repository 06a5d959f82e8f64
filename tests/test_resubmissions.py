"""A sheet sent again (issue 19 point 5): linked with the request it replaces (the same
file name, its highlighted copy, or the ID written in the note), shown so in the index and
the report, and inbox/rejected/ keeping only the newest report per sheet, the older ones
moved into a dated folder, never deleted, and still found by ``rejection.find``."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, date, datetime

from seeding import archived, request, returned

from pipeline import demo
from pipeline.flow.watch import drain
from pipeline.intake import blank_sheet, rejection
from pipeline.records import index, index_files
from pipeline.records.journal import State


def _drop(processor, name: str, values: dict) -> None:
    ws = processor.ws
    staged = ws.inbox / f".{name}"
    blank_sheet.new_request(staged, processor.config)
    blank_sheet.fill(staged, {**demo.sample_values(date.today()), **values})
    staged.rename(ws.inbox / name)


def _resend(processor, kept: str) -> None:
    """The clerk fixes the highlighted copy in inbox/rejected/ and drops it back."""
    shutil.copyfile(processor.ws.rejected / kept, processor.ws.inbox / f".{kept}")
    (processor.ws.inbox / f".{kept}").rename(processor.ws.inbox / kept)


def _top(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def test_a_sheet_fixed_twice_is_one_request_and_the_old_reports_move_aside(processor):
    ws = processor.ws
    _drop(processor, "ข่าว.xlsx", {"category": "ไม่มีประเภทนี้"})
    (first,) = drain(processor)
    assert first.state == State.REJECTED
    assert _top(ws.rejected) == ["ข่าว.corrected.xlsx", "ข่าว.xlsx", "ข่าว.xlsx.error.txt"]

    blank_sheet.fill(ws.rejected / "ข่าว.corrected.xlsx", {"category": "ข่าวประชาสัมพันธ์",
                                                          "title": ""})  # a new mistake
    _resend(processor, "ข่าว.corrected.xlsx")
    (second,) = drain(processor)
    assert second.state == State.REJECTED
    # only the newest report is in sight; the first rejection's three files moved aside
    assert _top(ws.rejected) == ["ข่าว.corrected.corrected.xlsx", "ข่าว.corrected.xlsx",
                                 "ข่าว.corrected.xlsx.error.txt"]
    (aside,) = [p for p in ws.rejected.iterdir() if p.is_dir()]
    assert aside.name.startswith(rejection.SUPERSEDED_PREFIX + "25")  # Buddhist-Era day
    assert _top(aside) == ["ข่าว.corrected.xlsx", "ข่าว.xlsx", "ข่าว.xlsx.error.txt"]
    def report_of(request_id: str):  # as the desk finds it: by what the journal recorded
        entry = processor.journal.get(request_id)
        wanted = next(f for f in entry.rejected.files if f[0].endswith(".error.txt"))
        return rejection.find(ws.rejected, wanted)

    assert report_of(first.request_id) == aside / "ข่าว.xlsx.error.txt"  # moved, still found
    assert report_of(second.request_id).parent == ws.rejected

    blank_sheet.fill(ws.rejected / "ข่าว.corrected.xlsx", {"title": "ข่าวที่แก้แล้ว"})
    _resend(processor, "ข่าว.corrected.xlsx")
    (third,) = drain(processor)
    assert third.state == State.ARCHIVED, third.problems
    assert _top(ws.rejected) == []  # accepted: nothing left to fix
    assert len(list(aside.iterdir())) == 6  # both earlier rejections, every file kept

    rows = {r.request_id: r for r in index.gather(ws)}
    assert rows[first.request_id].replaced_by == second.request_id
    assert (rows[second.request_id].replaces, rows[second.request_id].replaced_by) == (
        first.request_id, third.request_id)
    assert rows[third.request_id].replaces == second.request_id
    index_files.rebuild(ws.outbox)
    note = {r[0]: r[17] for r in index_files.read_xlsx(ws.outbox / "index.xlsx")}
    assert note[third.request_id] == (f"ส่งใหม่แทนคำขอ {second.request_id} / "
                                      f"resubmission of {second.request_id}")
    assert f"ส่งใหม่แล้วเป็นคำขอ {third.request_id}" in note[second.request_id]


def test_a_resubmission_naming_the_id_in_its_note_replaces_that_request(demo_ws, tmp_path):
    when = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
    values = {**demo.sample_values(date(2026, 11, 1)), "title": "ข่าว"}
    old = returned(demo_ws, tmp_path, when, values=values, thai="หัวข้อ: ยาวเกินไป",
                   english="title: too long", name="คำขอ.xlsx")
    unrelated = returned(demo_ws, tmp_path, when.replace(hour=10), values=values,
                         thai="หัวข้อ: ยาวเกินไป", english="title: too long", name="อื่น.xlsx")
    new = archived(demo_ws, tmp_path, replace(request(demo_ws, "ข่าว"), note=f"แทน {old}"),
                   when.replace(hour=11), name="ชื่อใหม่ทั้งหมด.xlsx")
    rows = {r.request_id: r for r in index.gather(demo_ws.workspace)}
    assert (rows[new].replaces, rows[old].replaced_by) == (old, new)
    assert not rows[unrelated].replaced_by
