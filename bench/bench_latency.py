"""One sheet at a time into a warm watcher: how long from the clerk's copy to the archived
bundle, with the watcher's default settle time (1 s).

    .venv/bin/python bench/bench_latency.py [-n 20] [--polling] [--level B-LTA]

Each sheet is copied into the inbox as a clerk's file manager does (written and closed in
place), and the next one only after the previous is archived. On a local disk the watcher
sees the close (inotify) and takes a whole sheet unchanged since at once; ``--polling`` (a
network share) keeps the settle wait. Latency is the manifest's archived time minus the
moment the copy began.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import seed  # noqa: E402 - the benchmarks' shared helpers, beside this file

from pipeline import patches  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument("--polling", action="store_true")
    parser.add_argument("--level", default="B-LTA")
    args = parser.parse_args()
    patches.install()
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        made = seed.workspace(Path(tmp) / "ws", args.level)
        ws = made.config.workspace
        sheets = seed.sheets(made, Path(tmp) / "staging", args.n + 1)
        extra = ["--polling"] if args.polling else []
        watcher = subprocess.Popen(seed.pipeline_command(ws.root, "watch", "--workers", "1",
                                                         *extra),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        latencies = []
        load = seed.load_average()
        try:
            seed.wait_started(ws.state / "watch.lock", watcher)
            for i, sheet in enumerate(sheets):  # the first warms the worker and LibreOffice
                before = {p.name for p in ws.outbox.iterdir()}
                start = time.time()
                shutil.copyfile(sheet, ws.inbox / sheet.name)
                while True:
                    assert watcher.poll() is None, "the watcher stopped"
                    new = [ws.outbox / n for n in {p.name for p in ws.outbox.iterdir()} - before
                           if (ws.outbox / n / "manifest.json").is_file()]
                    if new:
                        break
                    time.sleep(0.01)
                times = json.loads((new[0] / "manifest.json").read_text())["times"]
                if i:
                    latencies.append(datetime.fromisoformat(times["archived"]).timestamp()
                                     - start)
        finally:
            watcher.send_signal(signal.SIGTERM)
            watcher.wait(timeout=120)
    print(f"one sheet at a time into a warm watcher ({'polling' if args.polling else 'inotify'}"
          f", settle 1 s, PAdES {args.level}), {args.n} sheets: p50 "
          f"{statistics.median(latencies):.2f} s, p95 {seed.percentile(latencies, 0.95):.2f} s, "
          f"max {max(latencies):.2f} s; load before: {load}")


if __name__ == "__main__":
    main()
