"""The inbox as staff use it: attachments, stray files, slow copies."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import date

import pytest

from pipeline import demo
from pipeline.bundles import bundle
from pipeline.flow.processing import Processor
from pipeline.flow.watch import WatchOptions, _complete, _Settle, drain, watch
from pipeline.intake import blank_sheet
from pipeline.records.journal import State

PIPELINE = [sys.executable, "-m", "pipeline"]


@pytest.fixture
def patient(demo_ws, converter):
    """A processor whose sheets wait up to a minute for their attachments."""
    with Processor(dataclasses.replace(demo_ws, attachment_wait=60), converter) as proc:
        yield proc


@pytest.fixture
def impatient(demo_ws, converter):
    """A processor that gives attachments (and files no sheet names) no time at all."""
    with Processor(dataclasses.replace(demo_ws, attachment_wait=0), converter) as proc:
        yield proc


def _drop_sheet(demo_ws, name: str, **values: object):
    path = demo_ws.workspace.inbox / name
    staged = path.with_name(f".{name}")
    blank_sheet.new_request(staged, demo_ws)
    blank_sheet.fill(staged, {**demo.sample_values(date.today()), **values})
    staged.rename(path)
    return path


def test_a_sheet_waits_for_its_attachment_and_takes_it(patient, demo_ws):
    inbox = demo_ws.workspace.inbox
    _drop_sheet(demo_ws, "ประกาศ.xlsx", attachments="ประกาศ ฉบับเต็ม.pdf\nภาพ.jpg")
    (inbox / "ภาพ.jpg").write_bytes(b"\xff\xd8 jpeg")
    first = drain(patient)
    assert [o.state for o in first] == [State.RECEIVED]
    assert "ประกาศ ฉบับเต็ม.pdf" in first[0].problems[0].english
    assert (inbox / "ภาพ.jpg").exists()  # awaited by a sheet: not a stray
    (inbox / "ประกาศ ฉบับเต็ม.pdf").write_bytes(b"%PDF-1.4 full text")
    second = drain(patient)
    assert [o.state for o in second] == [State.ARCHIVED]
    files = bundle.read_manifest(second[0].bundle)["files"]
    assert {"attachments/ประกาศ ฉบับเต็ม.pdf", "attachments/ภาพ.jpg"} <= set(files)
    assert not any(p for p in inbox.iterdir() if p.is_file())


def test_an_attachment_that_never_comes_ends_in_a_clear_rejection(impatient, demo_ws):
    _drop_sheet(demo_ws, "ขาดไฟล์.xlsx", attachments="ไม่มีจริง.pdf")
    outcomes = drain(impatient)
    assert [o.state for o in outcomes] == [State.REJECTED]
    report = outcomes[0].rejection.report.read_text(encoding="utf-8-sig")
    assert "ไม่มีจริง.pdf" in report and "not found" in report
    assert (demo_ws.workspace.rejected / "ขาดไฟล์.xlsx").exists()


@pytest.mark.parametrize(("name", "advice"), [
    ("แบบคำขอ.xls", "Save As"), ("แบบคำขอ.xlsm", "Save As"), ("ข้อมูล.csv", "Save As"),
    ("รูปภาพ.png", "attachments"), ("บันทึก.docx", "attachments"),
])
def test_files_no_sheet_names_are_returned_with_advice(impatient, demo_ws, name, advice):
    inbox = demo_ws.workspace.inbox
    (inbox / name).write_bytes(b"some bytes")
    (inbox / "~$แบบคำขอ.xlsx").write_bytes(b"lock")
    (inbox / "กำลังโหลด.crdownload").write_bytes(b"partial")
    assert drain(impatient) == []
    assert not (inbox / name).exists()
    assert (demo_ws.workspace.rejected / name).read_bytes() == b"some bytes"
    report = (demo_ws.workspace.rejected / f"{name}.error.txt").read_text(encoding="utf-8-sig")
    assert advice in report
    assert (inbox / "~$แบบคำขอ.xlsx").exists() and (inbox / "กำลังโหลด.crdownload").exists()


def test_a_sheet_copied_slowly_is_taken_once_when_complete(demo_ws, tmp_path):
    root = demo_ws.workspace.root
    form = tmp_path / "ช้า.xlsx"
    blank_sheet.new_request(form, demo_ws)
    blank_sheet.fill(form, demo.sample_values(date.today()))
    data = form.read_bytes()
    target = root / "inbox" / "ช้า.xlsx"
    watcher = subprocess.Popen([*PIPELINE, "--workspace", str(root), "watch", "--settle", "1",
                                "--rescan", "0.2"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    copied = threading.Event()

    def copy_slowly() -> None:
        """Like a copy over a slow share: chunks over about three seconds."""
        chunk = len(data) // 12 + 1
        with target.open("wb") as f:
            for i in range(0, len(data), chunk):
                f.write(data[i:i + chunk])
                f.flush()
                os.fsync(f.fileno())
                time.sleep(0.25)
        copied.set()

    writer = threading.Thread(target=copy_slowly)
    writer.start()
    try:
        outbox = root / "outbox"
        deadline = time.monotonic() + 90
        while not any(bundle.is_bundle(p) for p in outbox.iterdir()):
            assert time.monotonic() < deadline and watcher.poll() is None
            time.sleep(0.05)
        assert copied.is_set()  # nothing was taken before the copy finished
    finally:
        writer.join()
        watcher.terminate()
        out, err = watcher.communicate(timeout=60)
    bundles = [p for p in (root / "outbox").iterdir() if bundle.is_bundle(p)]
    assert len(bundles) == 1
    assert (bundles[0] / "request.xlsx").read_bytes() == data
    assert "REJECTED" not in err and not (root / "inbox" / "rejected").exists()


_EMBEDDING_SCRIPT = '''
import sys
from datetime import datetime, timedelta
from pathlib import Path

from pipeline import demo
from pipeline.flow.processing import Processor
from pipeline.flow.watch import WatchOptions, _complete, _Settle, drain, watch


def main() -> None:
    made = demo.create(Path(sys.argv[1]))
    with Processor(made.config) as processor:
        demo.drop_sample(made)
        inline = drain(processor)  # this process converts, over UNO, itself
        demo.drop_sample(made, datetime.now() + timedelta(seconds=1))  # another request
        pooled = drain(processor, workers=1)  # then a spawned worker converts
    print(*(o.state.value for o in inline + pooled))


if __name__ == "__main__":
    main()
'''


def test_a_program_that_converted_itself_can_still_start_workers(demo_template, tmp_path):
    """A program importing the pipeline at its top (so that each spawned worker imports it
    again while starting) converts in its own process, then through a worker: the worker's
    LibreOffice bridge must still work (it once failed: "pyuno runtime is not
    initialized")."""
    root = shutil.copytree(demo_template, tmp_path / "ws")
    script = tmp_path / "embedding.py"
    script.write_text(_EMBEDDING_SCRIPT, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script), str(root)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split() == ["archived", "archived"], run.stderr[-3000:]


def test_a_sheet_closed_by_its_writer_is_taken_without_the_settle_wait(processor, demo_ws,
                                                                      tmp_path):
    """Local disk: inotify reports the writer's close, so a whole sheet unchanged since is
    taken at once; with a settle time of ten minutes, only that can archive it now."""
    form = tmp_path / "ปิดแล้ว.xlsx"
    blank_sheet.new_request(form, demo_ws)
    blank_sheet.fill(form, demo.sample_values(date.today()))
    stop = threading.Event()
    outcomes = []

    def clerk() -> None:
        """Copies the sheet once the watcher observes the inbox (its first index is
        written after the observer started)."""
        while not (demo_ws.workspace.outbox / "index.xlsx").exists() and not stop.is_set():
            time.sleep(0.05)
        shutil.copyfile(form, demo_ws.workspace.inbox / form.name)

    def done(outcome) -> None:
        outcomes.append(outcome)
        stop.set()

    copying = threading.Thread(target=clerk)
    give_up = threading.Timer(120, stop.set)  # long before the ten minutes' settle
    copying.start()
    give_up.start()
    try:
        watch(processor, WatchOptions(settle=600, rescan=600, workers=0), done, stop)
    finally:
        stop.set()
        give_up.cancel()
        copying.join()
    assert [o.state for o in outcomes] == [State.ARCHIVED]


def test_only_a_whole_zip_unchanged_since_its_close_skips_the_settle_wait(demo_ws, tmp_path):
    """Without a close (polling, network shares), after a write following the close, or
    when the closed file is not a whole zip, the settle time still applies."""
    sheet = tmp_path / "sheet.xlsx"
    blank_sheet.new_request(sheet, demo_ws)
    cases = {"closed": sheet.read_bytes(), "no-close": sheet.read_bytes(),
             "written-after": sheet.read_bytes(), "not-a-zip": sheet.read_bytes()[:-30]}
    settle = _Settle(600)
    for name, data in cases.items():
        path = tmp_path / f"{name}.xlsx"
        path.write_bytes(data)
        if name != "no-close":
            settle.note_closed(path)
        if name == "written-after":
            with path.open("ab") as f:
                f.write(b"\0")
    assert {name: _complete(tmp_path / f"{name}.xlsx", settle) for name in cases} == {
        "closed": True, "no-close": False, "written-after": False, "not-a-zip": False}
