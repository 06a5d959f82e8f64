"""Server-side sessions of the desk, in the journal's file.

The browser holds only a random token (32 bytes); the table holds its SHA-256, so that a
copy of the journal file (a backup, a stolen disk) opens no session. A session ends when it
has been idle longer than the configured time, when it is closed (signing out), and when its
account changes generation (a new password, disabled) or is gone: :meth:`Sessions.get`
checks all of it on every request, so the web layer cannot forget one.

Each session carries its own CSRF token, which every state-changing form posts back.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pipeline.desk.accounts import Account, Accounts
from pipeline.desk.store import Tables, moment, stamp

TOKEN_BYTES = 32
MAX_TOKEN = 128  # characters of a cookie looked at: a real token has 43


@dataclass(frozen=True)
class Session:
    token: str  # what the cookie holds; never stored
    csrf: str
    login: str
    generation: int  # the account's when the session was opened
    created: datetime
    last_seen: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# a session's last use is written at most once a minute: the idle limit (30 minutes by
# default, 1 at least) is then kept to within a minute, without an fsync per page view
TOUCH_AFTER = timedelta(seconds=60)


class Sessions(Tables):
    SCHEMA = """
    CREATE TABLE IF NOT EXISTS sessions (
        token_sha256 TEXT PRIMARY KEY,
        csrf TEXT NOT NULL,
        login TEXT NOT NULL,
        generation INTEGER NOT NULL,
        created TEXT NOT NULL,
        last_seen TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS sessions_last_seen ON sessions(last_seen);
    """

    def __init__(self, journal_file: Path, idle: timedelta) -> None:
        super().__init__(journal_file)
        self.idle = idle

    def open(self, account: Account, now: datetime) -> Session:
        """A new session for ``account`` (signed in just now); sessions idle too long are
        removed on the way."""
        session = Session(secrets.token_urlsafe(TOKEN_BYTES), secrets.token_urlsafe(32),
                          account.login, account.generation, now, now)
        with self.transaction() as db:
            db.execute("DELETE FROM sessions WHERE last_seen < ?", (stamp(now - self.idle),))
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?)",
                       (_digest(session.token), session.csrf, session.login,
                        session.generation, stamp(now), stamp(now)))
        return session

    def get(self, token: str, accounts: Accounts, now: datetime) -> Session | None:
        """The live session of ``token``, its ``last_seen`` now; None when there is none:
        unknown, idle too long, its account disabled, gone or of another generation (a
        session found over is removed)."""
        if not token or len(token) > MAX_TOKEN:
            return None
        digest = _digest(token)
        rows = self.rows("SELECT csrf, login, generation, created, last_seen FROM sessions "
                         "WHERE token_sha256 = ?", (digest,))
        if not rows:
            return None
        csrf, login, generation, created, last_seen = rows[0]
        account = accounts.get(login)
        seen = moment(last_seen)
        if (now - seen > self.idle or account is None or account.disabled
                or account.generation != generation):
            with self.transaction() as db:
                db.execute("DELETE FROM sessions WHERE token_sha256 = ?", (digest,))
            return None
        if now - seen >= TOUCH_AFTER:  # not a durable write on every page view
            with self.transaction() as db:
                db.execute("UPDATE sessions SET last_seen = ? WHERE token_sha256 = ?",
                           (stamp(now), digest))
            seen = now
        return Session(token, csrf, login, generation, moment(created), seen)

    def close(self, token: str) -> None:
        """End the session of ``token`` (signing out)."""
        with self.transaction() as db:
            db.execute("DELETE FROM sessions WHERE token_sha256 = ?", (_digest(token),))
