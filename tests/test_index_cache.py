"""The kept rows of the index (records/index_cache.py): equal to rows read afresh, read again
whenever a bundle's files changed (even in place, its modification time set back), never
kept while younger than the racy margin, and a damaged or foreign cache file made again;
the watcher checks a current index at start instead of rewriting it (flow/reindex.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from seeding import archived, awaiting, refused_problem, request, returned

from pipeline.bundles import bundle
from pipeline.core import thai
from pipeline.flow.processing import Processor
from pipeline.flow.reindex import SHARE, IndexDebounce
from pipeline.records import freshness, index, index_cache, index_files

PIPELINE = [sys.executable, "-m", "pipeline"]
NOV = datetime(2026, 11, 3, 9, 30, tzinfo=thai.BANGKOK)
MARGIN = 0.05  # the racy margin in these tests: seconds, instead of two


@pytest.fixture(autouse=True)
def short_margin(monkeypatch):
    monkeypatch.setattr(index_cache, "RACY_SECONDS", MARGIN)


def _archive(config, tmp: Path) -> list[str]:
    ids = [archived(config, tmp, request(config, f"ข่าว {i}"), NOV + timedelta(hours=i))
           for i in range(3)]
    ids.append(archived(config, tmp, request(config, "เผยแพร่แล้ว"), NOV,
                        published=(NOV.date(), "https://example.go.th/news/1")))
    returned(config, tmp, NOV, values={"title": "ส่งกลับ"}, thai="ขาดวันที่",
             english="no date", cell="C7")
    returned(config, tmp, NOV, values={"title": "ไม่อนุมัติ"}, refused=True,
             thai=refused_problem("ซ้ำ")[0], english=refused_problem("ซ้ำ")[1])
    awaiting(config, request(config, "รอ"), NOV)
    return ids


def _settle(outbox: Path) -> None:
    """Until every bundle's files are older than the racy margin (their rows can be kept)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        keys = [index_cache.key(str(p)) for p in outbox.iterdir() if bundle.is_bundle(p)]
        if all(index_cache._settled(k, time.time_ns()) for k in keys if k):
            return
        time.sleep(0.01)
    raise AssertionError("the bundles' times did not settle")


def _reads(monkeypatch) -> list[Path]:
    """The bundles whose manifests gathering reads from here on."""
    read: list[Path] = []
    original = index.bundle_row

    def counting(outbox: Path, folder: Path):
        read.append(folder)
        return original(outbox, folder)

    monkeypatch.setattr(index, "bundle_row", counting)
    return read


def test_kept_rows_equal_rows_read_afresh(demo_ws, tmp_path, monkeypatch):
    ws = demo_ws.workspace
    ids = _archive(demo_ws, tmp_path)
    monkeypatch.setattr(index_cache, "RACY_SECONDS", 3600.0)
    afresh = index.gather(ws)  # all young: read, not kept
    monkeypatch.setattr(index_cache, "RACY_SECONDS", MARGIN)
    _settle(ws.outbox)
    read = _reads(monkeypatch)
    assert index.gather(ws) == afresh and len(read) == len(ids)  # read, and kept now
    assert index.gather(ws) == afresh and len(read) == len(ids)  # from .pipeline's file
    assert all(index.decode(index.encode(row)) == row for row in afresh)
    assert {r.status for r in afresh} == set(index.Status)  # every kind of row went through


def test_a_manifest_changed_in_place_with_its_times_set_back_is_read_again(demo_ws, tmp_path,
                                                                          monkeypatch):
    """Same inode, same size, same modification time: the change time still tells, in this
    process and in the next (`pipeline index`, which reads the kept rows from the file)."""
    ws = demo_ws.workspace
    ids = _archive(demo_ws, tmp_path)
    _settle(ws.outbox)
    assert index_files.refresh(ws, retry_after=None).written
    assert freshness.stale(ws) == []
    manifest = ws.outbox / ids[1] / bundle.MANIFEST
    before = manifest.stat()
    data = manifest.read_bytes()
    title = b'"title": "' + "ข่าว 1".encode()
    assert data.count(title) == 1
    with manifest.open("r+b") as f:  # the same length: the size does not change either
        f.write(data.replace(title, b'"title": "' + "ข่าว 7".encode()))
    os.utime(manifest, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = manifest.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == \
        (before.st_ino, before.st_size, before.st_mtime_ns)

    read = _reads(monkeypatch)
    reasons = freshness.stale(ws)
    assert reasons and ids[1] in reasons[-1] and read == [manifest.parent]
    assert next(r for r in index.gather(ws) if r.request_id == ids[1]).title == "ข่าว 7"
    index_files.refresh(ws, retry_after=None)
    with manifest.open("r+b") as f:  # and back, in place again, the times set back again
        f.write(data)
    os.utime(manifest, ns=(before.st_atime_ns, before.st_mtime_ns))
    run = subprocess.run([*PIPELINE, "-w", str(ws.root), "index"], capture_output=True,
                         text=True)
    assert run.returncode == 1 and ids[1] in run.stderr, run


def test_rows_younger_than_the_racy_margin_are_read_again(demo_ws, tmp_path, monkeypatch):
    monkeypatch.setattr(index_cache, "RACY_SECONDS", 3600.0)
    ws = demo_ws.workspace
    ids = _archive(demo_ws, tmp_path)
    read = _reads(monkeypatch)
    index.gather(ws)
    index.gather(ws)
    assert len(read) == 2 * len(ids)


def test_a_bundle_replaced_or_removed_is_seen(demo_ws, tmp_path, monkeypatch):
    ws = demo_ws.workspace
    ids = _archive(demo_ws, tmp_path)
    _settle(ws.outbox)
    index.gather(ws)
    bundle.append_event(ws.outbox / ids[0], {"kind": "note", "at": NOV.isoformat()},
                        status="published")
    (ws.outbox / ids[2] / bundle.MANIFEST).unlink()
    read = _reads(monkeypatch)
    rows = {r.request_id: r for r in index.gather(ws)}
    assert read == [ws.outbox / ids[0]]
    assert rows[ids[0]].status == index.Status.PUBLISHED
    assert rows[ids[2]].note.startswith("แฟ้มคำขอหายหรือเสียหาย")  # the journal still has it


def test_a_damaged_or_foreign_cache_file_is_made_again(demo_ws, tmp_path, monkeypatch):
    ws = demo_ws.workspace
    ids = _archive(demo_ws, tmp_path)
    _settle(ws.outbox)
    expected = index.gather(ws)
    cache = ws.state / index_cache.CACHE_NAME
    cache.write_bytes(b"not a database" * 100)
    read = _reads(monkeypatch)
    assert index.gather(ws) == expected and len(read) == len(ids)
    assert index.gather(ws) == expected and len(read) == len(ids)  # the file works again
    monkeypatch.setattr(index, "_cache_version", lambda: "another version's code")
    assert index.gather(ws) == expected and len(read) == 2 * len(ids)


def test_the_watcher_checks_a_current_index_at_start_and_rewrites_a_stale_one(demo_ws,
                                                                             tmp_path):
    ws = demo_ws.workspace
    _archive(demo_ws, tmp_path)
    index_files.refresh(ws, retry_after=None)
    xlsx = ws.outbox / index_files.INDEX_NAME
    written = xlsx.stat()
    with Processor(demo_ws) as processor:
        debounce = IndexDebounce(processor, every=5.0)
        debounce.maybe_rebuild(busy=True)  # the check runs even while busy
        debounce.wait()
        assert xlsx.stat().st_ino == written.st_ino  # current: not rewritten
        assert debounce.interval() >= 5.0
        (ws.outbox / index_files.CSV_NAME).unlink()
        debounce = IndexDebounce(processor, every=5.0)
        debounce.maybe_rebuild(busy=True)
        debounce.wait()
        assert xlsx.stat().st_ino != written.st_ino and freshness.stale(ws) == []


def test_during_a_burst_rewrites_keep_to_their_share_of_a_core(demo_ws):
    """Twenty seconds a rewrite: during a burst, the next one waits 1/SHARE - 1 times that."""
    with Processor(demo_ws) as processor:
        debounce = IndexDebounce(processor, every=5.0)
        debounce._took = 20.0
        assert debounce.interval() == pytest.approx(20.0 * (1 / SHARE - 1))
        debounce._check, debounce._last = False, time.monotonic()
        debounce.maybe_rebuild(busy=True)
        assert debounce._thread is None and debounce.changed  # not yet: waits its turn
        debounce.maybe_rebuild(busy=False)  # work paused: at once
        debounce.wait()
        assert not debounce.changed and (ws := demo_ws.workspace) and \
            (ws.outbox / index_files.INDEX_NAME).exists()
