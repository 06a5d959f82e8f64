"""The clerk's receipt (issue 19 point 5): a sheet taken from the inbox leaves
``inbox/received/<name>.<ID>.txt`` naming its request ID; a link planted in its place is
never written through."""

from __future__ import annotations

from datetime import date

from pipeline import demo
from pipeline.bundles import bundle
from pipeline.flow.watch import drain
from pipeline.intake import blank_sheet
from pipeline.records.journal import State


def test_a_taken_sheet_leaves_a_receipt_with_its_request_id(processor):
    ws = processor.ws
    staged = ws.inbox / ".ข่าว.xlsx"
    blank_sheet.new_request(staged, processor.config)
    blank_sheet.fill(staged, {**demo.sample_values(date.today()), "title": "ข่าวประชาสัมพันธ์"})
    staged.rename(ws.inbox / "ข่าว.xlsx")
    (outcome,) = drain(processor)
    assert outcome.state == State.ARCHIVED, outcome.problems
    (receipt,) = ws.received.iterdir()
    assert receipt.name == f"ข่าว.xlsx.{outcome.request_id}.txt"
    text = receipt.read_bytes()
    assert text.startswith(b"\xef\xbb\xbf") and b"\r\n" in text  # Notepad shows the Thai
    body = text.decode("utf-8-sig")
    assert f"เลขที่คำขอ / request ID: {outcome.request_id}" in body
    assert f"outbox/{outcome.request_id}" in body
    manifest = bundle.read_manifest(outcome.bundle)
    assert f"SHA-256: {manifest['source']['sha256']}" in body
    assert oct(receipt.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    import os

    old = os.umask(0)
    os.umask(old)
    return old


def test_a_link_in_place_of_the_receipts_folder_is_not_written_through(processor, tmp_path):
    """Anyone on the share can replace inbox/received with a link (to /etc, say) while the
    watcher runs (at start it refuses such a link outright)."""
    ws = processor.ws
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    sheet = ws.inbox / "ข่าว.xlsx"
    blank_sheet.new_request(sheet, processor.config)
    blank_sheet.fill(sheet, demo.sample_values(date.today()))
    entry = processor.take(sheet, take=True)
    ws.received.symlink_to(elsewhere)
    outcome = processor.run(entry.id)
    assert outcome.state == State.RECEIVED  # held, with the reason, not archived
    assert "symbolic link" in str(outcome.problems[0])
    assert list(elsewhere.iterdir()) == []
    ws.received.unlink()  # mended: the request goes on and the receipt is written
    outcome = processor.run(entry.id)
    assert outcome.state == State.ARCHIVED, outcome.problems
    assert [p.name for p in ws.received.iterdir()] == [f"ข่าว.xlsx.{entry.id}.txt"]
