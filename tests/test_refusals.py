"""Issue 18: every command refuses bad input in one clear line, bounded in memory and time,
and never harms the archive. One test per finding, each with the real command in a child
process (its address space limited with setrlimit, and a wall-clock timeout)."""

from __future__ import annotations

import fcntl
import os
import re
import resource
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from pipeline import demo
from pipeline.bundles import bundle
from pipeline.core import folders, inputs
from pipeline.flow.processing import DECISION_LOCK, Processor
from pipeline.intake import blank_sheet
from pipeline.records import report, report_files
from pipeline.records.journal import State
from pipeline.settings import config

PIPELINE = [sys.executable, "-m", "pipeline"]
MEMORY = 1536 << 20  # 1.5 GB of address space for every command
TIMEOUT = 60.0  # seconds, for any one command
URL = "https://example.go.th/news/18"


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    os.umask(0o022)


def _popen(*args: str, ws: Path, prefix: Sequence[str] = ()) -> subprocess.Popen[str]:
    return subprocess.Popen([*prefix, *PIPELINE, "--workspace", str(ws), *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ws,
                            preexec_fn=_limits)


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


def _wait(proc: subprocess.Popen[str]) -> Done:
    out, err = proc.communicate(timeout=TIMEOUT)
    return Done(proc.returncode, out, err)


def _run(*args: str, ws: Path, prefix: Sequence[str] = ()) -> Done:
    return _wait(_popen(*args, ws=ws, prefix=prefix))


def _run_all(commands: Sequence[Sequence[str]], ws: Path) -> list[Done]:
    """Independent commands at once (the machine has cores to spare while one starts)."""
    procs = [_popen(*c, ws=ws) for c in commands]
    return [_wait(p) for p in procs]


_LOG_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (INFO|WARNING) ")


def _refused(done: Done, *words: str, code: int = 1) -> None:
    """Exit ``code``, no traceback, one line on stderr (Thai and English) with ``words``
    (besides the log's own records, e.g. the index noting a damaged manifest)."""
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines()
             if line.strip() and not _LOG_RECORD.match(line)]
    assert len(lines) == 1, lines
    assert " / " in lines[0] and any("\u0e00" <= c <= "\u0e7f" for c in lines[0]), lines[0]
    for word in words:
        assert word in lines[0], lines[0]


def _archive_is_sound(root: Path) -> None:
    """What every test that touches an archive ends with: the outbox verifies, the index is
    current."""
    checked, indexed = _run_all([("verify", "outbox"), ("index",)], root)
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr
    assert indexed.returncode == 0, indexed.stdout + indexed.stderr


def _submit(processor: Processor, cfg: config.Config, title: str) -> str:
    path = cfg.workspace.root / f"{title}.xlsx"
    blank_sheet.new_request(path, cfg)
    blank_sheet.fill(path, {**demo.sample_values(date.today()), "title": title})
    outcome = processor.process(path)
    path.unlink()
    assert outcome.state in (State.ARCHIVED, State.AWAITING_DIRECTOR), outcome.problems
    assert outcome.request_id is not None
    return outcome.request_id


@dataclass(frozen=True)
class Office:
    root: Path
    request_id: str

    @property
    def bundle(self) -> Path:
        return self.root / "outbox" / self.request_id


@pytest.fixture(scope="module")
def archived_template(demo_template: Path, converter, tmp_path_factory) -> Office:
    """One real archived bundle (B-LTA, both signatures) and its index (the demo's
    webmaster key signs `published --sign`): made once, copied by each test."""
    root = tmp_path_factory.mktemp("refusals") / "ws"
    shutil.copytree(demo_template, root)
    cfg = config.load(root)
    with Processor(cfg, converter=converter) as processor:
        request_id = _submit(processor, cfg, "ข่าวประชาสัมพันธ์ ฉบับทดสอบ")
        processor.rebuild_index()
    return Office(root, request_id)


@pytest.fixture(scope="module")
def queued_template(demo_template: Path, converter, tmp_path_factory) -> Office:
    """One request signed by its provider, waiting for the director."""
    root = tmp_path_factory.mktemp("queued") / "ws"
    shutil.copytree(demo_template, root)
    path = root / folders.CONFIG_NAME
    path.write_text(path.read_text(encoding="utf-8").replace("auto_approve = true",
                                                            "auto_approve = false"),
                    encoding="utf-8")
    cfg = config.load(root)
    with Processor(cfg, converter=converter) as processor:
        request_id = _submit(processor, cfg, "เรื่องรออนุมัติ")
        processor.rebuild_index()
    return Office(root, request_id)


@pytest.fixture
def office(archived_template: Office, tmp_path: Path) -> Office:
    root = tmp_path / "ws"
    shutil.copytree(archived_template.root, root, symlinks=True)
    return Office(root, archived_template.request_id)


@pytest.fixture
def queued(queued_template: Office, tmp_path: Path) -> Office:
    root = tmp_path / "ws"
    shutil.copytree(queued_template.root, root, symlinks=True)
    return Office(root, queued_template.request_id)


def _events(office: Office) -> list[dict]:
    return bundle.read_manifest(office.bundle)["events"]


@contextmanager
def _holding(path: Path) -> Iterator[int]:
    """Hold an exclusive flock on ``path`` (a bundle folder, a lock file) from the test."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else os.O_CREAT),
                 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield os.fstat(fd).st_ino
    finally:
        os.close(fd)


def _wait_for_waiters(inode: int, procs: Sequence[subprocess.Popen[str]]) -> None:
    """Until every process in ``procs`` is blocked on the flock of ``inode`` (the kernel's
    /proc/locks lists waiters with ``->``): the contention is then certain, not timing."""
    pids = {str(p.pid) for p in procs}
    deadline = time.monotonic() + TIMEOUT
    while True:
        waiting = set()
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if "->" in fields and fields[-3].endswith(f":{inode}"):
                waiting.add(fields[fields.index("->") + 4])
        if pids <= waiting:
            return
        for p in procs:
            assert p.poll() is None, f"ended without waiting for the lock: {_wait(p)}"
        assert time.monotonic() < deadline, f"not all waiting for the lock: {waiting} {pids}"
        time.sleep(0.05)


# -- 1. report: a year out of range in both eras ------------------------------------------------
def test_report_fiscal_year_9569_is_refused_at_once_in_bounded_memory(office):
    started = time.monotonic()
    results = _run_all([("report", "--fiscal-year", "9569"), ("report", "--fiscal-year", "0000"),
                        ("report", "--month", "9569-11"), ("report", "--month", "2569-13"),
                        ("report", "--month", "๒๔๐๐-๐๑")], office.root)
    assert time.monotonic() - started < 30
    for done in results[:3] + results[4:]:
        _refused(done, "out of range", code=2)
    _refused(results[3], "no month 13", code=2)
    assert not (office.root / "outbox" / report_files.REPORTS_DIR).exists()  # nothing written
    # the edges of the range in both eras, and months from Gregorian dates (never re-read
    # as typed years: the loop of the finding)
    assert report.fiscal_year("2700").key == "FY2700" == report.fiscal_year("2157").key
    assert [m.key for m in report.months_of(report.fiscal_year("2500"))][::11] == [
        "2499-10", "2500-09"]
    with pytest.raises(inputs.InputError):
        inputs.year("2158")


# -- 2. verify: not a regular file, not a PDF, too large ---------------------------------------
def test_verify_dev_zero_a_fifo_and_a_huge_file_are_refused_in_bounded_memory(office, tmp_path):
    fifo = tmp_path / "x.pdf"
    os.mkfifo(fifo)
    zeros = tmp_path / "zeros.pdf"
    with zeros.open("wb") as f:
        f.truncate(300 << 20)  # 300 MB of zeros, as in the finding
    huge = tmp_path / "huge.pdf"
    with huge.open("wb") as f:
        f.write(b"%PDF-1.7\n")
        f.truncate(150 << 20)  # a PDF header, then more than [verify] max_mb (100)
    results = _run_all([("verify", "/dev/zero"), ("verify", str(fifo)), ("verify", str(zeros)),
                        ("verify", str(huge)), ("verify", "--crl", str(fifo), "outbox")],
                       office.root)
    expected = ["is a device", "is a FIFO", "does not start with %PDF-", "larger than 100 MB"]
    for done, words in zip(results, expected, strict=False):
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert words in done.stdout, done.stdout
    crl = results[4]
    assert crl.returncode == 2 and "Traceback" not in crl.stderr
    assert "is a FIFO" in crl.stderr and len(crl.stderr.strip().splitlines()) == 1

    # [verify] max_mb from pipeline.toml; and a bundle whose PDF became a link to /dev/zero
    path = office.root / folders.CONFIG_NAME
    path.write_text(path.read_text(encoding="utf-8") + "\n[verify]\nmax_mb = 1\n",
                    encoding="utf-8")
    small = tmp_path / "two.pdf"
    small.write_bytes(b"%PDF-1.7\n" + b"0" * (2 << 20))
    damaged = tmp_path / "damaged"
    shutil.copytree(office.bundle, damaged / office.request_id)
    pdf = damaged / office.request_id / f"{office.request_id}.pdf"
    pdf.unlink()
    pdf.symlink_to("/dev/zero")
    limited, linked = _run_all([("verify", str(small)),
                                ("verify", str(damaged / office.request_id))], office.root)
    assert limited.returncode == 2 and "larger than 1 MB" in limited.stdout, limited.stdout
    assert linked.returncode == 1 and "TOTAL_FAILED" in linked.stdout, linked.stdout
    path.write_text(path.read_text(encoding="utf-8").replace("max_mb = 1", "max_mb = 100"),
                    encoding="utf-8")
    _archive_is_sound(office.root)


# -- 3. output targets inside the workspace, or unwritable -------------------------------------
def test_collect_into_the_outbox_is_refused_and_the_archive_stays_valid(office, tmp_path):
    link = tmp_path / "looks-elsewhere"
    link.symlink_to(office.root / "outbox")
    results = _run_all([
        ("collect", "outbox"), ("collect", f"outbox/{office.request_id}"),
        ("collect", "inbox"), ("collect", ".pipeline/upload"), ("collect", "pending"),
        ("collect", str(link)),
        ("report", "--month", "2569-11", "--out", f"outbox/{office.request_id}"),
        ("trust-kit", "outbox/kit"),
    ], office.root)
    for done in results:
        _refused(done, "inside the workspace's")
    assert sorted(p.name for p in office.bundle.iterdir()) == sorted(
        [f"{office.request_id}.pdf", "attachments", "manifest.json", "request.xlsx"])
    assert not (office.root / "outbox" / "kit").exists()
    _archive_is_sound(office.root)


def test_collect_report_and_trust_kit_into_a_read_only_folder_say_so_in_one_line(office,
                                                                                  tmp_path):
    locked = tmp_path / "read-only"
    locked.mkdir()
    locked.chmod(0o555)
    # as root, permissions are only obeyed without CAP_DAC_OVERRIDE
    prefix = (["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
              if os.geteuid() == 0 else [])
    procs = [_popen(*args, ws=office.root, prefix=prefix) for args in (
        ("collect", str(locked / "upload")), ("collect", str(locked)),
        ("report", "--month", "2569-11", "--out", str(locked / "reports")),
        ("trust-kit", str(locked / "kit")))]
    for proc in procs:
        _refused(_wait(proc), "cannot write", "Permission denied")
    assert list(locked.iterdir()) == []


# -- 5. a path given as the request ID ---------------------------------------------------------
def test_published_refuses_a_path_as_request_id(office, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(office.root, other, symlinks=True)
    before = (other / "outbox" / office.request_id / "manifest.json").read_bytes()
    (office.root / "outbox" / "REQ-2569-09999").symlink_to(other / "outbox" / office.request_id)
    results = _run_all([
        ("published", f"../../other/outbox/{office.request_id}", "--url", URL, "--no-sign"),
        ("published", str(other / "outbox" / office.request_id), "--url", URL, "--sign"),
        ("published", "REQ-2569-09999", "--url", URL, "--no-sign"),  # a link out of the outbox
        ("published", "REQ-2569-09998", "--url", URL, "--no-sign"),
    ], office.root)
    for done in results[:2]:
        _refused(done, "not a request ID")
    for done in results[2:]:
        _refused(done, "no approved request")
    assert (other / "outbox" / office.request_id / "manifest.json").read_bytes() == before
    assert _events(office) == []
    (office.root / "outbox" / "REQ-2569-09999").unlink()
    _archive_is_sound(office.root)


# -- 6. published repeats itself ---------------------------------------------------------------
def test_published_again_is_already_recorded_and_another_url_is_a_correction(office):
    first = _run("published", office.request_id, "--url", URL, "--no-sign", ws=office.root)
    assert first.returncode == 0, first.stderr
    again = _run("published", office.request_id, "--url", URL, "--no-sign", ws=office.root)
    assert again.returncode == 0, again.stderr
    assert "already recorded" in again.stdout and "บันทึกไว้แล้ว" in again.stdout
    assert len(_events(office)) == 1
    fixed = _run("published", office.request_id, "--url", URL + "-fixed", ws=office.root)
    assert fixed.returncode == 0, fixed.stderr
    events = _events(office)
    assert [(e["url"], e["correction"], e["corrects"]) for e in events] == [
        (URL, False, None), (URL + "-fixed", True, URL)]
    _archive_is_sound(office.root)


def test_two_published_at_once_with_and_without_sign_record_one_event(office):
    with _holding(office.bundle) as inode:
        procs = [_popen("published", office.request_id, "--url", URL, flag, ws=office.root)
                 for flag in ("--sign", "--no-sign")]
        _wait_for_waiters(inode, procs)  # both decided to record, and wait for the bundle
    signed, plain = (_wait(p) for p in procs)
    assert signed.returncode == plain.returncode == 0, (signed.stderr, plain.stderr)
    assert "Traceback" not in signed.stderr + plain.stderr
    assert sum("already recorded" in d.stdout for d in (signed, plain)) == 1
    events = _events(office)
    assert len(events) == 1 and events[0]["url"] == URL
    _archive_is_sound(office.root)


# -- 7. smaller ----------------------------------------------------------------------------------
def test_two_approves_at_once_the_loser_says_so_in_one_line(queued):
    lock = queued.root / ".pipeline" / DECISION_LOCK
    with _holding(lock) as inode:
        procs = [_popen("approve", queued.request_id, "--yes", ws=queued.root)
                 for _ in range(2)]
        _wait_for_waiters(inode, procs)
    results = sorted((_wait(p) for p in procs), key=lambda d: d.returncode)
    assert [d.returncode for d in results] == [0, 1], [d.stderr for d in results]
    _refused(results[1], "not waiting for the director", queued.request_id)
    assert bundle.is_bundle(queued.root / "outbox" / queued.request_id)
    _archive_is_sound(queued.root)


def test_reject_with_an_empty_or_huge_reason_is_refused(queued):
    results = _run_all([("reject", queued.request_id, "--reason", ""),
                        ("reject", queued.request_id, "--reason", "   "),
                        ("reject", queued.request_id, "--reason", "ก" * 30_000),
                        ("reject", queued.request_id, "--reason", "ผิด\x1b[2J")], queued.root)
    _refused(results[0], "the reason is empty")
    _refused(results[1], "the reason is empty")
    _refused(results[2], "longer than 2,000 characters")
    _refused(results[3], "control characters")
    rejected = queued.root / "inbox" / "rejected"
    assert not rejected.exists() or list(rejected.iterdir()) == []
    waiting = _run("pending", ws=queued.root)
    assert queued.request_id in waiting.stdout  # still waiting for the director


def test_a_url_with_control_characters_is_refused_and_never_echoed_raw(office):
    results = _run_all([("published", office.request_id, "--url", URL + "\x1b]0;owned\x07"),
                        ("published", office.request_id, "--url", "javascript:alert(1)"),
                        ("published", office.request_id, "--url", "https://x.go.th/\u202egpj")],
                       office.root)
    _refused(results[0], "control characters", "\\x1b")
    _refused(results[1], "not a web address")
    _refused(results[2], "control characters")
    assert not any("\x1b" in d.stderr + d.stdout for d in results)
    assert _events(office) == []
    _archive_is_sound(office.root)


@pytest.mark.parametrize("content", [b"{not json", b"[]"], ids=["invalid-json", "a-list"])
def test_published_and_collect_on_a_broken_manifest_name_the_bundle(office, tmp_path, content):
    (office.bundle / bundle.MANIFEST).write_bytes(content)
    published, collected = _run_all([("published", office.request_id, "--url", URL),
                                     ("collect", str(tmp_path / "upload"))], office.root)
    _refused(published, office.request_id, "manifest.json")
    assert collected.returncode == 1 and "Traceback" not in collected.stderr, collected.stderr
    assert f"{office.request_id}  SKIPPED" in collected.stderr
    assert "manifest.json" in collected.stderr


def test_index_reports_sheets_and_corrections_are_readable_under_umask_022(office, converter,
                                                                           tmp_path):
    cfg = config.load(office.root)
    blank, to_reject = tmp_path / "blank.xlsx", tmp_path / "to-reject.xlsx"
    blank_sheet.new_request(to_reject, cfg)  # blank: rejected, with a .corrected.xlsx
    made, rebuilt, rejected = _run_all([("new-request", str(blank)), ("index", "--rebuild"),
                                        ("process", str(to_reject))], office.root)
    assert made.returncode == rebuilt.returncode == 0, made.stderr + rebuilt.stderr
    assert rejected.returncode == 1, rejected.stderr
    corrected = list((office.root / "inbox" / "rejected").glob("*.corrected.xlsx"))
    outbox = office.root / "outbox"
    files = [blank, outbox / "index.xlsx", outbox / "index.csv", *corrected]
    written = report_files.write_reports(cfg, report.month("2569-11"), converter)  # umask 022 here
    files += [p for w in written for p in (w.xlsx, w.pdf)]
    assert corrected and written
    modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert set(modes.values()) == {"0o644"}, modes


def test_a_newline_in_a_path_stays_on_one_line_in_verify(office, tmp_path):
    odd = tmp_path / "new\nline.pdf"
    shutil.copyfile(office.bundle / f"{office.request_id}.pdf", odd)
    pipe = tmp_path / "bad\x1b[2Jpipe.pdf"
    os.mkfifo(pipe)
    done = _run("verify", str(odd), str(pipe), ws=office.root)
    assert done.returncode == 2, done.stderr
    assert "\x1b" not in done.stdout
    lines = done.stdout.splitlines()
    assert any(line.endswith("new\\x0aline.pdf: TOTAL_PASSED / ผ่าน") for line in lines), lines
    assert not any(line.startswith("line.pdf") for line in lines), lines
    assert any("bad\\x1b[2Jpipe.pdf: UNREADABLE" in line for line in lines), lines
