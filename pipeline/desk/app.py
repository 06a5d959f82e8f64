"""The web desk as an ASGI application (Starlette): the routes of each role's pages, the
security headers every answer carries, the bound on every request body, and the pages
shown for a refusal.

The desk is a thin layer: each action calls the library function the command line calls
(:mod:`pipeline.flow.decisions`, :mod:`pipeline.bundles.publish`, :mod:`pipeline.audit`),
so there is one implementation of approving, refusing, publishing and verifying.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.desk import access, views
from pipeline.desk.access import SignInNeeded
from pipeline.desk.accounts import Accounts
from pipeline.desk.audit_log import AuditLog
from pipeline.desk.jobs import Jobs
from pipeline.desk.pages import (
    admin,
    auditor,
    director,
    obligations,
    signin,
    staff,
    webmaster,
)
from pipeline.desk.sessions import Sessions
from pipeline.settings.config import Config

# script-src 'none': the pages have no script at all; styles and pictures from the desk only
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
log = logging.getLogger(__name__)
# seconds the jobs in hand get to finish when the desk stops, after the requests in hand
# (serve.py's GRACE): together within contrib/pipeline-desk.service's TimeoutStopSec
STOP_WAIT = 30.0
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),  # pages name people and requests: not for shared caches
]


@dataclass(frozen=True)
class Desk:
    """What every route needs: the configuration, the desk's tables (one connection each,
    shared by the server's threads) and the running jobs."""

    config: Config
    accounts: Accounts
    sessions: Sessions
    audit: AuditLog
    secure: bool  # served over TLS: cookies get the Secure attribute
    jobs: Jobs
    max_body: int


class SecurityHeaders:
    """The headers of :data:`HEADERS` on every answer, error pages included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in HEADERS if h[0] not in names)]
            await send(message)

        await self.app(scope, receive, with_headers)


SMALL_BODY = 256 * 1024  # a form: a reason, a URL, a password
UPLOADS = ("/staff/hand-in", "/auditor/verify")  # the only routes that take files


class BodyLimit:
    """No request body larger than its route's bound is read: ``limit`` bytes for the
    routes that take files (:data:`UPLOADS`), :data:`SMALL_BODY` for every other (the
    sign-in form included: an anonymous POST cannot make the desk hold megabytes). A
    ``Content-Length`` above it is answered 413 at once, and a body that streams past it
    is cut (413) before it fills the disk where uploads are spooled."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.big = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.big if scope.get("path") in UPLOADS else SMALL_BODY
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await Response("413", status_code=413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, "too_large")
            return message

        await self.app(scope, counted, send)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if "visitor" not in request.scope:  # the page's header: who is signed in, sign-out
        request.scope["visitor"] = await access.current(request)
    key = exc.detail if exc.detail in ("forbidden", "bad_form", "too_large") else {
        403: "forbidden", 404: "not_found", 413: "too_large"}.get(exc.status_code, "bad_form")
    return views.render(request, "refused.html", status_code=exc.status_code, message=key)


def _failed(request: Request, exc: Exception) -> Response:
    """Anything unforeseen: a page that says so (the traceback goes to pipeline.log)."""
    log.error("desk: %s %s failed", request.method, request.url.path, exc_info=exc)
    return views.render(request, "refused.html", status_code=500, message="failed")


def _sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    target = request.url.path if request.method == "GET" else "/"
    if target != "/" and request.url.query:
        target += f"?{request.url.query}"  # an auditor's search survives signing in again
    expired = "&expired=1" if exc.expired else ""
    return RedirectResponse(f"/signin?next={quote(target)}{expired}", status_code=303)


def _language(request: Request) -> Response:
    """The Thai/English switch: a preference cookie only, no state on the server."""
    chosen = request.query_params.get("to", "th")
    response = RedirectResponse(signin.safe_next(request.query_params.get("next", "/")),
                                status_code=303)
    response.set_cookie(views.LANGUAGE_COOKIE, "en" if chosen == "en" else "th",
                        max_age=365 * 86400, httponly=True, samesite="strict",
                        secure=request.app.state.desk.secure)
    return response


def make_app(config: Config, *, secure: bool = False) -> ASGIApp:
    journal_file = config.workspace.journal_file
    desk = Desk(
        config=config,
        accounts=Accounts(journal_file, config),
        sessions=Sessions(journal_file, config.web.session_idle),
        audit=AuditLog(journal_file),
        secure=secure,
        jobs=Jobs(),
        # the largest upload: a sheet with all its attachments, and room for the form
        max_body=config.sheet.max_sheet_bytes + config.sheet.max_request_bytes + (1 << 20),
    )
    font = config.font

    async def font_file(request: Request) -> Response:
        return FileResponse(font, media_type="font/ttf",
                            headers={"cache-control": "max-age=86400"})

    routes = [
        Route("/lang", _language),
        Route("/font.ttf", font_file),
        Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"),
              name="static"),
        *signin.routes,
        *director.routes,
        *staff.routes,
        *admin.routes,
        *obligations.routes,
        *webmaster.routes, *auditor.routes,
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        # stopping (SIGTERM): approvals in hand get time to finish; the tables are closed
        # only when no job can still write to them (else the process's end closes them)
        if await run_in_threadpool(desk.jobs.wait, STOP_WAIT):
            for tables in (desk.accounts, desk.sessions, desk.audit):
                tables.disconnect()

    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: _refused, SignInNeeded: _sign_in_first,
                                        Exception: _failed})
    app.state.desk = desk
    app.add_middleware(BodyLimit, limit=desk.max_body)
    # outside everything Starlette adds (its server-error page included): every answer,
    # a 500 too, carries the headers
    return SecurityHeaders(app)
