"""The whole path with real parts: sheet -> LibreOffice -> pyHanko -> bundle -> pdfsig."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from printed_form import pdftotext, printed_detail, squash

from pipeline import demo
from pipeline.audit import model, signature
from pipeline.bundles import bundle
from pipeline.core import fsutil
from pipeline.intake import blank_sheet
from pipeline.records.journal import State

PIPELINE = [sys.executable, "-m", "pipeline"]
TRICKY = [
    ("น้ำท่วมฉับพลันที่หมู่ที่ ๑๒ ตำบลบานา", "ผู้ใหญ่บ้านแจ้งว่าน้ำขึ้นสูง ๑.๕ เมตร\nปู่ย่าตายายต้องอพยพ"),
    ("กำหนดการประชุมผู้บริหาร ฤๅษีดัดตน", "เกร็ดความรู้: มิ่งขวัญ ก๋วยเตี๋ยว ญาติพี่น้อง ฎีกา ฐาน"),
    ('สิ่งที่ต้องพิมพ์ตามตัวอักษร {{ config }} {% for x in y %} <b>ตัวหนา</b> & <w:t> ]]>',
     "=HYPERLINK(\"http://evil\") ข้อความยาวมาก " * 6),
]


def _fill(path: Path, **changes: object) -> Path:
    blank_sheet.fill(path, {**demo.sample_values(date.today()), **changes})
    return path


def _pdftotext(pdf: Path) -> str:
    return squash(pdftotext(pdf))


def test_cli_new_request_fill_process_gives_a_verified_bundle(demo_ws, tmp_path, nss_db):
    root = demo_ws.workspace.root
    env = {**os.environ, "PIPELINE_WORKSPACE": str(root)}
    form = tmp_path / "ขอเผยแพร่ ข่าว.xlsx"
    subprocess.run([*PIPELINE, "new-request", str(form)], env=env, check=True)
    _fill(form, attachments="โปสเตอร์.pdf")
    (tmp_path / "โปสเตอร์.pdf").write_bytes(b"%PDF-1.4 poster")
    before = form.read_bytes()

    run = subprocess.run([*PIPELINE, "process", str(form)], env=env, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    assert form.read_bytes() == before  # the clerk's file is untouched
    bundles = [p for p in (root / "outbox").iterdir() if bundle.is_bundle(p)]
    assert len(bundles) == 1
    folder = bundles[0]
    assert folder.name in run.stdout

    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert bundle.check_bundle(folder) == []
    assert set(manifest["files"]) == {f"{folder.name}.pdf", "request.xlsx",
                                      "attachments/โปสเตอร์.pdf"}
    assert (folder / "request.xlsx").read_bytes() == before
    assert manifest["source"] == {"name": form.name, "sha256": fsutil.sha256_file(form)}
    assert [s["role"] for s in manifest["signatures"]] == ["provider", "director"]
    assert all(len(s["cert_sha256"]) == 64 for s in manifest["signatures"])

    index = load_workbook(root / "outbox" / "index.xlsx").active
    rows = [[c.value for c in row] for row in index.iter_rows(min_row=3)]
    assert len(rows) == 1 and rows[0][0] == folder.name
    assert rows[0][9] == manifest["files"][f"{folder.name}.pdf"]["sha256"]

    check = subprocess.run([*PIPELINE, "verify", str(folder)], env=env, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("[OK]") == 2

    pdfsig = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss_db}",
                             str(folder / f"{folder.name}.pdf")],
                            capture_output=True, text=True, errors="replace")
    assert pdfsig.stdout.count("Signature Validation: Signature is Valid.") == 2, pdfsig.stdout
    assert pdfsig.stdout.count("Certificate Validation: Certificate is Trusted.") == 2


@pytest.mark.parametrize(("title", "detail"), TRICKY)
def test_thai_text_survives_exactly_into_the_signed_pdf(processor, demo_ws, tmp_path, title,
                                                        detail):
    path = tmp_path / "r.xlsx"
    blank_sheet.new_request(path, demo_ws)
    outcome = processor.process(_fill(path, title=title, detail=detail))
    assert outcome.state == State.ARCHIVED, outcome.problems
    text = _pdftotext(outcome.bundle / f"{outcome.request_id}.pdf")
    assert squash(title) in text
    assert printed_detail(outcome.bundle / f"{outcome.request_id}.pdf") == squash(detail)
    fonts = subprocess.run(["pdffonts", str(outcome.bundle / f"{outcome.request_id}.pdf")],
                           capture_output=True, text=True, check=True).stdout
    assert any("Laksaman" in line and " yes " in line for line in fonts.splitlines())
    # a continuation page or not, both signatures and the names under them hold
    statuses = signature.verify_pdf(outcome.bundle / f"{outcome.request_id}.pdf",
                                    demo_ws.trust_roots)
    assert [(s.indication, s.name_matches) for s in statuses] == [
        (model.Indication.PASSED, True)] * 2, statuses


def test_both_signatures_intact_and_trusted_by_the_demo_root_only(processor, demo_ws, tmp_path):
    path = tmp_path / "r.xlsx"
    blank_sheet.new_request(path, demo_ws)
    outcome = processor.process(_fill(path))
    statuses = signature.verify_pdf(outcome.bundle / f"{outcome.request_id}.pdf",
                                    demo_ws.trust_roots)
    assert [(s.role, s.intact, s.trusted) for s in statuses] == [
        ("provider", True, True), ("director", True, True)]
    assert statuses[0].signer == demo.PEOPLE["provider"].name
    assert statuses[1].signer == demo.PEOPLE["director"].name


def test_watch_once_takes_the_inbox_and_rejects_a_duplicate(processor, demo_ws):
    from pipeline.flow.watch import drain

    inbox = demo_ws.workspace.inbox
    first = inbox / "ข่าว ไข้เลือดออก.xlsx"
    blank_sheet.new_request(first, demo_ws)
    _fill(first)
    (inbox / "~$ข่าว ไข้เลือดออก.xlsx").write_bytes(b"lock")  # Excel's lock file: left alone
    outcomes = drain(processor)
    assert [o.state for o in outcomes] == [State.ARCHIVED]
    assert not first.exists()

    copy = inbox / "ส่งซ้ำ.xlsx"
    fsutil.copy_file(outcomes[0].bundle / "request.xlsx", copy)
    again = drain(processor)
    assert [o.state for o in again] == [State.REJECTED]
    kept = demo_ws.workspace.rejected / "ส่งซ้ำ.xlsx"
    assert kept.read_bytes() == (outcomes[0].bundle / "request.xlsx").read_bytes()
    report = (demo_ws.workspace.rejected / "ส่งซ้ำ.xlsx.error.txt").read_bytes()
    assert report.startswith(b"\xef\xbb\xbf")
    assert outcomes[0].request_id in report.decode("utf-8-sig")
    assert (inbox / "~$ข่าว ไข้เลือดออก.xlsx").exists()


def test_a_bad_sheet_is_rejected_with_a_report_and_kept(processor, demo_ws):
    inbox = demo_ws.workspace.inbox
    bad = inbox / "ไม่ครบ.xlsx"
    blank_sheet.new_request(bad, demo_ws)
    _fill(bad, title="", category="หมวดที่ไม่มี")
    original = bad.read_bytes()
    outcome = processor.process(bad, take=True)
    assert outcome.state == State.REJECTED
    kept = demo_ws.workspace.rejected / "ไม่ครบ.xlsx"
    assert kept.read_bytes() == original
    report = outcome.rejection.report.read_text(encoding="utf-8-sig")
    assert "หัวข้อ" in report and "title" in report and "คำขอ!B8" in report
    assert report.index("ประเภทข้อมูล") < report.index("This request was not processed")
    assert outcome.rejection.annotated is not None and outcome.rejection.annotated.exists()
    assert not any(demo_ws.workspace.outbox.iterdir())


def test_unknown_provider_is_rejected(processor, demo_ws, tmp_path):
    path = tmp_path / "r.xlsx"
    blank_sheet.new_request(path, demo_ws)
    outcome = processor.process(_fill(path, provider_name="นายคนอื่น ไม่มีกุญแจ"))
    assert outcome.state == State.REJECTED
    assert outcome.problems[0].field == "provider_name"


def test_resume_finishes_a_request_interrupted_after_the_claim(processor, demo_ws):
    inbox = demo_ws.workspace.inbox
    path = inbox / "ค้าง.xlsx"
    blank_sheet.new_request(path, demo_ws)
    _fill(path)
    # a crash right after the journal recorded the claim, before the file was moved
    entry = processor.journal.claim(path, fsutil.sha256_file(path), datetime.now(UTC), taken=True)
    outcomes = processor.resume()
    assert [(o.request_id, o.state) for o in outcomes] == [(entry.id, State.ARCHIVED)]
    assert not path.exists()


def test_demo_command_prints_bundle_and_verdicts(tmp_path):
    run = subprocess.run([*PIPELINE, "--workspace", str(tmp_path / "demo"), "demo"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "REQ-" in run.stdout
    assert run.stdout.count("[OK]") == 2


def test_a_broken_set_up_holds_the_request_until_it_is_fixed(processor, demo_ws):
    """Faults of the office's own set-up are not the clerk's: nothing is rejected or lost."""
    inbox = demo_ws.workspace.inbox
    path = inbox / "รอ.xlsx"
    blank_sheet.new_request(path, demo_ws)
    _fill(path)
    template = demo_ws.template.read_bytes()
    demo_ws.template.write_bytes(b"not a docx")
    held = processor.process(path, take=True)
    assert held.state == State.VALIDATED
    assert "template" in held.problems[0].english
    passphrase = demo_ws.providers[0].key.passphrase_file
    secret = passphrase.read_bytes()
    passphrase.write_bytes(b"not-the-passphrase")
    demo_ws.template.write_bytes(template)
    again = processor.resume()
    assert [o.state for o in again] == [State.RENDERED]  # now the key cannot be opened
    assert "wrong passphrase" in again[0].problems[0].english
    assert "not-the-passphrase" not in str(again[0].problems[0])
    passphrase.write_bytes(secret)
    done = processor.resume()
    assert [o.state for o in done] == [State.ARCHIVED]
    assert bundle.check_bundle(done[0].bundle) == []
    assert not list(inbox.rglob("*.xlsx"))  # neither rejected nor left behind


def test_a_document_libreoffice_never_converts_is_rejected_and_kept(demo_ws, tmp_path):
    from pipeline.external.office import Converter
    from pipeline.flow.processing import Processor

    inbox = demo_ws.workspace.inbox
    path = inbox / "แปลงไม่ได้.xlsx"
    blank_sheet.new_request(path, demo_ws)
    _fill(path)
    original = path.read_bytes()
    # LibreOffice cannot even start within 0.2 s: every attempt times out
    with Converter(timeout=0.2, profile_dir=tmp_path / "lo") as slow, \
            Processor(demo_ws, converter=slow) as proc:
        outcome = proc.process(path, take=True)
    assert outcome.state == State.REJECTED
    assert "PDF" in outcome.problems[0].english
    assert (demo_ws.workspace.rejected / "แปลงไม่ได้.xlsx").read_bytes() == original


def test_held_requests_back_off_and_are_retried_when_due(processor, demo_ws):
    """A held request is not tried again before its time, and waits longer after each
    failure, so that a service that is down is not hammered."""
    path = demo_ws.workspace.inbox / "รอ.xlsx"
    blank_sheet.new_request(path, demo_ws)
    _fill(path)
    template = demo_ws.template.read_bytes()
    demo_ws.template.write_bytes(b"not a docx")
    held = processor.process(path, take=True)
    first = processor.journal.get(held.request_id)
    assert first.attempts == 1 and first.retry_at is not None
    assert processor.open_requests(due_only=True) == []  # not before its time
    assert processor.open_requests() == [held.request_id]
    processor.resume()
    second = processor.journal.get(held.request_id)
    assert second.attempts == 2
    assert (second.retry_at - second.updated_at) == 2 * (first.retry_at - first.updated_at)
    demo_ws.template.write_bytes(template)
    assert [o.state for o in processor.resume()] == [State.ARCHIVED]
    assert processor.journal.get(held.request_id).attempts == 0
