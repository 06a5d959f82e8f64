"""Where a worker's CPU goes on a drain: cProfile over N distinct requests run in this
process (``workers=0``: the same Processor.run a worker calls), after one warm-up request.

    .venv/bin/python bench/bench_profile.py [-n 20] [--level B-LTA] [--top 30] [--out FILE]

Prints the functions with the most cumulative and the most own time; ``--out`` keeps the
raw profile for ``python -m pstats`` or snakeviz.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import seed  # noqa: E402 - the benchmarks' shared helpers, beside this file

from pipeline import patches  # noqa: E402
from pipeline.flow.processing import Processor  # noqa: E402
from pipeline.flow.watch import WatchOptions, watch  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument("--level", default="B-LTA")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    patches.install()
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        made = seed.workspace(Path(tmp) / "ws", args.level)
        inbox = made.config.workspace.inbox
        once = WatchOptions(once=True, settle=0, workers=0)
        with Processor(made.config) as processor:
            for path in seed.sheets(made, Path(tmp) / "warm", 1, start=args.n):
                path.rename(inbox / path.name)
            watch(processor, once)  # LibreOffice started, keys loaded, caches warm
            for path in seed.sheets(made, Path(tmp) / "staging", args.n):
                path.rename(inbox / path.name)
            profile = cProfile.Profile()
            profile.enable()
            watch(processor, once)
            profile.disable()
    if args.out:
        profile.dump_stats(args.out)
    stats = pstats.Stats(profile)
    total = stats.total_tt  # type: ignore[attr-defined]
    print(f"{args.n} requests at {args.level}: {total:.2f} s profiled in this process "
          f"({1000 * total / args.n:.0f} ms per request; LibreOffice's own CPU not included)")
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
