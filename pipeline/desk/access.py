"""Who is asking, and may they: the session behind the cookie, the role a route needs, the
CSRF token every state-changing form carries, and the client's address.

Every check is made on the server for every request; a page that hides a button is a
convenience, never the control. A POST whose token is missing or wrong changes nothing
and is answered 403 (OWASP CSRF cheat sheet: synchronizer token pattern, one per session).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

from pipeline.core import inputs
from pipeline.desk.accounts import Account, Role
from pipeline.desk.sessions import Session

SESSION_COOKIE = "desk_session"
PRE_COOKIE = "desk_pre"  # the sign-in form's token, before there is a session
MAX_FIELDS = 200
MAX_FIELD_BYTES = 64 * 1024  # a reason or a URL; the files have their own limits


class SignInNeeded(Exception):
    """No valid session: the visitor is sent to the sign-in page (then back)."""

    def __init__(self, expired: bool) -> None:
        super().__init__("sign in")
        self.expired = expired


@dataclass(frozen=True)
class Visitor:
    account: Account
    session: Session
    address: str

    @property
    def login(self) -> str:
        return self.account.login


def client_address(request: Request) -> str:
    """The client's address: the socket's peer, or — only when that peer is one of
    ``[web] trusted_proxies`` — the last address the proxy appended to ``X-Forwarded-For``
    (the one it saw; earlier entries are whatever the client wrote and are not believed)."""
    peer = request.client.host if request.client else ""
    if not request.app.state.desk.config.web.trusts(peer):
        return peer
    forwarded = request.headers.get("x-forwarded-for", "").split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(forwarded))
    except ValueError:
        return peer


def now() -> datetime:
    return datetime.now(UTC)


async def current(request: Request) -> Visitor | None:
    """The signed-in visitor, or None. Sessions end when idle too long, on sign-out, on a
    password change and when the account is disabled (:class:`Sessions`). Looked up in a
    worker thread: the session's row is written (its last use), which may wait for another
    writer of the journal, and no page may stall the others meanwhile."""
    return await run_in_threadpool(_current, request)


def _current(request: Request) -> Visitor | None:
    desk = request.app.state.desk
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    session = desk.sessions.get(token, desk.accounts, now())
    if session is None:
        return None
    account = desk.accounts.get(session.login)
    if account is None or account.disabled:
        return None
    return Visitor(account, session, client_address(request))


async def need(request: Request, *roles: Role) -> Visitor:
    """The visitor, who must hold one of ``roles`` (the admin is not implied: an admin
    runs the desk, not the office's decisions)."""
    visitor = await current(request)
    if visitor is None:
        raise SignInNeeded(expired=SESSION_COOKIE in request.cookies)
    request.scope["visitor"] = visitor
    if visitor.account.role not in roles:
        raise HTTPException(403, "forbidden")
    return visitor


async def form(request: Request, visitor: Visitor | None = None, *,
               max_files: int = 0) -> FormData:
    """The POSTed form, after its CSRF token is checked against the session's (or, for
    the sign-in form, against the pre-session cookie). Field sizes and counts are bounded;
    the body as a whole is bounded by :class:`pipeline.desk.app.BodyLimit`."""
    data = await request.form(max_files=max_files, max_fields=MAX_FIELDS,
                              max_part_size=MAX_FIELD_BYTES)
    sent = data.get("csrf")
    expected = visitor.session.csrf if visitor else request.cookies.get(PRE_COOKIE, "")
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(
            sent.encode(), expected.encode()):
        await data.close()
        raise HTTPException(403, "bad_form")
    return data


def text(data: FormData, name: str, limit: int = 2000) -> str:
    """A text field, "" when absent; longer than ``limit`` is refused (400)."""
    value = data.get(name, "")
    if not isinstance(value, str):
        raise HTTPException(400, "bad_form")
    if len(value) > limit:
        raise HTTPException(400, "bad_form")
    return value


def request_id(value: str, prefix: str) -> str:
    """A request ID from a URL, checked by pattern before anything is looked up or a path
    is built from it; 404 for anything else (a crafted ``../`` included)."""
    try:
        return inputs.request_id(value, prefix)
    except inputs.InputError:
        raise HTTPException(404, "not_found") from None


def new_token() -> str:
    return secrets.token_urlsafe(32)
