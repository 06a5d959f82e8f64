"""The signature stamps fill their box on the form (issue 19 point 8): measured on a really
signed form with ``pdftotext -bbox`` against the widgets' rectangles and the room the form
leaves between a block's heading and its signature line."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from pypdf import PdfReader
from seeding import archived_sample

from pipeline.signatures import signing
from pipeline.signatures.fields import FIELD_HEIGHT, FIELD_WIDTH

WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                  r"(.*?)</word>")


def _words(pdf: Path) -> tuple[float, list[tuple[str, tuple[float, float, float, float]]]]:
    """Page 1's height and words, boxes in PDF user space (origin bottom left)."""
    xml = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"],
                         check=True, capture_output=True, text=True).stdout
    height = float(re.search(r'<page width="[\d.]+" height="([\d.]+)"', xml).group(1))
    return height, [(w, (float(x0), height - float(y1), float(x1), height - float(y0)))
                    for x0, y0, x1, y1, w in WORD.findall(xml)]


def _rects(pdf: Path) -> dict[str, tuple[float, ...]]:
    page = PdfReader(pdf).pages[0]
    return {str(a.get_object()["/T"]): tuple(float(v) for v in a.get_object()["/Rect"])
            for a in page["/Annots"] if a.get_object().get("/FT") == "/Sig"}


def test_the_stamps_fill_their_box_and_stay_inside_it(processor, demo_ws, tmp_path):
    outcome = archived_sample(processor, demo_ws, tmp_path)
    pdf = outcome.bundle / f"{outcome.request_id}.pdf"
    _, words = _words(pdf)
    rects = _rects(pdf)
    for field in ("provider", "director"):
        x0, y0, x1, y1 = rects[field]
        assert (round(x1 - x0), round(y1 - y0)) == (FIELD_WIDTH, FIELD_HEIGHT)
        # pdftotext's boxes reach the font's whole ascent and descent: a line is the stamp's
        # when it lies within the field's width and its middle within the field's height
        inside = [(w, b) for w, b in words
                  if x0 - 1 <= b[0] and b[2] <= x1 + 1 and y0 <= (b[1] + b[3]) / 2 <= y1]
        assert any(w.startswith("ลงนามโดย") for w, _ in inside), field  # the stamp's text
        tops = sorted({round(b[3], 1) for _, b in inside}, reverse=True)
        assert len(tops) == 4, tops  # the stamp's four lines
        pitch = {round(a - b) for a, b in zip(tops, tops[1:], strict=False)}
        # the lines as far apart as four fit in the box (the 9 pt stamp had 14 pt: too small)
        (leading,) = pitch
        assert FIELD_HEIGHT / 4.5 <= leading <= FIELD_HEIGHT / 4, (field, leading)
        right = max(b[2] for _, b in inside)
        assert right - x0 >= 0.6 * FIELD_WIDTH, (field, right - x0)
        # the box is the room between the block's heading and its signature line
        heading = min(b[1] for w, b in words if b[1] > y1 and x0 <= (b[0] + b[2]) / 2 <= x1)
        line = max(b[3] for w, b in words if w.startswith("(ลงชื่อ)") and b[3] < y0
                   and x0 <= (b[0] + b[2]) / 2 <= x1)
        assert y1 <= heading and line <= y0, (field, heading, y1, y0, line)
        assert heading - line <= FIELD_HEIGHT + 6  # and the field takes almost all of it


def test_the_stamp_size_follows_its_text(demo_ws):
    font = demo_ws.font
    short = "\n".join(("ลงนามโดย นายอับดุลรอแม สาและ", "ผู้อนุมัติรับรอง", "ตำแหน่ง สาธารณสุขอำเภอ",
                       "วันที่ ๘ ธันวาคม ๒๕๖๙ เวลา ๑๑:๕๘ น."))
    size = signing.stamp_size(short, font, FIELD_WIDTH, FIELD_HEIGHT)
    assert size > signing.STAMP_MIN_SIZE  # larger than the old 9 pt where the box allows
    assert 4 * signing.leading(size) <= FIELD_HEIGHT
    wide = short.replace("สาธารณสุขอำเภอ", "สาธารณสุขอำเภอเมืองปัตตานี รักษาราชการแทน"
                                           "นายแพทย์สาธารณสุขจังหวัดปัตตานี")
    assert signing.stamp_size(wide, font, FIELD_WIDTH, FIELD_HEIGHT) == signing.STAMP_MIN_SIZE
    assert signing.text_width("ก" * 10, font, 10) > signing.text_width("ก" * 5, font, 10) > 0
