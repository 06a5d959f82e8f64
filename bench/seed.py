"""What the benchmarks share: N distinct request sheets, N distinct bundles made by the
pipeline itself (LibreOffice, both signatures, the archive), and a cheap archive of many
bundles for the flatness benchmarks; and the CPU seconds of a process tree from /proc.

Distinct means distinct: each sheet gets its own title and note (so each form, each
signature and each bundle differs from the others), never a copy of one bundle.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipeline import demo
from pipeline.flow.processing import Processor
from pipeline.flow.watch import WatchOptions, watch
from pipeline.intake import blank_sheet
from pipeline.records.journal import Journal
from pipeline.settings.config import Config, load


def workspace(root: Path, level: str = "B-LTA") -> demo.Demo:
    """A demo workspace at ``root`` signing at ``level``."""
    made = demo.create(root)
    cfg = made.config.workspace.config_file
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text.replace('level = "B-LTA"', f'level = "{level}"'), encoding="utf-8")
    return demo.Demo(load(made.config.workspace.root), made.sample)


def sheets(made: demo.Demo, folder: Path, n: int, start: int = 0) -> list[Path]:
    """``n`` distinct filled request sheets in ``folder`` (numbered from ``start``)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = demo.sample_values(date.today())
    out = []
    for i in range(start, start + n):
        path = folder / f"คำขอ {i:05d}.xlsx"
        shutil.copyfile(made.sample, path)
        blank_sheet.fill(path, {**base, "title": f"{base['title']} (ชุดทดสอบ {i:05d})",
                                "note": f"ชุดทดสอบเลขที่ {i}"})
        out.append(path)
    return out


def bundles(made: demo.Demo, n: int, workers: int | None = None) -> list[Path]:
    """``n`` distinct bundles in the workspace's outbox, made by the pipeline from ``n``
    distinct sheets on all cores (as ``pipeline watch --once`` does)."""
    config: Config = made.config
    for path in sheets(made, config.workspace.root / "seed-sheets", n):
        path.rename(config.workspace.inbox / path.name)
    logging.getLogger("pipeline").setLevel(logging.WARNING)  # one line per step otherwise
    with Processor(config) as processor:
        watch(processor, WatchOptions(once=True, settle=0,
                                      workers=workers or (os.cpu_count() or 1) + 1))
    found = sorted(p for p in config.workspace.outbox.iterdir() if (p / "manifest.json").is_file())
    assert len(found) >= n, f"only {len(found)} of {n} bundles were made"
    return found


def archive(config: Config, count: int) -> None:
    """``count`` archived requests, cheaply: a journal row and a bundle folder with a small
    manifest each (no PDF: what per-request work must not read). IDs from 90001 up, so the
    real requests that follow keep their own numbering."""
    if count == 0:
        return
    Journal(config.workspace.journal_file, config.id_prefix).close()  # the schema
    start = datetime(2025, 10, 1, 2, tzinfo=UTC)
    rows = []
    for n in range(count):
        request_id = f"{config.id_prefix}-2568-{n + 1:06d}"
        when = (start + timedelta(minutes=n)).isoformat()
        folder = config.workspace.outbox / request_id
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(json.dumps(
            {"schema": "pipeline.bundle/1", "request_id": request_id, "status": "approved",
             "request": {"title": f"seeded {n}"}, "signed_pdf": f"{request_id}.pdf",
             "files": {}, "signatures": [], "times": {"received": when, "archived": when},
             "events": []}), encoding="utf-8")
        rows.append((request_id, f"seed {n}.xlsx", f"/inbox/seed {n}.xlsx", f"{n:064x}",
                     "archived", when, when, "", 1))
    with sqlite3.connect(config.workspace.journal_file) as db:
        db.executemany("INSERT INTO requests (id, source_name, source_path, source_sha256, "
                       "state, received_at, updated_at, message, taken) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def processes(root_pid: int) -> dict[str, tuple[int, float]]:
    """Resident KiB and CPU seconds (user + system) of ``root_pid`` and its living
    descendants, from /proc, keyed 'role pid' (watcher, worker, soffice, tracker)."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
        names[int(entry.name)] = ("soffice" if "soffice" in cmd else
                                  "tracker" if "resource_tracker" in cmd else
                                  "worker" if "multiprocessing" in cmd else "watcher")
    result, todo = {}, [root_pid]
    while todo:
        pid = todo.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        rss = next((int(line.split()[1]) for line in status.splitlines()
                    if line.startswith("VmRSS:")), 0)
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        if rss:
            result[f"{names.get(pid, '?')} {pid}"] = (rss, cpu)
        todo += children.get(pid, [])
    return result


def cpu_by_role(sample: dict[str, tuple[int, float]]) -> dict[str, float]:
    """CPU seconds per role (all workers together, all soffice together)."""
    out: dict[str, float] = {}
    for key, (_rss, cpu) in sample.items():
        role = key.split()[0]
        out[role] = out.get(role, 0.0) + cpu
    return out


@dataclass
class Drain:
    """What :func:`drain` saw: seconds from the drop to the last bundle, each bundle's
    latency (drop -> archived, from its manifest), and (bundles done, processes) samples."""

    seconds: float
    latencies: list[float]
    samples: list[tuple[int, dict[str, tuple[int, float]]]] = field(default_factory=list)

    @property
    def cpu(self) -> dict[str, float]:
        """CPU seconds per role from the drop (the first sample) to the last bundle: the
        processes' start-up (with the warm-up sheets) is not counted."""
        first, last = cpu_by_role(self.samples[0][1]), cpu_by_role(self.samples[-1][1])
        return {role: seconds - first.get(role, 0.0) for role, seconds in last.items()}


def drain(made: demo.Demo, staged: list[Path], workers: int, *, settle: float = 0.2,
          every: float = 0.5, warm: list[Path] = ()) -> Drain:
    """Start `pipeline watch`, let it process the ``warm`` sheets (one per worker starts
    every worker and its LibreOffice: start-up is not part of the drain), then move the
    ``staged`` sheets into its inbox at once and wait until all are archived, sampling the
    processes every ``every`` seconds; then stop the watcher."""
    ws = made.config.workspace
    watcher = subprocess.Popen(
        pipeline_command(ws.root, "watch", "--settle", str(settle), "--rescan", "1",
                         "--workers", str(workers)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_started(ws.state / "watch.lock", watcher)
        ws.outbox.mkdir(exist_ok=True)
        initial = {p.name for p in ws.outbox.iterdir()}
        for path in warm:
            path.rename(ws.inbox / path.name)
        before = _archived(ws.outbox, initial, len(warm), watcher, [], every)
        samples = [(0, processes(watcher.pid))]
        dropped = time.time()
        for path in staged:
            path.rename(ws.inbox / path.name)
        _archived(ws.outbox, before, len(staged), watcher, samples, every)
        seconds = time.time() - dropped
        latencies = sorted(
            datetime.fromisoformat(json.loads((p / "manifest.json").read_text())["times"]
                                   ["archived"]).timestamp() - dropped
            for p in (ws.outbox / n for n in {q.name for q in ws.outbox.iterdir()} - before)
            if (p / "manifest.json").is_file())
    finally:
        watcher.send_signal(signal.SIGTERM)  # it ends when its last index rebuild is written
        try:
            watcher.wait(timeout=600)
        except subprocess.TimeoutExpired:  # a huge archive's index: not part of the figures
            watcher.kill()
            watcher.wait()
    return Drain(seconds, latencies, samples)


def _archived(outbox: Path, before: set[str], want: int, watcher: subprocess.Popen,
              samples: list[tuple[int, dict[str, tuple[int, float]]]], every: float
              ) -> set[str]:
    """Wait until ``want`` bundles not in ``before`` are archived; every bundle's name."""
    while True:
        assert watcher.poll() is None, "the watcher stopped"
        new = {p.name for p in outbox.iterdir()} - before  # a large archive: stat only these
        names = before | {n for n in new if (outbox / n / "manifest.json").is_file()}
        done = len(names) - len(before)
        if done >= want:
            samples.append((done, processes(watcher.pid)))
            return names
        samples.append((done, processes(watcher.pid)))
        time.sleep(every)


def wait_started(lock: Path, watcher: subprocess.Popen) -> None:
    """Until the watcher holds its lock (it writes its pid there once it has started)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert watcher.poll() is None, "the watcher stopped"
        if lock.exists() and lock.read_text().strip() == str(watcher.pid):
            return
        time.sleep(0.05)
    raise TimeoutError("the watcher did not start within 60 s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load_average() -> str:
    """``uptime``'s load, to print beside every figure (this machine is shared)."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def timed_runs(command: list[str], n: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (the child's, from getrusage) of ``n`` runs of ``command``."""
    walls, cpus = [], []
    for _ in range(n):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return walls, cpus


def pipeline_command(ws: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", "--workspace", str(ws), *args]
