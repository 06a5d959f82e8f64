"""Hostile entries in the shared inbox: links, hard links, FIFOs. Nothing they point to is
opened, read, moved or copied; the entry itself goes to inbox/rejected/ with a report."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from pipeline import demo
from pipeline.flow.processing import Processor
from pipeline.flow.watch import WatchError, WatchOptions, drain, watch
from pipeline.intake import blank_sheet
from pipeline.records.journal import State

PIPELINE = [sys.executable, "-m", "pipeline"]


@pytest.fixture
def impatient(demo_ws, converter):
    """Files no sheet names get no time at all before they are rejected."""
    with Processor(dataclasses.replace(demo_ws, attachment_wait=0), converter) as proc:
        yield proc


def _sheet(config, path: Path, **values: object) -> Path:
    blank_sheet.new_request(path, config)
    blank_sheet.fill(path, {**demo.sample_values(date.today()), **values})
    return path


def _fingerprint(path: Path) -> tuple[int, int, str]:
    st = os.lstat(path)
    return st.st_ino, st.st_nlink, hashlib.sha256(path.read_bytes()).hexdigest()


def _journal_names(processor: Processor) -> dict[str, str]:
    return {e.source_name: e.state for e in processor.journal.in_state(State.REJECTED)}


@pytest.mark.parametrize("where", ["outside", "inside"])
def test_a_link_to_a_valid_sheet_is_refused_and_its_target_untouched(
        processor, demo_ws, tmp_path, where):
    """The finding: the target of inbox/link.xlsx was renamed into inbox/rejected/."""
    ws = demo_ws.workspace
    folder = tmp_path / "elsewhere" if where == "outside" else ws.root / "templates"
    folder.mkdir(exist_ok=True)
    victim = _sheet(demo_ws, folder / "victim.xlsx")  # a sheet that would pass validation
    before = _fingerprint(victim)
    (ws.inbox / "link.xlsx").symlink_to(victim)

    outcomes = drain(processor)

    assert [o.state for o in outcomes] == [State.REJECTED]
    assert _fingerprint(victim) == before  # same inode, same bytes, still there
    moved = ws.rejected / "link.xlsx"
    assert moved.is_symlink() and os.readlink(moved) == str(victim)
    report = (ws.rejected / "link.xlsx.error.txt").read_text(encoding="utf-8-sig")
    assert "symbolic link" in report and "ทางลัด" in report
    assert _journal_names(processor) == {"link.xlsx": State.REJECTED}
    assert not (ws.outbox / outcomes[0].request_id).exists()
    assert sorted(p.name for p in ws.rejected.iterdir()) == ["link.xlsx", "link.xlsx.error.txt"]


def test_links_to_a_folder_and_dangling_links_are_refused(impatient, demo_ws, tmp_path):
    ws = demo_ws.workspace
    target = tmp_path / "secret"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    (ws.inbox / "folder.xlsx").symlink_to(target)
    (ws.inbox / "folder-link").symlink_to(target)
    (ws.inbox / "dangling.xlsx").symlink_to(tmp_path / "nothing-here.xlsx")
    (ws.inbox / "dangling.pdf").symlink_to(tmp_path / "nothing-here.pdf")

    outcomes = drain(impatient)

    assert sorted(o.source.name for o in outcomes) == ["dangling.xlsx", "folder.xlsx"]
    assert {o.state for o in outcomes} == {State.REJECTED}
    for name in ("folder.xlsx", "folder-link", "dangling.xlsx", "dangling.pdf"):
        assert (ws.rejected / name).is_symlink(), name
        assert "symbolic link" in (ws.rejected / f"{name}.error.txt").read_text("utf-8-sig")
    assert [p.name for p in ws.inbox.iterdir()] == ["rejected"]
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert not (tmp_path / "nothing-here.xlsx").exists()


def test_a_hard_link_is_refused_and_the_other_name_keeps_its_file(processor, demo_ws, tmp_path):
    ws = demo_ws.workspace
    original = _sheet(demo_ws, ws.root / "original.xlsx")
    os.link(original, ws.inbox / "hard.xlsx")
    before = hashlib.sha256(original.read_bytes()).hexdigest()

    outcomes = drain(processor)

    assert [o.state for o in outcomes] == [State.REJECTED]
    assert "hard link" in outcomes[0].problems[0].english
    assert hashlib.sha256(original.read_bytes()).hexdigest() == before
    assert os.lstat(original).st_nlink == 2  # the link moved to rejected/, not copied
    assert os.path.samefile(original, ws.rejected / "hard.xlsx")


def test_a_fifo_named_like_a_sheet_is_refused_without_being_opened(demo_ws):
    """Opening a FIFO for reading blocks until a writer comes: the watcher would hang. The
    real command, with a time limit."""
    ws = demo_ws.workspace
    os.mkfifo(ws.inbox / "pipe.xlsx")
    done = subprocess.run([*PIPELINE, "--workspace", str(ws.root), "watch", "--once",
                           "--settle", "0", "--workers", "0"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pipe.xlsx" in done.stderr and "REJECTED" in done.stderr
    assert "FIFO" in (ws.rejected / "pipe.xlsx.error.txt").read_text("utf-8-sig")
    assert (ws.rejected / "pipe.xlsx").is_fifo()


def test_a_linked_attachment_is_refused_and_its_target_untouched(processor, demo_ws, tmp_path):
    ws = demo_ws.workspace
    secret = tmp_path / "secret.pdf"
    secret.write_bytes(b"%PDF-1.4 not for the website")
    before = _fingerprint(secret)
    (ws.inbox / "ประกาศ.pdf").symlink_to(secret)
    _sheet(demo_ws, ws.inbox / "คำขอ.xlsx", attachments="ประกาศ.pdf")

    outcomes = drain(processor)

    assert [o.state for o in outcomes] == [State.REJECTED]
    english = outcomes[0].problems[0].english
    assert "ประกาศ.pdf" in english and "symbolic link" in english
    assert _fingerprint(secret) == before
    # once no sheet waits for it, the link itself is refused as a stray, at once
    assert not os.path.lexists(ws.inbox / "ประกาศ.pdf")
    assert (ws.rejected / "ประกาศ.pdf").is_symlink()
    assert all(p.is_symlink() for p in ws.rejected.rglob("ประกาศ*.pdf"))


@pytest.mark.parametrize("folder", ["inbox/rejected", "outbox", "inbox"])
def test_a_workspace_folder_linked_outside_stops_the_watcher_at_start(
        processor, demo_ws, tmp_path, folder):
    ws = demo_ws.workspace
    outside = tmp_path / "etc"
    outside.mkdir()
    linked = ws.root / folder
    if linked.is_dir():
        linked.rmdir() if not any(linked.iterdir()) else os.rename(linked, tmp_path / "old")
    linked.parent.mkdir(parents=True, exist_ok=True)
    linked.symlink_to(outside)
    with pytest.raises(WatchError, match="outside the workspace"):
        watch(processor, WatchOptions(once=True, settle=0, workers=0))
    assert list(outside.iterdir()) == []


def test_rejected_replaced_by_a_link_while_running_holds_the_request(
        processor, demo_ws, tmp_path):
    """The start check cannot see a swap made later: each write into rejected/ checks it."""
    ws = demo_ws.workspace
    outside = tmp_path / "etc"
    outside.mkdir()
    _sheet(demo_ws, ws.inbox / "bad.xlsx", title="")  # will be returned to the clerk
    entry = processor.take(ws.inbox / "bad.xlsx", take=True)
    ws.rejected.symlink_to(outside)

    outcome = processor.run(entry.id)

    assert outcome.state == State.RECEIVED  # held, not rejected into /etc
    assert "symbolic link" in outcome.problems[0].english
    assert list(outside.iterdir()) == []
    assert processor.journal.get(entry.id).retry_at is not None
