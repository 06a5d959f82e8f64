"""Failed sign-ins counted per login and per client address, with a growing back-off.

After ``LOGIN_LIMIT`` failures for one login, or ``ADDRESS_LIMIT`` from one address, every
further attempt is refused until the back-off has passed, even one with the right password
(else the back-off would only slow the guesses down, not tell the guesser nothing). The
back-off starts at 30 s and doubles with each further failure, up to an hour, so a person
who mistyped is back soon and a guesser gets a few dozen tries a day. A success clears the
login's count, not the address's: one's own account must not reset the count of guesses at
another's. Counts are forgotten after a day without failures, which also bounds the table
(a guesser cannot grow it without bound by trying made-up logins).

A login that is no account's is counted too (else the sixth try would tell a guesser which
logins exist), but not under what was typed: people type their password into the login
field. It is counted under a keyed hash cut to 16 bits (:meth:`Throttle.login_key`), which
keeps nothing of the text and makes different made-up logins share counts only where
nobody can predict.

Kept in the journal's file, so that a restart of the desk does not clear it and every
process of the desk counts together.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from pipeline.desk.store import Tables, moment, stamp

LOGIN_LIMIT = 5
ADDRESS_LIMIT = 20
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
FORGET_AFTER = timedelta(days=1)  # longer than MAX_BACKOFF: waiting it out resets nothing
MAX_KEY = 128  # characters of a login or address kept (a longer one is cut)


class Kind(StrEnum):
    LOGIN = "login"
    ADDRESS = "address"


LIMITS = {Kind.LOGIN: LOGIN_LIMIT, Kind.ADDRESS: ADDRESS_LIMIT}


def backoff(failures: int, limit: int) -> timedelta:
    """How long attempts are refused after the ``failures``-th failure (none below
    ``limit``): 30 s at the limit, doubling with each failure after it, at most an hour."""
    if failures < limit:
        return timedelta(0)
    return min(FIRST_BACKOFF * 2 ** min(failures - limit, 20), MAX_BACKOFF)


class Throttle(Tables):
    SCHEMA = """
    CREATE TABLE IF NOT EXISTS sign_in_failures (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        failures INTEGER NOT NULL,
        last_failure TEXT NOT NULL,
        blocked_until TEXT NOT NULL,
        PRIMARY KEY (kind, key)
    );
    CREATE TABLE IF NOT EXISTS sign_in_key (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        key BLOB NOT NULL
    );
    """

    def __init__(self, journal_file: Path) -> None:
        super().__init__(journal_file)
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO sign_in_key VALUES (1, ?)",
                       (secrets.token_bytes(32),))
        self._key = self.rows("SELECT key FROM sign_in_key")[0][0]

    def login_key(self, login: str, known: bool) -> str:
        """What a login is counted under: itself when it is an account's, else a keyed
        hash of it cut to 16 bits (``?`` and four hex digits)."""
        if known:
            return login
        digest = hmac.new(self._key, login.encode(), hashlib.sha256).hexdigest()
        return f"?{digest[:4]}"

    def retry_at(self, login: str, address: str, now: datetime) -> datetime | None:
        """When attempts for ``login`` from ``address`` may be made again; None: now."""
        rows = self.rows(
            "SELECT blocked_until FROM sign_in_failures WHERE blocked_until > ? AND "
            "((kind = ? AND key = ?) OR (kind = ? AND key = ?))",
            (stamp(now), Kind.LOGIN, login[:MAX_KEY], Kind.ADDRESS, address[:MAX_KEY]))
        return max((moment(r[0]) for r in rows), default=None)

    def failed(self, login: str, address: str, now: datetime) -> datetime | None:
        """Count a failure for both; returns when the next attempt may be made when this one
        started (or lengthened) a back-off, else None."""
        blocked: list[datetime] = []
        with self.transaction() as db:
            db.execute("DELETE FROM sign_in_failures WHERE last_failure < ?",
                       (stamp(now - FORGET_AFTER),))
            for kind, key in ((Kind.LOGIN, login), (Kind.ADDRESS, address)):
                row = db.execute("SELECT failures FROM sign_in_failures WHERE kind = ? AND "
                                 "key = ?", (kind, key[:MAX_KEY])).fetchone()
                failures = (row[0] if row else 0) + 1
                wait = backoff(failures, LIMITS[kind])
                db.execute("INSERT OR REPLACE INTO sign_in_failures VALUES (?, ?, ?, ?, ?)",
                           (kind, key[:MAX_KEY], failures, stamp(now),
                            stamp(now + wait) if wait else ""))
                if wait:
                    blocked.append(now + wait)
        return max(blocked, default=None)

    def succeeded(self, login: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM sign_in_failures WHERE kind = ? AND key = ?",
                       (Kind.LOGIN, login[:MAX_KEY]))
