"""The web desk's accounts and its audit log, for the administrator at the server.

Each change goes through :mod:`pipeline.desk.actions`, as the desk's admin page does, so it
is in the audit log as done by ``cli:<OS user>`` from ``local``. Passwords are asked twice,
hidden, on a terminal, and read as one line from standard input otherwise (scripts); they
are never echoed, logged or put in an argument (where ``ps`` would show them).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

import click

from pipeline.cli.common import date_option, echo_safe, load, main, workspace_option
from pipeline.core import thai
from pipeline.desk import actions
from pipeline.desk.accounts import Accounts, Role
from pipeline.desk.audit_log import AuditLog, write_csv
from pipeline.desk.rules import MAX_PASSWORD


def _actor() -> actions.Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        user = "?"
    return actions.Actor(f"cli:{user}", "local")


@contextmanager
def _desk(ctx: click.Context) -> Iterator[tuple[Accounts, AuditLog]]:
    config = load(ctx)
    journal = config.workspace.journal_file
    with Accounts(journal, config) as accounts, AuditLog(journal) as log:
        yield accounts, log


def _line(prompt: str, *, hidden: bool, twice: bool = False) -> str:
    """One answer: asked on a terminal (hidden, and twice, when so told), else one line of
    standard input without its line ending."""
    stdin = sys.stdin
    if stdin.isatty():
        return str(click.prompt(prompt, hide_input=hidden, err=True,
                                confirmation_prompt="อีกครั้ง / again" if twice else False))
    line = stdin.readline(MAX_PASSWORD + 2)
    if not line:
        raise click.UsageError(f"ไม่มีข้อมูลทางอินพุตมาตรฐาน / nothing on standard input: "
                               f"give the {prompt.split(' / ')[-1]} as one line")
    return line.rstrip("\r\n")


def _password(login: str) -> str:
    return _line(f"รหัสผ่านใหม่ของ {login} / new password", hidden=True, twice=True)


def _now() -> datetime:
    return datetime.now(thai.BANGKOK)


@main.group("user")
def user() -> None:
    """The web desk's accounts: add, change a password, disable, list, second factor."""


_Command = TypeVar("_Command", bound=Callable[..., None])


def _on_login(name: str) -> Callable[[_Command], click.Command]:
    """``pipeline user NAME LOGIN``: a command on one account."""
    def register(command: _Command) -> click.Command:
        return user.command(name)(workspace_option(click.argument("login")(
            click.pass_context(command))))
    return register


@user.command("add")
@workspace_option
@click.argument("login")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]),
              help="What the account does at the desk.")
@click.option("--person", default="", help="The person of pipeline.toml the account is "
              "(a provider, the director or an acting director, the publisher): whose key "
              "signs, whose requests 'my requests' shows. Required for a director.")
@click.option("--email", default="", help="Where the desk may write to the account's owner.")
@click.pass_context
def add(ctx: click.Context, login: str, role: str, person: str, email: str) -> None:
    """Make an account LOGIN; its password is asked (or read from standard input)."""
    with _desk(ctx) as (accounts, log):
        password = _password(login)
        account = actions.add(accounts, log, _actor(), _now(), login, role, password,
                              person, email)
    echo_safe(f"เพิ่มบัญชีแล้ว / account added: {account.login} ({account.role}"
              f"{', ' + account.person if account.person else ''})")


@_on_login("passwd")
def passwd(ctx: click.Context, login: str) -> None:
    """Give LOGIN a new password; its open sessions end."""
    with _desk(ctx) as (accounts, log):
        actions.set_password(accounts, log, _actor(), _now(), login, _password(login))
    click.echo(f"เปลี่ยนรหัสผ่านแล้ว / password changed: {login.strip().lower()}")


@_on_login("disable")
def disable(ctx: click.Context, login: str) -> None:
    """Stop LOGIN from signing in; its open sessions end."""
    with _desk(ctx) as (accounts, log):
        actions.disable(accounts, log, _actor(), _now(), login)
    click.echo(f"ระงับบัญชีแล้ว / account disabled: {login.strip().lower()}")


@user.command("list")
@workspace_option
@click.pass_context
def list_accounts(ctx: click.Context) -> None:
    """The accounts: login, role, person, second factor, disabled."""
    with _desk(ctx) as (accounts, _log):
        found = accounts.all()
    for a in found:
        echo_safe(f"{a.login:<20} {a.role:<9} {'2FA' if a.has_totp else '-':<3} "
                  f"{'ระงับ/disabled' if a.disabled else 'ใช้ได้/active':<14} "
                  f"{a.person or '-'} {a.email}".rstrip())
    if not found:
        click.echo("ยังไม่มีบัญชี / no accounts yet: add one with `pipeline user add`")


@_on_login("totp")
def totp(ctx: click.Context, login: str) -> None:
    """Set up LOGIN's second factor: prints the address to add to an authenticator app,
    then asks for a code it shows, to confirm."""
    with _desk(ctx) as (accounts, log):
        uri = accounts.start_totp(login)
        click.echo("เพิ่มที่อยู่นี้ในแอปยืนยันตัวตน แล้วพิมพ์รหัส 6 หลักที่แอปแสดง / add this to "
                   "the authenticator app, then type the 6-digit code it shows:")
        click.echo(uri)
        code = _line("รหัสจากแอป / code", hidden=False)
        actions.confirm_totp(accounts, log, _actor(), _now(), login, code)
    click.echo(f"ตั้งรหัสยืนยันสองขั้นแล้ว / second factor on for {login.strip().lower()}")


@main.command("audit-log")
@workspace_option
@click.option("--since", help="From this day on (e.g. 1/11/2569 or 2026-11-01).")
@click.option("--csv", "as_csv", is_flag=True,
              help="Write CSV (for a spreadsheet; formulas made inert) instead of lines.")
@click.pass_context
def audit_log(ctx: click.Context, since: str | None, as_csv: bool) -> None:
    """What was done at the web desk (and to its accounts), oldest first."""
    day = date_option(since, "--since")
    config = load(ctx)
    with AuditLog(config.workspace.journal_file) as log:
        entries = log.entries(since=day)
    if as_csv:
        write_csv(entries, sys.stdout)
        return
    for e in entries:
        echo_safe("  ".join(filter(None, (
            f"{thai.short_date(e.time.date())} {e.time:%H:%M:%S}", e.account, e.address,
            e.action, e.request_id, e.detail.replace("\n", " ")))))
