"""The date printed under a signature that comes after the certification (the director's,
the publisher's): a read-only text field over the form's dotted "วันที่ ……/……/……", made
with the signature fields before the provider certifies, and filled by the signature's own
revision with the day it is made (Thai digits, Buddhist Era, as the provider's date is
printed). Filling a form field is what the certification permits (DocMDP level 2), so the
earlier signatures stay valid.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.stamp import TextStamp, TextStampStyle

from pipeline.core import thai

# Template contract: a bookmark just before the date's placeholder; the field starts there.
BOOKMARKS = {"director": "DateDirector", "publisher": "DatePublisher"}
WIDTH, HEIGHT = 150.0, 25.0  # covers the dots (130 pt at 16 pt) and a long Thai date
FONT_SIZE = 16  # the form's own size
_READ_ONLY, _PRINT = 1, 4  # /Ff and /F flags


def field_name(role: str) -> str:
    return f"{role}-date"


def add_fields(writer: IncrementalPdfFileWriter, boxes: dict[str, tuple[int, float, float]]
               ) -> None:
    """An empty date field per role in ``boxes`` (page index, left, top of the line): its
    empty appearance lets the form's dots show until it is filled."""
    for role, (page, left, top) in boxes.items():
        page_ref = writer.find_page_for_modification(page)[0]
        rect = (left, top - HEIGHT, left + WIDTH, top)
        widget = generic.DictionaryObject({
            generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/Widget"),
            generic.pdf_name("/FT"): generic.pdf_name("/Tx"),
            generic.pdf_name("/T"): generic.pdf_string(field_name(role)),
            generic.pdf_name("/Ff"): generic.NumberObject(_READ_ONLY),
            generic.pdf_name("/F"): generic.NumberObject(_PRINT),
            generic.pdf_name("/DA"): generic.pdf_string("0 g"),
            generic.pdf_name("/Rect"): generic.ArrayObject(
                generic.FloatObject(v) for v in rect),
            generic.pdf_name("/P"): page_ref,
            generic.pdf_name("/AP"): generic.DictionaryObject(
                {generic.pdf_name("/N"): writer.add_object(_xobject(b""))}),
        })
        ref = writer.add_object(widget)
        page_obj = page_ref.get_object()
        if "/Annots" in page_obj:
            annots = page_obj["/Annots"]
            annots.append(ref)
            writer.update_container(annots)
        else:
            page_obj["/Annots"] = generic.ArrayObject([ref])
            writer.update_container(page_obj)
        form = writer.root["/AcroForm"]
        form["/Fields"].append(ref)
        writer.update_container(form["/Fields"])


def fill(writer: IncrementalPdfFileWriter, role: str, day: date, font: Path) -> bool:
    """Write ``day`` into the role's date field, as part of the revision the role's
    signature then signs. False when the form has no such field (made from a template
    without the date bookmarks): its date stays dotted."""
    if "/AcroForm" not in writer.root:  # (a dictionary .get would not resolve the reference)
        return False
    for ref in writer.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if field.get("/T") != field_name(role):
            continue
        text = thai.long_date(day)
        style = TextStampStyle(
            stamp_text="%(date)s", border_width=0, background=None,
            text_box_style=TextBoxStyle(
                font=GlyphAccumulatorFactory(str(font), ot_script_tag="thai",
                                             ot_language_tag="THA ", bcp47_lang_code="th"),
                font_size=FONT_SIZE,
                box_layout_rule=layout.SimpleBoxLayoutRule(
                    x_align=layout.AxisAlignment.ALIGN_MIN,
                    y_align=layout.AxisAlignment.ALIGN_MID,
                    margins=layout.Margins(left=0, right=0, top=0, bottom=0))),
            inner_content_layout=layout.SimpleBoxLayoutRule(
                x_align=layout.AxisAlignment.ALIGN_MIN, y_align=layout.AxisAlignment.ALIGN_MID))
        stamp = TextStamp(writer, style, {"date": text}, layout.BoxConstraints(WIDTH, HEIGHT))
        field["/V"] = generic.pdf_string(text)
        # white over the dots, then the date
        shown = _xobject(b"q 1 g 0 0 %g %g re f Q /Date Do" % (WIDTH, HEIGHT))
        shown["/Resources"]["/XObject"] = generic.DictionaryObject(
            {generic.pdf_name("/Date"): writer.add_object(stamp.as_form_xobject())})
        field["/AP"] = generic.DictionaryObject(
            {generic.pdf_name("/N"): writer.add_object(shown)})
        writer.update_container(field)
        return True
    return False


def _xobject(content: bytes) -> generic.StreamObject:
    return generic.StreamObject({
        generic.pdf_name("/Type"): generic.pdf_name("/XObject"),
        generic.pdf_name("/Subtype"): generic.pdf_name("/Form"),
        generic.pdf_name("/BBox"): generic.ArrayObject(
            generic.FloatObject(v) for v in (0, 0, WIDTH, HEIGHT)),
        generic.pdf_name("/Resources"): generic.DictionaryObject(),
    }, stream_data=content)
