"""The webmaster's records: publication events, the third signature, collecting for upload."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest
from seeding import (
    archived,
    archived_sample,
    power_cut_after_commit,
    request,
    without_webmaster_key,
)

from pipeline import demo
from pipeline.audit import signature, verify
from pipeline.bundles import bundle, publish
from pipeline.core import thai
from pipeline.records import index, index_files

PIPELINE = [sys.executable, "-m", "pipeline"]
NOV = datetime(2026, 11, 3, 9, 30, tzinfo=thai.BANGKOK)
LATER = datetime(2026, 11, 20, 10, 0, tzinfo=thai.BANGKOK)


def test_publication_events_are_appended_and_the_index_shows_the_latest(demo_ws, tmp_path):
    demo_ws = without_webmaster_key(demo_ws)  # the seeded PDF is not a form to sign
    request_id = archived(demo_ws, tmp_path, request(demo_ws, "ข่าว"), NOV)
    folder = demo_ws.workspace.outbox / request_id
    before = bundle.read_manifest(folder)
    first = publish.record(demo_ws, request_id, " https://example.go.th/news/1 ",
                           date(2026, 11, 4), now=LATER)
    assert first.url == "https://example.go.th/news/1" and first.signature is None
    second = publish.record(demo_ws, request_id, "https://example.go.th/news/1-fixed",
                            thai.parse_date("6/11/2569"), now=LATER)
    manifest = bundle.read_manifest(folder)
    assert manifest["status"] == "published"
    assert manifest["files"] == before["files"]  # nothing signed, nothing replaced
    assert [e["url"] for e in manifest["events"]] == [first.url, second.url]
    assert manifest["events"][0] == first.to_event()  # history is never rewritten
    assert publish.publications(manifest) == [first, second]
    assert bundle.check_bundle(folder) == []
    row = index.gather(demo_ws.workspace)[0]
    assert (row.status, row.published_on, row.published_url) == (
        index.Status.PUBLISHED, date(2026, 11, 6), second.url)


@pytest.mark.parametrize(("url", "day", "message"), [
    ("www.example.go.th/x", None, "http"),
    ("javascript:alert(1)", None, "http"),
    ("https://example.go.th/x", date(2026, 11, 21), "future"),
    ("https://example.go.th/x", date(2026, 11, 2), "before the approval"),
])
def test_a_wrong_publication_is_refused(demo_ws, tmp_path, url, day, message):
    demo_ws = without_webmaster_key(demo_ws)  # refused before anything is signed, either way
    request_id = archived(demo_ws, tmp_path, request(demo_ws, "ข่าว"), NOV)
    with pytest.raises(publish.PublishError, match=message):
        publish.record(demo_ws, request_id, url, day, now=LATER)
    assert bundle.read_manifest(demo_ws.workspace.outbox / request_id)["events"] == []


def test_unknown_request_and_missing_key_are_explained(demo_ws, tmp_path):
    demo_ws = without_webmaster_key(demo_ws)
    with pytest.raises(publish.PublishError, match="no approved request"):
        publish.record(demo_ws, "REQ-2569-09999", "https://example.go.th/x")
    request_id = archived(demo_ws, tmp_path, request(demo_ws, "ข่าว"), NOV)
    with pytest.raises(publish.PublishError, match=r"\[publisher\]"):
        publish.record(demo_ws, request_id, "https://example.go.th/x", sign=True, now=LATER)


def test_the_webmasters_signature_keeps_the_first_two_valid(processor, demo_ws, tmp_path):
    outcome = archived_sample(processor, demo_ws, tmp_path)
    cfg = demo_ws  # the demo names the webmaster's key: `published` signs
    folder = outcome.bundle
    pdf = folder / f"{outcome.request_id}.pdf"
    old_bytes = pdf.read_bytes()

    done = publish.record(cfg, outcome.request_id, "https://example.go.th/news/7")
    assert done.signature is not None
    assert done.signature.signer == demo.PEOPLE["webmaster"].name
    report = verify.verify_path(folder, cfg.trust_roots)
    assert report.ok, report
    assert [(s.role, s.ok) for s in report.signatures] == [
        ("provider", True), ("director", True), ("publisher", True)]
    manifest = bundle.read_manifest(folder)
    assert manifest["schema"] == "pipeline.bundle/1"  # a format's name: not the module's path
    assert [s["role"] for s in manifest["signatures"]] == ["provider", "director", "publisher"]
    assert manifest["files"][pdf.name]["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    # the previous signed PDF is the new one's first `size` bytes: the event proves it
    previous = manifest["events"][0]["previous_pdf"]
    new_bytes = pdf.read_bytes()
    assert new_bytes[:previous["size"]] == old_bytes
    assert hashlib.sha256(new_bytes[:previous["size"]]).hexdigest() == previous["sha256"]
    earlier = tmp_path / "earlier.pdf"
    earlier.write_bytes(new_bytes[:previous["size"]])
    assert [s.ok for s in signature.verify_pdf(earlier, cfg.trust_roots)] == [True, True]

    # a second upload of the same item is recorded without signing again
    again = publish.record(cfg, outcome.request_id, "https://example.go.th/news/8")
    assert again.signature is None
    assert len(bundle.read_manifest(folder)["events"]) == 2
    with pytest.raises(publish.PublishError, match="already signed"):
        publish.record(cfg, outcome.request_id, "https://example.go.th/news/9", sign=True)


def test_an_update_interrupted_after_its_commit_is_finished_by_the_next_reader(
        demo_ws, tmp_path, monkeypatch):
    request_id = archived(demo_ws, tmp_path, request(demo_ws, "ข่าว"), NOV)
    folder = demo_ws.workspace.outbox / request_id
    new_pdf = tmp_path / "new.pdf"
    new_pdf.write_bytes(b"%PDF-1.4 a newer revision")
    with power_cut_after_commit(monkeypatch):
        bundle.append_event(folder, {"type": "test"}, replace={f"{request_id}.pdf": new_pdf})
    assert bundle.read_manifest(folder)["events"] == []  # the old manifest is still whole
    rows = index.gather(demo_ws.workspace)  # a reader finishes the update
    assert rows[0].pdf_sha256 == hashlib.sha256(new_pdf.read_bytes()).hexdigest()
    assert bundle.read_manifest(folder)["events"] == [{"type": "test"}]
    assert bundle.check_bundle(folder) == []


def test_an_update_interrupted_before_its_commit_leaves_the_bundle_as_it_was(
        demo_ws, tmp_path, monkeypatch):
    request_id = archived(demo_ws, tmp_path, request(demo_ws, "ข่าว"), NOV)
    folder = demo_ws.workspace.outbox / request_id
    before = (folder / "manifest.json").read_bytes()
    new_pdf = tmp_path / "new.pdf"
    new_pdf.write_bytes(b"%PDF-1.4 never committed")

    def power_cut(path, data):
        raise SystemExit("power cut")

    monkeypatch.setattr(bundle.fsutil, "write_bytes", power_cut)
    with pytest.raises(SystemExit):
        bundle.append_event(folder, {"type": "test"}, replace={f"{request_id}.pdf": new_pdf})
    monkeypatch.undo()
    assert (folder / "manifest.json").read_bytes() == before
    bundle.append_event(folder, {"type": "next"})  # the next update clears what was staged
    assert bundle.check_bundle(folder) == []
    assert json.loads((folder / "manifest.json").read_text("utf-8"))["events"] == [
        {"type": "next"}]


def test_collect_copies_approved_unpublished_bundles_with_ascii_names(demo_ws, tmp_path):
    poster = "โปสเตอร์ รณรงค์ (ฉบับจริง).pdf"
    summary = "สรุปผลคัดกรอง ไตรมาส1.pdf"
    wanted = archived(demo_ws, tmp_path, request(demo_ws, "ข่าวไข้เลือดออก",
                                                 attachments=(poster, "data 2.xlsx", summary,
                                                              "poster2.jpg")),
                      LATER - timedelta(days=2),
                      attachments={poster: b"%PDF poster", "data 2.xlsx": b"xlsx",
                                   summary: b"%PDF summary", "poster2.jpg": b"jpeg"})
    archived(demo_ws, tmp_path, request(demo_ws, "เก่า"), NOV)  # before --since
    archived(demo_ws, tmp_path, request(demo_ws, "เผยแพร่แล้ว"), LATER - timedelta(days=1),
             published=(LATER.date(), "https://example.go.th/x"))
    upload = tmp_path / "upload"
    found = publish.collect(demo_ws, upload, since=date(2026, 11, 10))
    assert [c.request_id for c in found] == [wanted]
    names = sorted(p.name for p in (upload / wanted).iterdir())
    assert names == sorted([f"{wanted}.pdf", f"{wanted}-01.pdf", f"{wanted}-02-data-2.xlsx",
                            f"{wanted}-03-1.pdf", f"{wanted}-04-poster2.jpg", "info.txt"])
    assert all(name.isascii() for name in names)
    assert (upload / wanted / f"{wanted}-01.pdf").read_bytes() == b"%PDF poster"
    info = (upload / wanted / "info.txt").read_text(encoding="utf-8-sig")
    assert "ข่าวไข้เลือดออก" in info and poster in info
    assert f"{wanted}-03-1.pdf  <-  {summary}" in info  # the original name beside each

    run = subprocess.run([*PIPELINE, "-w", str(demo_ws.workspace.root), "collect", "--since",
                          "1/11/2569", str(tmp_path / "all")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "2 request(s) to upload" in run.stdout


def test_collect_skips_a_damaged_bundle(demo_ws, tmp_path):
    request_id = archived(demo_ws, tmp_path, request(demo_ws, "ข่าว"), NOV)
    (demo_ws.workspace.outbox / request_id / f"{request_id}.pdf").write_bytes(b"tampered")
    found = publish.collect(demo_ws, tmp_path / "upload")
    assert found[0].folder is None and "SHA-256" in found[0].problem


def test_ascii_names():
    assert publish.ascii_name("รายงาน.PDF", "REQ-1") == "REQ-1.pdf"
    assert publish.ascii_name("Café menu 2569.docx", "x") == "Cafe-menu-2569.docx"
    assert publish.ascii_name("noextension", "x") == "noextension"
    assert publish.ascii_name("../../etc/passwd", "x") == "passwd"
    assert publish.ascii_name(".hidden", "x") == "hidden"
    assert publish.ascii_name("ภาพ.ไทย", "x") == "x"
    assert publish.ascii_name("a -- b__c", "x") == "a-b_c"  # runs of separators are one


def test_upload_names_keep_the_ascii_of_the_original_name():
    """The finding: ``สรุปผลคัดกรอง ไตรมาส1.pdf`` was uploaded as ``REQ-2569-00008-01--1.pdf``."""
    rid = "REQ-2569-00008"
    assert publish.upload_name(rid, 1, "สรุปผลคัดกรอง ไตรมาส1.pdf") == f"{rid}-01-1.pdf"
    assert publish.upload_name(rid, 2, "poster2.jpg") == f"{rid}-02-poster2.jpg"
    assert publish.upload_name(rid, 3, "Poster (final) v2.JPG") == f"{rid}-03-Poster-final-v2.jpg"
    assert publish.upload_name(rid, 4, "โปสเตอร์.pdf") == f"{rid}-04.pdf"  # none: ID and number
    assert publish.upload_name(rid, 5, "ภาพ.ไทย") == f"{rid}-05"
    names = [publish.upload_name(rid, n, "x.pdf") for n in (1, 2)]
    assert len(set(names)) == 2 and all(n.isascii() for n in names)


def test_published_command(demo_ws, tmp_path):
    demo_ws = without_webmaster_key(demo_ws)  # the seeded PDF is not a form to sign
    request_id = archived(demo_ws, tmp_path, request(demo_ws, "ข่าว"), NOV)
    root = str(demo_ws.workspace.root)
    run = subprocess.run([*PIPELINE, "-w", root, "published", request_id, "--url",
                          "https://example.go.th/news/3", "--date", "5/11/2569"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert request_id in run.stdout
    rows = index_files.read_xlsx(demo_ws.workspace.outbox / "index.xlsx")
    assert rows[0][12] == datetime(2026, 11, 5) and rows[0][13] == "https://example.go.th/news/3"
    bad = subprocess.run([*PIPELINE, "-w", root, "published", request_id, "--url", "ftp://x"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "http" in bad.stderr
