"""Drain benchmark: drop N distinct sheets at once into a watched inbox and measure.

    .venv/bin/python bench/bench_watch.py [-n 200] [--workers 3] [--level B-LTA]

Prints the time to drain, throughput, per-request latency (drop -> bundle archived) median
and p95, CPU seconds per request of the watcher, the workers and LibreOffice (from /proc),
and the resident memory of each process after 25 / 50 / 75 / 100 % of the requests, to see
whether it grows per request (run with -n 10000 for the issue's memory figure).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import seed  # noqa: E402 - the benchmarks' shared helpers, beside this file

from pipeline import patches  # noqa: E402
from pipeline.flow.watch import WatchOptions  # noqa: E402
from pipeline.settings.config import LEVELS  # noqa: E402


def report(result: seed.Drain, n: int) -> None:
    """The drain's figures, one per line, ready to paste into the issue."""
    print(f"drain time        {result.seconds:8.1f} s")
    print(f"throughput        {n / result.seconds:8.2f} requests/s")
    print(f"latency median    {statistics.median(result.latencies):8.2f} s (drop -> archived)")
    print(f"latency p95       {seed.percentile(result.latencies, 0.95):8.2f} s")
    cpu = result.cpu
    print("CPU per request   " + ", ".join(f"{role} {1000 * s / n:.0f} ms"
                                          for role, s in sorted(cpu.items()))
          + f"; total {1000 * sum(cpu.values()) / n:.0f} ms")


def memory(result: seed.Drain, n: int) -> None:
    samples = result.samples
    quarters = [next(rss for done, rss in samples if done >= n * q // 4) for q in (1, 2, 3)]
    quarters.append(samples[-1][1])
    print("resident memory (MiB) after 25 / 50 / 75 / 100 % of the requests, peak, CPU s:")
    for key in sorted(quarters[-1]):
        peak = max(rss.get(key, (0, 0))[0] for _, rss in samples)
        steps = " ".join(f"{q.get(key, (0, 0))[0] / 1024:7.1f}" for q in quarters)
        print(f"  {key:<18} {steps}   peak {peak / 1024:7.1f}   cpu {quarters[-1][key][1]:6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--workers", type=int, default=WatchOptions.workers)
    parser.add_argument("--level", default="B-LTA", choices=LEVELS)
    args = parser.parse_args()
    patches.install()  # as the CLI does: measure the code that runs
    with tempfile.TemporaryDirectory(prefix="pipeline-drain-") as tmp:
        made = seed.workspace(Path(tmp) / "ws", args.level)
        staged = seed.sheets(made, Path(tmp) / "staging", args.n)
        warm = seed.sheets(made, Path(tmp) / "warm", args.workers, start=args.n)
        load = seed.load_average()
        result = seed.drain(made, staged, args.workers, warm=warm)
        print(f"{args.n} sheets, {args.workers} workers, PAdES {args.level}, "
              f"{os.cpu_count()} cores; load before: {load}; after: {seed.load_average()}")
        report(result, args.n)
        memory(result, args.n)


if __name__ == "__main__":
    main()
