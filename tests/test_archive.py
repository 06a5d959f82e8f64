"""`refresh-timestamps`: a new document timestamp for archived bundles whose newest one nears
expiry, keeping both signatures valid and the bundle consistent; idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyhanko.pdf_utils.reader import PdfFileReader

from pipeline import demo
from pipeline.audit import model, signature
from pipeline.bundles import bundle
from pipeline.cli import main
from pipeline.core import fsutil
from pipeline.demo.pki import issue_tsa, load_pki
from pipeline.flow import archive
from pipeline.records import index_files
from pipeline.records.journal import State
from pipeline.signatures.timestamps import document_timestamps


def _archive_one(processor) -> Path:
    outcome = processor.process(demo.create(processor.ws.root).sample)
    assert outcome.state == State.ARCHIVED, outcome.problems
    return outcome.bundle


def _pdf(folder: Path) -> Path:
    return folder / bundle.pdf_name(folder.name)


def _signatures_hold(folder: Path, root_pem: Path) -> None:
    statuses = signature.verify_pdf(_pdf(folder), [root_pem])  # offline, from the PDF alone
    assert [(s.role, s.ok, s.indication) for s in statuses] == [
        ("provider", True, model.Indication.PASSED),
        ("director", True, model.Indication.PASSED)], statuses
    assert bundle.check_bundle(folder) == []


def _short_lived_tsa(demo_ws, days: int) -> None:
    """The workspace's own PKI copy gets a timestamp authority expiring in ``days`` days."""
    issue_tsa(load_pki(demo_ws.signing.demo_pki),
              not_after=datetime.now(UTC) + timedelta(days=days))


def test_forced_refresh_adds_a_document_timestamp_and_keeps_everything_valid(
        processor, demo_ws, pki):
    folder = _archive_one(processor)
    pdf = _pdf(folder)
    before, before_sha = pdf.read_bytes(), fsutil.sha256_file(pdf)
    stamps = document_timestamps(pdf)
    # one, after the director's signature: it covers the provider's validation data too
    with pdf.open("rb") as f:
        kinds = [s.sig_object_type for s in PdfFileReader(f).embedded_signatures]
    assert kinds == ["/Sig", "/Sig", "/DocTimeStamp"] and len(stamps) == 1

    [done] = archive.refresh_timestamps(demo_ws, bundle.listed(demo_ws.workspace.outbox),
                                        force=True)

    assert done.result == archive.Result.REFRESHED, done
    after = document_timestamps(pdf)
    assert len(after) == 2 and after[:1] == stamps
    assert done.expires == after[-1].expires
    data = pdf.read_bytes()
    assert data.startswith(before)  # an incremental update: the signed bytes are untouched
    _signatures_hold(folder, pki.root_pem)
    manifest = bundle.read_manifest(folder)
    assert manifest["files"][pdf.name]["sha256"] == fsutil.sha256_file(pdf)
    event = manifest["events"][-1]
    assert event["type"] == archive.EVENT_REFRESHED
    assert event["previous_pdf"] == {"sha256": before_sha, "size": len(before)}
    assert event["tsa_cert_sha256"] == after[-1].tsa_cert_sha256
    assert datetime.fromisoformat(event["expires"]) == after[-1].expires
    # the index lists the new hash
    rows = (demo_ws.workspace.outbox / index_files.CSV_NAME).read_text(encoding="utf-8-sig")
    assert fsutil.sha256_file(pdf) in rows and before_sha not in rows

    manifest_bytes = (folder / bundle.MANIFEST).read_bytes()
    [again] = archive.refresh_timestamps(demo_ws, bundle.listed(demo_ws.workspace.outbox))
    assert again.result == archive.Result.CURRENT
    assert pdf.read_bytes() == data and (folder / bundle.MANIFEST).read_bytes() == manifest_bytes


def test_a_timestamp_near_expiry_is_refreshed_without_force_once(processor, demo_ws, pki):
    _short_lived_tsa(demo_ws, days=30)
    folder = _archive_one(processor)
    pdf = _pdf(folder)
    assert document_timestamps(pdf)[-1].expires < datetime.now(UTC) + timedelta(days=31)
    folders = bundle.listed(demo_ws.workspace.outbox)
    # not within a 10-day window yet
    [early] = archive.refresh_timestamps(demo_ws, folders, within=timedelta(days=10))
    assert early.result == archive.Result.CURRENT
    issue_tsa(load_pki(demo_ws.signing.demo_pki))  # the authority's renewed certificate

    [done] = archive.refresh_timestamps(demo_ws, folders)  # default: within a year

    assert done.result == archive.Result.REFRESHED, done
    assert done.expires > datetime.now(UTC) + archive.DEFAULT_WITHIN
    assert len(document_timestamps(pdf)) == 2  # the one after the director, and the new one
    _signatures_hold(folder, pki.root_pem)
    data = pdf.read_bytes()
    [again] = archive.refresh_timestamps(demo_ws, folders)
    assert again.result == archive.Result.CURRENT and pdf.read_bytes() == data
    events = [e["type"] for e in bundle.read_manifest(folder)["events"]]
    assert events == [archive.EVENT_REFRESHED]


def test_a_refresh_that_would_not_last_is_not_made(processor, demo_ws):
    """An authority whose own certificate is about to expire cannot extend anything: the
    bundle is reported, and left as it was (else every run would refresh it again)."""
    _short_lived_tsa(demo_ws, days=30)
    folder = _archive_one(processor)
    data, manifest = _pdf(folder).read_bytes(), (folder / bundle.MANIFEST).read_bytes()
    [done] = archive.refresh_timestamps(demo_ws, [folder])
    assert done.result == archive.Result.FAILED
    assert "itself expires" in done.message and "renew it" in done.message
    assert _pdf(folder).read_bytes() == data
    assert (folder / bundle.MANIFEST).read_bytes() == manifest
    assert not list(folder.glob(".*"))  # nothing staged left behind


def test_a_damaged_bundle_is_reported_not_refreshed(processor, demo_ws):
    folder = _archive_one(processor)
    with _pdf(folder).open("ab") as f:
        f.write(b"\n% tampered\n")
    [done] = archive.refresh_timestamps(demo_ws, [folder], force=True)
    assert done.result == archive.Result.FAILED
    assert "no longer matches manifest.json" in done.message


def test_unknown_bundle_ids_are_refused(demo_ws):
    with pytest.raises(bundle.NoSuchBundle, match="no bundle REQ-2569-99999"):
        bundle.listed(demo_ws.workspace.outbox, ["REQ-2569-99999"])


def test_the_command(processor, demo_ws):
    folder = _archive_one(processor)
    runner = CliRunner()
    args = ["--workspace", str(demo_ws.workspace.root), "refresh-timestamps"]
    forced = runner.invoke(main, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert f"{folder.name}  refreshed" in forced.output
    assert "1 refreshed, 0 current, 0 skipped, 0 failed" in forced.output
    second = runner.invoke(main, [*args, folder.name])
    assert second.exit_code == 0, second.output
    assert "0 refreshed, 1 current" in second.output
    events = bundle.read_manifest(folder)["events"]
    assert [e["type"] for e in events] == [archive.EVENT_REFRESHED]
    unknown = runner.invoke(main, [*args, "REQ-2569-99999"])
    assert unknown.exit_code == 1 and "no bundle REQ-2569-99999" in unknown.output
