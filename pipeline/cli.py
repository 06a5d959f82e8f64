"""The ``pipeline`` command: parse, call the library, print. No logic lives here."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from pipeline import demo, patches
from pipeline.audit import trustkit, verify
from pipeline.bundles import publish as publish_mod
from pipeline.core import folders, inputs, logs, thai
from pipeline.external import tools
from pipeline.external.office import ConversionError, Converter
from pipeline.flow import archive as archive_mod
from pipeline.flow import health
from pipeline.flow.outcome import Outcome
from pipeline.flow.processing import Processor
from pipeline.flow.watch import WatchError, WatchOptions, drain, watch
from pipeline.intake import sheet
from pipeline.records import freshness, index_files, report_files
from pipeline.records import report as report_mod
from pipeline.records.journal import Journal, State
from pipeline.settings import config as config_mod
from pipeline.settings import workspace
from pipeline.signatures import signing


def _load(ctx: click.Context) -> config_mod.Config:
    try:
        config = config_mod.load(ctx.obj["workspace"])
    except config_mod.ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    logs.configure(config.workspace.state)
    return config


def _load_if_any(ctx: click.Context) -> config_mod.Config | None:
    """The workspace's config when there is one (an auditor may verify anywhere)."""
    if not (Path(ctx.obj["workspace"]) / folders.CONFIG_NAME).is_file():
        return None
    return _load(ctx)


def _report(outcome: Outcome) -> None:
    """One line per request: where its bundle is, or why it was rejected."""
    name = outcome.source.name
    if outcome.state == State.ARCHIVED:
        click.echo(f"{outcome.request_id}  {name}  -> {outcome.bundle}")
    elif outcome.state == State.REJECTED:
        click.echo(f"{outcome.request_id}  {name}  REJECTED / ไม่รับคำขอ", err=True)
        for p in outcome.problems:
            click.echo(f"    - {p}", err=True)
        if outcome.rejection:
            click.echo(f"    report: {outcome.rejection.report}", err=True)
    else:
        click.echo(f"{outcome.request_id}  {name}  {outcome.state}")
        for p in outcome.problems:
            click.echo(f"    - {p}", err=True)


def _set_workspace(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    obj = ctx.ensure_object(dict)
    from_env = ctx.get_parameter_source(param.name) == click.core.ParameterSource.ENVIRONMENT
    if value is not None and not (from_env and "workspace" in obj):
        obj["workspace"] = value


_Command = TypeVar("_Command", bound=Callable[..., Any] | click.Command)


def workspace_option(command: _Command) -> _Command:
    """``--workspace`` is accepted before or after the command name."""
    return click.option(
        "--workspace", "-w", type=click.Path(file_okay=False, path_type=Path),
        envvar="PIPELINE_WORKSPACE", expose_value=False, is_eager=True,
        callback=_set_workspace,
        help="The workspace folder (pipeline.toml, inbox/, outbox/); default: the current "
             "folder. Also PIPELINE_WORKSPACE.")(command)


class _CannotRun(click.ClickException):
    """The installation is not what the pipeline needs (a program missing, a package at
    another release): not a usage error, not a finding (exit 2)."""

    exit_code = 2


class _Refused(click.ClickException):
    """Input that cannot be used (inputs.InputError): its one line, Thai then English."""


class _Misused(_Refused):
    """A value that is not of the kind the option asks for (a month that is no month)."""

    exit_code = 2


class _Commands(click.Group):
    """Every command: a program missing from the installation, or a third-party release
    the patches were not written for, ends it with that one line, wherever in the library
    it was found; so does input refused by :mod:`pipeline.core.inputs`."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (tools.MissingProgram, patches.UnsupportedVersion) as exc:
            raise _CannotRun(str(exc)) from None
        except inputs.InputError as exc:
            raise (_Misused if exc.usage else _Refused)(str(exc)) from None


def _cannot_write(where: Path, exc: OSError) -> click.ClickException:
    """A write that failed after the checks (a share gone read-only, a full disk): one line."""
    return click.ClickException(
        f"เขียนไฟล์ไม่ได้ / cannot write in {inputs.ascii_escaped(str(where))}: "
        f"{exc.strerror or exc}" + (f" ({inputs.ascii_escaped(str(exc.filename))})"
                                    if exc.filename else ""))


@workspace_option
@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """Approve, sign and archive what the office publishes on its website.

    Staff drop filled request sheets (.xlsx) into inbox/; the pipeline renders the official
    approval form, signs it for the provider and the director, and archives a bundle per
    request in outbox/.
    """
    ctx.ensure_object(dict).setdefault("workspace", Path("."))
    patches.install()
    logs.configure(None)  # until a command loads its workspace: others' records stay off stderr


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
    sheet.new_request(file, _load(ctx))
    click.echo(f"blank request sheet written: {file}")


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
    config = _load(ctx)
    done = (State.ARCHIVED, State.AWAITING_DIRECTOR)
    failed = False
    with Processor(config) as processor:
        for file in files:
            outcome = processor.process(file)
            _report(outcome)
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
    config = _load(ctx)
    options = WatchOptions(once=once, settle=settle, rescan=rescan, polling=polling,
                           workers=workers)
    with Processor(config) as processor:
        try:
            watch(processor, options, on_outcome=_report)
        except WatchError as exc:
            raise click.ClickException(str(exc)) from None


@main.command()
@workspace_option
@click.pass_context
def status(ctx: click.Context) -> None:
    """What holds work first (a full or read-only disk, held requests), then how many
    requests are in each state, the one waiting longest, and recent problems."""
    config = _load(ctx)
    journal = Journal(config.workspace.journal_file, config.id_prefix)
    try:
        found = health.problems(config, journal)
        if found:
            click.echo(f"ปัญหาที่ต้องแก้ / problems ({len(found)}):")
            for problem in found:
                _echo_safe(f"  {problem.text}")
            click.echo()
        counts = journal.counts()
        for state in State:
            click.echo(f"{state:<18} {counts.get(state, 0):>6}")
        oldest = journal.oldest_open()
        if oldest:
            _echo_safe(f"\nwaiting longest: {oldest.id} {oldest.source_name} ({oldest.state}) "
                       f"since {thai.long_datetime(oldest.received_at, digits=False)}")
        problems = journal.recent_problems()
        if problems:
            click.echo("\nrecent problems:")
        for entry in problems:
            _echo_safe(f"  {entry.id} {entry.source_name} ({entry.state}): {entry.message}")
    finally:
        journal.close()


def _echo_safe(text: str) -> None:
    """A line with text from file names and sheets in it: no control character reaches the
    terminal (a newline in a name would forge a line, ESC would drive the terminal)."""
    click.echo("\n".join(inputs.ascii_escaped(line) for line in text.split("\n")))


@main.command()
@workspace_option
@click.pass_context
def pending(ctx: click.Context) -> None:
    """Requests waiting for the director, oldest first (their forms are in pending/)."""
    config = _load(ctx)
    with Processor(config) as processor:
        waiting = processor.pending()
    if not waiting:
        click.echo("nothing is waiting for the director / ไม่มีคำขอรออนุมัติ")
        return
    click.echo(f"{'ID':<16} {'waiting since':<26} {'work group':<34} {'provider':<26} title")
    for item in waiting:
        since = thai.long_datetime(item.waiting_since, digits=False)
        r = item.request
        click.echo(f"{item.request_id:<16} {since:<26} {r.work_group[:34]:<34} "
                   f"{r.provider.name[:26]:<26} {r.title}")
    click.echo(f"\n{len(waiting)} waiting; read them in {config.workspace.pending}")


PROMPTED = "PIPELINE_PROMPTED_SECRET"  # holds a secret typed at the prompt, in-process only


def _ask_for_secret(config: config_mod.Config) -> config_mod.Config:
    """The director's passphrase or PIN typed once, when the configuration gives no source."""
    key = config.director.key
    if isinstance(key, config_mod.KeySource) and not (key.passphrase_env or
                                                      key.passphrase_file):
        os.environ[PROMPTED] = click.prompt(f"passphrase of {key.pkcs12.name}", hide_input=True,
                                            err=True)
        key = replace(key, passphrase_env=PROMPTED)
        return replace(config, director=replace(config.director, key=key))
    if isinstance(key, config_mod.TokenSource) and key.pin_env not in os.environ:
        os.environ[key.pin_env] = click.prompt(f"PIN of token {key.token_label}",
                                               hide_input=True, err=True)
    return config


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
    config = _load(ctx)
    ids = tuple(inputs.request_id(i, config.id_prefix) for i in ids)
    config = _ask_for_secret(config)
    # one decision at a time: a second `approve` (or `reject`) waits, then finds the
    # request decided and says so
    with Processor(config) as processor, processor.deciding():
        finished = processor.finish_approved()  # approved by a run that was killed
        for outcome in finished:
            _report(outcome)
        waiting = {item.request_id: item for item in processor.pending()}
        done = {outcome.request_id for outcome in finished}
        chosen = list(waiting) if everything else [i for i in ids if i not in done]
        unknown = [i for i in chosen if i not in waiting]
        if unknown:
            raise click.ClickException(f"ไม่มีคำขอนี้รอผู้อนุมัติ / not waiting for the "
                                       f"director: {', '.join(unknown)} "
                                       f"(see `pipeline pending`)")
        if not chosen and not finished:
            raise click.UsageError("name the requests to approve, or use --all")
        if not yes:
            for request_id in chosen:
                click.echo(f"  {request_id}  {waiting[request_id].request.title}")
            click.confirm(f"Sign {len(chosen)} request(s) as {config.director.person.name}?",
                          abort=True)
        failed = any(outcome.state != State.ARCHIVED for outcome in finished)
        with click.progressbar(chosen, label="signing / กำลังลงนาม", file=sys.stderr) as bar:
            outcomes = [processor.approve(request_id) for request_id in bar]
        for outcome in outcomes:
            _report(outcome)
            failed |= outcome.state != State.ARCHIVED
        processor.rebuild_index()
    sys.exit(1 if failed else 0)


@main.command()
@workspace_option
@click.argument("request_id")
@click.option("--reason", required=True, help="Why it is not approved; the provider reads it.")
@click.pass_context
def reject(ctx: click.Context, request_id: str, reason: str) -> None:
    """Do not approve a waiting request: the provider gets it back with the reason."""
    config = _load(ctx)
    request_id = inputs.request_id(request_id, config.id_prefix)
    reason = inputs.reason(reason)
    with Processor(config) as processor, processor.deciding():
        try:
            outcome = processor.refuse(request_id, reason)
        except LookupError as exc:
            raise click.ClickException(f"ไม่มีคำขอนี้รอผู้อนุมัติ / {exc}") from None
        processor.rebuild_index()
    assert outcome.rejection is not None  # refuse() always writes the report
    click.echo(f"{request_id} returned to the provider: {outcome.rejection.report}")


@main.command("demo")
@workspace_option
@click.pass_context
def demo_cmd(ctx: click.Context) -> None:
    """Make a demo workspace, process the sample request, and show the result."""
    made = demo.create(ctx.obj["workspace"])
    config = made.config
    logs.configure(config.workspace.state)
    dropped = demo.drop_sample(made)
    click.echo(f"dropped {dropped.name} into {config.workspace.inbox}")
    with Processor(config) as processor:
        try:
            outcomes = drain(processor)
        except WatchError as exc:
            raise click.ClickException(str(exc)) from None
    for outcome in outcomes:
        _report(outcome)
    bundles = [o.bundle for o in outcomes if o.bundle]
    ok = bool(bundles) and _print_verification(bundles, config.trust_roots)
    sys.exit(0 if ok else 1)


def _print_verification(paths: list[Path], trust_roots: tuple[Path, ...]) -> bool:
    reports = [verify.verify_path(path, trust_roots) for path in paths]
    for line in verify.to_text(reports):
        click.echo(line)
    return all(r.ok for r in reports)


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
                                                       "(schema pipeline.audit.verify/1).")
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
            trust = verify.Trust((), (), online)
        config = _load(ctx) if not roots else _load_if_any(ctx)
        if not roots:
            assert config is not None
            roots = config.trust_roots
        max_mb = config.verify_max_mb if config is not None else verify.DEFAULT_MAX_MB
        trust = verify.Trust(tuple(roots), trust.crls + tuple(verify.read_crl(c) for c in crls),
                             online, max_mb * config_mod.MB)
        items = verify.expand(paths)
        tools.path(tools.PDFTOTEXT)  # before the progress bar: a missing poppler, said alone
        with click.progressbar(length=len(items), label="verifying / กำลังตรวจสอบ",
                               file=sys.stderr) as bar:
            reports = verify.verify_all(items, trust, workers=workers, progress=bar.update)
    except verify.VerificationError as exc:
        click.echo(f"error: {inputs.ascii_escaped(str(exc))}", err=True)
        sys.exit(verify.EXIT_UNREADABLE)
    if html_file is not None:
        html_file.write_text(verify.to_html(reports, trust), encoding="utf-8")
    if as_json:
        click.echo(verify.to_json(reports, trust))
    elif not items:  # a new office's outbox
        click.echo("0 bundles / ยังไม่มีรายการ")
    else:
        for line in verify.to_text(reports):
            click.echo(line)
    sys.exit(verify.exit_code(reports) if items else 0)


@main.command("trust-kit")
@workspace_option
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def trust_kit_cmd(ctx: click.Context, directory: Path) -> None:
    """Export the trust roots, the TSA certificate, current CRLs and the instructions, so
    an auditor elsewhere verifies with `pipeline verify --trust-kit DIRECTORY`."""
    config = _load(ctx)
    inputs.output_folder(directory, config.workspace)
    try:
        kit = trustkit.write(config, directory)
    except verify.VerificationError as exc:
        raise click.ClickException(str(exc)) from None
    for line in kit.left_out:
        click.echo(f"CRL not included: {line}", err=True)
    click.echo(f"trust kit written: {directory} ({len(kit.roots)} root(s), {len(kit.tsa)} TSA "
               f"certificate(s), {len(kit.crls)} current CRL(s)); see {trustkit.README}")


# -- the records the office reports from: index, publication record, reports -------------------
def _date_option(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    parsed = thai.parse_date(value)
    if parsed is None:
        raise click.BadParameter(f"{value!r} is not a date: write e.g. 25/11/2569 or 2026-11-25",
                                 param_hint=what)
    return parsed


@main.command("index")
@workspace_option
@click.option("--rebuild", is_flag=True,
              help="Regenerate outbox/index.xlsx and index.csv from the bundles and the journal.")
@click.pass_context
def index_cmd(ctx: click.Context, rebuild: bool) -> None:
    """Show whether the index is up to date with every bundle and the journal; --rebuild
    regenerates it. Exit 1 when it is stale or could not be written (e.g. open in Excel on
    another computer)."""
    config = _load(ctx)
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
    config = _load(ctx)
    day = _date_option(when, "--date")
    try:
        done = publish_mod.record(config, request_id, url, day, sign=sign)
    except (publish_mod.PublishError, config_mod.ConfigError, signing.SigningError) as exc:
        freshness.ensure_current(config.workspace)  # an earlier run killed before it
        raise click.ClickException(str(exc)) from None
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
    config = _load(ctx)
    day = _date_option(since, "--since")
    inputs.output_folder(directory, config.workspace)
    try:
        found = publish_mod.collect(config, directory, day)
    except OSError as exc:
        raise _cannot_write(directory, exc) from None
    for item in found:
        if item.problem:
            click.echo(f"{item.request_id}  SKIPPED: {item.problem}", err=True)
        else:
            click.echo(f"{item.request_id}  -> {item.folder}")
    click.echo(f"{sum(not i.problem for i in found)} request(s) to upload in {directory}")
    sys.exit(1 if any(i.problem for i in found) else 0)


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
    config = _load(ctx)
    if out is not None:
        inputs.output_folder(out, config.workspace,
                             allowed=(config.workspace.outbox / report_files.REPORTS_DIR,))
    try:
        with Converter(timeout=config.office_timeout) as converter:
            written = report_files.write_reports(config, period, converter, out_dir=out,
                                                 work_group=work_group, sign=sign)
    except (report_mod.ReportError, config_mod.ConfigError, signing.SigningError,
            ConversionError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise _cannot_write(out or config.workspace.outbox / report_files.REPORTS_DIR,
                            exc) from None
    for item in written:
        click.echo(f"{item.scope}: {item.pdf}  {item.xlsx.name}"
                   + ("  (signed)" if item.signature else ""))


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
    config = _load(ctx)
    try:
        folders = archive_mod.bundles(config.workspace, ids)
    except archive_mod.ArchiveError as exc:
        raise click.ClickException(str(exc)) from None
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
