"""The audit log: who did what at the desk, when, from where, to which request.

Append-only in the database itself: triggers abort every UPDATE and DELETE of its rows, and
an INSERT OR REPLACE over one (which deletes without firing DELETE triggers), so no code
path of the pipeline (nor a slip at the sqlite3 prompt) can rewrite history; only replacing
the whole file could, which the office's backups show. ``detail`` holds what an
auditor needs (a rejection's reason, a file name), never a password, PIN or one-time code:
the callers pass none, and sign-in failures are recorded without what was typed.

Exported as CSV for spreadsheets, with every value that a spreadsheet would run as a
formula (``=``, ``+``, ``-``, ``@``, tab, carriage return first) made inert.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import TextIO

from pipeline.core import thai
from pipeline.desk.store import Tables, moment, stamp

MAX_FIELD = 128  # characters of an account, address or request ID kept
MAX_DETAIL = 4000  # characters of a detail kept (a reason is at most 2000)
_FORMULA_FIRST = ("=", "+", "-", "@", "\t", "\r")


class Action(StrEnum):
    SIGN_IN = "sign-in"
    SIGN_IN_FAILED = "sign-in-failed"
    SIGN_OUT = "sign-out"
    APPROVE = "approve"
    REJECT = "reject"
    PUBLISH = "publish"
    UPLOAD = "upload"  # a request sheet (and attachments) handed in at the desk
    DOWNLOAD = "download"
    VERIFY_UPLOAD = "verify-upload"
    ACCOUNT_ADD = "account-add"
    ACCOUNT_PASSWD = "account-passwd"
    ACCOUNT_DISABLE = "account-disable"
    ACCOUNT_TOTP = "account-totp"


@dataclass(frozen=True)
class AuditEntry:
    number: int  # the row's place in the log, in the order things were done
    time: datetime
    account: str
    address: str
    action: Action
    request_id: str
    detail: str


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


class AuditLog(Tables):
    SCHEMA = """
    CREATE TABLE IF NOT EXISTS audit (
        number INTEGER PRIMARY KEY AUTOINCREMENT,
        time TEXT NOT NULL,
        account TEXT NOT NULL,
        address TEXT NOT NULL,
        action TEXT NOT NULL,
        request_id TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX IF NOT EXISTS audit_time ON audit(time);
    CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER IF NOT EXISTS audit_no_replace BEFORE INSERT ON audit
    WHEN EXISTS (SELECT 1 FROM audit WHERE number = NEW.number)
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    """
    _COLUMNS = "number, time, account, address, action, request_id, detail"

    def append(self, now: datetime, account: str, address: str, action: Action,
               request_id: str = "", detail: str = "") -> AuditEntry:
        """Record one thing done (over-long values are cut, never refused: the record of an
        action must not be what makes it fail)."""
        values = (stamp(now), _cut(account, MAX_FIELD), _cut(address, MAX_FIELD),
                  Action(action), _cut(request_id, MAX_FIELD), _cut(detail, MAX_DETAIL))
        with self.transaction() as db:
            cursor = db.execute("INSERT INTO audit (time, account, address, action, "
                                "request_id, detail) VALUES (?, ?, ?, ?, ?, ?)", values)
            number = cursor.lastrowid
        assert number is not None
        return _entry((number, *values))

    def entries(self, since: date | None = None, limit: int | None = None) -> list[AuditEntry]:
        """The log in order, from the start of ``since`` (Thailand's day) when given; with
        ``limit``, only the newest that many (still oldest first)."""
        start = stamp(datetime.combine(since, time(), thai.BANGKOK)) if since else ""
        sql = f"SELECT {self._COLUMNS} FROM audit WHERE time >= ? ORDER BY number DESC"
        params: tuple[object, ...] = (start,)
        if limit is not None:
            sql += " LIMIT ?"
            params += (max(limit, 0),)
        return [_entry(row) for row in reversed(self.rows(sql, params))]


def _entry(row: tuple) -> AuditEntry:
    number, when, account, address, action, request_id, detail = row
    return AuditEntry(number, moment(when).astimezone(thai.BANGKOK), account, address,
                      Action(action), request_id, detail)


CSV_HEADER = ("number", "time", "account", "address", "action", "request_id", "detail")


def inert(value: str) -> str:
    """``value`` as a spreadsheet shows it and never runs it (OWASP's CSV injection rule: a
    leading ``'`` before a character that starts a formula)."""
    return "'" + value if value.startswith(_FORMULA_FIRST) else value


def write_csv(entries: list[AuditEntry], stream: TextIO) -> None:
    """The entries as CSV (times ISO 8601 in Thailand's time), every value inert."""
    writer = csv.writer(stream)
    writer.writerow(CSV_HEADER)
    for e in entries:
        writer.writerow([str(e.number), e.time.isoformat(timespec="seconds"),
                         *(inert(v) for v in (e.account, e.address, e.action, e.request_id,
                                              e.detail))])
