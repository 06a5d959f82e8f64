"""Write ``pipeline/templates/approval_form.docx``, the Ministry of Public Health's
publication request form.

Run it with the project's environment:
``.venv/bin/python pipeline/templates/make_approval_form.py``.

The form is generated, not drawn by hand, so that the rules it must keep are written down:

- every ``{{ placeholder }}`` sits in one run, so docxtpl sees it whole;
- the approver's and publisher's dates carry a bookmark (``DateDirector``, ``DatePublisher``)
  just before their placeholder, where the signing step puts the date field;
- each signature block has an empty, centred stamp paragraph exactly ``STAMP_HEIGHT`` high that
  carries a bookmark (``SigProvider``, ``SigDirector``, ``SigPublisher``). LibreOffice exports the
  bookmark as a PDF named destination at the top centre of that paragraph, and the signing step
  places a 226 x 66 pt signature field below that point (fields.FIELD_WIDTH, FIELD_HEIGHT),
  so the column must be wider than the field and the paragraph must stay empty;
- Laksaman 16 pt throughout (metric compatible with TH Sarabun PSK, the official face).

A detail too long for the box goes on over a page of its own, headed รายละเอียดเพิ่มเติม: the
renderer fills ``{{ detail_more }}``, printed only when not empty, so that the first page
keeps the whole form, signature blocks included.

Staff may edit the result in Word or LibreOffice as long as they keep those three things.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from lxml import etree

FONT = "Laksaman"
FONT_SIZE = Pt(16)
# Laksaman's own line height (1.7 em) leaves no room on one A4 page for three 64 pt stamp areas;
# 1.5 em is the least that keeps stacked marks of adjacent lines (ผู้ over ที่) apart.
LINE_HEIGHT = Pt(24)
STAMP_HEIGHT = Pt(64)
# The ู of each role heading reaches 5.9 pt below its baseline, 1.3 pt past its line: this
# space after the heading keeps it out of the stamp area.
HEADING_CLEARANCE = Pt(3)
DOTS = ".................................."
POSITION_DATE_GAP = "   "  # three spaces: reads as a gap, and the line may break there

TITLE_LINES = ("แบบฟอร์มการขอเผยแพร่ข้อมูลผ่านเว็บไซต์ของหน่วยงาน",
               "ในสังกัดสำนักงานปลัดกระทรวงสาธารณสุข")
TITLE = "".join(TITLE_LINES)
SUBTITLE = ("ตามประกาศสำนักงานปลัดกระทรวงสาธารณสุข เรื่อง แนวทางการเผยแพร่ข้อมูลต่อสาธารณะ"
            "ผ่านเว็บไซต์ของหน่วยงาน พ.ศ. ๒๕๖๑")

# (label, value) rows of the bordered box. The detail's label is too long for the label column:
# that row spans the box and the detail runs on after its label.
BOX_ROWS: tuple[tuple[str, str | None], ...] = (
    ("ชื่อหน่วยงาน:", "{{ unit }}  {{ work_group }}"),
    ("วัน/เดือน/ปี:", "{{ request_date }}"),
    ("หัวข้อ:", "{{ title }}"),
    ("รายละเอียดข้อมูล (โดยสรุปหรือเอกสารแนบ):", "{{ detail }}"),
    ("Link ภายนอก:", "{{ link }}"),
    ("หมายเหตุ:", "{{ note }}"),
    ("{%tr if attachments %}", ""),  # docxtpl drops this row and the endif's
    ("ไฟล์แนบ:", None),  # the list of attachments below its label: see _attachments
    ("{%tr endif %}", ""),
)
SPANNING_LABEL = BOX_ROWS[3][0]
# Only for a request with attachments (a form without keeps its room for the detail): each
# attachment's name and size as a line of the form, then its SHA-256 in a smaller face on a
# line of its own (64 hex digits fit the box's width at 11 pt, not at 16 pt). The renderer
# gives ``attachments`` as a list of {line, sha256}; a long list shortens the detail's part
# of the box, as any text does.
ATTACHMENT_LINES = (
    "{%p for a in attachments %}",
    "{{ a.line }}",
    "SHA-256 {{ a.sha256 }}",
    "{%p endfor %}",
)
HASH_SIZE, HASH_LINE = Pt(11), Pt(14)
CONTINUATION = (  # its own page, only when the renderer gives it text
    "{%p if detail_more %}",
    "รายละเอียดเพิ่มเติม",
    "เลขที่คำขอ {{ request_id }}   หัวข้อ {{ title }}",
    ("รายละเอียดข้อมูล (ต่อ):", " {{ detail_more }}"),
    "{%p endif %}",
)
BOX_LABEL_WIDTH = Mm(39)  # "Link ภายนอก:" in bold on one line

# (role, placeholder prefix, bookmark). Bookmark names must not contain "_": LibreOffice writes it
# as "5F" in destination names.
SIGNERS = (
    ("ผู้รับผิดชอบการให้ข้อมูล", "provider", "SigProvider"),
    ("ผู้อนุมัติรับรอง", "approver", "SigDirector"),
    ("ผู้รับผิดชอบการนำข้อมูลขึ้นเผยแพร่", "publisher", "SigPublisher"),
)

# Bookmarks before the dotted date of the blocks signed after the form is certified: the
# signing step puts a text field there, filled with the date when that signature is made.
DATE_BOOKMARKS = {"approver": "DateDirector", "publisher": "DatePublisher"}

# The w:tblPr children that may follow w:tblBorders, in schema order (Word insists on it).
_AFTER_TBL_BORDERS = ("w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption",
                      "w:tblDescription", "w:tblPrChange")
_PLACEHOLDER = re.compile(r"(\{\{ [\w.]+ \}\})")


def build() -> DocxDocument:
    doc = Document()
    _setup_page_and_font(doc)
    body_width = _body_width(doc)

    center = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(doc.add_paragraph(), "\n".join(TITLE_LINES), align=center, bold=True)
    _paragraph(doc.add_paragraph(), SUBTITLE, align=center)
    request_line = _paragraph(doc.add_paragraph(),
                              "เลขที่คำขอ {{ request_id }}   ประเภทข้อมูล {{ category }}")
    request_line.paragraph_format.space_before = Pt(2)
    request_line.paragraph_format.space_after = Pt(2)

    _box(doc, body_width)
    doc.add_paragraph().paragraph_format.line_spacing = Pt(6)  # a little air below the box
    _signatures(doc, body_width)
    _continuation(doc)

    props = doc.core_properties
    props.title = TITLE
    props.subject = SUBTITLE
    props.author = props.last_modified_by = ""
    props.comments = props.keywords = props.category = ""
    props.language = "th-TH"
    return doc


def _setup_page_and_font(doc: DocxDocument) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(10), Mm(10)
    section.left_margin, section.right_margin = Mm(20), Mm(15)

    # Explicit fonts in the document defaults: the theme attributes python-docx's template uses
    # would win over them and bring back Calibri. Thai is a complex script, so w:cs and szCs
    # are what Thai text actually uses; the th-TH language also picks LibreOffice's Thai rules.
    rpr = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    for child in list(rpr):
        rpr.remove(child)
    fonts = _element("w:rFonts", ascii=FONT, hAnsi=FONT, eastAsia=FONT, cs=FONT)
    size = str(int(FONT_SIZE.pt * 2))
    rpr.extend([fonts, _element("w:sz", val=size), _element("w:szCs", val=size),
                _element("w:lang", val="th-TH", eastAsia="th-TH", bidi="th-TH")])

    normal = doc.styles["Normal"].paragraph_format
    normal.space_before = normal.space_after = Pt(0)
    normal.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    normal.line_spacing = LINE_HEIGHT


def _body_width(doc: DocxDocument) -> int:
    section = doc.sections[0]
    width, left, right = section.page_width, section.left_margin, section.right_margin
    assert width is not None and left is not None and right is not None  # Document() sets them
    return width - left - right


def _box(doc: DocxDocument, width: int) -> None:
    """The bordered box: a label column and a value column, one row per item."""
    table = _table(doc, rows=len(BOX_ROWS), widths=(BOX_LABEL_WIDTH, width - BOX_LABEL_WIDTH))
    _borders(table, "top", "left", "bottom", "right")
    # A point of padding inside the top and bottom borders only: the rows themselves follow
    # one another at the line pitch, as the lines of the official form do.
    _cell_margins(table, top=Pt(0), bottom=Pt(0))
    for cell in table.rows[0].cells:
        _cell_padding(cell, top=Pt(1))
    # the last row printed: the note's, or the attachments' (the tag rows are dropped)
    for row in (table.rows[-4], table.rows[-2]):
        for cell in row.cells:
            _cell_padding(cell, bottom=Pt(1))
    for row, (label, value) in zip(table.rows, BOX_ROWS, strict=True):
        label_cell, value_cell = row.cells
        if value is None:
            _attachments(label_cell.merge(value_cell), label)
        elif label.startswith("{%tr"):
            _paragraph(label_cell.merge(value_cell).paragraphs[0], label)
        elif label == SPANNING_LABEL:
            paragraph = _paragraph(label_cell.merge(value_cell).paragraphs[0], label, bold=True)
            _paragraph(paragraph, f" {value}")
        else:
            _paragraph(label_cell.paragraphs[0], label, bold=True)
            _paragraph(value_cell.paragraphs[0], value)


def _attachments(cell: _Cell, label: str) -> None:
    """The attachments row spans the box: its label, then a paragraph per attachment line,
    so that a name wraps between Thai words as any text of the form does."""
    _paragraph(cell.paragraphs[0], label, bold=True)
    for text in ATTACHMENT_LINES:
        paragraph = _paragraph(cell.add_paragraph(), text)
        if text.startswith("SHA-256"):
            fmt = paragraph.paragraph_format
            fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            fmt.line_spacing = HASH_LINE
            for run in paragraph.runs:  # Latin digits use w:sz; w:szCs for a complex script
                run.font.size = HASH_SIZE
                run._r.get_or_add_rPr().append(
                    _element("w:szCs", val=str(int(HASH_SIZE.pt * 2))))


def _signatures(doc: DocxDocument, width: int) -> None:
    """Provider and approver side by side, the publisher centred below; no row splits."""
    table = _table(doc, rows=2, widths=(width // 2, width - width // 2))
    for row in table.rows:
        row._tr.get_or_add_trPr().append(_element("w:cantSplit"))
    bottom = table.rows[1].cells[0].merge(table.rows[1].cells[1])
    cells = (table.rows[0].cells[0], table.rows[0].cells[1], bottom)
    for bookmark_id, (cell, signer) in enumerate(zip(cells, SIGNERS, strict=True)):
        _signature_block(cell, *signer, bookmark_id=bookmark_id, wide=cell is bottom)
    bottom.paragraphs[0].paragraph_format.space_before = Pt(6)


def _continuation(doc: DocxDocument) -> None:
    start, heading, about, detail, end = CONTINUATION
    _paragraph(doc.add_paragraph(), start)
    title = _paragraph(doc.add_paragraph(), heading, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)
    title.paragraph_format.page_break_before = True
    _paragraph(doc.add_paragraph(), about)
    label, value = detail
    _paragraph(_paragraph(doc.add_paragraph(), label, bold=True), value)
    _paragraph(doc.add_paragraph(), end)


def _signature_block(cell: _Cell, role: str, prefix: str, bookmark: str, *,
                     bookmark_id: int, wide: bool) -> None:
    """Role, stamp area, signature line, name, position and date, centred. The full-width
    block puts its position and date on one line (they wrap apart if the position is long):
    that line is what lets the form, stamp areas and all, fit on one page."""
    position, when = f"ตำแหน่ง {{{{ {prefix}_position }}}}", f"วันที่ {{{{ {prefix}_date }}}}"
    lines = (role, None, f"(ลงชื่อ){DOTS}", f"( {{{{ {prefix}_name }}}} )",
             *((f"{position}{POSITION_DATE_GAP}{when}",) if wide else (position, when)))
    paragraph = cell.paragraphs[0]
    for i, text in enumerate(lines):
        if i:
            paragraph = cell.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if text is None:
            _stamp_area(paragraph, bookmark, bookmark_id)
        else:
            _paragraph(paragraph, text, bold=(i == 0))
            if prefix in DATE_BOOKMARKS and when in text:
                _date_mark(paragraph, f"{{{{ {prefix}_date }}}}", DATE_BOOKMARKS[prefix],
                           len(SIGNERS) + bookmark_id)
    cell.paragraphs[0].paragraph_format.space_after = HEADING_CLEARANCE


def _date_mark(paragraph: Paragraph, placeholder: str, bookmark: str, bookmark_id: int
               ) -> None:
    """A bookmark just before the date's placeholder: where the date's text field begins."""
    run = next(r for r in paragraph.runs if r.text == placeholder)
    run._r.addprevious(_element("w:bookmarkStart", id=str(bookmark_id), name=bookmark))
    run._r.addprevious(_element("w:bookmarkEnd", id=str(bookmark_id)))


def _stamp_area(paragraph: Paragraph, bookmark: str, bookmark_id: int) -> None:
    """An empty line exactly STAMP_HEIGHT high holding the bookmark the signer looks up."""
    fmt = paragraph.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = STAMP_HEIGHT
    fmt.space_before = fmt.space_after = Pt(0)
    paragraph._p.append(_element("w:bookmarkStart", id=str(bookmark_id), name=bookmark))
    paragraph._p.append(_element("w:bookmarkEnd", id=str(bookmark_id)))


def _paragraph(paragraph: Paragraph, text: str, *, align: WD_ALIGN_PARAGRAPH | None = None,
               bold: bool = False) -> Paragraph:
    """Fill ``paragraph`` with ``text``, one run per placeholder so docxtpl finds each whole."""
    if align is not None:
        paragraph.alignment = align
    for piece in _PLACEHOLDER.split(text):
        if piece:
            run = paragraph.add_run(piece)
            if bold:  # Thai is a complex script: without w:bCs it stays regular
                run.font.bold = run.font.cs_bold = True
    return paragraph


def _table(doc: DocxDocument, rows: int, widths: tuple[int, ...]) -> Table:
    table = doc.add_table(rows=rows, cols=len(widths))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, w in zip(table.columns, widths, strict=True):
        column.width = w
        for cell in column.cells:
            cell.width = w
    return table


def _borders(table: Table, *edges: str) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in edges:
        borders.append(_element(f"w:{edge}", val="single", sz="8", space="0", color="000000"))
    table._tbl.tblPr.insert_element_before(borders, *_AFTER_TBL_BORDERS)


def _cell_margins(table: Table, *, top: Pt, bottom: Pt) -> None:
    margins = OxmlElement("w:tblCellMar")
    for edge, value in (("top", top), ("bottom", bottom)):
        margins.append(_element(f"w:{edge}", w=str(int(value.pt * 20)), type="dxa"))
    table._tbl.tblPr.insert_element_before(margins, *_AFTER_TBL_BORDERS[3:])


def _cell_padding(cell: _Cell, **edges: Pt) -> None:
    margins = cell._tc.get_or_add_tcPr().first_child_found_in("w:tcMar")
    if margins is None:
        margins = OxmlElement("w:tcMar")
        cell._tc.get_or_add_tcPr().insert_element_before(
            margins, "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark",
            "w:headers", "w:cellIns", "w:cellDel", "w:cellMerge", "w:tcPrChange")
    for edge, value in edges.items():
        margins.append(_element(f"w:{edge}", w=str(int(value.pt * 20)), type="dxa"))


def _element(tag: str, **attrs: str) -> BaseOxmlElement | etree._Element:
    element = OxmlElement(tag)
    for name, value in attrs.items():
        element.set(qn(f"w:{name}"), value)
    return element


def write(document: DocxDocument, default_name: str, argv: list[str]) -> None:
    """Save a built template to ``argv[1]``, or beside this script as ``default_name``."""
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name(default_name)
    document.save(str(out))
    print(out)


if __name__ == "__main__":
    write(build(), "approval_form.docx", sys.argv)
