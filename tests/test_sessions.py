"""The desk's sessions: they end when idle, closed, or their account changes, and the
journal's file never holds a token that opens one."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import timedelta

import pytest
from desk_helpers import NOW, PASSWORD, accounts, state_bytes

from pipeline.desk.accounts import Role
from pipeline.desk.sessions import Sessions

IDLE = timedelta(minutes=30)


@pytest.fixture
def desk(demo_ws):
    with accounts(demo_ws) as accts, Sessions(demo_ws.workspace.journal_file, IDLE) as sessions:
        account = accts.add("somchai", Role.STAFF, PASSWORD)
        yield accts, sessions, account


def test_a_session_lives_while_used_and_ends_when_idle(desk):
    accts, sessions, account = desk
    opened = sessions.open(account, NOW)
    assert len(opened.token) >= 43 and opened.csrf and opened.csrf != opened.token
    seen = sessions.get(opened.token, accts, NOW + timedelta(minutes=29))
    assert seen is not None
    assert (seen.login, seen.csrf, seen.generation, seen.created) == \
        ("somchai", opened.csrf, account.generation, NOW)
    assert seen.last_seen == NOW + timedelta(minutes=29)
    # used 29 minutes in, it lives until 30 minutes after that
    assert sessions.get(opened.token, accts, NOW + timedelta(minutes=58)) is not None
    assert sessions.get(opened.token, accts, NOW + timedelta(minutes=88, seconds=1)) is None
    # once over, it stays over
    assert sessions.get(opened.token, accts, NOW + timedelta(minutes=89)) is None


def test_signing_out_ends_the_session_and_no_other(desk):
    accts, sessions, account = desk
    mine, other = sessions.open(account, NOW), sessions.open(account, NOW)
    sessions.close(mine.token)
    assert sessions.get(mine.token, accts, NOW) is None
    assert sessions.get(other.token, accts, NOW) is not None


def test_a_password_change_or_disabling_ends_every_session_of_the_account(desk):
    accts, sessions, account = desk
    before = sessions.open(account, NOW)
    accts.set_password("somchai", PASSWORD + "!")
    assert sessions.get(before.token, accts, NOW) is None
    after = sessions.open(accts.get("somchai"), NOW)
    assert sessions.get(after.token, accts, NOW) is not None
    accts.disable("somchai")
    assert sessions.get(after.token, accts, NOW) is None


def test_made_up_or_oversized_tokens_open_nothing(desk):
    accts, sessions, account = desk
    real = sessions.open(account, NOW)
    for forged in ("", real.token[:-1], real.token + "x", "x" * 10_000,
                   hashlib.sha256(real.token.encode()).hexdigest()):
        assert sessions.get(forged, accts, NOW) is None
    assert sessions.get(real.token, accts, NOW) is not None


def test_the_token_is_kept_only_as_its_sha256(desk, demo_ws):
    accts, sessions, account = desk
    opened = sessions.open(account, NOW)
    with sqlite3.connect(demo_ws.workspace.journal_file) as db:
        stored = db.execute("SELECT token_sha256 FROM sessions").fetchall()
    assert stored == [(hashlib.sha256(opened.token.encode()).hexdigest(),)]
    assert opened.token.encode() not in state_bytes(demo_ws)
