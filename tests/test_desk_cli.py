"""``pipeline user …`` and ``pipeline audit-log`` as an administrator or a script uses them,
the demo's accounts, and no password anywhere in the workspace's state afterwards."""

from __future__ import annotations

import csv
import io
import stat
import subprocess
import sys
from datetime import datetime

import pyotp
from click.testing import CliRunner
from desk_helpers import PASSWORD, state_bytes

from pipeline.cli import main
from pipeline.core import thai
from pipeline.desk import demo_accounts
from pipeline.desk.accounts import Accounts, Role
from pipeline.desk.audit_log import Action, AuditLog


def _cli(config, *args: str, stdin: str | None = None):
    return CliRunner().invoke(main, ["--workspace", str(config.workspace.root), *args],
                              input=stdin)


def test_accounts_made_and_changed_from_a_script(demo_ws):
    provider = demo_ws.providers[0].person.name
    made = _cli(demo_ws, "user", "add", "Nurisan", "--role", "staff", "--person", provider,
                "--email", "nurisan@example.go.th", stdin=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    assert "account added: nurisan (staff, " in made.output
    short = _cli(demo_ws, "user", "add", "boss", "--role", "admin", stdin="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    nothing = _cli(demo_ws, "user", "add", "boss", "--role", "admin", stdin="")
    assert nothing.exit_code == 2 and "standard input" in nothing.output
    wrong_role = _cli(demo_ws, "user", "add", "boss", "--role", "king", stdin=PASSWORD + "\n")
    assert wrong_role.exit_code == 2
    assert _cli(demo_ws, "user", "passwd", "nurisan", stdin=PASSWORD + "-new\r\n").exit_code == 0
    listed = _cli(demo_ws, "user", "list")
    assert listed.exit_code == 0
    assert listed.output.split()[:4] == ["nurisan", "staff", "-", "ใช้ได้/active"]
    assert provider in listed.output and "nurisan@example.go.th" in listed.output
    assert _cli(demo_ws, "user", "disable", "nurisan").exit_code == 0
    assert "ระงับ/disabled" in _cli(demo_ws, "user", "list").output
    missing = _cli(demo_ws, "user", "passwd", "nobody", stdin=PASSWORD + "\n")
    assert missing.exit_code == 1 and "no account 'nobody'" in missing.output

    with Accounts(demo_ws.workspace.journal_file, demo_ws) as accts:
        account = accts.get("nurisan")
    assert (account.role, account.disabled, account.generation) == (Role.STAFF, True, 3)
    with AuditLog(demo_ws.workspace.journal_file) as log:
        entries = log.entries()
    assert [e.action for e in entries] == [Action.ACCOUNT_ADD, Action.ACCOUNT_PASSWD,
                                           Action.ACCOUNT_DISABLE]
    assert {(e.account.split(":")[0], e.address) for e in entries} == {("cli", "local")}

    shown = _cli(demo_ws, "audit-log", "--since", thai.short_date(thai.today()))
    assert shown.exit_code == 0
    assert [line.split("  ")[3] for line in shown.output.splitlines()] == \
        ["account-add", "account-passwd", "account-disable"]
    exported = _cli(demo_ws, "audit-log", "--csv")
    rows = list(csv.reader(io.StringIO(exported.output)))
    assert rows[0][4] == "action" and [r[4] for r in rows[1:]] == \
        ["account-add", "account-passwd", "account-disable"]
    assert _cli(demo_ws, "audit-log", "--since", "tomorrow-ish").exit_code == 2
    # what was typed is nowhere: not in the journal (nor its WAL), not in the log file,
    # which says what was done
    log_file = (demo_ws.workspace.state / "pipeline.log").read_text(encoding="utf-8")
    assert "account added: nurisan" in log_file and "password changed: nurisan" in log_file
    everything = state_bytes(demo_ws)
    for secret in (PASSWORD, PASSWORD + "-new"):
        assert secret.encode() not in everything


def test_a_second_factor_set_up_at_the_terminal(demo_ws):
    assert _cli(demo_ws, "user", "add", "boss", "--role", "director", "--person",
                demo_ws.director.person.name, stdin=PASSWORD + "\n").exit_code == 0
    command = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "--workspace", str(demo_ws.workspace.root), "user",
         "totp", "boss"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert command.stdout is not None and command.stdin is not None
    line = command.stdout.readline()
    while not line.startswith("otpauth://"):
        assert line, "no provisioning URI printed"
        line = command.stdout.readline()
    app = pyotp.TOTP(pyotp.parse_uri(line.strip()).secret)
    command.stdin.write(app.now() + "\n")
    command.stdin.close()
    rest = command.stdout.read()
    assert command.wait(timeout=60) == 0
    assert "second factor on for boss" in rest
    with Accounts(demo_ws.workspace.journal_file, demo_ws) as accts:
        assert accts.get("boss").has_totp
    with AuditLog(demo_ws.workspace.journal_file) as log:
        assert log.entries()[-1].action == Action.ACCOUNT_TOTP


def test_the_demo_has_one_account_per_role_in_a_private_file(demo_ws):
    shown = _cli(demo_ws, "init", "--demo")
    target = demo_ws.workspace.root / demo_accounts.ACCOUNTS_FILE
    assert shown.exit_code == 0 and str(target) in shown.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# บัญชีทดลอง") and "demo workspace only" in lines[1]
    rows = [line.split("\t") for line in lines if not line.startswith("#")][1:]
    assert sorted(r[1] for r in rows) == sorted(Role)
    passwords = {r[0]: r[3] for r in rows}
    assert len(set(passwords.values())) == 5
    with Accounts(demo_ws.workspace.journal_file, demo_ws) as accts:
        now = datetime.now(thai.BANGKOK)
        for login, password in passwords.items():
            assert accts.sign_in(login, password, None, "127.0.0.1", now).login == login
        assert accts.get("director").person == demo_ws.director.person.name
        assert accts.get("webmaster").person == demo_ws.publisher.name
        assert accts.get("staff").person == demo_ws.providers[0].person.name
    # made once: running it again keeps the file and its passwords
    assert demo_accounts.create(demo_ws) == target
    assert target.read_text(encoding="utf-8").splitlines() == lines
    # a demo killed before the file was written: the accounts get new passwords, the file
    # holds those that work
    target.unlink()
    demo_accounts.create(demo_ws)
    again = {line.split("\t")[0]: line.split("\t")[3]
             for line in target.read_text(encoding="utf-8").splitlines()[4:]}
    with Accounts(demo_ws.workspace.journal_file, demo_ws) as accts:
        assert accts.sign_in("admin", again["admin"], None, "127.0.0.1", now).login == "admin"
    assert again["admin"] != passwords["admin"]
    assert passwords["admin"].encode() not in state_bytes(demo_ws)
