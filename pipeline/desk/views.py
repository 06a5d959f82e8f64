"""Pages rendered on the server from Jinja2 templates, every value escaped.

Autoescaping is on for every template, so a title ``<script>…</script>`` from a sheet, a
certificate's subject or a file name shows as text. Pages carry no script at all (the
Content-Security-Policy forbids it, :mod:`pipeline.desk.app`); progress and live status
refresh with ``<meta http-equiv="refresh">``, which works on any phone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from pipeline.core import thai
from pipeline.desk.labels import LANGUAGES, Language, label

LANGUAGE_COOKIE = "desk_lang"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,  # a missing value is a bug, not an empty cell
    trim_blocks=True,
    lstrip_blocks=True,
)


def language(request: Request) -> Language:
    chosen = request.cookies.get(LANGUAGE_COOKIE, "th")
    return "en" if chosen == "en" else "th"


def when(moment: datetime | None) -> str:
    """A moment as the office writes it: Buddhist Era, Thai month, Bangkok time."""
    return thai.long_datetime(moment, digits=False) if moment else "-"


def day(value: date | None) -> str:
    return thai.short_date(value) if value else "-"


def waited(since: datetime, language: Language, now: datetime | None = None) -> str:
    """How long something has waited, in the largest whole unit that says it."""
    seconds = max(0, int(((now or datetime.now(UTC)) - since).total_seconds()))
    if seconds >= 86400:
        return f"{seconds // 86400} {label('days', language)}"
    if seconds >= 3600:
        return f"{seconds // 3600} {label('hours', language)}"
    return f"{seconds // 60} {label('minutes', language)}"


def render(request: Request, template: str, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    lang = language(request)
    page = _env.get_template(template).render(
        t=lambda key: label(key, lang), lang=lang, other=LANGUAGES[lang == "th"],
        when=when, day=day, waited=lambda since: waited(since, lang),
        path=request.url.path, visitor=request.scope.get("visitor"), **context)
    return HTMLResponse(page, status_code=status_code)
