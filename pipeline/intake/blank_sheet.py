"""Writing request sheets: a blank one for staff, and values into one by defined name.

The blank sheet carries a workbook-level defined name per field, so that reading finds each
cell by name, never by address (``sheet.py``); drop-down lists of the office's work groups and
categories; and the office's own values (unit, approver, publisher) already filled in.
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
        if spec.name in ("detail", "attachments", "note"):
            ws.row_dimensions[row].height = 90 if spec.name == "detail" else 40
        ws.cell(row, 3, spec.hint).font = Font(name="TH Sarabun PSK", size=14, italic=True,
                                                color="666666")
        ref = f"'{SHEET_TITLE}'!${cell.column_letter}${row}"
        wb.defined_names[spec.name] = DefinedName(spec.name, attr_text=ref)

    _add_list(wb, lists, ws, "work_group", 1, config.work_groups)
    _add_list(wb, lists, ws, "category", 2, config.categories)
    listed = config.obligations.items if obligations is None else obligations
    if listed:
        _add_list(wb, lists, ws, "obligation", 3, tuple(o.label() for o in listed))
    ws.column_dimensions["A"].width = 42
    ws.column_dimensions["B"].width = 70
    ws.column_dimensions["C"].width = 45
    ws.freeze_panes = None
    save_atomically(wb, path)


def _add_list(wb: Workbook, lists, ws, name: str, column: int, values: tuple[str, ...]) -> None:
    for i, value in enumerate(values, start=1):
        lists.cell(i, column, value).data_type = "s"
    letter = lists.cell(1, column).column_letter
    list_name = f"list_{name}"
    wb.defined_names[list_name] = DefinedName(
        list_name, attr_text=f"'{LISTS_TITLE}'!${letter}$1:${letter}${len(values)}")
    dv = DataValidation(type="list", formula1=f"={list_name}", allow_blank=True,
                        showErrorMessage=True, errorTitle="ค่าไม่อยู่ในรายการ",
                        error="กรุณาเลือกจากรายการ / please choose from the list")
    ws.add_data_validation(dv)
    dv.add(ws.cell(FIRST_ROW + [f.name for f in FIELDS].index(name), 2))


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
