"""A PDF's pages as PNG pictures (poppler's ``pdftocairo``), so that the web desk shows a form
on a phone or tablet that has no PDF viewer.

The PDF is read from standard input and the picture written to standard output: no file
name from a request reaches the command line, and nothing is left on disk. ``pdftocairo``
gets a bounded time; a PDF it cannot render is a :class:`PageImageError`, not a crash.
"""

from __future__ import annotations

import subprocess
from io import BytesIO

from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader

from pipeline.core.errors import PipelineError
from pipeline.external import tools

TIMEOUT = 30.0  # seconds for one page; an A4 form page at 110 dpi takes about 0.1 s
MAX_PAGES = 50  # pages a desk page shows; a longer PDF is offered for download only


class PageImageError(PipelineError):
    """poppler could not render the page."""


def page_count(pdf: bytes) -> int:
    """The number of pages, as the page tree's root says (read as render.py reads it)."""
    try:
        return int(PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Count"])
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise PageImageError(f"อ่านไฟล์ PDF ไม่ได้ / cannot read the PDF: {exc}") from None


def render(pdf: bytes, page: int, dpi: int = 110) -> bytes:
    """Page ``page`` (1-based) of ``pdf`` as a PNG."""
    command = [str(tools.path(tools.PDFTOCAIRO)), "-png", "-r", str(dpi), "-f", str(page),
               "-l", str(page), "-singlefile", "-", "-"]
    try:
        run = subprocess.run(command, input=pdf, capture_output=True, timeout=TIMEOUT,
                             check=False)
    except subprocess.TimeoutExpired:
        raise PageImageError(f"แสดงหน้า {page} ไม่ทันเวลา / page {page} took longer than "
                             f"{TIMEOUT:.0f} s to render") from None
    if run.returncode != 0 or not run.stdout.startswith(b"\x89PNG"):
        raise PageImageError(f"แสดงหน้า {page} ไม่ได้ / poppler could not render page {page}")
    return run.stdout
