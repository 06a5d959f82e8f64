"""What the office must publish this month, per work group — met (with the request IDs),
due, overdue — for the director and the admin: the same calendar as ``pipeline
obligations`` (:mod:`pipeline.records.obligations`), over the archive the desk keeps."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pipeline.core import thai
from pipeline.desk import access, archive, views
from pipeline.desk.accounts import Role
from pipeline.records import obligations, report


async def page(request: Request) -> Response:
    await access.need(request, Role.DIRECTOR, Role.ADMIN)
    config = request.app.state.desk.config
    asked = request.query_params.get("month", "")
    try:
        period = report.month(asked) if asked else report.month(
            f"{thai.today():%Y-%m}")
    except report.BadPeriod:
        raise HTTPException(400, "bad_form") from None
    rows = archive.of(config.workspace).snapshot().rows
    groups = obligations.for_period(config.obligations, config.work_groups, rows,
                                    period.start, period.last_day,
                                    min(period.last_day, thai.today()))
    return views.render(request, "obligations.html", period=period, groups=groups)


routes = [Route("/obligations", page)]
