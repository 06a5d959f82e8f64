"""Writing request sheets: a blank one for staff, and values into one by defined name.

The blank sheet carries a workbook-level defined name per field, so that reading finds each
cell by name, never by address (``sheet.py``); drop-down lists of the office's work groups,
categories (or their numbers, as the hint allows), the open publication obligations and
providers (whose names must match the settings exactly); a date check on the request date;
rows high enough for 16 pt text; the office's own values (unit, approver, publisher) already
filled in; and it prints on one A4 page.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from pipeline.core import fsutil
from pipeline.core.request import FIELDS
from pipeline.settings.config import Config
from pipeline.settings.obligations import Obligation

SHEET_TITLE = "คำขอ"
LISTS_TITLE = "รายการ"
TEMPLATE_VERSION = "1"
VERSION_PROPERTY = "pipeline_template_version"
FIRST_ROW = 5
# A date in the Thai Buddhist calendar (calendar 07, locale 041E) that Excel, LibreOffice and
# WPS all read as a date format.
DATE_FORMAT = "[$-107041E]d mmmm yyyy"
# Row heights in points: 16 pt TH Sarabun needs about 24 pt a line; the long fields a few.
# Columns fit the A4 width at about 90 %; a label or hint longer than a line gets two.
ROW_HEIGHT = 24
ROW_HEIGHTS = {"title": 48, "detail": 130, "link": 48, "note": 48, "attachments": 60}
COLUMN_WIDTHS = (36, 48, 32)
LABEL_CHARS, HINT_CHARS = 28, 44
_THIN = Side(style="thin", color="999999")


def new_request(path: Path, config: Config,
                obligations: Sequence[Obligation] | None = None) -> None:
    """Write a blank request sheet: labels, instructions, drop-down lists, defined names,
    and the office's own values (unit, approver, publisher) already filled in. The
    obligation cell's drop-down lists ``obligations`` (the open ones, which the caller
    works out from the archive: ``records/obligations.open_obligations``), by default every
    obligation of the config."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_TITLE
    lists = wb.create_sheet(LISTS_TITLE)
    lists.sheet_state = "hidden"
    wb.custom_doc_props.append(StringProperty(name=VERSION_PROPERTY, value=TEMPLATE_VERSION))

    ws["A1"] = "แบบคำขอเผยแพร่ข้อมูลผ่านเว็บไซต์ / Request to publish on the website"
    ws["A1"].font = Font(name="TH Sarabun PSK", size=18, bold=True)
    ws["A2"] = ("กรอกข้อมูลในช่องสีเหลือง แล้วบันทึกเป็น .xlsx และวางไฟล์ในโฟลเดอร์ inbox "
                "(ไฟล์แนบให้วางไว้ในโฟลเดอร์เดียวกัน) / Fill in the yellow cells, save as .xlsx "
                "and drop the file (and its attachments) into the inbox folder.")
    ws["A3"] = f"แบบฟอร์มรุ่นที่ {TEMPLATE_VERSION} / template version {TEMPLATE_VERSION}"
    ws["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells("A2:C2")
    ws.row_dimensions[2].height = 48

    prefilled = {
        "unit": config.unit,
        "approver_name": config.director.person.name,
        "approver_position": config.director.person.position,
        "publisher_name": config.publisher.name,
        "publisher_position": config.publisher.position,
    }
    input_fill = PatternFill("solid", fgColor="FFF2CC")
    for offset, spec in enumerate(FIELDS):
        row = FIRST_ROW + offset
        label = ws.cell(row, 1, f"{spec.label}{' *' if spec.required else ''}")
        label.font = Font(name="TH Sarabun PSK", size=16, bold=True)
        label.alignment = Alignment(vertical="top", wrap_text=True)
        cell = ws.cell(row, 2, prefilled.get(spec.name))
        cell.fill = input_fill
        cell.border = Border(_THIN, _THIN, _THIN, _THIN)
        cell.font = Font(name="TH Sarabun PSK", size=16)
        cell.alignment = Alignment(vertical="top", wrap_text=True)
        cell.number_format = DATE_FORMAT if spec.name == "request_date" else "@"
        two_lines = len(spec.label) > LABEL_CHARS or len(spec.hint) > HINT_CHARS
        ws.row_dimensions[row].height = ROW_HEIGHTS.get(spec.name,
                                                        2 * ROW_HEIGHT if two_lines else ROW_HEIGHT)
        hint = ws.cell(row, 3, spec.hint)
        hint.font = Font(name="TH Sarabun PSK", size=12, italic=True, color="666666")
        hint.alignment = Alignment(vertical="top", wrap_text=True)
        ref = f"'{SHEET_TITLE}'!${cell.column_letter}${row}"
        wb.defined_names[spec.name] = DefinedName(spec.name, attr_text=ref)

    _add_list(wb, lists, ws, "work_group", 1, config.work_groups)
    # the hint allows the category's number (1-10): Excel warns, and keeps it if asked to
    _add_list(wb, lists, ws, "category", 2, config.categories, number_allowed=True)
    listed = config.obligations.items if obligations is None else obligations
    _add_list(wb, lists, ws, "obligation", 3, tuple(o.label() for o in listed))
    _add_list(wb, lists, ws, "provider_name", 4, tuple(p.person.name for p in config.providers))
    _add_date_check(ws)
    for letter, width in zip("ABC", COLUMN_WIDTHS, strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = None
    _one_a4_page(ws, FIRST_ROW + len(FIELDS) - 1)
    save_atomically(wb, path)


def _row_of(name: str) -> int:
    return FIRST_ROW + [f.name for f in FIELDS].index(name)


def _add_date_check(ws) -> None:
    """The request date: a date between the years inputs.year allows. A date typed as text
    (``25 พ.ย. 2569``, as the hint allows) is warned about, and kept if the clerk says so."""
    dv = DataValidation(type="date", operator="between", formula1="DATE(1957,1,1)",
                        formula2="DATE(2157,12,31)", allow_blank=True, showErrorMessage=True,
                        errorStyle="warning", errorTitle="วันที่ / date",
                        error="ควรเป็นวันที่ เช่น 25/11/2569 (กด ใช่ เพื่อเก็บค่าที่พิมพ์) / "
                              "should be a date such as 25/11/2569 (Yes keeps what you typed)")
    ws.add_data_validation(dv)
    dv.add(ws.cell(_row_of("request_date"), 2))


def _one_a4_page(ws, last_row: int) -> None:
    """Printing the blank sheet gives one A4 page, labels beside their cells: portrait,
    fitted to one page wide and tall, narrow margins, the form's rows only."""
    ws.print_area = f"A1:C{last_row}"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth = ws.page_setup.fitToHeight = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    ws.print_options.horizontalCentered = True


def _add_list(wb: Workbook, lists, ws, name: str, column: int, values: tuple[str, ...], *,
              number_allowed: bool = False) -> None:
    if not values:  # an office without providers or obligations yet: nothing to choose from
        return
    for i, value in enumerate(values, start=1):
        lists.cell(i, column, value).data_type = "s"
    letter = lists.cell(1, column).column_letter
    list_name = f"list_{name}"
    wb.defined_names[list_name] = DefinedName(
        list_name, attr_text=f"'{LISTS_TITLE}'!${letter}$1:${letter}${len(values)}")
    error = (f"เลือกจากรายการ หรือพิมพ์เลข 1-{len(values)} (กด ใช่ เพื่อเก็บเลขที่พิมพ์) / "
             f"choose from the list or type 1-{len(values)} (Yes keeps the number)"
             if number_allowed else "กรุณาเลือกจากรายการ / please choose from the list")
    dv = DataValidation(type="list", formula1=f"={list_name}", allow_blank=True,
                        showErrorMessage=True, errorTitle="ค่าไม่อยู่ในรายการ", error=error,
                        errorStyle="warning" if number_allowed else "stop")
    ws.add_data_validation(dv)
    dv.add(ws.cell(_row_of(name), 2))


def save_atomically(wb: Workbook, path: Path) -> None:
    fsutil.write_via(path, lambda partial: wb.save(partial))


def named_cell(wb: Workbook, name: str) -> Cell:
    """The cell a workbook-level defined name points to."""
    title, ref = next(iter(wb.defined_names[name].destinations))
    return wb[title][ref.replace("$", "")]


def fill(path: Path, values: dict[str, object]) -> None:
    """Write values into a request sheet by defined name (used by the demo and by tests to
    play the clerk). Values are stored as data: text stays text, never a formula."""
    wb = load_workbook(path)
    for name, value in values.items():
        cell = named_cell(wb, name)
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"
    save_atomically(wb, path)
