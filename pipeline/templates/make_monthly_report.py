"""Write ``pipeline/templates/monthly_report.docx``: the monthly (and fiscal-year) report to
the head of the office, รายงานผลการเผยแพร่ข้อมูลต่อสาธารณะผ่านเว็บไซต์ และสรุปปัญหาอุปสรรค.

Run it with the project's environment:
``.venv/bin/python pipeline/templates/make_monthly_report.py``.

It keeps the form's conventions (make_approval_form.py, whose helpers it uses): A4, Laksaman
16 pt, every ``{{ placeholder }}`` in one run. Lists are docxtpl table-row loops: a row holding
only ``{%tr for ... %}``, the repeated row, a row holding only ``{%tr endfor %}``; a list that
may be empty sits between ``{%p if ... %}`` and ``{%p endif %}`` paragraphs. The director's
acknowledgement box is an empty paragraph exactly ``STAMP_HEIGHT`` high carrying the bookmark
``SigAcknowledged``, in a column wider than the 226 pt signature field: keep it when editing.

Two rules of its own: Latin text is English (``w:lang w:val``; Thai stays th-TH as the
complex script), so a request ID breaks only where English breaks, and the report's
hyphens in IDs are non-breaking (report_files); and the last section and the signatures
are one table row that cannot split (the signature table nested in it), so the signature
block never stands alone on a page.
"""

from __future__ import annotations

import sys

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table
from make_approval_form import (
    DOTS,
    _body_width,
    _borders,
    _element,
    _paragraph,
    _setup_page_and_font,
    _stamp_area,
    _table,
    write,
)

BOOKMARK = "SigAcknowledged"
ALL_EDGES = ("top", "left", "bottom", "right", "insideH", "insideV")
NUMBER_WIDTH = Mm(22)
ITEM_COLUMNS = (Mm(10), Mm(50), None, Mm(36))  # ที่, เลขที่คำขอ, เรื่อง (the rest), วันที่

# (heading, list name, date column heading) of the item lists
LISTS = (
    ("๓. รายการที่ขอเผยแพร่", "requested", "วันที่รับ"),
    ("๔. รายการที่อนุมัติ", "approved", "วันที่อนุมัติ"),
    ("๕. รายการที่เผยแพร่แล้ว (วันที่และ URL)", "published", "วันที่เผยแพร่"),
    ("๖. รายการที่ไม่ผ่าน (ส่งกลับแก้ไข / ไม่อนุมัติ) และเหตุผล", "not_passed", "วันที่"),
    ("๗. รายการที่รอดำเนินการ และระยะเวลาที่รอ", "waiting", "รอตั้งแต่"),
)
COUNT_FIELDS = ("requested", "approved", "published", "not_passed")
COUNT_HEADS = ("คำขอ", "อนุมัติ", "เผยแพร่", "ไม่ผ่าน")


def build() -> DocxDocument:
    doc = Document()
    _setup_page_and_font(doc)
    _latin_in_english(doc)
    section = doc.sections[0]
    section.top_margin, section.bottom_margin = Mm(20), Mm(15)
    section.left_margin, section.right_margin = Mm(20), Mm(15)
    width = _body_width(doc)
    center = WD_ALIGN_PARAGRAPH.CENTER

    _paragraph(doc.add_paragraph(), "{{ title }}", align=center, bold=True)
    _paragraph(doc.add_paragraph(), "{{ unit }}", align=center)
    _paragraph(doc.add_paragraph(), "{{ scope }}", align=center)
    _paragraph(doc.add_paragraph(), "ประจำ{{ period }}", align=center)
    _paragraph(doc.add_paragraph(), "ข้อมูล ณ วันที่ {{ as_of }}", align=center)

    _heading(doc, "๑. สรุปผลการดำเนินงาน")
    summary = _grid(doc, rows=6, widths=(width - NUMBER_WIDTH * 3, NUMBER_WIDTH * 3))
    _row(summary, 0, ("รายการ", "จำนวน (เรื่อง)"), bold=True)
    for i, (label, name) in enumerate((
            ("ขอเผยแพร่", "requested_count"), ("อนุมัติ", "approved_count"),
            ("เผยแพร่แล้ว", "published_count"),
            ("ไม่ผ่าน (ส่งกลับแก้ไข / ไม่อนุมัติ)", "not_passed_count"),
            ("รอดำเนินการ", "waiting_count")), start=1):
        _row(summary, i, (label, f"{{{{ {name} }}}}"), align_last=True)

    _heading(doc, "๒. จำนวนตามประเภทข้อมูลที่เผยแพร่")
    _counts_table(doc, width, "ประเภทข้อมูล", "categories", "totals")

    _paragraph(doc.add_paragraph(), "{%p if months %}")
    _heading(doc, "๒.๑ จำนวนรายเดือนในปีงบประมาณ")
    _counts_table(doc, width, "เดือน", "months", "month_totals")
    _paragraph(doc.add_paragraph(), "{%p endif %}")

    for heading, name, date_head in LISTS:
        _heading(doc, heading)
        _paragraph(doc.add_paragraph(), f"{{%p if {name} %}}")
        _items_table(doc, width, name, date_head)
        _paragraph(doc.add_paragraph(), "{%p else %}")
        _paragraph(doc.add_paragraph(), "- ไม่มี -", align=center)
        _paragraph(doc.add_paragraph(), "{%p endif %}")

    _heading(doc, "๘. ภาระการเผยแพร่ตามกำหนด (ผู้รับผิดชอบตามแนวทางการเผยแพร่ ข้อ ๒ ก)")
    _paragraph(doc.add_paragraph(), "{%p if obligations %}")
    _obligations_table(doc, width)
    _paragraph(doc.add_paragraph(), "{%p else %}")
    _paragraph(doc.add_paragraph(), "- ไม่ได้กำหนดไว้ -", align=center)
    _paragraph(doc.add_paragraph(), "{%p endif %}")
    _paragraph(doc.add_paragraph(), "{%p if evidence %}")
    _heading(doc, "๘.๑ หลักฐานตามตัวชี้วัด ITA")
    _paragraph(doc.add_paragraph(), "{%p for ind in evidence %}")
    _paragraph(doc.add_paragraph(), "ตัวชี้วัด {{ ind.indicator }}: {{ ind.titles }}", bold=True)
    _paragraph(doc.add_paragraph(), "{%p if ind.entries %}")
    _items_table(doc, width, "ind.entries", "วันที่เผยแพร่")
    _paragraph(doc.add_paragraph(), "{%p else %}")
    _paragraph(doc.add_paragraph(), "- ไม่มีหลักฐานในช่วงนี้ -", align=center)
    _paragraph(doc.add_paragraph(), "{%p endif %}")
    _paragraph(doc.add_paragraph(), "{%p endfor %}")
    _paragraph(doc.add_paragraph(), "{%p endif %}")

    _heading(doc, "๙. ปัญหาอุปสรรค")
    _paragraph(doc.add_paragraph(), "{%p for p in problems %}")
    _paragraph(doc.add_paragraph(), "- {{ p }}")
    _paragraph(doc.add_paragraph(), "{%p endfor %}")
    _paragraph(doc.add_paragraph(), "{%p if not problems %}")
    _paragraph(doc.add_paragraph(), "- ไม่พบปัญหาอุปสรรคจากข้อมูลในระบบ")
    _paragraph(doc.add_paragraph(), "{%p endif %}")
    _closing(doc, width)

    props = doc.core_properties
    props.title = "รายงานผลการเผยแพร่ข้อมูลต่อสาธารณะผ่านเว็บไซต์ และสรุปปัญหาอุปสรรค"
    props.author = props.last_modified_by = ""
    props.comments = props.keywords = props.category = ""
    props.language = "th-TH"
    return doc


def _latin_in_english(doc: DocxDocument) -> None:
    """Latin text (request IDs, URLs) in English: with the Thai language LibreOffice breaks
    a line anywhere inside ``REQ-2569-00006``; Thai text keeps th-TH (``w:bidi``, the
    complex script's language)."""
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    lang = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr")).find(qn("w:lang"))
    lang.set(qn("w:val"), "en-US")


def _heading(doc: DocxDocument, text: str) -> None:
    paragraph = _paragraph(doc.add_paragraph(), text, bold=True)
    paragraph.paragraph_format.space_before = Pt(8)
    paragraph.paragraph_format.keep_with_next = True


def _grid(doc: DocxDocument, rows: int, widths: tuple[int, ...]) -> Table:
    table = _table(doc, rows=rows, widths=widths)
    _borders(table, *ALL_EDGES)
    # the first row repeats on every page the table runs over
    table.rows[0]._tr.get_or_add_trPr().append(_element("w:tblHeader"))
    return table


def _row(table: Table, index: int, texts: tuple[str, ...], *, bold: bool = False,
         align_last: bool = False) -> None:
    cells = table.rows[index].cells
    for i, (cell, text) in enumerate(zip(cells, texts, strict=True)):
        align = WD_ALIGN_PARAGRAPH.CENTER if bold or (align_last and i) else None
        _paragraph(cell.paragraphs[0], text, bold=bold, align=align)


def _loop(table: Table, index: int, tag: str) -> None:
    """A row holding only a docxtpl row tag (docxtpl removes the row itself)."""
    _paragraph(table.rows[index].cells[0].paragraphs[0], tag)


def _counts_table(doc: DocxDocument, width: int, first: str, name: str, totals: str) -> None:
    table = _grid(doc, rows=5, widths=(width - NUMBER_WIDTH * 4, *([NUMBER_WIDTH] * 4)))
    _row(table, 0, (first, *COUNT_HEADS), bold=True)
    _loop(table, 1, f"{{%tr for c in {name} %}}")
    _row(table, 2, ("{{ c.name }}", *(f"{{{{ c.{f} }}}}" for f in COUNT_FIELDS)),
         align_last=True)
    _loop(table, 3, "{%tr endfor %}")
    _row(table, 4, ("รวม", *(f"{{{{ {totals}.{f} }}}}" for f in COUNT_FIELDS)), bold=True)


def _items_table(doc: DocxDocument, width: int, name: str, date_head: str) -> None:
    fixed = sum(w for w in ITEM_COLUMNS if w is not None)
    widths = tuple(w if w is not None else width - fixed for w in ITEM_COLUMNS)
    table = _grid(doc, rows=4, widths=widths)
    _row(table, 0, ("ที่", "เลขที่คำขอ", "เรื่อง", date_head), bold=True)
    _loop(table, 1, f"{{%tr for r in {name} %}}")
    _row(table, 2, ("{{ r.no }}", "{{ r.id }}", "{{ r.subject }}", "{{ r.date }}"))
    _loop(table, 3, "{%tr endfor %}")


def _obligations_table(doc: DocxDocument, width: int) -> None:
    fixed = Mm(10) + Mm(28) + Mm(24) + Mm(52)
    table = _grid(doc, rows=4, widths=(Mm(10), width - fixed, Mm(28), Mm(24), Mm(52)))
    _row(table, 0, ("ที่", "รายการที่ต้องเผยแพร่", "กำหนด", "สถานะ", "เลขที่คำขอ (วันที่เผยแพร่)"),
         bold=True)
    _loop(table, 1, "{%tr for o in obligations %}")
    _row(table, 2, ("{{ o.no }}", "{{ o.subject }}", "{{ o.due }}", "{{ o.state }}",
                    "{{ o.evidence }}"))
    _loop(table, 3, "{%tr endfor %}")


def _closing(doc: DocxDocument, width: int) -> None:
    """The last section and the signatures, in one borderless table row that cannot split:
    LibreOffice does not keep a paragraph with the table after it, so the block never
    stands alone on a page only because it sits in the same row as its text."""
    outer = _table(doc, rows=1, widths=(width,))
    outer.rows[0]._tr.get_or_add_trPr().append(_element("w:cantSplit"))
    cell = outer.rows[0].cells[0]
    heading = _paragraph(cell.paragraphs[0], "๑๐. ข้อเสนอแนะ / แนวทางแก้ไข", bold=True)
    heading.paragraph_format.space_before = Pt(8)
    for _ in range(2):
        _paragraph(cell.add_paragraph(), DOTS * 3)
    cell.add_paragraph().paragraph_format.space_before = Pt(12)
    inner = cell.add_table(rows=1, cols=2)
    inner.autofit = False
    half = (width - Mm(4)) // 2  # the outer cell's own margins
    for column in inner.columns:
        column.width = half
        for c in column.cells:
            c.width = half
    _signatures(inner)


def _signatures(table: Table) -> None:
    """The reporter on the left (signed by hand); the head of the office on the right, whose
    acknowledgement the pipeline can sign into the SigAcknowledged box."""
    left, right = table.rows[0].cells
    center = WD_ALIGN_PARAGRAPH.CENTER
    for i, text in enumerate(("ผู้รายงาน", None, f"(ลงชื่อ){DOTS}", f"({DOTS})",
                              f"ตำแหน่ง{DOTS}")):
        paragraph = left.paragraphs[0] if i == 0 else left.add_paragraph()
        if text is None:
            paragraph.alignment = center
            _stamp_area(paragraph, "SigReporter", 10)
        else:
            _paragraph(paragraph, text, align=center, bold=(i == 0))
    for i, text in enumerate(("ทราบ", None, f"(ลงชื่อ){DOTS}", "( {{ director_name }} )",
                              "{{ director_position }}")):
        paragraph = right.paragraphs[0] if i == 0 else right.add_paragraph()
        if text is None:
            paragraph.alignment = center  # the bookmark then marks the top centre
            _stamp_area(paragraph, BOOKMARK, 11)
        else:
            _paragraph(paragraph, text, align=center, bold=(i == 0))


if __name__ == "__main__":
    write(build(), "monthly_report.docx", sys.argv)
