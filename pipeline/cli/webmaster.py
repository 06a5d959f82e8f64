"""The webmaster's commands: recording what went online, collecting what is to upload,
checking that what went online is still there."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click

from pipeline.bundles import proof
from pipeline.bundles import publish as publish_mod
from pipeline.cli.common import (
    cannot_write,
    date_option,
    echo_safe,
    load,
    main,
    workspace_option,
)
from pipeline.core import inputs, thai
from pipeline.core.errors import PipelineError
from pipeline.external import web
from pipeline.records import freshness, index_files


@main.command("published")
@workspace_option
@click.argument("request_id")
@click.option("--url", required=True, help="The address of the published page.")
@click.option("--date", "when", help="The day it went on the website (default: today); "
                                     "e.g. 25/11/2569 or 2026-11-25.")
@click.option("--sign/--no-sign", default=None,
              help="Sign the form's third block with the webmaster's key (default: when "
                   "[publisher] in pipeline.toml names one).")
@click.pass_context
def published(ctx: click.Context, request_id: str, url: str, when: str | None,
              sign: bool | None) -> None:
    """Record that the webmaster put an approved request on the website."""
    config = load(ctx)
    day = date_option(when, "--date")
    try:
        done = publish_mod.record(config, request_id, url, day, sign=sign)
    except PipelineError:
        freshness.ensure_current(config.workspace)  # an earlier run killed before it
        raise
    request_id = request_id.strip()
    if done.already_recorded:
        click.echo(f"บันทึกไว้แล้ว / already recorded: {request_id} published "
                   f"{thai.short_date(done.published_on)} at {done.url}")
        freshness.ensure_current(config.workspace)  # an earlier run killed before it
        return
    click.echo(f"{request_id} published {thai.short_date(done.published_on)} at {done.url}"
               + (f"; signed by {done.signature.signer}" if done.signature else "")
               + (f" (แก้ไขจาก / corrects {done.corrects})" if done.corrects else ""))
    result = index_files.refresh(config.workspace)
    if not result.written:
        click.echo(f"the index is stale ({result.problem}); it is written at the next update",
                   err=True)


@main.command("collect")
@workspace_option
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--since", help="Only requests approved on or after this day (e.g. 1/11/2569).")
@click.pass_context
def collect(ctx: click.Context, directory: Path, since: str | None) -> None:
    """Copy the approved, not yet published requests into DIRECTORY for upload, with
    ASCII file names. Exit 1 when a bundle was skipped because it is damaged."""
    config = load(ctx)
    day = date_option(since, "--since")
    inputs.output_folder(directory, config.workspace)
    try:
        found = publish_mod.collect(config, directory, day)
    except OSError as exc:
        raise cannot_write(directory, exc) from None
    for item in found:
        if item.problem:
            click.echo(f"{item.request_id}  SKIPPED: {item.problem}", err=True)
        else:
            click.echo(f"{item.request_id}  -> {item.folder}")
    click.echo(f"{sum(not i.problem for i in found)} request(s) to upload in {directory}")
    sys.exit(1 if any(i.problem for i in found) else 0)


@main.command("check-published")
@workspace_option
@click.option("--since", help="Only items published on or after this day (e.g. 1/11/2569).")
@click.option("--timeout", type=click.FloatRange(0.1, 120), default=web.DEFAULT.timeout,
              show_default=True, help="Seconds each address may take, redirects included.")
@click.pass_context
def check_published(ctx: click.Context, since: str | None, timeout: float) -> None:
    """Fetch every published address and record whether it still serves the signed PDF (or
    a page naming the request). Exit 1 when any is gone or changed."""
    config = load(ctx)
    day = date_option(since, "--since")
    limits = replace(web.DEFAULT, timeout=timeout)
    checks = proof.check_published(config, day, limits)
    for check in checks:
        echo_safe(check.line())
    bad = proof.problems(checks)
    click.echo(f"ตรวจ {len(checks)} รายการ มีปัญหา {len(bad)} / {len(checks)} checked, "
               f"{len(bad)} gone or changed")
    if any(c.recorded for c in checks):
        result = index_files.refresh(config.workspace)
        if not result.written:
            click.echo(f"the index is stale ({result.problem}); it is written at the next "
                       f"update", err=True)
    sys.exit(1 if bad else 0)
