"""The director's pages: what waits, oldest first; one request with its form as pictures,
its attachments and its provider's signature checked; approve (one or several, one key
load) or refuse with a reason.

The decisions are :mod:`pipeline.flow.decisions`, the same code as ``pipeline approve`` and
``pipeline reject``. A passphrase or PIN typed on the page lives in the job's configuration
object for that one action (:meth:`SignerConfig.with_secret`): it is not stored, logged or
put in the environment, and the page never sends it back.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pipeline.audit import verify
from pipeline.audit.model import Trust
from pipeline.core import inputs
from pipeline.desk import access, files, views
from pipeline.desk.access import Visitor
from pipeline.desk.accounts import Role
from pipeline.desk.audit_log import Action
from pipeline.desk.jobs import Job
from pipeline.external import page_images
from pipeline.flow import decisions
from pipeline.flow.outcome import Outcome, PendingRequest
from pipeline.records.journal import State
from pipeline.settings.config import MB, Config
from pipeline.signatures import evidence

DECIDERS = (Role.DIRECTOR,)
_IMAGES: OrderedDict[tuple[str, int], bytes] = OrderedDict()  # (PDF SHA-256, page) -> PNG
_IMAGES_KEPT = 64
_IMAGES_LOCK = threading.Lock()  # pages are made in the server's worker threads
log = logging.getLogger(__name__)


def _mine(config: Config, visitor: Visitor) -> list[PendingRequest]:
    """What waits for this account: the requests whose sheet names the account's person
    (the director, or an acting director) as approver, oldest first."""
    return [item for item in decisions.waiting(config)
            if decisions.addressed_to(item, visitor.account.person)]


def _waiting_one(config: Config, visitor: Visitor, value: str) -> PendingRequest:
    """The waiting request named in the URL, addressed to this account; 404 for anything
    else (checked by pattern first, so no path is built from a crafted value)."""
    request_id = access.request_id(value, config.id_prefix)
    for item in _mine(config, visitor):
        if item.request_id == request_id:
            return item
    raise HTTPException(404, "not_waiting")


async def queue(request: Request) -> Response:
    visitor = await access.need(request, *DECIDERS)
    config = request.app.state.desk.config
    waiting = await run_in_threadpool(_mine, config, visitor)
    return views.render(request, "queue.html", waiting=waiting, csrf=visitor.session.csrf,
                        secret_needed=decisions.secret_needed(config, visitor.account.person))


async def show(request: Request) -> Response:
    visitor = await access.need(request, *DECIDERS)
    config = request.app.state.desk.config
    item = await run_in_threadpool(_waiting_one, config, visitor, request.path_params["rid"])
    pdf = await run_in_threadpool(files.read, item.pdf)
    pages = page_images.page_count(pdf)
    verdict = await run_in_threadpool(verify.verify_path, item.pdf, _office_trust(config))
    attachments = [(n, path.name, path.stat().st_size)
                   for n, path in enumerate(item.attachments, 1) if path.is_file()]
    return views.render(request, "request.html", item=item, r=item.request,
                        pages=range(1, min(pages, page_images.MAX_PAGES) + 1),
                        verdict=verdict, attachments=attachments, csrf=visitor.session.csrf,
                        secret_needed=decisions.secret_needed(config, visitor.account.person))


def _office_trust(config: Config) -> Trust:
    """What the office itself trusts and holds for checking the provider's signature now:
    its trust roots and the revocation data its signing uses (the demo's current CRLs, or
    online when ``[signing] revocation = "online"``). The form in pending/ carries no
    document timestamp yet, so without current revocation data the verdict could only be
    INDETERMINATE. An outside auditor brings a trust kit instead."""
    found = evidence.gather(config)
    return Trust(config.trust_roots, tuple(c.dump() for c in found.crls), found.online,
                 config.verify_max_mb * MB)


def _page_png(pdf: Path, page: int) -> bytes:
    """One page as a picture, kept for the next view (keyed by the PDF's exact bytes)."""
    data = files.read(pdf)
    key = (hashlib.sha256(data).hexdigest(), page)
    with _IMAGES_LOCK:
        kept = _IMAGES.get(key)
    if kept is not None:
        return kept
    if not 1 <= page <= min(page_images.page_count(data), page_images.MAX_PAGES):
        raise HTTPException(404, "not_found")
    png = page_images.render(data, page)  # outside the lock: pages render side by side
    with _IMAGES_LOCK:
        _IMAGES[key] = png
        while len(_IMAGES) > _IMAGES_KEPT:
            _IMAGES.popitem(last=False)
    return png


async def page_image(request: Request) -> Response:
    visitor = await access.need(request, *DECIDERS)
    item = await run_in_threadpool(_waiting_one, request.app.state.desk.config, visitor,
                                   request.path_params["rid"])
    png = await run_in_threadpool(_page_png, item.pdf, request.path_params["page"])
    return Response(png, media_type="image/png")


async def form_pdf(request: Request) -> Response:
    visitor = await access.need(request, *DECIDERS)
    item = await run_in_threadpool(_waiting_one, request.app.state.desk.config, visitor,
                                   request.path_params["rid"])
    return files.download(request, visitor, item.pdf, f"{item.request_id}.pdf", item.request_id)


async def attachment(request: Request) -> Response:
    visitor = await access.need(request, *DECIDERS)
    item = await run_in_threadpool(_waiting_one, request.app.state.desk.config, visitor,
                                   request.path_params["rid"])
    n = request.path_params["n"]
    if not 1 <= n <= len(item.attachments):
        raise HTTPException(404, "not_found")
    path = item.attachments[n - 1]
    return files.download(request, visitor, path, path.name, item.request_id)


async def approve(request: Request) -> Response:
    """Start signing the chosen requests; the page that follows shows the progress. Each
    approval is written to the audit log as it is signed, so a batch cut short leaves the
    record of every one it signed."""
    visitor = await access.need(request, *DECIDERS)
    desk = request.app.state.desk
    person = visitor.account.person
    data = await access.form(request, visitor)
    ids = [i for i in data.getlist("id") if isinstance(i, str)][:500]
    if not ids:
        raise HTTPException(400, "bad_form")
    secret = access.text(data, "secret", 1000)
    config = desk.config
    if secret and decisions.secret_needed(config, person) is not None:
        config = decisions.with_secret(config, person, secret)
    del secret

    def work(job: Job) -> None:
        def progress(done: int, of: int, outcome: Outcome) -> None:
            job.done, job.current = done, outcome.request_id or ""
            job.outcomes.append(outcome)
            if outcome.state == State.ARCHIVED and outcome.request_id:
                desk.audit.append(access.now(), visitor.login, visitor.address,
                                  Action.APPROVE, outcome.request_id)

        try:
            with decisions.deciding(config) as decision:
                job.outcomes.extend(decision.finished)
                chosen = decision.choose(ids, approver=person)
                job.total = len(chosen)
                decision.approve(chosen, progress)
        except (decisions.NotWaiting, inputs.InputError) as exc:
            job.error = str(exc)
        except Exception:  # noqa: BLE001 - the director is told; the log has the rest
            log.exception("desk: approving %s failed", ", ".join(ids[:10]))
            job.error = ("การลงนามหยุดกลางคัน รายการที่แสดงด้านล่างลงนามแล้ว ผู้ดูแลระบบดูสาเหตุ"
                         "ได้ใน pipeline.log / signing stopped; those listed below were signed; "
                         "the admin finds why in pipeline.log")

    job_id = desk.jobs.start(visitor.login, len(ids), work)
    return RedirectResponse(f"/director/jobs/{job_id}", status_code=303)


async def job_page(request: Request) -> Response:
    visitor = await access.need(request, *DECIDERS)
    job = request.app.state.desk.jobs.get(request.path_params["job"], visitor.login)
    if job is None:
        raise HTTPException(404, "not_found")
    return views.render(request, "job.html", job=job)


async def reject(request: Request) -> Response:
    visitor = await access.need(request, *DECIDERS)
    desk = request.app.state.desk
    data = await access.form(request, visitor)
    reason = access.text(data, "reason", 2000)
    value = request.path_params["rid"]

    def refuse() -> str:
        with decisions.deciding(desk.config) as decision:
            outcome = decision.refuse(value, reason, approver=visitor.account.person)
        assert outcome.request_id is not None
        desk.audit.append(access.now(), visitor.login, visitor.address, Action.REJECT,
                          outcome.request_id, reason)
        return outcome.request_id

    try:
        request_id = await run_in_threadpool(refuse)
    except (decisions.NotWaiting, inputs.InputError) as exc:
        return views.render(request, "refused.html", status_code=409, message="not_waiting",
                            detail=str(exc))
    return views.render(request, "decided.html", request_id=request_id, rejected=True)


routes = [
    Route("/director", queue),
    Route("/director/approve", approve, methods=["POST"]),
    Route("/director/jobs/{job}", job_page),
    Route("/requests/{rid}", show),
    Route("/requests/{rid}/page/{page:int}.png", page_image),
    Route("/requests/{rid}/form.pdf", form_pdf),
    Route("/requests/{rid}/attachments/{n:int}", attachment),
    Route("/requests/{rid}/reject", reject, methods=["POST"]),
]
