"""Signing in and out, and the front door that sends each role to its own page.

The failure message never says whether the login or the password was wrong, and a throttled
account is refused even with the right password (:mod:`pipeline.desk.accounts`); both are
written to the audit log with the client's address.
"""

from __future__ import annotations

import asyncio

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pipeline.desk import access, actions, rules, views
from pipeline.desk.accounts import Role, SignInRefused
from pipeline.desk.audit_log import Action

_ONE_AT_A_TIME = asyncio.Lock()
HOME = {
    Role.DIRECTOR: "/director",
    Role.WEBMASTER: "/webmaster",
    Role.STAFF: "/staff",
    Role.AUDITOR: "/auditor",
    Role.ADMIN: "/admin",
}


def safe_next(value: str) -> str:
    """Back where the visitor was going, on this site only (no open redirect)."""
    return value if value.startswith("/") and not value.startswith(("//", "/\\")) else "/"


def _cookie(response: Response, request: Request, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", path="/",
                        secure=request.app.state.desk.secure)


def _form(request: Request, status_code: int = 200, **context: object) -> Response:
    token = access.new_token()
    response = views.render(request, "signin.html", status_code=status_code, csrf=token,
                            next=safe_next(request.query_params.get("next", "/")),
                            expired=bool(request.query_params.get("expired")), **context)
    _cookie(response, request, access.PRE_COOKIE, token)
    return response


async def show(request: Request) -> Response:
    if await access.current(request) is not None:
        return RedirectResponse("/", status_code=303)
    return _form(request)


async def sign_in(request: Request) -> Response:
    desk = request.app.state.desk
    data = await access.form(request)
    login = access.text(data, "login", 100).strip()
    password = access.text(data, "password", rules.MAX_PASSWORD)
    code = access.text(data, "code", 20).strip() or None
    address = access.client_address(request)
    try:  # recorded in the audit log, succeeded or not (never with what was typed)
        # Argon2id costs ~0.1 s of CPU: off the event loop, one sign-in at a time (the
        # failure count is read, then written: parallel guesses must not slip past it)
        async with _ONE_AT_A_TIME:
            account = await run_in_threadpool(actions.sign_in, desk.accounts, desk.audit,
                                              login, password, code, address, access.now())
    except SignInRefused as exc:
        return _form(request, status_code=403, refused=exc)
    session = desk.sessions.open(account, access.now())
    target = safe_next(access.text(data, "next", 500))
    response = RedirectResponse(target if target != "/" else HOME[account.role],
                                status_code=303)
    _cookie(response, request, access.SESSION_COOKIE, session.token)
    response.delete_cookie(access.PRE_COOKIE, path="/")
    return response


async def sign_out(request: Request) -> Response:
    visitor = await access.current(request)
    if visitor is not None:
        await access.form(request, visitor)
        desk = request.app.state.desk
        desk.sessions.close(request.cookies[access.SESSION_COOKIE])
        desk.audit.append(access.now(), visitor.login, visitor.address, Action.SIGN_OUT)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(access.SESSION_COOKIE, path="/")
    return response


async def home(request: Request) -> Response:
    visitor = await access.current(request)
    if visitor is None:
        return RedirectResponse("/signin", status_code=303)
    return RedirectResponse(HOME[visitor.account.role], status_code=303)


routes = [
    Route("/", home),
    Route("/signin", show, methods=["GET"]),
    Route("/signin", sign_in, methods=["POST"]),
    Route("/signout", sign_out, methods=["POST"]),
]
