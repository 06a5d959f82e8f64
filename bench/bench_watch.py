"""Drain benchmark: drop N sheets at once into a watched inbox and measure.

    .venv/bin/python bench/bench_watch.py [-n 200] [--workers 2]

Prints the time to drain, throughput, per-request latency (drop -> bundle archived) median
and p95, and the resident memory of the watcher, its workers and their LibreOffice
processes (first quarter of the run vs. the end, to see whether it grows per request).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

from pipeline import demo, patches
from pipeline.flow.watch import WatchOptions
from pipeline.intake import blank_sheet
from pipeline.settings.config import LEVELS


def _rss_by_process(root_pid: int) -> dict[str, tuple[int, float]]:
    """Resident KiB and CPU seconds of ``root_pid`` and its descendants, keyed 'role pid'."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--workers", type=int, default=WatchOptions.workers)
    parser.add_argument("--level", default="B-B", choices=LEVELS,
                        help="PAdES level to sign at (the issue's drain target is for B-B)")
    args = parser.parse_args()
    patches.install()  # as the CLI does: measure the code that runs
    root = Path(tempfile.mkdtemp(prefix="pipeline-drain-"))
    try:
        made = demo.create(root / "ws")
        ws = made.config.workspace
        text = ws.config_file.read_text(encoding="utf-8")
        ws.config_file.write_text(text.replace('level = "B-LTA"', f'level = "{args.level}"'),
                                  encoding="utf-8")
        staging = root / "staging"
        staging.mkdir()
        base = demo.sample_values(date.today())
        for i in range(args.n):
            path = staging / f"คำขอ {i:04d}.xlsx"
            shutil.copyfile(made.sample, path)
            blank_sheet.fill(path, {**base, "title": f"{base['title']} (ชุดทดสอบ {i:04d})"})
        watcher = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "--workspace", str(ws.root), "watch",
             "--settle", "0.2", "--rescan", "1", "--workers", str(args.workers)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)  # let the watcher import and start (not part of the drain)
        dropped = time.time()
        for path in sorted(staging.iterdir()):
            path.rename(ws.inbox / path.name)
        samples: list[tuple[int, dict[str, int]]] = []
        done = 0
        while done < args.n:
            assert watcher.poll() is None, "the watcher stopped"
            done = sum(1 for p in ws.outbox.iterdir() if (p / "manifest.json").is_file())
            samples.append((done, _rss_by_process(watcher.pid)))
            time.sleep(0.5)
        drained = time.time() - dropped
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(timeout=120)
        latencies = []
        for bundle in ws.outbox.iterdir():
            if (bundle / "manifest.json").is_file():
                times = json.loads((bundle / "manifest.json").read_text())["times"]
                latencies.append(datetime.fromisoformat(times["archived"]).timestamp() - dropped)
        latencies.sort()
        print(f"{args.n} sheets, {args.workers} workers, PAdES {args.level}, "
              f"{os.cpu_count()} cores")
        print(f"drain time        {drained:8.1f} s")
        print(f"throughput        {args.n / drained:8.2f} requests/s")
        print(f"latency median    {statistics.median(latencies):8.1f} s (drop -> archived)")
        print(f"latency p95       {latencies[round(0.95 * (len(latencies) - 1))]:8.1f} s")
        quarters = [next(rss for n, rss in samples if n >= args.n * q // 4) for q in (1, 2, 3)]
        quarters.append(samples[-1][1])
        print("resident memory (MiB) after 25 / 50 / 75 / 100 % of the requests, peak, CPU s:")
        for key in sorted(quarters[-1]):
            peak = max(rss.get(key, (0, 0))[0] for _, rss in samples)
            steps = " ".join(f"{q.get(key, (0, 0))[0] / 1024:7.1f}" for q in quarters)
            print(f"  {key:<18} {steps}   peak {peak / 1024:7.1f}"
                  f"   cpu {quarters[-1][key][1]:6.1f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
