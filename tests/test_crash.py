"""Fault injection: the watcher killed with SIGKILL at random points, again and again."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from pipeline import demo
from pipeline.audit import verify
from pipeline.bundles import bundle
from pipeline.intake import blank_sheet

PIPELINE = [sys.executable, "-m", "pipeline"]
SHEETS = 30
KILLS = 6


def _open_states(journal: Path) -> list[str]:
    with sqlite3.connect(journal) as db:
        return [s for (s,) in db.execute(
            "SELECT state FROM requests WHERE state NOT IN ('archived', 'rejected')")]


def _changes(journal: Path) -> int:
    """Requests past their first step; 0 while the watcher has not made its journal yet."""
    try:
        with sqlite3.connect(journal) as db:
            return db.execute(
                "SELECT COUNT(*) FROM requests WHERE state != 'received'").fetchone()[0]
    except sqlite3.OperationalError:  # no file, or no table yet
        return 0


def test_kill_9_at_random_points_loses_nothing_and_signs_nothing_twice(demo_ws, tmp_path):
    root = demo_ws.workspace.root
    inbox, outbox = demo_ws.workspace.inbox, demo_ws.workspace.outbox
    journal = demo_ws.workspace.journal_file
    blank = tmp_path / "blank.xlsx"
    blank_sheet.new_request(blank, demo_ws)
    titles = {f"ข่าวประชาสัมพันธ์ลำดับที่ {i:02d} น้ำท่วมฉับพลัน" for i in range(SHEETS)}
    for i, title in enumerate(sorted(titles)):
        staged = inbox / f".คำขอ {i:02d}.xlsx"
        staged.write_bytes(blank.read_bytes())
        blank_sheet.fill(staged, {**demo.sample_values(date.today()), "title": title})
        staged.rename(inbox / f"คำขอ {i:02d}.xlsx")

    rng = random.Random(20261125)
    caught_in_flight = []
    for _ in range(KILLS):
        before = _changes(journal)
        watcher = subprocess.Popen([*PIPELINE, "--workspace", str(root), "watch", "--settle",
                                    "0", "--rescan", "0.2"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while _changes(journal) == before:  # wait until this run is working
            assert watcher.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.5))  # then kill it at a random point of its work
        watcher.send_signal(signal.SIGKILL)
        watcher.wait()
        caught_in_flight += _open_states(journal)

    final = subprocess.run([*PIPELINE, "--workspace", str(root), "watch", "--once"],
                           capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    assert caught_in_flight, "no kill landed in the middle of a request"

    bundles = sorted(p for p in outbox.iterdir() if bundle.is_bundle(p))
    seen = [bundle.read_manifest(b)["request"]["title"] for b in bundles]
    assert sorted(seen) == sorted(titles)  # every sheet in exactly one bundle
    assert not [p for p in outbox.iterdir() if p.name.startswith(".tmp-")]  # nothing partial
    for folder in bundles:
        report = verify.verify_path(folder, demo_ws.trust_roots)
        assert report.ok, (folder, report)
        assert [s.role for s in report.signatures] == ["provider", "director"]
    assert not list(inbox.glob("*.xlsx"))
    assert not (demo_ws.workspace.rejected.exists() and any(demo_ws.workspace.rejected.iterdir()))
    rows = list(load_workbook(outbox / "index.xlsx").active.iter_rows(min_row=3, values_only=True))
    assert sorted(r[0] for r in rows) == [b.name for b in bundles]
    assert not any(demo_ws.workspace.work.iterdir())
