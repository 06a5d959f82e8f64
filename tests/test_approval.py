"""The director's approval queue: pending, approve (one or all), reject with a reason."""

from __future__ import annotations

import dataclasses
import fcntl
import os
import subprocess
import sys
from datetime import date

import pytest

from pipeline import demo
from pipeline.audit import signature
from pipeline.bundles import bundle
from pipeline.flow.processing import Processor
from pipeline.flow.watch import drain
from pipeline.intake import blank_sheet
from pipeline.records.journal import State
from pipeline.settings import config

PIPELINE = [sys.executable, "-m", "pipeline"]


@pytest.fixture
def queued(demo_ws):
    """The demo workspace with the director's signature not automatic (the default)."""
    text = demo_ws.workspace.config_file.read_text(encoding="utf-8")
    demo_ws.workspace.config_file.write_text(
        text.replace("auto_approve = true", "auto_approve = false"), encoding="utf-8")
    return config.load(demo_ws.workspace.root)


def _submit(processor: Processor, ws, n: int) -> list[str]:
    ids = []
    for i in range(n):
        path = ws.workspace.root / f"คำขอ {i}.xlsx"
        blank_sheet.new_request(path, ws)
        blank_sheet.fill(path, {**demo.sample_values(date.today()), "title": f"เรื่องที่ {i + 1}"})
        outcome = processor.process(path)
        assert outcome.state == State.AWAITING_DIRECTOR, outcome.problems
        ids.append(outcome.request_id)
    return ids


def test_requests_wait_for_the_director_then_are_archived(queued, converter):
    with Processor(queued, converter) as processor:
        ids = _submit(processor, queued, 2)
        waiting = processor.pending()
        assert [w.request_id for w in waiting] == ids
        assert all(w.pdf.is_file() for w in waiting)  # readable by the director
        first = signature.verify_pdf(waiting[0].pdf, queued.trust_roots)
        assert [(s.role, s.ok) for s in first] == [("provider", True)]
        assert not any(bundle.is_bundle(p) for p in queued.workspace.outbox.iterdir())

        outcome = processor.approve(ids[0])
        assert outcome.state == State.ARCHIVED
        statuses = signature.verify_pdf(outcome.bundle / f"{ids[0]}.pdf", queued.trust_roots)
        assert [(s.role, s.ok) for s in statuses] == [("provider", True), ("director", True)]
        assert not waiting[0].pdf.exists()
        assert [w.request_id for w in processor.pending()] == ids[1:]
        with pytest.raises(LookupError, match="not waiting"):
            processor.approve(ids[0])


def test_the_director_rejects_with_a_reason_the_provider_reads(queued, converter):
    with Processor(queued, converter) as processor:
        (request_id,) = _submit(processor, queued, 1)
        outcome = processor.refuse(request_id, "ข้อมูลยังไม่ครบ ขอภาพประกอบ")
    assert outcome.state == State.REJECTED
    report = outcome.rejection.report.read_text(encoding="utf-8-sig")
    assert "ข้อมูลยังไม่ครบ ขอภาพประกอบ" in report and "director did not approve" in report
    # a refusal is said as one: the request was processed, then not approved
    assert "ผู้อนุมัติพิจารณาคำขอนี้แล้ว และไม่อนุมัติ" in report
    assert "ยังไม่ได้ดำเนินการ" not in report and "was not processed" not in report
    assert not (queued.workspace.pending / f"{request_id}.pdf").exists()


def test_approve_all_from_the_command_line(queued, converter):
    with Processor(queued, converter) as processor:
        ids = _submit(processor, queued, 3)
    root = str(queued.workspace.root)
    listing = subprocess.run([*PIPELINE, "-w", root, "pending"], capture_output=True, text=True)
    assert listing.returncode == 0 and all(i in listing.stdout for i in ids)
    assert "เรื่องที่ 3" in listing.stdout
    run = subprocess.run([*PIPELINE, "-w", root, "approve", "--all", "--yes"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    bundles = sorted(p.name for p in queued.workspace.outbox.iterdir() if bundle.is_bundle(p))
    assert bundles == ids
    again = subprocess.run([*PIPELINE, "-w", root, "approve", ids[0], "--yes"],
                           capture_output=True, text=True)
    assert again.returncode != 0 and "not waiting" in again.stderr


def test_a_director_key_that_cannot_be_opened_keeps_the_request_waiting(queued, converter):
    with Processor(queued, converter) as processor:
        (request_id,) = _submit(processor, queued, 1)
    broken = dataclasses.replace(queued, director=dataclasses.replace(
        queued.director, key=dataclasses.replace(queued.director.key,
                                                 passphrase_file=None,
                                                 passphrase_env="PIPELINE_TEST_UNSET")))
    with Processor(broken, converter) as processor:
        outcome = processor.approve(request_id)
        assert outcome.state == State.AWAITING_DIRECTOR
        assert "PIPELINE_TEST_UNSET" in outcome.problems[0].english
        assert [w.request_id for w in processor.pending()] == [request_id]


def test_an_acting_director_approves_with_their_own_key_and_the_stamp_says_so(queued,
                                                                           converter):
    acting = demo.PEOPLE["webmaster"]  # the demo PKI has a key in this name
    text = queued.workspace.config_file.read_text(encoding="utf-8")
    queued.workspace.config_file.write_text(text + f"""
[[sheet.acting_directors]]
name = "{acting.name}"
position = "{acting.position}"
title = "รักษาราชการแทน"
pkcs12 = "demo-pki/webmaster.p12"
passphrase_file = "demo-pki/passphrase.txt"
""", encoding="utf-8")
    cfg = config.load(queued.workspace.root)
    path = cfg.workspace.root / "แทน.xlsx"
    blank_sheet.new_request(path, cfg)
    blank_sheet.fill(path, {**demo.sample_values(date.today()), "approver_name": acting.name,
                      "approver_position": f"{acting.position} รักษาราชการแทน"
                                           f"{cfg.director.person.position}"})
    with Processor(cfg, converter) as processor:
        waiting = processor.process(path)
        assert waiting.state == State.AWAITING_DIRECTOR, waiting.problems
        outcome = processor.approve(waiting.request_id)
    assert outcome.state == State.ARCHIVED, outcome.problems
    pdf = outcome.bundle / f"{outcome.request_id}.pdf"
    statuses = signature.verify_pdf(pdf, cfg.trust_roots)
    assert [(s.role, s.signer, s.ok) for s in statuses] == [
        ("provider", demo.PEOPLE["provider"].name, True), ("director", acting.name, True)]
    text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert f"รักษาราชการแทน{cfg.director.person.position}" in "".join(text.split())


def test_the_director_types_the_passphrase_once_for_the_batch(queued, converter):
    """With no passphrase source in pipeline.toml, `approve` asks once; it is never shown."""
    from click.testing import CliRunner

    from pipeline.cli import main

    with Processor(queued, converter) as processor:
        ids = _submit(processor, queued, 2)
    secret = (queued.workspace.root / "demo-pki" / "passphrase.txt").read_text().strip()
    text = queued.workspace.config_file.read_text(encoding="utf-8")
    director_block = text[text.index("[director]"):text.index("[publisher]")]
    queued.workspace.config_file.write_text(text.replace(
        director_block, "\n".join(line for line in director_block.splitlines()
                                  if not line.startswith("passphrase_file")) + "\n\n"),
        encoding="utf-8")
    result = CliRunner().invoke(main, ["-w", str(queued.workspace.root), "approve", "--all",
                                       "--yes"], input=f"{secret}\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("passphrase of director.p12") == 1
    assert secret not in result.output
    assert sorted(p.name for p in queued.workspace.outbox.iterdir() if bundle.is_bundle(p)) == ids


def test_the_director_works_by_the_short_number_in_thai(queued, converter):
    """Issue 19 point 6: `approve 7` takes the number `pending` shows, the prompt is Thai
    first, and `pending` never cuts a Thai title or work group."""
    with Processor(queued, converter) as processor:
        ids = _submit(processor, queued, 3)
    root = str(queued.workspace.root)
    listing = subprocess.run([*PIPELINE, "-w", root, "pending"], capture_output=True, text=True)
    assert listing.returncode == 0
    short = [i.rsplit("-", 1)[-1].lstrip("0") for i in ids]
    assert f"{ids[1]} ({short[1]})" in listing.stdout
    work_group = queued.work_groups[2]  # demo.sample_values' work group, whole
    assert f"กลุ่มงาน / work group: {work_group}" in listing.stdout
    asked = subprocess.run([*PIPELINE, "-w", root, "approve", short[1]], input="n\n",
                           capture_output=True, text=True)
    assert asked.returncode == 1 and "ลงนามอนุมัติ 1 คำขอ" in asked.stdout, asked.stdout
    done = subprocess.run([*PIPELINE, "-w", root, "approve", short[1], "--yes"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    refused = subprocess.run([*PIPELINE, "-w", root, "reject", short[0], "--reason", "ซ้ำ"],
                             capture_output=True, text=True)
    assert refused.returncode == 0, refused.stderr
    wrong = subprocess.run([*PIPELINE, "-w", root, "approve", "99", "--yes"],
                           capture_output=True, text=True)
    assert wrong.returncode == 1 and "ไม่มีคำขอเลขที่ 99" in wrong.stderr
    with Processor(queued, converter) as processor:
        assert [w.request_id for w in processor.pending()] == [ids[2]]


def test_the_watcher_leaves_alone_a_request_the_approver_is_archiving(queued, converter):
    """While the desk (or `pipeline approve`) holds the decision lock, it may be archiving a
    request it has just signed: the watcher's pass must not archive the same one beside it
    (two writers of outbox/<ID>, the work folder removed under the other). It finishes the
    request once the lock is free, when the approver has not."""
    ws = queued.workspace
    with Processor(queued, converter) as desk:
        (rid,) = _submit(desk, queued, 1)
        with desk.deciding():  # as the desk holds it around approve()
            desk._sign_director(desk.journal.get(rid))  # signed; its archiving to come
            with Processor(queued, converter) as watcher:
                skipped = drain(watcher)
            assert [(o.request_id, o.state) for o in skipped] == [(rid, State.SIGNED)]
            entry = desk.journal.get(rid)
            assert (entry.state, entry.attempts, entry.retry_at) == (State.SIGNED, 0, None)
            assert (ws.work / rid).is_dir() and not (ws.outbox / rid).exists()
        with Processor(queued, converter) as watcher:
            finished = drain(watcher)
            assert [(o.request_id, o.state) for o in finished] == [(rid, State.ARCHIVED)]
            assert bundle.is_bundle(finished[0].bundle) and not (ws.work / rid).exists()
            # a request finished meanwhile (by the approver) is found finished, not held
            again = watcher.run(rid)
            assert (again.state, again.bundle) == (State.ARCHIVED, ws.outbox / rid)
            entry = watcher.journal.get(rid)
            assert (entry.state, entry.attempts, entry.retry_at) == (State.ARCHIVED, 0, None)


def test_the_approver_finishes_what_it_signed_under_its_own_lock(queued, converter):
    """The approver's own path (finish_approved under the decision lock) is not kept out by
    the lock it holds itself."""
    with Processor(queued, converter) as desk:
        (rid,) = _submit(desk, queued, 1)
        with desk.deciding():
            desk._sign_director(desk.journal.get(rid))
            [done] = desk.finish_approved()
        assert (done.request_id, done.state) == (rid, State.ARCHIVED)


def test_workers_archiving_at_once_do_not_keep_each_other_out(queued, converter):
    """Another of the watcher's workers archiving its own request holds the decision lock
    shared: this one archives beside it instead of waiting for the next pass."""
    with Processor(queued, converter) as desk:
        (rid,) = _submit(desk, queued, 1)
        desk._sign_director(desk.journal.get(rid))
    fd = os.open(queued.workspace.state / "decision.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # as another worker's archiving does
        with Processor(queued, converter) as watcher:
            done = drain(watcher)
    finally:
        os.close(fd)
    assert [(o.request_id, o.state) for o in done] == [(rid, State.ARCHIVED)]
