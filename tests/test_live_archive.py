"""Readers of a live archive see the truth (issue 17): verify and collect run against the
outbox while the watcher archives a burst of sheets, and never call a sound bundle damaged."""

from __future__ import annotations

import contextlib
import fcntl
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

from pipeline import demo
from pipeline.bundles import bundle
from pipeline.intake import blank_sheet
from pipeline.records import index_files

PIPELINE = [sys.executable, "-m", "pipeline"]
SHEETS = 30
BATCH = 5


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*PIPELINE, "--workspace", str(root), *args], capture_output=True,
                          text=True, timeout=600)


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@contextlib.contextmanager
def _index_stalled(root: Path) -> Iterator[None]:
    """Hold the index's lock, as a slow or stalled regeneration does."""
    with (root / ".pipeline" / index_files.LOCK_NAME).open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _bundles(outbox: Path) -> list[Path]:
    return [p for p in outbox.iterdir() if bundle.is_bundle(p)]


def test_verify_and_collect_during_a_drain_never_report_a_sound_bundle_failed(
        demo_ws, tmp_path):
    """The finding: one verify run in eight, during a drain of 40 sheets, reported freshly
    archived bundles TOTAL_FAILED because the index lagged behind them."""
    root = demo_ws.workspace.root
    outbox, inbox = root / "outbox", root / "inbox"
    staged = tmp_path / "staged"
    staged.mkdir()
    for i in range(SHEETS):
        path = staged / f"ข่าว {i:02}.xlsx"
        blank_sheet.new_request(path, demo_ws)
        blank_sheet.fill(path, {**demo.sample_values(date.today()),
                                "title": f"ข่าวประชาสัมพันธ์ ฉบับที่ {i}"})
    watcher = subprocess.Popen([*PIPELINE, "--workspace", str(root), "watch", "--settle", "0.2",
                                "--rescan", "1"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    verdicts: list[dict] = []
    overlapping: list[bool] = []  # per verify run: did it see the archive half-made?
    collected: list[Path] = []
    failures: list[str] = []
    done = threading.Event()

    def read_while_writing() -> None:
        rounds = 0
        while not done.is_set():
            run = _run(root, "verify", "--json", str(outbox))
            if run.returncode != 0:
                overlapping.append(False)
                failures.append(f"verify exit {run.returncode}: {run.stdout[-2000:]}"
                                f"{run.stderr[-2000:]}")
            else:
                items = json.loads(run.stdout)["items"]
                verdicts.extend(items)
                overlapping.append(0 < len(items) < SHEETS)
            if rounds % 2 == 0:
                target = tmp_path / f"upload-{rounds}"
                got = _run(root, "collect", str(target))
                if got.returncode != 0:
                    failures.append(f"collect exit {got.returncode}: {got.stderr[-2000:]}")
                collected.extend(target.rglob("*.pdf"))
            rounds += 1

    reader = threading.Thread(target=read_while_writing)
    try:
        reader.start()
        sheets = sorted(staged.iterdir())
        for start in range(0, SHEETS, BATCH):  # as a share delivers them, a few at a time
            stalled = start == 2 * BATCH
            with _index_stalled(root) if stalled else contextlib.nullcontext():
                for path in sheets[start:start + BATCH]:
                    part = inbox / f".{path.name}.part"
                    part.write_bytes(path.read_bytes())
                    part.rename(inbox / path.name)
                if stalled:  # the watcher cannot rebuild the index: the bundles are newer
                    _until(lambda n=start + BATCH: len(_bundles(outbox)) >= n, 120,
                           "the stalled batch")
                runs = len(overlapping)  # let a whole verify run start and end meanwhile
                _until(lambda n=runs: len(overlapping) >= n + 2 or bool(failures), 120,
                       "a verify run")
        _until(lambda: len(_bundles(outbox)) == SHEETS or watcher.poll() is not None,
               480, f"{SHEETS} bundles")
        assert watcher.poll() is None, watcher.stderr.read() if watcher.stderr else ""
    finally:
        done.set()
        reader.join(timeout=300)
        watcher.terminate()
        watcher.communicate(timeout=60)
    assert not failures, failures[0]
    # the reader really overlapped the drain
    assert sum(overlapping) >= SHEETS // BATCH - 2, overlapping
    assert {v["indication"] for v in verdicts} == {"TOTAL_PASSED"}
    assert any("index not yet updated" in n for v in verdicts for n in v["notes"])
    assert collected, "collect copied nothing while the watcher ran"
    for pdf in collected[:: max(1, len(collected) // 10)]:  # a spread of the copies
        run = _run(root, "verify", str(pdf))
        assert run.returncode == 0, run.stdout
    final = _run(root, "verify", str(outbox))
    assert final.returncode == 0, final.stdout
    assert _run(root, "index").returncode == 0
