"""How long `pipeline verify` takes for a whole outbox of distinct bundles, offline, on all
cores; and one file verified as a whole process (`pipeline verify FILE`, startup included).

Makes a demo workspace and N distinct bundles with the pipeline itself (N distinct sheets
through LibreOffice and both signatures: ``seed.bundles``), then verifies the outbox with
``verify.verify_all`` as the CLI does. CPU seconds are this process's and its (reaped)
workers', from getrusage. ``--process K`` then runs `pipeline verify` on one bundle's PDF K
times as separate processes.

    .venv/bin/python bench/bench_verify.py -n 1000 [--workers 2] [--level B-LTA] [--process 10]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import seed  # noqa: E402 - the benchmarks' shared helpers, beside this file

from pipeline import patches  # noqa: E402
from pipeline.audit import model, verify  # noqa: E402


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="distinct bundles in the outbox")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    parser.add_argument("--level", default="B-LTA")
    parser.add_argument("--process", type=int, default=10,
                        help="times `pipeline verify FILE` is run as a whole process")
    args = parser.parse_args()
    patches.install()  # as the CLI does: measure the code that runs
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        made = seed.workspace(Path(tmp) / "ws", args.level)
        start = time.perf_counter()
        bundles = seed.bundles(made, args.n)
        print(f"seeded {len(bundles)} distinct bundles ({args.level}) in "
              f"{time.perf_counter() - start:.1f} s")
        trust = model.Trust(made.config.trust_roots)
        paths = verify.expand([made.config.workspace.outbox])
        load = seed.load_average()
        cpu, start = _cpu(), time.perf_counter()
        reports = verify.verify_all(paths, trust, workers=args.workers)
        seconds, cpu = time.perf_counter() - start, _cpu() - cpu
        failed = [r for r in reports if r.indication is not model.Indication.PASSED or not r.ok]
        assert not failed, f"{len(failed)} bundles did not pass: {failed[0]}"
        signatures = sum(len(r.signatures) for r in reports)
        print(f"verify_all: {len(reports)} distinct bundles, {signatures} signatures in "
              f"{seconds:.1f} s wall ({1000 * seconds / len(reports):.1f} ms per bundle), "
              f"{1000 * cpu / len(reports):.1f} ms CPU per bundle, "
              f"workers={args.workers or 'cores'}; load before: {load}")
        if args.process:
            pdf = next(bundles[0].glob("*.pdf"))
            command = seed.pipeline_command(made.config.workspace.root, "verify", str(pdf))
            load = seed.load_average()
            walls, cpus = seed.timed_runs(command, args.process)
            print(f"`pipeline verify FILE` as a process, {args.process} runs: wall median "
                  f"{statistics.median(walls):.2f} s (min {min(walls):.2f}), CPU median "
                  f"{statistics.median(cpus):.2f} s (min {min(cpus):.2f}); load before: {load}")


if __name__ == "__main__":
    main()
