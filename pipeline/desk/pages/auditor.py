"""The auditor's pages, read-only: the archive searched; a bundle's verification report, the
very page ``pipeline verify --html`` writes; a PDF uploaded and verified, then forgotten;
the trust kit as a zip; the audit log, on a page and as CSV.

Nothing here changes the archive: the only POST is the verification upload, whose file
lives in a scratch folder for the time of the check (:mod:`pipeline.desk.spool`) and is
removed when the page is made, whatever happened. Verification is :mod:`pipeline.audit`,
with the workspace's trust roots and ``[verify] max_mb``, as the command line does in the
office's workspace.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from pipeline.audit import model, output, trustkit, verify
from pipeline.core import fsutil, inputs, scratch, thai
from pipeline.desk import access, archive, files, spool, views, zipped
from pipeline.desk.accounts import Role
from pipeline.desk.audit_log import Action, write_csv
from pipeline.records.index import Status
from pipeline.settings.config import MB, Config

AUDITORS = (Role.AUDITOR,)
LOG_READERS = (Role.AUDITOR, Role.ADMIN)  # the audit log: the auditor's and the admin's
SHOWN = 200  # search results on one page
LOG_SHOWN = 500  # audit-log entries on the page (the CSV has them all)
# the report page of `pipeline verify --html` carries its own styles; still no script
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
              "form-action 'none'; frame-ancestors 'none'; base-uri 'none'")


def trust(config: Config) -> model.Trust:
    """What ``pipeline verify`` trusts in the office's workspace."""
    return model.Trust(tuple(config.trust_roots), max_bytes=config.verify_max_mb * MB)


def _query(request: Request, config: Config) -> tuple[archive.Query, list[str]]:
    """The search form's values; a date that is not one is named, not guessed."""
    params = request.query_params
    problems = []

    def day(name: str) -> date | None:
        value = params.get(name, "").strip()[:40]
        if not value:
            return None
        parsed = thai.parse_date(value)
        if parsed is None:
            problems.append(value)
        return parsed

    status = params.get("status", "")
    query = archive.Query(
        request_id=params.get("id", "")[:40],
        words=tuple(params.get("q", "")[:200].split()),
        work_group=params.get("work_group", "") if params.get("work_group") in
        config.work_groups else "",
        category=params.get("category", "") if params.get("category") in
        config.categories else "",
        since=day("since"),
        until=day("until"),
        status=Status(status) if status in tuple(Status) else None)
    return query, problems


async def search(request: Request) -> Response:
    await access.need(request, *AUDITORS)
    config = request.app.state.desk.config
    query, problems = _query(request, config)
    snapshot = await run_in_threadpool(archive.of(config.workspace).snapshot)
    found = archive.search(snapshot, query) if not query.empty else []
    return views.render(request, "auditor.html", query=query, found=found[:SHOWN],
                        total=len(found), archived=len(snapshot.rows), problems=problems,
                        statuses=list(Status), work_groups=config.work_groups,
                        categories=config.categories, csrf=request.scope["visitor"]
                        .session.csrf, max_mb=config.verify_max_mb)


def _bundle(config: Config, value: str) -> Path:
    try:
        return inputs.bundle_folder(value, config.workspace, config.id_prefix)
    except inputs.InputError:
        raise HTTPException(404, "not_found") from None


async def report(request: Request) -> Response:
    """The bundle's report, exactly as ``pipeline verify --html outbox/<ID>`` writes it."""
    await access.need(request, *AUDITORS)
    config = request.app.state.desk.config
    folder = await run_in_threadpool(_bundle, config, request.path_params["rid"])
    checked = trust(config)
    found = await run_in_threadpool(verify.verify_path, folder, checked)
    shown = replace(found, path=Path(config.workspace.outbox.name) / folder.name)
    return HTMLResponse(output.to_html([shown], checked),
                        headers={"content-security-policy": REPORT_CSP})


async def verify_upload(request: Request) -> Response:
    """Verify an uploaded PDF: kept in a scratch folder for the check, then removed."""
    visitor = await access.need(request, *AUDITORS)
    desk = request.app.state.desk
    config = desk.config
    checked = trust(config)
    with scratch.folder(config.workspace, "desk-verify-") as tmp:
        got = await spool.receive(request, tmp / "upload.pdf", checked.max_bytes,
                                   visitor.session.csrf)
        if got.path is None or got.size == 0:
            raise HTTPException(400, "bad_form")
        digest = await run_in_threadpool(fsutil.sha256_file, got.path)
        found = await run_in_threadpool(verify.verify_path, got.path, checked)
    name = got.name or "upload.pdf"
    # the report names the file as the auditor sent it, never the scratch folder
    found = replace(found, path=Path(name), error=found.error.replace(str(got.path), name))
    verdict = "UNREADABLE" if found.error else str(found.indication)
    desk.audit.append(access.now(), visitor.login, visitor.address, Action.VERIFY_UPLOAD, "",
                      f"{name} {got.size} B sha256:{digest} {verdict}")
    return views.render(request, "verdict.html", report=found, name=name, size=got.size,
                        sha256=digest, verdict=verdict)


async def trust_kit(request: Request) -> Response:
    """What ``pipeline trust-kit DIR`` writes, as one zip."""
    visitor = await access.need(request, *AUDITORS)
    desk = request.app.state.desk
    ws = desk.config.workspace

    def make() -> Response:
        with scratch.folder(ws, "desk-kit-") as tmp:
            kit = trustkit.write(desk.config, tmp / "trust-kit")
            entries = [(str(p.relative_to(tmp)), p.read_bytes())
                       for p in sorted(kit.directory.rglob("*")) if p.is_file()]
        return zipped.response(ws, entries, "trust-kit.zip")

    try:
        answer = await run_in_threadpool(make)
    except model.VerificationError as exc:
        return views.render(request, "refused.html", status_code=409, message="no_trust_kit",
                            detail=str(exc))
    desk.audit.append(access.now(), visitor.login, visitor.address, Action.DOWNLOAD, "",
                      "trust-kit.zip")
    return answer


async def audit_log(request: Request) -> Response:
    await access.need(request, *LOG_READERS)
    entries = await run_in_threadpool(
        request.app.state.desk.audit.entries, None, LOG_SHOWN)
    return views.render(request, "audit_log.html", entries=list(reversed(entries)))


async def audit_log_csv(request: Request) -> Response:
    """The whole log (or from ``?since=``) as CSV, every value inert in a spreadsheet."""
    visitor = await access.need(request, *LOG_READERS)
    desk = request.app.state.desk
    since_text = request.query_params.get("since", "").strip()[:40]
    since = thai.parse_date(since_text) if since_text else None
    if since_text and since is None:
        raise HTTPException(400, "bad_form")
    log = desk.audit
    entries = await run_in_threadpool(log.entries, since)
    text = io.StringIO()
    write_csv(entries, text)
    log.append(access.now(), visitor.login, visitor.address, Action.DOWNLOAD, "",
               "audit-log.csv")
    return Response("\ufeff" + text.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": files.disposition("audit-log.csv")})


routes = [
    Route("/auditor", search),
    Route("/auditor/reports/{rid}", report),
    Route("/auditor/verify", verify_upload, methods=["POST"]),
    Route("/auditor/trust-kit.zip", trust_kit),
    Route("/auditor/audit-log", audit_log),
    Route("/auditor/audit-log.csv", audit_log_csv),
]
