"""Reading the detail back from a rendered form, wherever it printed: in the box, and when it
was too long for the box, on the pages after the form (รายละเอียดเพิ่มเติม)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pipeline.form.render import CONTINUED

BOX_LABEL = "รายละเอียดข้อมูล(โดยสรุปหรือเอกสารแนบ):"
NEXT_IN_BOX = "Linkภายนอก:"
HEADING, GOES_ON = "รายละเอียดเพิ่มเติม", "รายละเอียดข้อมูล(ต่อ):"


def squash(text: str) -> str:
    """Text without any whitespace: Thai lines wrap without a space, and pdftotext adds
    spaces and line breaks, never letters."""
    return "".join(text.split())


def pdftotext(pdf: Path, first: int = 1, last: int | None = None) -> str:
    pages = ["-f", str(first)] + ([] if last is None else ["-l", str(last)])
    return subprocess.run(["pdftotext", "-raw", *pages, str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def detail_parts(pdf: Path) -> tuple[str, str]:
    """The detail (whitespace removed) as the box prints it, and as the pages after the form
    go on with it ("" when it all fit)."""
    box = squash(pdftotext(pdf, 1, 1)).split(BOX_LABEL, 1)[1]
    if squash(CONTINUED) not in box:
        return box.split(NEXT_IN_BOX, 1)[0], ""
    after = squash(pdftotext(pdf, 2))
    assert after.startswith(HEADING), after[:80]
    return box.split(squash(CONTINUED), 1)[0], after.split(GOES_ON, 1)[1]


def printed_detail(pdf: Path) -> str:
    return "".join(detail_parts(pdf))
