"""The clerk's pages: hand in a sheet with its attachments and follow it until it is
archived, waiting for the director or returned; a blank sheet; "my requests" with their
status, the reasons a request came back, its highlighted sheet and, once approved, the
signed PDF.

A handed-in sheet goes into ``inbox/`` (:func:`pipeline.intake.upload.drop`) and the
watcher takes it like any dropped file: the desk itself processes nothing, so a sheet
handed in while the watcher is stopped is simply taken when it starts.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pipeline.core import inputs, scratch, thai
from pipeline.desk import access, archive, files, views
from pipeline.desk.access import Visitor
from pipeline.desk.accounts import Role
from pipeline.desk.audit_log import Action
from pipeline.intake import blank_sheet, rejection, upload
from pipeline.records import index
from pipeline.records.journal import FINAL_STATES, Journal, State
from pipeline.settings.config import Config

STAFF = (Role.STAFF,)
FOLLOW_FOR = timedelta(minutes=15)
MAX_FILES = 21  # the sheet and at most 20 attachments (validate.MAX_ATTACHMENTS)


def _mine(config: Config, visitor: Visitor) -> list[index.Row]:
    """The requests whose provider is the account's person, newest first."""
    me = thai.name_key(visitor.account.person)
    if not me:
        return []
    rows = archive.of(config.workspace).snapshot().rows  # kept in memory, as the auditor's
    return [r for r in reversed(rows) if thai.name_key(r.provider) == me]


async def home(request: Request) -> Response:
    visitor = await access.need(request, *STAFF)
    config = request.app.state.desk.config
    rows = await run_in_threadpool(_mine, config, visitor)
    return views.render(request, "staff.html", rows=rows, csrf=visitor.session.csrf, error="")


async def _read(part: UploadFile) -> upload.Handed:
    return upload.Handed(part.filename or "", await part.read())


async def hand_in(request: Request) -> Response:
    visitor = await access.need(request, *STAFF)
    config = request.app.state.desk.config
    data = await access.form(request, visitor, max_files=MAX_FILES)
    try:
        sheet = data.get("sheet")
        if not isinstance(sheet, UploadFile) or not sheet.filename:
            raise upload.UploadRefused("เลือกไฟล์แบบคำขอ (.xlsx) / choose the request sheet "
                                       "(.xlsx)")
        handed = await _read(sheet)
        attachments = [await _read(part) for part in data.getlist("attachments")
                       if isinstance(part, UploadFile) and part.filename]
        since = datetime.now(UTC)
        placed = await run_in_threadpool(upload.drop, config, handed, attachments)
    except upload.UploadRefused as exc:
        rows = await run_in_threadpool(_mine, config, visitor)
        return views.render(request, "staff.html", status_code=400, rows=rows,
                            csrf=visitor.session.csrf, error=str(exc))
    finally:
        await data.close()
    digest = hashlib.sha256(handed.data).hexdigest()
    request.app.state.desk.audit.append(
        access.now(), visitor.login, visitor.address, Action.UPLOAD, "",
        f"{inputs.ascii_escaped(placed.name)[:150]} sha256={digest} "
        f"+{len(attachments)} attachment(s)")
    stamp = since.strftime("%Y%m%dT%H%M%S.%fZ")
    seal = _seal(visitor, digest, stamp)
    return RedirectResponse(f"/staff/follow/{digest}/{stamp}/{seal}?name="
                            f"{quote(placed.name)}", status_code=303)


def _seal(visitor: Visitor, digest: str, stamp: str) -> str:
    """What ties a follow link to the session that handed the sheet in: another clerk
    cannot follow it by its hash (which would tell them its request ID and state)."""
    mac = hmac.new(visitor.session.csrf.encode(), f"{digest}/{stamp}".encode(),
                   hashlib.sha256)
    return mac.hexdigest()[:32]


def _followed(config: Config, digest: str, stamp: str) -> tuple[str, str, bool]:
    """(request ID or "", state, finished) of the sheet handed in at ``stamp``."""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise HTTPException(404, "not_found")
    try:
        since = datetime.strptime(stamp, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        raise HTTPException(404, "not_found") from None
    journal = Journal(config.workspace.journal_file, config.id_prefix)
    try:
        entry = journal.latest_with(digest, since)
    finally:
        journal.close()
    if entry is None:
        return "", "", False
    done = entry.state in FINAL_STATES or entry.state == State.AWAITING_DIRECTOR
    return entry.id, str(entry.state), done


async def follow(request: Request) -> Response:
    """The handed-in sheet's progress, refreshed every two seconds until it settles — or
    for :data:`FOLLOW_FOR` at most: a tab left open does not keep its session alive for
    ever (the refreshes count as use) when the watcher is stopped."""
    visitor = await access.need(request, *STAFF)
    digest, stamp = request.path_params["digest"], request.path_params["stamp"]
    if not hmac.compare_digest(request.path_params["seal"], _seal(visitor, digest, stamp)):
        raise HTTPException(404, "not_found")
    request_id, state, done = await run_in_threadpool(
        _followed, request.app.state.desk.config, digest, stamp)
    since = datetime.strptime(stamp, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
    given_up = not done and datetime.now(UTC) - since > FOLLOW_FOR
    return views.render(request, "follow.html", request_id=request_id, state=state,
                        done=done, given_up=given_up,
                        name=request.query_params.get("name", "")[:255])


def _blank(config: Config) -> bytes:
    with scratch.folder(config.workspace, "blank-") as tmp:
        path = tmp / "request.xlsx"
        blank_sheet.new_request(path, config)
        return path.read_bytes()


async def blank(request: Request) -> Response:
    await access.need(request, *STAFF)
    data = await run_in_threadpool(_blank, request.app.state.desk.config)
    return Response(data, media_type="application/vnd.openxmlformats-officedocument."
                                     "spreadsheetml.sheet",
                    headers={"content-disposition": files.disposition("แบบคำขอเผยแพร่.xlsx")})


def _own_row(config: Config, visitor: Visitor, value: str) -> index.Row:
    request_id = access.request_id(value, config.id_prefix)
    for row in _mine(config, visitor):
        if row.request_id == request_id:
            return row
    raise HTTPException(404, "not_found")  # not theirs, or no such request: the same answer


def _returned_file(config: Config, request_id: str) -> Path:
    """The highlighted sheet (else the report) the pipeline wrote when it returned the
    request, found by the name, size and SHA-256 the journal recorded: never a file someone
    put in the shared folder under that name."""
    journal = Journal(config.workspace.journal_file, config.id_prefix)
    try:
        entry = journal.get(request_id)
    finally:
        journal.close()
    recorded = entry.rejected.files if entry is not None and entry.rejected else ()
    for wanted in recorded:  # the highlighted copy first, as recorded
        found = rejection.find(config.workspace.rejected, wanted)
        if found is not None:
            return found
    raise HTTPException(404, "not_found")


async def corrected(request: Request) -> Response:
    visitor = await access.need(request, *STAFF)
    config = request.app.state.desk.config
    row = await run_in_threadpool(_own_row, config, visitor, request.path_params["rid"])
    path = await run_in_threadpool(_returned_file, config, row.request_id)
    return files.download(request, visitor, path, path.name, row.request_id)


async def signed(request: Request) -> Response:
    visitor = await access.need(request, *STAFF)
    config = request.app.state.desk.config
    row = await run_in_threadpool(_own_row, config, visitor, request.path_params["rid"])
    if not row.signed_pdf:
        raise HTTPException(404, "not_found")
    return files.download(request, visitor, config.workspace.outbox / row.signed_pdf,
                          f"{row.request_id}.pdf", row.request_id)


routes = [
    Route("/staff", home),
    Route("/staff/hand-in", hand_in, methods=["POST"]),
    Route("/staff/follow/{digest}/{stamp}/{seal}", follow),
    Route("/staff/blank.xlsx", blank),
    Route("/staff/requests/{rid}/corrected", corrected),
    Route("/staff/requests/{rid}/signed.pdf", signed),
]
