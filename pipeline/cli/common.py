"""What every command shares: the command group, where its errors end, the workspace option,
loading the workspace, and the lines commands print."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from pipeline import patches
from pipeline.audit import output, verify
from pipeline.core import folders, inputs, logs, thai
from pipeline.core.errors import PipelineError
from pipeline.flow.outcome import Outcome
from pipeline.records.journal import State
from pipeline.settings import config as config_mod


def load(ctx: click.Context) -> config_mod.Config:
    config = config_mod.load(ctx.obj["workspace"])
    logs.configure(config.workspace.state)
    return config


def load_if_any(ctx: click.Context) -> config_mod.Config | None:
    """The workspace's config when there is one (an auditor may verify anywhere)."""
    if not (Path(ctx.obj["workspace"]) / folders.CONFIG_NAME).is_file():
        return None
    return load(ctx)


def report_outcome(outcome: Outcome) -> None:
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


class _Failed(click.ClickException):
    """A :class:`PipelineError` that ends a command with exit 1: ``Error:`` and its line."""


class Unusable(_Failed):
    """The same with exit 2: the input is not of the kind asked, or the installation lacks
    what the pipeline needs."""

    exit_code = 2


# The module of pipeline/cli/ that defines each command. Only the module of the command
# being run is imported: a process that verifies one file need not load the signing code,
# LibreOffice's bridge, openpyxl and docxtpl (tests/test_cli.py checks this list).
COMMANDS = {
    "init": "office", "new-request": "office", "process": "office", "watch": "office",
    "status": "office", "demo": "office", "index": "office", "refresh-timestamps": "office",
    "pending": "director", "approve": "director", "reject": "director", "report": "director",
    "obligations": "director",
    "published": "webmaster", "collect": "webmaster", "check-published": "webmaster",
    "verify": "auditor", "trust-kit": "auditor",
    "notify": "notices",
    "user": "desk", "audit-log": "desk", "serve": "serve",
}


class _Commands(click.Group):
    """Every command ends an error a person can act on (:class:`PipelineError`: a wrong
    pipeline.toml, input refused by :mod:`pipeline.core.inputs`, a program missing from
    the installation…) with its one line and its exit code, wherever in the library it was
    raised: the one place the command line maps them. A command is loaded when asked for
    (:data:`COMMANDS`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(f"pipeline.cli.{COMMANDS[cmd_name]}")  # registers it
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except PipelineError as exc:
            raise (Unusable if exc.exit_code == 2 else _Failed)(str(exc)) from None


def cannot_write(where: Path, exc: OSError) -> click.ClickException:
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


def echo_safe(text: str) -> None:
    """A line with text from file names and sheets in it: no control character reaches the
    terminal (a newline in a name would forge a line, ESC would drive the terminal)."""
    click.echo("\n".join(inputs.ascii_escaped(line) for line in text.split("\n")))


def ask_for_secret(config: config_mod.Config) -> config_mod.Config:
    """The director's passphrase or PIN typed once, when the configuration gives no source;
    it lives in the returned config only (never in the environment)."""
    needed = config.director.secret_needed()
    if needed is None:
        return config
    secret = click.prompt(needed, hide_input=True, err=True)
    return replace(config, director=config.director.with_secret(secret))


def date_option(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    parsed = thai.parse_date(value)
    if parsed is None:
        raise click.BadParameter(f"{value!r} is not a date: write e.g. 25/11/2569 or 2026-11-25",
                                 param_hint=what)
    return parsed


def print_verification(paths: list[Path], trust_roots: tuple[Path, ...]) -> bool:
    reports = [verify.verify_path(path, trust_roots) for path in paths]
    for line in output.to_text(reports):
        click.echo(line)
    return all(r.ok for r in reports)
