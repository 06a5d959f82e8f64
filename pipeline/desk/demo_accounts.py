"""The demo workspace's desk accounts: one per role, tied to the demo's people, each with a
random password written to ``desk-accounts.txt`` in the demo folder (readable by its owner
only). There is no built-in password: a demo made twice has different ones.

The file is written after the accounts, so a demo killed in between makes them again with
new passwords next time (an account already there is given a new one) and the file always
holds the passwords that work.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

from pipeline.core import fsutil, thai
from pipeline.desk import actions
from pipeline.desk.accounts import Accounts, Role
from pipeline.desk.audit_log import AuditLog
from pipeline.settings.config import Config

ACCOUNTS_FILE = "desk-accounts.txt"
DEMO_ACTOR = actions.Actor("demo", "local")


def _people(config: Config) -> list[tuple[str, Role, str]]:
    """(login, role, person) of each demo account."""
    provider = config.providers[0].person.name if config.providers else ""
    return [("director", Role.DIRECTOR, config.director.person.name),
            ("webmaster", Role.WEBMASTER, config.publisher.name),
            ("staff", Role.STAFF, provider),
            ("auditor", Role.AUDITOR, ""),
            ("admin", Role.ADMIN, "")]


def create(config: Config, now: datetime | None = None) -> Path:
    """The demo's accounts and the file that lists them (kept when it exists); its path."""
    target = config.workspace.root / ACCOUNTS_FILE
    if target.exists():
        return target
    when = now or datetime.now(thai.BANGKOK)
    journal = config.workspace.journal_file
    lines = [
        "# บัญชีทดลองของโต๊ะงานบนเว็บ เฉพาะพื้นที่ทำงานทดลองเท่านั้น: เก็บไฟล์นี้ไว้ไม่ให้ผู้อื่นเห็น",
        "# The web desk's demo accounts, for this demo workspace only: keep this file private.",
        "# เปลี่ยนรหัสผ่านด้วย / change a password with: pipeline user passwd LOGIN",
        "login\trole\tperson\tpassword",
    ]
    with Accounts(journal, config) as accounts, AuditLog(journal) as log:
        for login, role, person in _people(config):
            password = secrets.token_urlsafe(12)
            if accounts.get(login):
                actions.set_password(accounts, log, DEMO_ACTOR, when, login, password)
            else:
                actions.add(accounts, log, DEMO_ACTOR, when, login, role, password, person)
            lines.append(f"{login}\t{role}\t{person or '-'}\t{password}")
    fsutil.write_bytes(target, ("\n".join(lines) + "\n").encode(), mode=0o600)
    return target
