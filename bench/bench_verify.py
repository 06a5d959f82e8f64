"""How long `pipeline verify` takes for a whole outbox, offline, on all cores.

Makes a demo workspace, processes the sample once, copies its bundle N times into a fresh
outbox (the copies keep the original's request ID inside, so each also reports that
mismatch: the work per bundle is the same as for a genuine one), then verifies the outbox.

    .venv/bin/python bench/bench_verify.py -n 1000 [--workers 2]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from pipeline import demo, patches
from pipeline.audit import model, verify
from pipeline.flow.processing import Processor
from pipeline.flow.watch import drain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="bundles in the outbox")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    args = parser.parse_args()
    patches.install()  # as the CLI does: measure the code that runs
    with tempfile.TemporaryDirectory() as tmp:
        made = demo.create(Path(tmp) / "ws")
        demo.drop_sample(made)
        with Processor(made.config) as processor:
            (outcome,) = drain(processor)
        outbox = Path(tmp) / "outbox"
        for i in range(args.n):
            shutil.copytree(outcome.bundle, outbox / f"REQ-2569-{i + 1:05d}")
        trust = model.Trust(made.config.trust_roots)
        paths = verify.expand([outbox])
        start = time.perf_counter()
        reports = verify.verify_all(paths, trust, workers=args.workers)
        seconds = time.perf_counter() - start
    signatures = sum(len(r.signatures) for r in reports)
    print(f"{len(reports)} bundles, {signatures} signatures in {seconds:.1f} s "
          f"({1000 * seconds / len(reports):.0f} ms per bundle, workers={args.workers or 'cores'})")


if __name__ == "__main__":
    main()
