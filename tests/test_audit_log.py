"""The audit log: append-only in the database itself, read by day, exported as CSV that no
spreadsheet runs; and the account changes and sign-ins recorded without what was typed."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import date, datetime, timedelta

import pytest
from desk_helpers import NOW, PASSWORD, accounts

from pipeline.core import thai
from pipeline.desk import actions
from pipeline.desk.accounts import Role, SignInRefused
from pipeline.desk.audit_log import Action, AuditLog, write_csv


@pytest.fixture
def log(demo_ws):
    with AuditLog(demo_ws.workspace.journal_file) as audit:
        yield audit


def test_entries_are_kept_in_order_and_read_from_a_thai_day(log):
    # 23:30 in Bangkok on the 24th is 16:30 UTC: it belongs to the 24th
    late = datetime(2026, 11, 24, 23, 30, tzinfo=thai.BANGKOK)
    log.append(late, "boss", "192.0.2.1", Action.APPROVE, "REQ-2569-00001")
    log.append(NOW, "boss", "192.0.2.1", Action.REJECT, "REQ-2569-00002",
               "ขาดไฟล์แนบ / the attachment is missing")
    log.append(NOW + timedelta(hours=1), "web", "192.0.2.2", Action.PUBLISH, "REQ-2569-00003")
    every = log.entries()
    assert [e.action for e in every] == [Action.APPROVE, Action.REJECT, Action.PUBLISH]
    assert [e.number for e in every] == sorted(e.number for e in every)
    assert every[0].time == late and every[1].detail.startswith("ขาดไฟล์แนบ")
    assert [e.request_id for e in log.entries(since=date(2026, 11, 25))] == \
        ["REQ-2569-00002", "REQ-2569-00003"]
    assert [e.action for e in log.entries(limit=2)] == [Action.REJECT, Action.PUBLISH]
    assert log.entries(since=date(2026, 11, 26)) == []


def test_no_row_can_be_updated_or_deleted_even_with_raw_sql(log, demo_ws):
    log.append(NOW, "boss", "192.0.2.1", Action.APPROVE, "REQ-2569-00001")
    with sqlite3.connect(demo_ws.workspace.journal_file) as db:
        for sql in ("UPDATE audit SET account = 'someone else'",
                    "UPDATE audit SET time = '2000-01-01'",
                    "DELETE FROM audit",
                    "DELETE FROM audit WHERE action = 'approve'",
                    "INSERT OR REPLACE INTO audit (number, time, account, address, action) "
                    "SELECT number, time, 'x', address, action FROM audit"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                db.execute(sql)
    [entry] = log.entries()
    assert (entry.account, entry.action, entry.time) == ("boss", Action.APPROVE, NOW)


def test_the_csv_runs_no_formula(log):
    hostile = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd",
               "\r=1"]
    for text in hostile:
        log.append(NOW, text, "192.0.2.1", Action.REJECT, "REQ-2569-00001", text)
    stream = io.StringIO()
    write_csv(log.entries(), stream)
    rows = list(csv.reader(io.StringIO(stream.getvalue())))
    assert rows[0] == ["number", "time", "account", "address", "action", "request_id",
                       "detail"]
    for row, text in zip(rows[1:], hostile, strict=True):
        assert row[2] == row[6] == "'" + text
        assert row[1] == "2026-11-25T09:00:00+07:00"
    assert len(rows) == len(hostile) + 1


def test_account_changes_and_sign_ins_are_recorded_without_secrets(demo_ws, log):
    admin = actions.Actor("admin", "192.0.2.9")
    typed_as_login = "ThisIsMyPassword-oops"
    with accounts(demo_ws) as accts:
        actions.add(accts, log, admin, NOW, "somchai", Role.STAFF, PASSWORD,
                    person=demo_ws.providers[0].person.name)
        actions.set_password(accts, log, admin, NOW, "somchai", PASSWORD + "2")
        assert actions.sign_in(accts, log, "somchai", PASSWORD + "2", None, "192.0.2.5", NOW)
        for login, password in (("somchai", PASSWORD), (typed_as_login, PASSWORD)):
            with pytest.raises(SignInRefused):
                actions.sign_in(accts, log, login, password, None, "192.0.2.5", NOW)
        actions.disable(accts, log, admin, NOW, "somchai")
    entries = log.entries()
    assert [(e.action, e.account) for e in entries] == [
        (Action.ACCOUNT_ADD, "admin"), (Action.ACCOUNT_PASSWD, "admin"),
        (Action.SIGN_IN, "somchai"), (Action.SIGN_IN_FAILED, "somchai"),
        (Action.SIGN_IN_FAILED, actions.UNKNOWN_LOGIN), (Action.ACCOUNT_DISABLE, "admin")]
    assert entries[0].detail.startswith("somchai staff ")
    assert {e.address for e in entries if e.account == "admin"} == {"192.0.2.9"}
    text = repr(entries)
    for secret in (PASSWORD, PASSWORD + "2", typed_as_login):
        assert secret not in text
