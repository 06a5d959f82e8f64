"""Setting up and running the office's pipeline: a workspace, blank sheets, the watcher, what
holds work, the index, the archive's upkeep (the administrator and the clerks).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click

from pipeline import demo
from pipeline.bundles import bundle
from pipeline.cli.common import (
    echo_safe,
    load,
    main,
    print_verification,
    report_outcome,
    workspace_option,
)
from pipeline.core import logs, thai
from pipeline.desk import demo_accounts, demo_tls
from pipeline.flow import archive as archive_mod
from pipeline.flow import health
from pipeline.flow.processing import Processor
from pipeline.flow.watch import WatchOptions, drain, watch
from pipeline.intake import blank_sheet
from pipeline.notify import queue as notify_queue
from pipeline.records import freshness, index, index_files, obligations
from pipeline.records.journal import Journal, State
from pipeline.settings import workspace
from pipeline.settings.config import Config


@main.command()
@workspace_option
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--demo", "with_demo", is_flag=True,
              help="Also make demo certificates (demo only!), a config that uses them and a "
                   "filled sample request in samples/.")
@click.pass_context
def init(ctx: click.Context, directory: Path | None, with_demo: bool) -> None:
    """Create a workspace (default: the --workspace folder)."""
    root = directory or ctx.obj["workspace"]
    if with_demo:
        made = demo.create(root)
        click.echo(f"demo workspace ready: {made.config.workspace.root}")
        click.echo(f"sample request: {made.sample}")
        _show_demo_accounts(made.config)
    else:
        ws = workspace.init(root)
        click.echo(f"workspace ready: {ws.root}; now edit {ws.config_file}")


@main.command("new-request")
@workspace_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def new_request(ctx: click.Context, file: Path) -> None:
    """Write a blank request sheet (.xlsx) for staff to fill in."""
    if file.suffix.lower() != ".xlsx":
        raise click.BadParameter("the file name must end in .xlsx", param_hint="FILE")
    config = load(ctx)
    rows = index.gather(config.workspace)
    listed = obligations.open_obligations(config.obligations, config.work_groups, rows,
                                          thai.today())
    blank_sheet.new_request(file, config, listed)
    click.echo(f"blank request sheet written: {file}"
               + (f" (ภาระการเผยแพร่ที่ยังเปิดอยู่ / open obligations: "
                  f"{', '.join(o.id for o in listed)})" if listed else ""))


@main.command()
@workspace_option
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def process(ctx: click.Context, files: tuple[Path, ...]) -> None:
    """Process the given sheets now. Exit 0 when every one became a bundle (or awaits the
    director), 1 when any was rejected or is held by a set-up problem.

    The files are copied, never moved or changed; rejection reports go to inbox/rejected/.
    """
    config = load(ctx)
    done = (State.ARCHIVED, State.AWAITING_DIRECTOR)
    failed = False
    with Processor(config) as processor:
        for file in files:
            outcome = processor.process(file)
            report_outcome(outcome)
            failed |= outcome.state not in done
        processor.rebuild_index()
    sys.exit(1 if failed else 0)


@main.command("watch")
@workspace_option
@click.option("--once", is_flag=True, help="Process everything in the inbox, then exit.")
@click.option("--polling", is_flag=True,
              help="Poll the folder instead of waiting for events (for network shares).")
@click.option("--settle", type=float, default=1.0, show_default=True,
              help="Seconds a file must stay unchanged before it is taken.")
@click.option("--rescan", type=float, default=10.0, show_default=True,
              help="Seconds between full rescans of the inbox.")
@click.option("--workers", type=click.IntRange(0, 64), default=WatchOptions.workers,
              show_default="cores + 1",
              help="Processes that render and sign (one LibreOffice each); 0 does the work in "
                   "the watcher itself.")
@click.pass_context
def watch_cmd(ctx: click.Context, once: bool, polling: bool, settle: float,
              rescan: float, workers: int) -> None:
    """Watch inbox/ and process every sheet dropped there (Ctrl+C to stop)."""
    config = load(ctx)
    options = WatchOptions(once=once, settle=settle, rescan=rescan, polling=polling,
                           workers=workers)
    with Processor(config) as processor:
        watch(processor, options, on_outcome=report_outcome)


@main.command()
@workspace_option
@click.pass_context
def status(ctx: click.Context) -> None:
    """What holds work first (a full or read-only disk, held requests), then how many
    requests are in each state, the one waiting longest, and recent problems."""
    config = load(ctx)
    journal = Journal(config.workspace.journal_file, config.id_prefix)
    try:
        found = health.problems(config, journal)
        if found:
            click.echo(f"ปัญหาที่ต้องแก้ / problems ({len(found)}):")
            for problem in found:
                echo_safe(f"  {problem.text}")
            click.echo()
        counts = journal.counts()
        for state in State:
            click.echo(f"{state:<18} {counts.get(state, 0):>6}")
        waiting = notify_queue.status(journal)
        if waiting:
            failing = sum(w.failing for w in waiting)
            click.echo(f"\nแจ้งเตือนรอส่ง / notices waiting: {len(waiting)} "
                       f"(ส่งไม่สำเร็จ / failing: {failing})")
        oldest = journal.oldest_open()
        if oldest:
            echo_safe(f"\nwaiting longest: {oldest.id} {oldest.source_name} ({oldest.state}) "
                       f"since {thai.long_datetime(oldest.received_at, digits=False)}")
        problems = journal.recent_problems()
        if problems:
            click.echo("\nrecent problems:")
        for entry in problems:
            echo_safe(f"  {entry.id} {entry.source_name} ({entry.state}): {entry.message}")
    finally:
        journal.close()


def _show_demo_accounts(config: Config) -> None:
    accounts = demo_accounts.create(config)
    cert, key = demo_tls.create(config)
    click.echo(f"บัญชีทดลองของโต๊ะงานบนเว็บ / the web desk's demo accounts: {accounts}")
    click.echo(f"เปิดโต๊ะงาน / start the desk: pipeline --workspace {config.workspace.root} "
               f"serve  (HTTPS: --certfile {cert} --keyfile {key})")


@main.command("demo")
@workspace_option
@click.pass_context
def demo_cmd(ctx: click.Context) -> None:
    """Make a demo workspace, process the sample request, and show the result."""
    made = demo.create(ctx.obj["workspace"])
    config = made.config
    logs.configure(config.workspace.state)
    _show_demo_accounts(config)
    dropped = demo.drop_sample(made)
    click.echo(f"dropped {dropped.name} into {config.workspace.inbox}")
    with Processor(config) as processor:
        outcomes = drain(processor)
    for outcome in outcomes:
        report_outcome(outcome)
    bundles = [o.bundle for o in outcomes if o.bundle]
    ok = bool(bundles) and print_verification(bundles, config.trust_roots)
    sys.exit(0 if ok else 1)


@main.command("index")
@workspace_option
@click.option("--rebuild", is_flag=True,
              help="Regenerate outbox/index.xlsx and index.csv from the bundles and the journal.")
@click.pass_context
def index_cmd(ctx: click.Context, rebuild: bool) -> None:
    """Show whether the index is up to date with every bundle and the journal; --rebuild
    regenerates it. Exit 1 when it is stale or could not be written (e.g. open in Excel on
    another computer)."""
    config = load(ctx)
    ws = config.workspace
    if rebuild:
        result = index_files.refresh(ws, retry_after=None)
        click.echo(f"{result.rows} requests in {result.seconds:.2f} s: {result.xlsx}, "
                   f"{result.csv.name}")
        if not result.written:
            raise click.ClickException(f"the index could not be written: {result.problem} "
                                       f"(close it where it is open, then run this again)")
        return
    target = ws.outbox / index_files.INDEX_NAME
    reasons = freshness.stale(ws)
    if not reasons:
        click.echo(f"{target}: ตรงกับแฟ้มคำขอทั้งหมด / up to date")
        return
    for reason in reasons:
        click.echo(f"ดัชนีไม่เป็นปัจจุบัน / the index is stale: {reason}", err=True)
    click.echo("run `pipeline index --rebuild` (the watcher also rebuilds it when it starts)",
               err=True)
    sys.exit(1)


@main.command("refresh-timestamps")
@workspace_option
@click.argument("ids", nargs=-1)
@click.option("--within", type=click.IntRange(min=0), default=archive_mod.DEFAULT_WITHIN.days,
              show_default=True,
              help="Refresh the bundles whose newest timestamp expires within this many days.")
@click.option("--force", is_flag=True, help="Refresh every bundle, whatever its expiry.")
@click.pass_context
def refresh_timestamps(ctx: click.Context, ids: tuple[str, ...], within: int,
                       force: bool) -> None:
    """Add a new document timestamp to the archived bundles (IDS, default all) whose newest
    one nears expiry, so that their signatures stay verifiable. Running it again does
    nothing until the next ones near expiry. Exit 1 when any could not be refreshed."""
    config = load(ctx)
    folders = bundle.listed(config.workspace.outbox, ids)
    with click.progressbar(folders, label="refreshing timestamps / ต่ออายุการประทับเวลา",
                           file=sys.stderr) as bar:
        results = archive_mod.refresh_timestamps(config, bar, within=timedelta(days=within),
                                                 force=force)
    for r in results:
        if r.result != archive_mod.Result.CURRENT:
            expires = f"  expires {r.expires:%Y-%m-%d}" if r.expires else ""
            click.echo(f"{r.request_id}  {r.result}{expires}  {r.message}".rstrip(),
                       err=r.result == archive_mod.Result.FAILED)
    counts = {kind: sum(r.result == kind for r in results) for kind in archive_mod.Result}
    click.echo(", ".join(f"{n} {kind}" for kind, n in counts.items()))
    sys.exit(1 if counts[archive_mod.Result.FAILED] else 0)
