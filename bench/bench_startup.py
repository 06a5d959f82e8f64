"""What `pipeline verify FILE` costs as a whole process, and how much of it is imports.

    .venv/bin/python bench/bench_startup.py [-n 10] [--top 15]

Makes one bundle with the pipeline, then runs `pipeline verify` on its PDF ``-n`` times
(CPU seconds of each child from getrusage, wall time), once more under
``python -X importtime``, and prints the import total and the imports that cost the most,
counted where they are first imported (self time summed per top-level package).
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import seed  # noqa: E402 - the benchmarks' shared helpers, beside this file

from pipeline import patches  # noqa: E402

_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10, help="runs of `pipeline verify FILE`")
    parser.add_argument("--top", type=int, default=15, help="packages listed by import time")
    args = parser.parse_args()
    patches.install()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        made = seed.workspace(Path(tmp) / "ws")
        pdf = next(seed.bundles(made, 1, workers=1)[0].glob("*.pdf"))
        command = seed.pipeline_command(made.config.workspace.root, "verify", str(pdf))
        load = seed.load_average()
        walls, cpus = seed.timed_runs(command, args.n)
        print(f"`pipeline verify FILE` ({args.n} runs): wall median "
              f"{statistics.median(walls):.3f} s (min {min(walls):.3f}), "
              f"CPU median {statistics.median(cpus):.3f} s (min {min(cpus):.3f}); "
              f"load before: {load}")
        bare = [sys.executable, "-c", "pass"]
        before = _children_cpu()
        subprocess.run(bare, check=True)
        print(f"bare interpreter start: {_children_cpu() - before:.3f} s CPU")
        traced = subprocess.run([command[0], "-X", "importtime", *command[1:]], check=True,
                                capture_output=True, text=True).stderr
    own: Counter[str] = Counter()
    total = 0
    for line in traced.splitlines():
        found = _LINE.match(line)
        if found:
            own[found[4].split(".")[0]] += int(found[1])
            if not found[3]:  # a top-level import: its cumulative time counts once
                total += int(found[2])
    print(f"imports: {total / 1e6:.3f} s in all (-X importtime, wall); by package (self time):")
    for package, micros in own.most_common(args.top):
        print(f"  {package:<28}{micros / 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
