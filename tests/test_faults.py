"""A sick machine, with real faults (issue 15): a full disk (a small tmpfs), a read-only
outbox (a read-only bind mount), the disk below ``[watch] min_free_mb``, and commands killed
with SIGKILL at their critical points. Each checks that the watcher stays up, what ``pipeline
status`` says, that the log grows by a bounded amount, and that once the fault is gone every
request is archived exactly once, ``pipeline verify outbox`` and ``pipeline index`` exit 0.

Mounting needs root: CI runs as root; elsewhere those tests are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from pipeline import demo
from pipeline.bundles import bundle
from pipeline.intake import blank_sheet
from pipeline.settings.config import Config

PIPELINE = [sys.executable, "-m", "pipeline"]
LOG_GROWTH_LIMIT = 16 * 1024  # bytes over the whole fault: one line per change, not per retry

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason=(
    "mounting a tmpfs or a read-only bind mount needs root; CI runs these as root"))


def _run(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*PIPELINE, "--workspace", str(root), *args], capture_output=True,
                          text=True, timeout=timeout)


def _until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _set_watch(root: Path, **values: float) -> None:
    """Set ``[watch]`` keys in the workspace's pipeline.toml."""
    config = root / "pipeline.toml"
    text = config.read_text(encoding="utf-8")
    for key, value in values.items():
        text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        if not n:
            text = text.replace("[watch]\n", f"[watch]\n{key} = {value}\n", 1)
    config.write_text(text, encoding="utf-8")


def _stage_sheets(config: Config, folder: Path, count: int, tag: str) -> list[Path]:
    """Complete sheets under hidden names (the watcher ignores them) in ``folder``."""
    blank = folder / f".blank-{tag}.xlsx"
    blank_sheet.new_request(blank, config)
    staged = []
    for i in range(count):
        path = folder / f".{tag} {i:02}.xlsx"
        shutil.copyfile(blank, path)
        blank_sheet.fill(path, {**demo.sample_values(date.today()), "title": _title(tag, i)})
        staged.append(path)
    blank.unlink()
    return staged


def _drop(staged: list[Path]) -> None:
    """Give the staged sheets their names (a rename: it needs no free space)."""
    for path in staged:
        path.rename(path.with_name(path.name[1:]))


def _states(root: Path) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(root / ".pipeline" / "journal.sqlite")) as db:
        return list(db.execute("SELECT source_name, state FROM requests ORDER BY id"))


def _bundles(root: Path) -> list[Path]:
    return sorted(p for p in (root / "outbox").iterdir() if bundle.is_bundle(p))


def _log_size(root: Path, stderr: Path) -> int:
    return sum(p.stat().st_size for p in (*(root / ".pipeline").glob("pipeline.log*"), stderr))


@contextlib.contextmanager
def _watcher(root: Path, stderr: Path) -> Iterator[subprocess.Popen]:
    with stderr.open("wb") as err:
        proc = subprocess.Popen([*PIPELINE, "--workspace", str(root), "watch", "--settle",
                                 "0.2", "--rescan", "0.5"], stdout=subprocess.DEVNULL,
                                stderr=err)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _archived_exactly_once(root: Path, titles: set[str]) -> None:
    bundles = _bundles(root)
    found = [bundle.read_manifest(b)["request"]["title"] for b in bundles]
    assert sorted(found) == sorted(titles), found  # each once, none missing, none twice
    assert {state for _name, state in _states(root)} == {"archived"}, _states(root)
    assert not [p for p in (root / "inbox").iterdir() if p.suffix == ".xlsx"]
    check = _run(root, "verify", str(root / "outbox"))
    assert check.returncode == 0, check.stdout + check.stderr
    fresh = _run(root, "index")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr


def _title(tag: str, i: int) -> str:
    return f"ข่าวประชาสัมพันธ์ {tag} ฉบับที่ {i}"


def _titles(tag: str, count: int) -> set[str]:
    return {_title(tag, i) for i in range(count)}


@pytest.fixture
def mounts() -> Iterator[Callable[..., Path]]:
    """Mount for one test; everything is unmounted at its end, whatever happened."""
    mounted: list[Path] = []

    def mount(*args: str) -> Path:
        Path(args[-1]).mkdir(exist_ok=True)
        subprocess.run(["mount", *args], check=True, capture_output=True)
        mounted.append(Path(args[-1]))
        return Path(args[-1])

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)


def _fill(disk: Path) -> Path:
    """Take every free byte of the file system of ``disk``."""
    ballast = disk / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        st = os.statvfs(disk)
        with contextlib.suppress(OSError):
            os.posix_fallocate(fd, 0, st.f_bavail * st.f_frsize)
        os.lseek(fd, 0, os.SEEK_END)
        chunk = b"\0" * 4096
        while True:  # the last pages fallocate could not take
            try:
                os.write(fd, chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                return ballast
    finally:
        os.close(fd)


@needs_root
def test_a_full_disk_holds_the_requests_and_the_watcher_resumes_by_itself(
        demo_template, tmp_path, mounts):
    """The finding: on a full 40 MB tmpfs the workers logged about 90 raw tracebacks and the
    watcher died on ``database or disk is full`` in ``journal.claim``."""
    disk = mounts("-t", "tmpfs", "-o", "size=40m", "tmpfs", str(tmp_path / "disk"))
    root = disk / "ws"
    shutil.copytree(demo_template, root)
    _set_watch(root, min_free_mb=0, retry_first=1)  # a truly full disk, not the floor
    from pipeline.settings import config as config_mod

    config = config_mod.load(root)
    staged = _stage_sheets(config, root / "inbox", 4, "เต็ม")
    titles = _titles("เต็ม", 4)
    stderr = tmp_path / "watch.err"
    with _watcher(root, stderr) as watcher:
        _until(lambda: (root / ".pipeline" / "journal.sqlite").exists(), 60, "the journal")
        ballast = _fill(disk)
        _drop(staged)
        _until(lambda: b"disk full" in stderr.read_bytes() or watcher.poll() is not None, 60,
               "the watcher to name the full disk")
        status = _run(root, "status")
        assert status.returncode == 0, status.stderr
        first = status.stdout.splitlines()[:3]
        assert first[0].startswith("ปัญหาที่ต้องแก้ / problems"), status.stdout
        assert "ดิสก์เต็ม" in first[1] and "disk full" in first[1], status.stdout
        before = _log_size(root, stderr)
        time.sleep(4)  # a rate is measured over time: dozens of retries at retry_first = 1
        assert watcher.poll() is None, stderr.read_text()
        assert _log_size(root, stderr) - before < LOG_GROWTH_LIMIT
        ballast.unlink()
        _until(lambda: len(_bundles(root)) == 4 and
               {s for _n, s in _states(root)} == {"archived"} or watcher.poll() is not None,
               120, "the held requests archived")
        assert watcher.poll() is None, stderr.read_text()
        _until(lambda: _run(root, "index").returncode == 0, 60, "the index rebuilt")
    assert _log_size(root, stderr) < 64 * 1024, stderr.read_text()[-3000:]
    assert "Traceback" not in stderr.read_text(), stderr.read_text()[-6000:]
    _archived_exactly_once(root, titles)


@needs_root
def test_a_read_only_outbox_holds_the_requests_with_the_reason_and_floods_nothing(
        demo_ws, tmp_path, mounts):
    """The finding: a read-only outbox gave 1,250 "failed unexpectedly" lines a second."""
    root = demo_ws.workspace.root
    outbox = root / "outbox"
    _set_watch(root, retry_first=1)
    staged = _stage_sheets(demo_ws, root / "inbox", 3, "อ่านอย่างเดียว")
    titles = _titles("อ่านอย่างเดียว", 3)
    stderr = tmp_path / "watch.err"
    with _watcher(root, stderr) as watcher:
        _until(lambda: (root / ".pipeline" / "journal.sqlite").exists(), 60, "the journal")
        mounts("--bind", str(outbox), str(outbox))
        subprocess.run(["mount", "-o", "remount,bind,ro", str(outbox)], check=True)
        _drop(staged)
        _until(lambda: len(_held(root)) == 3 or watcher.poll() is not None, 90,
               "three requests held before archiving")
        assert watcher.poll() is None, stderr.read_text()
        status = _run(root, "status")
        lines = status.stdout.splitlines()
        assert lines[0] == "ปัญหาที่ต้องแก้ / problems (4):", status.stdout
        assert "โฟลเดอร์อ่านได้อย่างเดียว" in lines[1] and "read-only" in lines[1]
        assert all("พักไว้ / held" in line and "read-only" in line and "next try" in line
                   for line in lines[2:5]), status.stdout
        before = _log_size(root, stderr)
        time.sleep(4)  # a rate is measured over time
        assert _log_size(root, stderr) - before < LOG_GROWTH_LIMIT
        subprocess.run(["umount", str(outbox)], check=True)
        _until(lambda: len(_bundles(root)) == 3 and not _held(root)
               or watcher.poll() is not None, 120, "the held requests archived")
        assert watcher.poll() is None, stderr.read_text()
        _until(lambda: _run(root, "index").returncode == 0, 60, "the index rebuilt")
    assert "Traceback" not in stderr.read_text(), stderr.read_text()[-6000:]
    assert _run(root, "status").stdout.startswith("received"), "no problem left to show"
    _archived_exactly_once(root, titles)


def _held(root: Path) -> list[str]:
    """The held requests' messages; none while the journal's file exists but its tables
    are still being made (the watcher's first connection is a moment ahead of its schema)."""
    with contextlib.closing(sqlite3.connect(root / ".pipeline" / "journal.sqlite")) as db:
        try:
            return [m for (m,) in db.execute(
                "SELECT message FROM requests WHERE retry_at != '' AND state != 'archived'")]
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            return []


def test_below_the_free_space_floor_sheets_wait_in_the_inbox_and_status_says_why(demo_ws):
    """``[watch] min_free_mb`` above what any disk has: nothing is taken, nothing lost."""
    root = demo_ws.workspace.root
    _set_watch(root, min_free_mb=10**9)
    _drop(_stage_sheets(demo_ws, root / "inbox", 1, "พื้นที่"))
    run = _run(root, "watch", "--once")
    assert run.returncode == 0, run.stderr
    assert [p.name for p in (root / "inbox").glob("*.xlsx")] == ["พื้นที่ 00.xlsx"]
    status = _run(root, "status").stdout.splitlines()
    assert status[0] == "ปัญหาที่ต้องแก้ / problems (1):"
    assert "ดิสก์เต็ม" in status[1] and "at least 1000000000 MB needed" in status[1]


# -- commands killed with SIGKILL at their critical points --------------------------------
def _kill_when(args: list[str], root: Path, point: Callable[[], bool]) -> bool:
    """Run ``pipeline ARGS`` and SIGKILL it as soon as ``point()`` holds; whether it was
    caught before it ended by itself."""
    proc = subprocess.Popen([*PIPELINE, "--workspace", str(root), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None:
            if point():
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(0.002)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _scratch_in_use(root: Path, prefix: str) -> Callable[[], bool]:
    scratch = root / ".pipeline" / "tmp"
    return lambda: any(scratch.glob(f"{prefix}*/*"))


def _events_of(folder: Path) -> int:
    with contextlib.suppress(OSError, ValueError):
        return len(json.loads((folder / "manifest.json").read_bytes())["events"])
    return -1


def _no_leftovers(root: Path) -> None:
    scratch = root / ".pipeline" / "tmp"
    assert not [p for p in scratch.iterdir() if p.name != ".lock"] if scratch.is_dir() else True
    assert not list((root / ".pipeline").glob("tmp?*"))
    assert not list((root / "outbox").glob(".*.part"))
    assert not list((root / "outbox").glob("*/.*.pending"))


@pytest.fixture
def archived_bundles(processor, demo_ws, tmp_path) -> list[Path]:
    """Five B-LTA bundles made by the pipeline from distinct sheets."""
    folders = []
    for path in _stage_sheets(demo_ws, tmp_path, 5, "เก็บ"):
        outcome = processor.process(path)
        assert outcome.bundle is not None, outcome
        folders.append(outcome.bundle)
    return folders


def test_refresh_timestamps_killed_midway_is_finished_by_its_rerun(
        demo_ws, archived_bundles):
    """The finding: after a kill -9 that had refreshed some bundles, the index kept their
    old SHA-256, verify said TOTAL_FAILED, `pipeline index` "present", and the rerun left it
    so; a staged PDF stayed in .pipeline/tmp… for good."""
    root = demo_ws.workspace.root
    assert _run(root, "index", "--rebuild").returncode == 0
    caught = [
        _kill_when(["refresh-timestamps", "--force"], root,
                   _scratch_in_use(root, "refresh-")),  # while a new timestamp is staged
    ]
    refreshed = _events_of(archived_bundles[0])
    caught.append(_kill_when(["refresh-timestamps", "--force"], root,  # between two bundles
                             lambda: _events_of(archived_bundles[0]) > refreshed))
    assert any(caught), "both runs ended before the kill: nothing was tested"
    if caught[1]:
        stale = _run(root, "index")  # the bundle changed after the index was written
        assert stale.returncode == 1 and "index" in stale.stdout + stale.stderr, stale
    again = _run(root, "refresh-timestamps")  # nothing due: it only repairs
    assert again.returncode == 0, again.stdout + again.stderr
    assert _run(root, "index").returncode == 0
    check = _run(root, "verify", str(root / "outbox"))
    assert check.returncode == 0, check.stdout
    _no_leftovers(root)


def test_published_sign_killed_before_and_after_its_commit_is_finished_once(
        demo_ws, archived_bundles):
    root = demo_ws.workspace.root
    first, second = archived_bundles[0], archived_bundles[1]
    url = "https://example.go.th/news/1"
    # killed while the webmaster's signature is staged: the bundle is as it was
    caught = _kill_when(["published", first.name, "--url", url, "--sign"], root,
                        _scratch_in_use(root, "published-"))
    if caught:
        assert _events_of(first) == 0
    # killed after the commit, before the index is rewritten
    caught_after = _kill_when(["published", second.name, "--url", url, "--sign"], root,
                              lambda: _events_of(second) == 1)
    assert caught or caught_after, "both runs ended before the kill: nothing was tested"
    for folder in (first, second):
        done = _run(root, "published", folder.name, "--url", url)
        assert done.returncode == 0, done.stdout + done.stderr
        manifest = bundle.read_manifest(folder)
        assert [s["role"] for s in manifest["signatures"]].count("publisher") == 1
        assert len(manifest["events"]) == 1, manifest["events"]
    assert _run(root, "index").returncode == 0
    check = _run(root, "verify", str(root / "outbox"))
    assert check.returncode == 0, check.stdout
    _no_leftovers(root)


def test_approve_killed_while_signing_is_finished_once_by_its_rerun(demo_ws, tmp_path):
    root = demo_ws.workspace.root
    config = root / "pipeline.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "auto_approve = true", "auto_approve = false"), encoding="utf-8")
    staged = _stage_sheets(demo_ws, root / "inbox", 2, "อนุมัติ")
    titles = _titles("อนุมัติ", 2)
    _drop(staged)
    assert _run(root, "watch", "--once").returncode == 0
    waiting = sorted(p.stem for p in (root / "pending").glob("*.pdf"))
    assert len(waiting) == 2, waiting
    outbox = root / "outbox"
    caught = _kill_when(["approve", "--all", "--yes"], root,
                        lambda: any(bundle.is_bundle(p) for p in outbox.iterdir()))
    rerun = _run(root, "approve", "--all", "--yes")
    if not caught:
        pytest.fail("approve ended before the kill: nothing was tested")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert not list((root / "pending").glob("*.pdf"))
    _archived_exactly_once(root, titles)
    for folder in _bundles(root):
        roles = [s["role"] for s in bundle.read_manifest(folder)["signatures"]]
        assert roles == ["provider", "director"], roles
