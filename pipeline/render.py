"""Request → approval form: the .docx template filled by docxtpl, then PDF through office.py.

Every value is text, never template code or markup: it is escaped for XML before docxtpl sees
it, and the rendering environment autoescapes anything else, so a title such as
``{{ x }}``, ``<w:t>`` or ``]]>`` prints as typed. Unknown placeholders in an edited template
are an error rather than a silent blank.

Thai text is inserted as typed, without zero-width spaces: LibreOffice breaks Thai lines at
dictionary word boundaries, and the form has no column narrow enough to force a word apart.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import jinja2
from docx.opc.exceptions import PackageNotFoundError
from docxtpl import DocxTemplate
from markupsafe import Markup, escape

from pipeline import fsutil
from pipeline.office import Converter
from pipeline.request import Request
from pipeline.thai import long_date

UNSIGNED_DATE = "........../........../.........."  # filled in by hand or by the stamp
EMPTY = "-"

# Control characters XML 1.0 forbids; among them \a and \f, which docxtpl would turn into a new
# paragraph and a page break. \t (a tab) and \n (a line break) stay.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class RenderError(Exception):
    """The template cannot be filled (e.g. an edited template names an unknown placeholder)."""


def text(value: object) -> Markup:
    """``value`` as safe WordprocessingML text: escaped, each line break a Word line break.

    docxtpl turns a newline inside a text run into ``<w:br/>`` (what its ``Listing`` relies
    on), and after rendering rewrites ``{_{`` to ``{{``; braces are written as character
    references so that a value containing ``{_{`` prints as typed too.
    """
    clean = _CONTROL.sub("", str(value).replace("\r\n", "\n").replace("\r", "\n"))
    return Markup(str(escape(clean)).replace("{", "&#123;").replace("}", "&#125;"))


def context(request: Request, request_id: str) -> dict[str, Markup]:
    """The template's placeholders and their values."""
    values = {
        "request_id": request_id,
        "category": request.category,
        "unit": request.unit,
        "work_group": request.work_group,
        "request_date": long_date(request.request_date),
        "title": request.title,
        "detail": request.detail,
        "link": request.link or EMPTY,
        "note": request.note or EMPTY,
    }
    for role, person, when in (
        ("provider", request.provider, long_date(request.request_date)),
        ("approver", request.approver, UNSIGNED_DATE),
        ("publisher", request.publisher, UNSIGNED_DATE),
    ):
        values |= {f"{role}_name": person.name, f"{role}_position": person.position,
                   f"{role}_date": when}
    return {name: text(value) for name, value in values.items()}


def render_docx(request: Request, request_id: str, template: Path, out: Path) -> None:
    """Fill ``template`` for ``request`` and write the result to ``out`` atomically."""
    fill_docx(template, context(request, request_id), out)


def fill_docx(template: Path, values: dict[str, object], out: Path, *, title: str = "",
              subject: str = "") -> None:
    """Fill a .docx template with values made safe by :func:`text` (or lists of them), and
    write it atomically; ``title`` and ``subject`` go into the document's properties (and so
    into the PDF's metadata)."""
    document = DocxTemplate(template)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    try:
        document.render(values, jinja_env=env)
    except jinja2.TemplateError as exc:
        raise RenderError(f"{template}: {exc}") from None
    except (OSError, KeyError, zipfile.BadZipFile, PackageNotFoundError) as exc:
        raise RenderError(f"the template {template} cannot be read as a .docx "
                          f"({type(exc).__name__}); restore it from the pipeline's templates/"
                          ) from None
    properties = document.docx.core_properties
    properties.title = title or properties.title
    properties.subject = subject or properties.subject
    fsutil.write_via(out, lambda path: document.save(path))


def render_pdf(request: Request, request_id: str, template: Path, out_pdf: Path,
               converter: Converter) -> Path:
    """Render the form to ``out_pdf`` (PDF/A-2b), keeping the filled .docx beside it."""
    docx = out_pdf.with_suffix(".docx")
    render_docx(request, request_id, template, docx)
    converter.convert(docx, out_pdf)
    return out_pdf
