"""What a PDF shows, read with poppler: the auditor compares it with the signatures, the
manifest and the index.

pdftotext keeps Thai intact where pure-Python extractors garble sara am. It is read once per
file, with word positions (``-bbox-layout``), so that both the whole text and the name printed
under a signature box come from the same run.
"""

from __future__ import annotations

import html
import re
import subprocess
from dataclasses import dataclass

from pipeline.external import tools

_LINE = re.compile(r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                   r"(.*?)</line>", re.S)
_WORD = re.compile(r"<word[^>]*>(.*?)</word>", re.S)
_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)
_PRINTED = re.compile(r"^\(\s*(.+?)\s*\)$")
_BELOW = 90.0  # points under a signature box where the form prints the signer's name

# poppler builds colour transforms for a PDF/A output intent's ICC profile before it reads a
# page: 70 ms of the 80 ms pdftotext spends on a one-page form. Text does not depend on it, so
# in the copy given to pdftotext the catalog's key is renamed, same length, so that no offset
# moves; only there: the same bytes elsewhere (in a page's text, say) stay as they are.
_OUTPUT_INTENTS = b"/OutputIntents"
_IGNORED = b"/OutputIntentZ"
TIMEOUT = 60.0  # seconds for pdftotext on one file


class UnreadableText(Exception):
    """poppler could not read the text of a PDF in time."""


@dataclass(frozen=True)
class Line:
    """One line of text; coordinates in points from the page's top left, as poppler gives."""

    left: float
    top: float
    right: float
    text: str


@dataclass(frozen=True)
class Page:
    height: float
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class PrintedText:
    pages: tuple[Page, ...]

    def compact(self) -> str:
        """All the text with no whitespace: Thai wraps without spaces, so phrases are
        compared with whitespace removed."""
        return "".join(word for page in self.pages for line in page.lines
                       for word in line.text.split())

    def name_under(self, page: int, box: tuple[float, ...]) -> str | None:
        """The name the form prints as "( name )" under a signature box (PDF coordinates:
        left, bottom, right, top)."""
        if page >= len(self.pages):
            return None
        left, bottom, right = box[0], box[1], box[2]
        height, lines = self.pages[page].height, self.pages[page].lines
        below = height - bottom
        for line in sorted(lines, key=lambda line: line.top):
            found = _PRINTED.match(line.text)
            if (found and below <= line.top <= below + _BELOW
                    and line.left < right and line.right > left):
                return found.group(1)
        return None


def read(pdf: bytes, catalog_at: int | None = None) -> PrintedText:
    """The text of every page of ``pdf``; empty when poppler cannot read it
    (:class:`~pipeline.external.tools.MissingProgram` when it is not installed). ``catalog_at``
    is the offset of the (uncompressed) document catalog, to spare poppler its colour set-up
    (see above)."""
    try:
        run = subprocess.run([tools.path(tools.PDFTOTEXT), "-bbox-layout", "-", "-"],
                             input=_without_output_intents(pdf, catalog_at),
                             capture_output=True, check=False, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise UnreadableText(f"pdftotext did not finish within {TIMEOUT:.0f} s") from None
    out = run.stdout.decode("utf-8", errors="replace")
    return PrintedText(tuple(
        Page(float(height), tuple(Line(float(x0), float(y0), float(x1), _words(body))
                                  for x0, y0, x1, _y1, body in _LINE.findall(content)))
        for _width, height, content in _PAGE.findall(out)))


def _without_output_intents(pdf: bytes, catalog_at: int | None) -> bytes:
    if catalog_at is None:
        return pdf
    end = pdf.find(b"endobj", catalog_at)
    key = pdf.find(_OUTPUT_INTENTS, catalog_at, end)
    if end < 0 or key < 0:
        return pdf
    return pdf[:key] + _IGNORED + pdf[key + len(_IGNORED):]


def _words(line: str) -> str:
    return " ".join(html.unescape(w) for w in _WORD.findall(line))
