"""The director's commands: what waits, approving and refusing, the monthly report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

import click

from pipeline.cli.common import (
    ask_for_secret,
    cannot_write,
    echo_safe,
    load,
    main,
    report_outcome,
    workspace_option,
)
from pipeline.core import inputs, thai
from pipeline.external.office import Converter
from pipeline.flow import decisions
from pipeline.flow.processing import Processor
from pipeline.records import obligations as obligations_mod
from pipeline.records import report as report_mod
from pipeline.records import report_files


@main.command()
@workspace_option
@click.pass_context
def pending(ctx: click.Context) -> None:
    """Requests waiting for the director, oldest first (their forms are in pending/)."""
    config = load(ctx)
    with Processor(config) as processor:
        waiting = processor.pending()
    if not waiting:
        click.echo("nothing is waiting for the director / ไม่มีคำขอรออนุมัติ")
        return
    for item in waiting:  # a block per request: Thai text is never cut, on any width
        r = item.request
        number = item.request_id.rsplit("-", 1)[-1].lstrip("0")
        echo_safe(f"{item.request_id} ({number})  รอตั้งแต่ / waiting since "
                  f"{thai.long_datetime(item.waiting_since, digits=False)}\n"
                  f"    เรื่อง / title: {r.title}\n"
                  f"    กลุ่มงาน / work group: {r.work_group}\n"
                  f"    ผู้ให้ข้อมูล / provider: {r.provider.name}"
                  + "".join(f"\n    ไฟล์แนบ / attachment: {a}" for a in item.attachments))
    click.echo(f"\nรออนุมัติ {len(waiting)} คำขอ อ่านแบบฟอร์มได้ใน / {len(waiting)} waiting; "
               f"read them in {config.workspace.pending} (approve by number: "
               f"`pipeline approve {number}`)")


@main.command()
@workspace_option
@click.argument("ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Approve every waiting request.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@click.pass_context
def approve(ctx: click.Context, ids: tuple[str, ...], everything: bool, yes: bool) -> None:
    """Sign the given waiting requests (or --all) as the director, and archive them.

    The passphrase (or the token's PIN) comes from where pipeline.toml says; when it names
    none, or the PIN's variable is not set, it is asked for once, for the whole batch.
    """
    config = load(ctx)
    for value in ids:  # a typo is refused before the passphrase is asked for
        if not value.strip().isdigit():
            inputs.request_id(value, config.id_prefix)
    config = ask_for_secret(config)
    with decisions.deciding(config) as decision:
        for outcome in decision.finished:  # approved by a run that was killed
            report_outcome(outcome)
        try:
            chosen = decision.choose(ids, everything=everything)
        except decisions.NotWaiting as exc:
            raise click.ClickException(f"{exc} (see `pipeline pending`)") from None
        if not chosen and not decision.finished:
            raise click.UsageError("name the requests to approve, or use --all")
        if not yes:
            for request_id in chosen:
                echo_safe(f"  {request_id}  {decision.waiting[request_id].request.title}")
            name = config.director.person.name
            click.confirm(f"ลงนามอนุมัติ {len(chosen)} คำขอ ในนาม {name} หรือไม่ / Sign "
                          f"{len(chosen)} request(s) as {name}?", abort=True)
        with click.progressbar(length=len(chosen), label="signing / กำลังลงนาม",
                               file=sys.stderr) as bar:
            approved = decision.approve(chosen, lambda done, of, rid: bar.update(1))
    for outcome in approved.outcomes:
        report_outcome(outcome)
    sys.exit(0 if approved.ok else 1)


@main.command()
@workspace_option
@click.argument("request_id")
@click.option("--reason", required=True, help="Why it is not approved; the provider reads it.")
@click.pass_context
def reject(ctx: click.Context, request_id: str, reason: str) -> None:
    """Do not approve a waiting request: the provider gets it back with the reason."""
    config = load(ctx)
    reason = inputs.reason(reason)
    with decisions.deciding(config) as decision:
        try:
            outcome = decision.refuse(request_id, reason)
        except decisions.NotWaiting as exc:
            raise click.ClickException(str(exc)) from None
    assert outcome.rejection is not None  # refuse() always writes the report
    click.echo(f"{outcome.request_id} returned to the provider: {outcome.rejection.report}")


@main.command("report")
@workspace_option
@click.option("--month", help="The month: 2569-11 (Buddhist Era) or 2026-11.")
@click.option("--fiscal-year", help="The fiscal year (October to September), e.g. 2569.")
@click.option("--work-group", help="Only this work group (its name or number); default: the "
                                   "whole office and each work group.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the reports (default: outbox/reports/<period>/).")
@click.option("--sign", is_flag=True, help="The director signs each PDF as acknowledged.")
@click.pass_context
def report_cmd(ctx: click.Context, month: str | None, fiscal_year: str | None,
               work_group: str | None, out: Path | None, sign: bool) -> None:
    """Write the monthly (or fiscal-year) publication report, .xlsx and .pdf."""
    if (month is None) == (fiscal_year is None):
        raise click.UsageError("give either --month or --fiscal-year")
    # the period first: a typo (9569) is refused before anything is read or written
    period = (report_mod.month(month) if month is not None
              else report_mod.fiscal_year(cast(str, fiscal_year)))  # one: checked above
    config = load(ctx)
    if out is not None:
        inputs.output_folder(out, config.workspace,
                             allowed=(config.workspace.outbox / report_files.REPORTS_DIR,))
    try:
        with Converter(timeout=config.office_timeout) as converter:
            written = report_files.write_reports(config, period, converter, out_dir=out,
                                                 work_group=work_group, sign=sign)
    except OSError as exc:
        raise cannot_write(out or config.workspace.outbox / report_files.REPORTS_DIR,
                            exc) from None
    for item in written:
        click.echo(f"{item.scope}: {item.pdf}  {item.xlsx.name}"
                   + ("  (signed)" if item.signature else ""))


@main.command("obligations")
@workspace_option
@click.option("--month", help="The month: 2569-12 (Buddhist Era) or 2026-12; default: this "
                              "month.")
@click.option("--work-group", help="Only this work group (its name or number).")
@click.pass_context
def obligations_cmd(ctx: click.Context, month: str | None, work_group: str | None) -> None:
    """What the office must publish this month (or --month), per work group: met (with the
    requests and their publication dates), due, or overdue."""
    period = report_mod.month(month or f"{thai.today():%Y-%m}")  # a typo is refused first
    config = load(ctx)
    group = None
    if work_group is not None:
        group = report_mod.match_group(work_group, config.work_groups)
        if group is None:
            raise click.ClickException(f"ไม่มีกลุ่มงานนี้ / {work_group!r} is not a work group: "
                                       + "; ".join(f"{i}. {g}" for i, g in
                                                   enumerate(config.work_groups, start=1)))
    if not config.obligations.items:
        click.echo("ยังไม่ได้กำหนดภาระการเผยแพร่ / no obligations configured: add "
                   "[[obligations]] to pipeline.toml")
        return
    today = thai.today()
    found = obligations_mod.of_office(config, period.start, period.last_day, today=today,
                                      work_group=group)
    as_of = min(period.last_day, today)
    click.echo(f"ภาระการเผยแพร่ประจำ{period.label} (ข้อมูล ณ {thai.short_date(as_of)}) / "
               f"publication obligations, {period.start:%Y-%m} (as of {as_of:%Y-%m-%d})")
    counts = dict.fromkeys(obligations_mod.State, 0)
    width = max(thai.display_width(f"{s} / {s.english}") for s in obligations_mod.State) + 2
    for block in found:
        echo_safe(f"\n{block.work_group}")
        for o in block.occurrences:
            counts[o.state] += 1
            state = f"{o.state} / {o.state.english}"
            due = thai.pad(thai.short_date(o.window.due), 14)
            echo_safe(f"  {thai.pad(state, width)}{due}{o.obligation.label()}")
            for e in o.evidence:
                echo_safe(f"  {' ' * (width + 14)}{e.request_id}  เผยแพร่ / published "
                          f"{thai.short_date(e.published_on)}  {e.url}")
            if o.waiting:
                echo_safe(f"  {' ' * (width + 14)}รอดำเนินการ / in progress: "
                          f"{', '.join(o.waiting)}")
    click.echo("\n" + ", ".join(f"{s} {n}" for s, n in counts.items()) + " / "
               + ", ".join(f"{s.english} {n}" for s, n in counts.items()))
