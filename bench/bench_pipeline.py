"""Per-stage timings of the whole path, and the naive path (one soffice per document).

    .venv/bin/python bench/bench_pipeline.py [-n 20]

Runs N requests through the library on a fresh demo workspace in a temporary folder and
prints median and p95 per stage in milliseconds.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from pipeline import demo, patches
from pipeline.audit import signature
from pipeline.bundles import bundle
from pipeline.external.office import Converter
from pipeline.form import render
from pipeline.intake import sheet
from pipeline.signatures import fields, keys, signing


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _table(title: str, timings: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    print(f"{'stage':<16}{'median ms':>12}{'p95 ms':>10}{'n':>5}")
    for stage, values in timings.items():
        ms = [v * 1000 for v in values]
        print(f"{stage:<16}{statistics.median(ms):>12.1f}{_p95(ms):>10.1f}{len(ms):>5}")


def bench_library(root: Path, n: int) -> dict[str, list[float]]:
    made = demo.create(root / "ws", today=date.today())
    config = made.config
    timings: dict[str, list[float]] = defaultdict(list)

    @contextmanager
    def stage(name: str):
        start = time.perf_counter()
        yield
        timings[name].append(time.perf_counter() - start)

    provider = keys.load_signer(config.providers[0].key)
    director = keys.load_signer(config.director.key)
    work = root / "work"
    with Converter(profile_dir=root / "profile") as converter:
        start = time.perf_counter()
        converter.convert(_render_one(made, work / "warmup"), work / "warmup" / "form.pdf")
        print(f"LibreOffice cold start + first conversion: {time.perf_counter() - start:.2f} s")
        for i in range(n):
            d = work / f"r{i}"
            d.mkdir(parents=True)
            with stage("read"):
                request = sheet.read_sheet(made.sample, config).request
            with stage("render docx"):
                render.render_docx(request, f"REQ-BENCH-{i:05d}", config.template, d / "form.docx")
            with stage("convert pdf"):
                converter.convert(d / "form.docx", d / "form.pdf")
            with stage("fields"):
                fields.add_signature_fields(d / "form.pdf", d / "fields.pdf")
            with stage("sign provider"):
                first = signing.sign(d / "fields.pdf", d / "p.pdf", role="provider",
                                     signer=provider, person=request.provider,
                                     font=config.font, certify=True)
            with stage("sign director"):
                second = signing.sign(d / "p.pdf", d / "signed.pdf", role="director",
                                      signer=director, person=config.director.person,
                                      font=config.font)
            with stage("archive"):
                now = datetime.now(UTC)
                bundle.write_bundle(root / "outbox", bundle.BundleContent(
                    request_id=f"REQ-BENCH-{i:05d}", request=request,
                    signed_pdf=d / "signed.pdf", sheet=made.sample,
                    sheet_name=made.sample.name, attachments=(),
                    signatures=tuple(bundle.SignatureRecord(s.role, s.signer, s.cert_sha256,
                                                            s.signed_at) for s in (first, second)),
                    received_at=now, archived_at=now, status="approved"))
            with stage("verify (auditor)"):
                signature.verify_pdf(d / "signed.pdf", config.trust_roots)
    path_stages = [k for k in timings if k != "verify (auditor)"]
    timings["total"] = [sum(timings[k][i] for k in path_stages) for i in range(n)]
    return timings


def _render_one(made: demo.Demo, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    request = sheet.read_sheet(made.sample, made.config).request
    render.render_docx(request, "REQ-WARMUP", made.config.template, folder / "form.docx")
    return folder / "form.docx"


def bench_naive(root: Path, n: int) -> dict[str, list[float]]:
    """What the pipeline avoids: a fresh soffice process for every document."""
    made = demo.create(root / "ws", today=date.today())
    docx = _render_one(made, root / "naive")
    profile = root / "naive-profile"
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
                        "--convert-to", "pdf", "--outdir", str(root / "naive"), str(docx)],
                       check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return {"soffice per doc": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="requests per path")
    args = parser.parse_args()
    patches.install()  # as the CLI does: measure the code that runs
    root = Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
    try:
        _table(f"library path, {args.n} requests (PAdES B-B)", bench_library(root, args.n))
        _table(f"naive conversion, {min(args.n, 10)} documents",
               bench_naive(root, min(args.n, 10)))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
