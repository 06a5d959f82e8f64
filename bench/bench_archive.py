"""Is the cost per request flat with the archive's size? The same drain with 0, 10,000 and
100,000 archived bundles already in the outbox and the journal.

    .venv/bin/python bench/bench_archive.py [-n 40] [--sizes 0,10000,100000] [--workers 3]

For each size: a fresh demo workspace, ``seed.archive`` (a journal row and a bundle folder
with a small manifest per archived request: cheap, and all the per-request work may touch),
then the drain of ``-n`` distinct sheets (``seed.drain``, after warming every worker).
Prints per size the drain's wall time, CPU per request by process (watcher, workers,
LibreOffice) and the ratio to the first size. The watcher's index work (a stat per bundle,
the journal's rows, the workbook rewritten as often as keeps it under 5 % of a core:
flow/reindex.py) shows in its CPU; its start-up (the index checked) does not, nor do the
processes' start-ups (the warm-up sheets). Processes are sampled every 0.1 s: the rewrite
that starts when the last bundle is archived shows for at most that long.

Measured on 2 shared cores (-n 60, B-LTA, load 1.4-4), CPU per request at 0 / 10,000 /
100,000 bundles: before the kept rows and the journal's open-state queries, 314 / 284 /
313 ms, of which the watcher 11 / 14 / 54 ms (the journal scanned every request at every
turn of the loop); after, 279 / 298 / 294 ms, the watcher 10 / 9 / 12 ms. What still
varies between sizes is the workers' and LibreOffice's share, which nothing here touches
(their run-to-run noise on this machine is about 10 %).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import seed  # noqa: E402 - the benchmarks' shared helpers, beside this file

from pipeline import patches  # noqa: E402
from pipeline.flow.watch import WatchOptions  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="sheets drained at each size")
    parser.add_argument("--sizes", default="0,10000,100000", help="archived bundles seeded")
    parser.add_argument("--workers", type=int, default=WatchOptions.workers)
    parser.add_argument("--level", default="B-LTA")
    args = parser.parse_args()
    patches.install()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{args.n} sheets per size, {args.workers} workers, PAdES {args.level}")
    print(f"{'archived':>9}{'drain s':>9}{'wall/req ms':>13}{'CPU/req ms':>12}"
          f"{'watcher':>9}{'workers':>9}{'soffice':>9}{'vs first':>10}  load")
    first = None
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
            made = seed.workspace(Path(tmp) / "ws", args.level)
            start = time.perf_counter()
            seed.archive(made.config, size)
            seeded = time.perf_counter() - start
            staged = seed.sheets(made, Path(tmp) / "staging", args.n)
            warm = seed.sheets(made, Path(tmp) / "warm", args.workers, start=args.n)
            load = seed.load_average().split("load average: ")[-1]
            result = seed.drain(made, staged, args.workers, warm=warm, every=0.1)
            cpu = {role: 1000 * s / args.n for role, s in result.cpu.items()}
            total = sum(cpu.values())
            first = first or total
            print(f"{size:>9}{result.seconds:>9.1f}{1000 * result.seconds / args.n:>13.0f}"
                  f"{total:>12.0f}{cpu.get('watcher', 0):>9.0f}{cpu.get('worker', 0):>9.0f}"
                  f"{cpu.get('soffice', 0):>9.0f}{total / first:>10.2f}  {load}"
                  f"  (seeded in {seeded:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
