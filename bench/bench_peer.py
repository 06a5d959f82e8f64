"""Side by side: the naive path a competent admin would script, and the pipeline's drain,
on the same N distinct sheets and the same demo keys.

    .venv/bin/python bench/bench_peer.py [-n 20] [--workers 3]

The naive path, per document: the form filled from the sheet (the pipeline's own docxtpl
rendering, so that both paths show the same form), one `soffice --headless --convert-to pdf`,
then `pyhanko sign addsig` twice (the provider's signature, certifying, then the director's;
PAdES B-B, no timestamp, no revocation data), with pyhanko-cli from the benchmark's own
virtual environment, bench/.peer-venv (made on first use; not the product's .venv). The
pipeline drains the same sheets at B-LTA (doing more) with warm workers (``seed.drain``).
Prints wall and CPU seconds per document for both, and the ratios.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import seed  # noqa: E402 - the benchmarks' shared helpers, beside this file

from pipeline import patches  # noqa: E402
from pipeline.flow.watch import WatchOptions  # noqa: E402
from pipeline.form import render  # noqa: E402
from pipeline.intake import sheet  # noqa: E402

PEER_VENV = Path(__file__).parent / ".peer-venv"


def pyhanko_cli() -> Path:
    """pyhanko-cli in the benchmark's own virtual environment, installed on first use."""
    program = PEER_VENV / "bin" / "pyhanko"
    if not program.exists():
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(PEER_VENV / "bin" / "pip"), "install", "-q", "pyhanko-cli"],
                       check=True)
    return program


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def naive(made, sheets: list[Path], work: Path, pyhanko: Path) -> tuple[float, float]:
    """Wall and CPU seconds for all ``sheets`` the naive way."""
    config = made.config
    provider, director = config.providers[0].key, config.director.key
    profile = work / "soffice-profile"
    start, cpu = time.perf_counter(), _cpu()
    for i, path in enumerate(sheets):
        folder = work / f"doc{i:05d}"
        folder.mkdir(parents=True)
        request = sheet.read_sheet(path, config).request
        render.render_docx(request, f"REQ-NAIVE-{i:05d}", config.template, folder / "form.docx")
        subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
                        "--convert-to", "pdf", "--outdir", str(folder),
                        str(folder / "form.docx")], check=True, capture_output=True)
        for role, key, box, extra, src, dst in (
                ("provider", provider, "1/60,60,260,120", ["--certify"], "form.pdf", "p.pdf"),
                ("director", director, "1/320,60,520,120", [], "p.pdf", "signed.pdf")):
            subprocess.run([str(pyhanko), "sign", "addsig", "--field", f"{box}/{role}",
                            *extra, "pkcs12", "--passfile", str(key.passphrase_file),
                            str(folder / src), str(folder / dst), str(key.pkcs12)],
                           check=True, capture_output=True)
    return time.perf_counter() - start, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument("--workers", type=int, default=WatchOptions.workers)
    args = parser.parse_args()
    patches.install()
    pyhanko = pyhanko_cli()
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
        made = seed.workspace(Path(tmp) / "ws", "B-LTA")
        sheets = seed.sheets(made, Path(tmp) / "sheets", args.n)
        staged = Path(tmp) / "staged"
        staged.mkdir()
        for path in sheets:  # the very same files for both paths
            shutil.copyfile(path, staged / path.name)
        load = seed.load_average()
        naive_wall, naive_cpu = naive(made, sheets, Path(tmp) / "naive", pyhanko)
        warm = seed.sheets(made, Path(tmp) / "warm", args.workers, start=args.n)
        result = seed.drain(made, sorted(staged.iterdir()), args.workers, warm=warm)
        ours_cpu = sum(result.cpu.values())
        after = seed.load_average()
    n = args.n
    print(f"{n} distinct sheets, demo keys; load before: {load}; after: {after}")
    print(f"naive (soffice per document + pyhanko sign addsig x2, B-B): {naive_wall:.1f} s, "
          f"{naive_wall / n:.2f} s wall and {naive_cpu / n:.2f} s CPU per document")
    print(f"pipeline drain ({args.workers} warm workers, B-LTA): {result.seconds:.1f} s, "
          f"{result.seconds / n:.3f} s wall and {ours_cpu / n:.3f} s CPU per document")
    print(f"ratio per document: wall {naive_wall / result.seconds:.1f}x, "
          f"CPU {naive_cpu / ours_cpu:.1f}x")


if __name__ == "__main__":
    main()
