"""The auditor's commands: verifying PDFs, bundles and outboxes, exporting the trust kit."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline.audit import model, output, trustkit, verify
from pipeline.audit.trust import read_crl
from pipeline.cli.common import (
    Unusable,
    load,
    load_if_any,
    main,
    workspace_option,
)
from pipeline.core import folders, inputs
from pipeline.external import tools
from pipeline.settings import config as config_mod


@main.command("verify")
@workspace_option
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--trust", "roots", multiple=True, type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="Trust these root certificates (PEM/DER) instead of the "
                                    "workspace's trust_roots. Repeatable.")
@click.option("--trust-kit", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder made by `pipeline trust-kit`: its roots and current CRLs.")
@click.option("--crl", "crls", multiple=True, type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="A current CRL (PEM/DER) to use. Repeatable.")
@click.option("--online", is_flag=True, help="Also fetch current revocation data (OCSP, CRLs).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON "
                                                       "(schema pipeline.verify/1).")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report as one self-contained HTML page.")
@click.option("--workers", type=click.IntRange(1, 64), help="Processes (default: the cores).")
@click.pass_context
def verify_cmd(ctx: click.Context, paths: tuple[Path, ...], roots: tuple[Path, ...],
               trust_kit: Path | None, crls: tuple[Path, ...], online: bool, as_json: bool,
               html_file: Path | None, workers: int | None) -> None:
    """Verify signed PDFs, bundle folders or a whole outbox, offline by default.

    Exit 0: all TOTAL_PASSED; 1: any TOTAL_FAILED; 3: any INDETERMINATE (none failed);
    2: usage error or unreadable input.
    """
    try:
        if trust_kit is not None:
            kit = trustkit.load(trust_kit)
            trust = kit.trust(online=online)
            roots = roots or kit.roots
        else:
            trust = model.Trust((), (), online)
        config = load_if_any(ctx)
        if not roots:
            if config is None:  # an auditor outside the office's workspace
                raise Unusable(
                    "ไม่ได้ระบุใบรับรองที่เชื่อถือ: ใช้ --trust-kit DIR (จากคำสั่ง pipeline "
                    "trust-kit ของสำนักงาน) หรือ --trust ROOT.pem หรือสั่งในโฟลเดอร์งานของ"
                    "สำนักงาน / nothing to trust: give --trust-kit DIR (made by the office's "
                    "`pipeline trust-kit`) or --trust ROOT.pem, or run it in the office's "
                    f"workspace (no {folders.CONFIG_NAME} here)")
            roots = config.trust_roots
        max_mb = config.verify_max_mb if config is not None else model.DEFAULT_MAX_MB
        trust = model.Trust(tuple(roots), trust.crls + tuple(read_crl(c) for c in crls),
                            online, max_mb * config_mod.MB)
        items = verify.expand(paths)
        tools.path(tools.PDFTOTEXT)  # before the progress bar: a missing poppler, said alone
        with click.progressbar(length=len(items), label="verifying / กำลังตรวจสอบ",
                               file=sys.stderr) as bar:
            reports = verify.verify_all(items, trust, workers=workers, progress=bar.update)
    except model.VerificationError as exc:
        click.echo(f"error: {inputs.ascii_escaped(str(exc))}", err=True)
        sys.exit(model.EXIT_UNREADABLE)
    if html_file is not None:
        html_file.write_text(output.to_html(reports, trust), encoding="utf-8")
    if as_json:
        click.echo(output.to_json(reports, trust))
    elif not items:  # a new office's outbox
        click.echo("0 bundles / ยังไม่มีรายการ")
    else:
        for line in output.to_text(reports):
            click.echo(line)
    sys.exit(model.exit_code(reports) if items else 0)


@main.command("trust-kit")
@workspace_option
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def trust_kit_cmd(ctx: click.Context, directory: Path) -> None:
    """Export the trust roots, the TSA certificate, current CRLs and the instructions, so
    an auditor elsewhere verifies with `pipeline verify --trust-kit DIRECTORY`."""
    config = load(ctx)
    inputs.output_folder(directory, config.workspace)
    kit = trustkit.write(config, directory)
    for line in kit.left_out:
        click.echo(f"CRL not included: {line}", err=True)
    click.echo(f"trust kit written: {directory} ({len(kit.roots)} root(s), {len(kit.tsa)} TSA "
               f"certificate(s), {len(kit.crls)} current CRL(s)); see {trustkit.README}")
