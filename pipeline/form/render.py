"""Request → approval form: the .docx template filled by docxtpl, then PDF through office.py.

Every value is text, never template code or markup: it is escaped for XML before docxtpl sees
it, and the rendering environment autoescapes anything else, so a title such as
``{{ x }}``, ``<w:t>`` or ``]]>`` prints as typed. Unknown placeholders in an edited template
are an error rather than a silent blank.

Thai text is inserted as typed, without zero-width spaces: LibreOffice breaks Thai lines at
dictionary word boundaries, and the form has no column narrow enough to force a word apart.

The form is one page. A detail too long for its box is cut where the first page is full and
goes on over a page headed รายละเอียดเพิ่มเติม (the template's ``detail_more``); where to cut is
found by laying the form out, since only LibreOffice knows where Thai lines break.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
from docx.opc.exceptions import PackageNotFoundError
from docxtpl import DocxTemplate
from markupsafe import Markup, escape
from pyhanko.pdf_utils.reader import PdfFileReader

from pipeline.core import fsutil
from pipeline.core.request import Request
from pipeline.core.thai import long_date, thai_digits
from pipeline.external.office import Converter

UNSIGNED_DATE = "........../........../.........."  # filled in by hand or by the stamp
EMPTY = "-"
CONTINUED = "(มีต่อ ดูรายละเอียดเพิ่มเติมหน้าถัดไป)"  # ends the box's part of a cut detail
# A cut moves back to a space within this many characters rather than split a run of Thai
# (which has no spaces between words); further than that, it falls between two characters.
_WORD_REACH = 60
_LEADING_VOWELS = "เแโใไ"  # written before the consonant they follow: never cut after one
_FOLLOWING = "ะาำๅๆฯ"  # vowels and marks that end the syllable before them: never cut before

# Control characters XML 1.0 forbids; among them \a and \f, which docxtpl would turn into a new
# paragraph and a page break. \t (a tab) and \n (a line break) stay.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class RenderError(Exception):
    """The template cannot be filled (e.g. an edited template names an unknown placeholder)."""


@dataclass(frozen=True)
class Attached:
    """An attachment as the form lists it, so that the director signs for exactly these
    files: the same bytes go into the PDF (:mod:`pipeline.signatures.fields`)."""

    name: str
    size: int  # bytes
    sha256: str

    @classmethod
    def of(cls, path: Path) -> Attached:
        return cls(path.name, path.stat().st_size, fsutil.sha256_file(path))


def text(value: object) -> Markup:
    """``value`` as safe WordprocessingML text: escaped, each line break a Word line break.

    docxtpl turns a newline inside a text run into ``<w:br/>`` (what its ``Listing`` relies
    on), and after rendering rewrites ``{_{`` to ``{{``; braces are written as character
    references so that a value containing ``{_{`` prints as typed too.
    """
    clean = _CONTROL.sub("", str(value).replace("\r\n", "\n").replace("\r", "\n"))
    return Markup(str(escape(clean)).replace("{", "&#123;").replace("}", "&#125;"))


def context(request: Request, request_id: str, attached: Sequence[Attached] = ()
            ) -> dict[str, object]:
    """The template's placeholders and their values; ``attachments`` a list of {line,
    sha256}, one per attached file, in the sheet's order."""
    values = {
        "request_id": request_id,
        "category": request.category,
        "unit": request.unit,
        "work_group": request.work_group,
        "request_date": long_date(request.request_date),
        "title": request.title,
        "detail": request.detail,
        "detail_more": "",  # what render_pdf moves over a page of its own
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
    listed = [{"line": text(f"{thai_digits(n)}. {a.name} (ขนาด {thai_digits(f'{a.size:,}')} "
                            f"ไบต์)"), "sha256": text(a.sha256)}
              for n, a in enumerate(attached, 1)]
    return {name: text(value) for name, value in values.items()} | {"attachments": listed}


def render_docx(request: Request, request_id: str, template: Path, out: Path,
                attached: Sequence[Attached] = ()) -> None:
    """Fill ``template`` for ``request`` and write the result to ``out`` atomically."""
    fill_docx(template, context(request, request_id, attached), out)


def fill_docx(template: Path, values: Mapping[str, object], out: Path, *, title: str = "",
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
               converter: Converter, attached: Sequence[Attached] = ()) -> Path:
    """Render the form to ``out_pdf`` (PDF/A), keeping the filled .docx beside it; a detail
    too long for the first page goes on over a page of its own."""
    docx = out_pdf.with_suffix(".docx")
    values = context(request, request_id, attached)
    if "detail_more" not in _placeholders(template, template.stat().st_mtime_ns):
        fill_docx(template, values, docx)  # an older template: the box grows instead
        converter.convert(docx, out_pdf)
        return out_pdf

    def one_page(box: str, more: str = "") -> bool:
        fill_docx(template, values | {"detail": text(box), "detail_more": text(more)}, docx)
        converter.convert(docx, out_pdf)
        return _pages(out_pdf) == 1

    detail = request.detail
    if one_page(detail):
        return out_pdf
    cuts = _cut_points(detail)
    lo, hi = -1, len(cuts)  # invariant: cuts[lo] fits (or lo == -1), cuts[hi] does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if one_page(_boxed(detail, cuts[mid])):
            lo = mid
        else:
            hi = mid
    if lo < 0 and not one_page(_boxed(detail, 0)):
        one_page(detail)  # even the rest of the form fills the page: the box grows instead
        return out_pdf
    cut = cuts[lo] if lo >= 0 else 0
    spaced = _near_space(detail, cut)
    if spaced != cut and one_page(_boxed(detail, spaced)):  # Thai lines may break otherwise
        cut = spaced
    one_page(_boxed(detail, cut), detail[cut:].lstrip())
    return out_pdf


def _boxed(detail: str, cut: int) -> str:
    return f"{detail[:cut].rstrip()}\n{CONTINUED}".lstrip()


def _cut_points(detail: str) -> list[int]:
    """Where a detail may be cut, in order: between two characters of it, never inside a
    character with its vowel and tone marks, after a leading vowel or before a following
    one (a syllable stays whole)."""
    return [i for i in range(1, len(detail))
            if unicodedata.category(detail[i]) not in ("Mn", "Mc", "Me")
            and detail[i] not in _FOLLOWING and detail[i - 1] not in _LEADING_VOWELS]


def _near_space(detail: str, cut: int) -> int:
    """The cut moved back to just after the nearest space or line break, if one is near."""
    space = max(detail.rfind(" ", 0, cut), detail.rfind("\n", 0, cut))
    return space + 1 if space >= 0 and cut - space <= _WORD_REACH else cut


@functools.lru_cache(maxsize=8)
def _placeholders(template: Path, _mtime_ns: int) -> frozenset[str]:
    try:
        return frozenset(DocxTemplate(template).get_undeclared_template_variables())
    except (OSError, KeyError, zipfile.BadZipFile, PackageNotFoundError, jinja2.TemplateError):
        return frozenset()  # fill_docx reports it


def _pages(pdf: Path) -> int:
    with pdf.open("rb") as f:
        return int(PdfFileReader(f).root["/Pages"]["/Count"])
