"""Signing benchmark: time per signature at each PAdES level, and the director's batch.

    .venv/bin/python bench/bench_signing.py [-n 20] [--batch 100]

Signatures use the demo PKI with its in-process timestamp authority and fresh CRLs,
gathered once per batch as the pipeline does. The batch part queues ``--batch`` requests
for the director (provider-signed) and times `pipeline approve --all --yes` end to end.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from pipeline import demo, patches
from pipeline.external.office import Converter
from pipeline.flow.processing import Processor
from pipeline.flow.watch import WatchOptions, watch
from pipeline.form import render
from pipeline.intake import blank_sheet, sheet
from pipeline.settings import config as config_mod
from pipeline.signatures import evidence, fields, keys, signing
from pipeline.signatures.model import Level


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def bench_levels(root: Path, n: int) -> None:
    made = demo.create(root / "levels")
    cfg = made.config
    form = root / "form.pdf"
    request = sheet.read_sheet(made.sample, cfg).request
    with Converter() as converter:  # one real form, signed again and again
        render.render_pdf(request, "REQ-BENCH", cfg.template, root / "plain.pdf", converter)
    fields.add_signature_fields(root / "plain.pdf", form)
    provider = keys.load_signer(cfg.providers[0].key)
    director = keys.load_signer(cfg.director.key)
    print(f"{'level':<7}{'provider median':>17}{'p95':>8}{'director median':>17}{'p95':>8}  ms")
    for level in Level:
        gathered = evidence.gather(replace(cfg, signing=replace(cfg.signing, level=level)))
        first, second = [], []
        for i in range(n):
            start = time.perf_counter()
            signing.sign(form, root / f"p{i}.pdf", role="provider", signer=provider,
                         person=request.provider, font=cfg.font, certify=True,
                         evidence=gathered)
            middle = time.perf_counter()
            signing.sign(root / f"p{i}.pdf", root / f"s{i}.pdf", role="director",
                         signer=director, person=cfg.director.person, font=cfg.font,
                         evidence=gathered)
            first.append((middle - start) * 1000)
            second.append((time.perf_counter() - middle) * 1000)
        print(f"{level:<7}{statistics.median(first):>17.1f}{_p95(first):>8.1f}"
              f"{statistics.median(second):>17.1f}{_p95(second):>8.1f}")


def bench_batch(root: Path, n: int) -> None:
    made = demo.create(root / "batch")
    text = made.config.workspace.config_file.read_text(encoding="utf-8")
    made.config.workspace.config_file.write_text(
        text.replace("auto_approve = true", "auto_approve = false"), encoding="utf-8")
    cfg = config_mod.load(made.config.workspace.root)
    base = demo.sample_values(date.today())
    for i in range(n):
        path = cfg.workspace.inbox / f"คำขอ {i:04d}.xlsx"
        shutil.copyfile(made.sample, path)
        blank_sheet.fill(path, {**base, "title": f"{base['title']} ({i:04d})"})
    with Processor(cfg) as processor:
        watch(processor, WatchOptions(once=True, settle=0, workers=0))
        assert len(processor.pending()) == n
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipeline", "-w", str(cfg.workspace.root),
                    "approve", "--all", "--yes"], check=True, capture_output=True)
    took = time.perf_counter() - start
    print(f"\n`pipeline approve --all --yes` for {n} requests (B-LTA, one key load, "
          f"process start included): {took:.1f} s, {took / n * 1000:.0f} ms per request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="signatures per level")
    parser.add_argument("--batch", type=int, default=100, help="requests approved at once")
    args = parser.parse_args()
    patches.install()  # as the CLI does: measure the code that runs
    root = Path(tempfile.mkdtemp(prefix="pipeline-signing-"))
    try:
        bench_levels(root, args.n)
        bench_batch(root, args.batch)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
