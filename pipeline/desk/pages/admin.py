"""The admin's pages: what holds work (the same problems as ``pipeline status``), requests
per state, whether the index is current, LibreOffice and the timestamp authority; and the
desk's accounts (the same operations as ``pipeline user``)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pipeline.core.errors import PipelineError
from pipeline.desk import access, actions, rules, views
from pipeline.desk.accounts import AccountError, Role
from pipeline.external import tools
from pipeline.flow import health
from pipeline.notify import queue as notify_queue
from pipeline.records import freshness
from pipeline.records.journal import Journal, State
from pipeline.settings.config import Config
from pipeline.signatures import evidence

ADMIN = (Role.ADMIN,)


def _status(config: Config) -> dict[str, Any]:
    journal = Journal(config.workspace.journal_file, config.id_prefix)
    try:
        problems = health.problems(config, journal)
        counts = journal.counts()
        oldest = journal.oldest_open()
        notices = notify_queue.status(journal)
    finally:
        journal.close()
    try:
        tools.path(tools.SOFFICE)
        office = ""
    except tools.MissingProgram as exc:
        office = str(exc)
    return {"problems": problems, "counts": [(s, counts.get(s, 0)) for s in State],
            "oldest": oldest, "stale": freshness.stale(config.workspace), "office": office,
            "tsa": evidence.probe_tsa(config), "level": config.signing.level,
            "notices": notices}


async def status(request: Request) -> Response:
    await access.need(request, *ADMIN)
    found = await run_in_threadpool(_status, request.app.state.desk.config)
    return views.render(request, "admin.html", **found)


def _people(config: Config) -> list[str]:
    names = [config.director.person.name, *(a.person.name for a in
                                            config.sheet.acting_directors),
             *(p.person.name for p in config.providers), config.publisher.name]
    return list(dict.fromkeys(names))


async def accounts(request: Request) -> Response:
    visitor = await access.need(request, *ADMIN)
    desk = request.app.state.desk
    return views.render(request, "accounts.html", accounts=desk.accounts.all(),
                        roles=list(Role), people=_people(desk.config),
                        csrf=visitor.session.csrf, error=request.query_params.get("error", ""))


async def change(request: Request) -> Response:
    """Add an account, set a password or disable one: each audit-logged, none undoable
    from a crafted request of another role (checked here, on the server)."""
    visitor = await access.need(request, *ADMIN)
    desk = request.app.state.desk
    data = await access.form(request, visitor)
    what = request.path_params["what"]
    login = access.text(data, "login", 100).strip()
    by = actions.Actor(visitor.login, visitor.address)
    now = access.now()
    try:  # the same operations as `pipeline user`, each with its audit entry
        target = desk.accounts.get(login)
        if what in ("add", "password") and (
                access.text(data, "role", 20) == Role.DIRECTOR
                or (target is not None and desk.accounts.can_sign(target))):
            # an admin who could set a signer's password could sign in as the signer:
            # signing accounts are made and changed only at the server (`pipeline user`)
            raise AccountError("บัญชีที่ลงนามได้ ให้เพิ่มหรือตั้งรหัสผ่านที่เครื่องแม่ข่ายด้วยคำสั่ง "
                               "pipeline user / an account that signs is added or given a "
                               "password only at the server, with `pipeline user`")
        if what == "add":
            role = access.text(data, "role", 20)
            if role not in set(Role):
                raise HTTPException(400, "bad_form")
            actions.add(desk.accounts, desk.audit, by, now, login, Role(role),
                        access.text(data, "password", rules.MAX_PASSWORD),
                        person=access.text(data, "person", 200),
                        email=access.text(data, "email", 200).strip())
        elif what == "password":
            actions.set_password(desk.accounts, desk.audit, by, now, login,
                                 access.text(data, "password", rules.MAX_PASSWORD))
        elif what == "disable":
            actions.disable(desk.accounts, desk.audit, by, now, login)
        else:
            raise HTTPException(404, "not_found")
    except PipelineError as exc:
        return views.render(request, "accounts.html", status_code=400,
                            accounts=desk.accounts.all(), roles=list(Role),
                            people=_people(desk.config), csrf=visitor.session.csrf,
                            error=str(exc))
    return RedirectResponse("/admin/accounts", status_code=303)


routes = [
    Route("/admin", status),
    Route("/admin/accounts", accounts),
    Route("/admin/accounts/{what}", change, methods=["POST"]),
]
