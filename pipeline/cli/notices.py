"""The administrator's notice commands: send what the queue holds (cron), and a test message
that says plainly what failed."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from pipeline.cli.common import echo_safe, load, main, workspace_option
from pipeline.core import inputs
from pipeline.notify import build, checks, mail, sender
from pipeline.records.journal import Journal

_KINDS = {
    "unreachable": "ตรวจสอบ notify.smtp_host และ smtp_port / check notify.smtp_host and smtp_port",
    "tls": "ตรวจสอบ notify.security และใบรับรองของเซิร์ฟเวอร์ / check notify.security and the "
           "server's certificate",
    "login": "ตรวจสอบ notify.smtp_user และรหัสผ่าน / check notify.smtp_user and the password",
    "refused": "ตรวจสอบที่อยู่อีเมล / check the addresses",
    "config": "ตั้งค่าตัวแปรสภาพแวดล้อม / set the environment variable",
}


@main.group("notify", invoke_without_command=True)
@workspace_option
@click.option("--send", "send_now", is_flag=True,
              help="Queue the digests and reminders due now and send every notice due "
                   "(from cron, when no watcher runs).")
@click.pass_context
def notify_cmd(ctx: click.Context, send_now: bool) -> None:
    """Notices by e-mail, webhook and LINE: `--send` sends what waits, `test ADDRESS` tries
    the mail server."""
    if ctx.invoked_subcommand is not None:
        return
    if not send_now:
        click.echo(ctx.get_help())
        return
    config = load(ctx)
    journal = Journal(config.workspace.journal_file, config.id_prefix)
    try:
        checks.Checks(config).run(journal)
        done = sender.send_due(config, journal, limit=1000)
    finally:
        journal.close()
    if done.busy:
        click.echo("มีอีกกระบวนการกำลังส่งอยู่ / another sender is sending now (the watcher)")
        return
    click.echo(f"ส่งแล้ว / sent: {done.sent}, ส่งไม่สำเร็จ / failed: {done.failed}")
    sys.exit(1 if done.failed else 0)


@notify_cmd.command("test")
@workspace_option
@click.argument("address")
@click.pass_context
def notify_test(ctx: click.Context, address: str) -> None:
    """Send a test message to ADDRESS now (not queued) and say what failed, if anything."""
    config = load(ctx)
    settings = config.notify
    if not settings.mail:
        raise click.ClickException("ยังไม่ได้ตั้งค่าอีเมล / no mail server: set notify.smtp_host "
                                   "and notify.from in pipeline.toml")
    if "@" not in address or any(c.isspace() or ord(c) < 32 for c in address):
        raise click.BadParameter(f"{inputs.ascii_escaped(address)!r} is not an e-mail address",
                                 param_hint="ADDRESS")
    try:
        mail.send(settings, build.test(address, datetime.now(UTC)))
    except mail.SendError as exc:
        text = sender.scrub(str(exc), settings.secrets())
        hint = _KINDS.get(exc.kind, "")
        raise click.ClickException(f"{text}{'; ' + hint if hint else ''}") from None
    echo_safe(f"ส่งข้อความทดสอบถึง {address} แล้ว / test message sent to {address} "
              f"via {settings.smtp_host}:{settings.smtp_port} ({settings.security})")
