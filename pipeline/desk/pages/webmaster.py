"""The webmaster's pages: what is approved and not yet on the website, oldest approval first;
its files for upload, one request's or several as one zip; and the publication recorded (the
URL and the day), with the webmaster's signature in the form's third block when
``[publisher]`` names a key.

Every action is the command line's: the files are :func:`publish.upload_of`, what
``pipeline collect`` copies (the same ASCII names and ``info.txt``), and the record is
:func:`publish.record` followed by the index, as ``pipeline published`` does. A passphrase
or PIN typed on the page lives in that one call's configuration object
(:attr:`KeySource.given`): it is not stored, logged or sent back.
"""

from __future__ import annotations

from dataclasses import replace

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pipeline.bundles import publish
from pipeline.core import inputs, thai
from pipeline.desk import access, archive, views, zipped
from pipeline.desk.accounts import Role
from pipeline.desk.audit_log import Action
from pipeline.records import index_files
from pipeline.settings.config import Config

PUBLISHERS = (Role.WEBMASTER,)
SHOWN = 200  # requests listed on one page
MAX_ZIP = 100  # requests in one zip


def _upload(config: Config, value: str) -> publish.Upload:
    """One request still to publish; 404 for anything else (the ID is checked by pattern
    before any path is made of it)."""
    request_id = access.request_id(value, config.id_prefix)
    try:
        return publish.upload_of(config, request_id)
    except publish.PublishError:
        raise HTTPException(404, "not_to_publish") from None


def _secret_needed(config: Config) -> bool:
    key = config.publisher_key
    return key is not None and key.secret_needed() is not None


async def listing(request: Request) -> Response:
    visitor = await access.need(request, *PUBLISHERS)
    desk = request.app.state.desk
    snapshot = await run_in_threadpool(archive.of(desk.config.workspace).snapshot)
    rows = snapshot.to_publish
    # published addresses the daily check (pipeline check-published) found gone or changed
    broken = [r for r in snapshot.rows if r.check_verdict is not None and not r.check_verdict.ok]
    return views.render(request, "webmaster.html", rows=rows[:SHOWN], total=len(rows),
                        broken=broken[:SHOWN], csrf=visitor.session.csrf)


async def show(request: Request) -> Response:
    visitor = await access.need(request, *PUBLISHERS)
    config = request.app.state.desk.config
    upload = await run_in_threadpool(_upload, config, request.path_params["rid"])
    snapshot = await run_in_threadpool(archive.of(config.workspace).snapshot)
    row = next((r for r in snapshot.rows if r.request_id == upload.request_id), None)
    return views.render(request, "webmaster_request.html", upload=upload, row=row,
                        csrf=visitor.session.csrf, secret_needed=_secret_needed(config),
                        signs=config.publisher_key is not None, today=thai.today())


async def upload_zip(request: Request) -> Response:
    """The upload files of the chosen requests (``?id=…&id=…``), as one zip with a folder
    per request, as ``pipeline collect`` lays them out."""
    visitor = await access.need(request, *PUBLISHERS)
    desk = request.app.state.desk
    ids = request.query_params.getlist("id")
    if not ids or len(ids) > MAX_ZIP:
        raise HTTPException(400, "bad_form")

    def make() -> Response:
        uploads = [_upload(desk.config, value) for value in dict.fromkeys(ids)]
        entries = [(f"{u.folder}/{name}", source) for u in uploads for name, source in u.files]
        name = f"{uploads[0].folder}.zip" if len(uploads) == 1 else "upload.zip"
        answer = zipped.response(desk.config.workspace, entries, name)
        log = desk.audit
        for u in uploads:
            log.append(access.now(), visitor.login, visitor.address, Action.DOWNLOAD,
                       u.request_id, name)
        return answer

    return await run_in_threadpool(make)


def _record(config: Config, request_id: str, url: str, day_text: str,
            secret: str) -> publish.Publication:
    day = None
    if day_text.strip():
        day = thai.parse_date(day_text)
        if day is None:
            raise publish.PublishError(
                f"วันที่ {inputs.shown(day_text)} ไม่ถูกต้อง เขียนเช่น 25/11/2569 หรือ 2026-11-25 "
                f"/ {inputs.shown(day_text)} is not a date: write e.g. 25/11/2569 or 2026-11-25")
    key = config.publisher_key
    if secret and key is not None and key.secret_needed() is not None:
        config = replace(config, publisher_key=replace(key, given=secret))
    return publish.record(config, request_id, url, day)


async def published(request: Request) -> Response:
    """Record the publication, as ``pipeline published`` does (the same function, then the
    index), and audit-log it."""
    visitor = await access.need(request, *PUBLISHERS)
    desk = request.app.state.desk
    data = await access.form(request, visitor)
    if desk.config.publisher_key is not None and thai.name_key(
            visitor.account.person) != thai.name_key(desk.config.publisher.name):
        # the publisher's key signs the third block: only the publisher's own account
        # (which [web] require_2fa_for_signing holds to a second factor) may use it
        return views.render(request, "refused.html", status_code=403,
                            message="not_the_publisher")
    url = access.text(data, "url", 2100)
    day_text = access.text(data, "date", 100)
    secret = access.text(data, "secret", 1000)
    del data  # the form is released with the request; the secret goes into this call only
    upload = await run_in_threadpool(_upload, desk.config, request.path_params["rid"])
    try:
        done = await run_in_threadpool(_record, desk.config, upload.request_id, url,
                                       day_text, secret)
    except publish.PublishError as exc:
        return views.render(request, "refused.html", status_code=409,
                            message="not_published", detail=str(exc))
    desk.audit.append(access.now(), visitor.login, visitor.address, Action.PUBLISH,
                      upload.request_id, done.url)
    await run_in_threadpool(index_files.refresh, desk.config.workspace)
    await run_in_threadpool(archive.of(desk.config.workspace).replace, upload.request_id)
    return views.render(request, "published.html", request_id=upload.request_id,
                        publication=done)


routes = [
    Route("/webmaster", listing),
    Route("/webmaster/upload.zip", upload_zip),
    Route("/webmaster/{rid}", show),
    Route("/webmaster/{rid}/published", published, methods=["POST"]),
]
