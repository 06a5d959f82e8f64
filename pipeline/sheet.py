"""The request sheet staff fill in Excel: writing a blank one and reading a filled one.

Cells are found by workbook-level defined names, never by address, so a sheet whose rows a
clerk moved or restyled still reads. Every problem names the Thai label, the defined name and
the cell, so the clerk knows exactly what to fix.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from pipeline import thai
from pipeline.config import Config
from pipeline.request import Person, Problem, Request, SheetResult

SHEET_TITLE = "คำขอ"
LISTS_TITLE = "รายการ"
TEMPLATE_VERSION = "1"


@dataclass(frozen=True)
class Field:
    name: str  # the workbook-level defined name
    label: str  # Thai label shown beside the cell
    english: str
    required: bool = True
    hint: str = ""


FIELDS: tuple[Field, ...] = (
    Field("unit", "ชื่อหน่วยงาน", "unit"),
    Field("work_group", "กลุ่มงาน", "work group", hint="เลือกจากรายการ / choose from the list"),
    Field("request_date", "วัน/เดือน/ปี", "request date",
          hint="เช่น 25/11/2569 หรือ 25 พ.ย. 2569 / e.g. 25/11/2569"),
    Field("title", "หัวข้อ", "title"),
    Field("category", "ประเภทข้อมูล", "category", hint="เลือกจากรายการ / choose from the list"),
    Field("detail", "รายละเอียดข้อมูล (โดยสรุปหรือเอกสารแนบ)", "detail"),
    Field("link", "Link ภายนอก", "external link", required=False, hint="https://..."),
    Field("note", "หมายเหตุ", "note", required=False),
    Field("attachments", "ไฟล์แนบ", "attachments", required=False,
          hint="ชื่อไฟล์ที่วางไว้คู่กับแบบฟอร์มนี้ บรรทัดละหนึ่งไฟล์ / file names, one per line"),
    Field("provider_name", "ผู้รับผิดชอบการให้ข้อมูล: ชื่อ", "provider's name"),
    Field("provider_position", "ผู้รับผิดชอบการให้ข้อมูล: ตำแหน่ง", "provider's position"),
    Field("approver_name", "ผู้อนุมัติรับรอง: ชื่อ", "approver's name"),
    Field("approver_position", "ผู้อนุมัติรับรอง: ตำแหน่ง", "approver's position"),
    Field("publisher_name", "ผู้รับผิดชอบการนำข้อมูลขึ้นเผยแพร่: ชื่อ", "publisher's name",
          required=False),
    Field("publisher_position", "ผู้รับผิดชอบการนำข้อมูลขึ้นเผยแพร่: ตำแหน่ง",
          "publisher's position", required=False),
)
FIELD_BY_NAME = {f.name: f for f in FIELDS}
FIRST_ROW = 5
_THIN = Side(style="thin", color="999999")


def new_request(path: Path, config: Config) -> None:
    """Write a blank request sheet: labels, instructions, drop-down lists, defined names,
    and the office's own values (unit, approver, publisher) already filled in."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_TITLE
    lists = wb.create_sheet(LISTS_TITLE)
    lists.sheet_state = "hidden"

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
        cell.number_format = "@"
        if spec.name == "request_date":
            cell.number_format = "[$-th-TH,107]d mmmm yyyy"
        if spec.name in ("detail", "attachments", "note"):
            ws.row_dimensions[row].height = 90 if spec.name == "detail" else 40
        ws.cell(row, 3, spec.hint).font = Font(name="TH Sarabun PSK", size=14, italic=True,
                                                color="666666")
        ref = f"'{SHEET_TITLE}'!${cell.column_letter}${row}"
        wb.defined_names[spec.name] = DefinedName(spec.name, attr_text=ref)

    _add_list(wb, lists, ws, "work_group", 1, config.work_groups)
    _add_list(wb, lists, ws, "category", 2, config.categories)
    ws.column_dimensions["A"].width = 42
    ws.column_dimensions["B"].width = 70
    ws.column_dimensions["C"].width = 45
    ws.freeze_panes = None
    _save_atomically(wb, path)


def _add_list(wb: Workbook, lists, ws, name: str, column: int, values: tuple[str, ...]) -> None:
    for i, value in enumerate(values, start=1):
        lists.cell(i, column, value)
    letter = lists.cell(1, column).column_letter
    list_name = f"list_{name}"
    wb.defined_names[list_name] = DefinedName(
        list_name, attr_text=f"'{LISTS_TITLE}'!${letter}$1:${letter}${len(values)}")
    dv = DataValidation(type="list", formula1=f"={list_name}", allow_blank=True,
                        showErrorMessage=True, errorTitle="ค่าไม่อยู่ในรายการ",
                        error="กรุณาเลือกจากรายการ / please choose from the list")
    ws.add_data_validation(dv)
    dv.add(ws.cell(FIRST_ROW + [f.name for f in FIELDS].index(name), 2))


def _save_atomically(wb: Workbook, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    wb.save(tmp)
    tmp.replace(path)


def read_sheet(path: Path, config: Config) -> SheetResult:
    """Read and validate a filled sheet; report every problem at once."""
    try:
        wb = load_workbook(path, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        return _file_problem(
            "ไฟล์นี้ไม่ใช่ไฟล์ Excel (.xlsx) ที่อ่านได้ กรุณาบันทึกใหม่เป็น .xlsx",
            f"this file is not a readable Excel workbook (.xlsx); save it again as .xlsx "
            f"({type(exc).__name__})")
    cells: dict[str, tuple[object, str]] = {}
    missing = []
    for spec in FIELDS:
        located = _locate(wb, spec.name)
        if located is None:
            missing.append(spec.name)
        else:
            cells[spec.name] = located
    if missing:
        names = ", ".join(missing)
        return _file_problem(
            f"แบบฟอร์มนี้ไม่ใช่รุ่นปัจจุบัน (ไม่พบช่อง {names}) กรุณาสร้างแบบฟอร์มใหม่ด้วยคำสั่ง "
            f"pipeline new-request",
            f"this is not the current request template (version {TEMPLATE_VERSION}); the named "
            f"cells {names} are missing. Get a new one with `pipeline new-request`")
    return _validate(cells, config)


def _file_problem(thai_text: str, english: str) -> SheetResult:
    return SheetResult(None, (Problem("", "", thai_text, english),))


def _locate(wb: Workbook, name: str) -> tuple[object, str] | None:
    defined = wb.defined_names.get(name)
    if defined is None:
        return None
    for title, ref in defined.destinations:
        if title in wb.sheetnames:
            cell = wb[title][ref.replace("$", "").split(":")[0]]
            return cell.value, f"{title}!{cell.coordinate}"
    return None


def _validate(cells: dict[str, tuple[object, str]], config: Config) -> SheetResult:
    problems: list[Problem] = []

    def problem(name: str, thai_text: str, english: str) -> None:
        spec = FIELD_BY_NAME[name]
        cell = cells[name][1]
        problems.append(Problem(name, cell, f"{spec.label}: {thai_text}",
                                f"{spec.english} ({name}): {english}"))

    text: dict[str, str] = {}
    for spec in FIELDS:
        value, _cell = cells[spec.name]
        if isinstance(value, datetime | date):
            text[spec.name] = ""
            continue
        text[spec.name] = thai.normalize_text("" if value is None else str(value))
        if spec.required and not text[spec.name]:
            problem(spec.name, "ว่าง กรุณากรอก", "is empty; please fill it in")

    request_date = _request_date(cells["request_date"][0])
    if request_date is None and cells["request_date"][0] not in (None, ""):
        problem("request_date", "อ่านวันที่ไม่ได้ ให้พิมพ์เช่น 25/11/2569",
                "is not a date; type e.g. 25/11/2569")
    work_group = _choose(text["work_group"], config.work_groups)
    if text["work_group"] and work_group is None:
        problem("work_group", f"ไม่อยู่ในรายการ ({', '.join(config.work_groups)})",
                "is not one of the configured work groups; choose from the list")
    category = _choose(text["category"], config.categories)
    if text["category"] and category is None:
        problem("category", "ไม่อยู่ในรายการประเภทข้อมูล ๑๐ ประเภท",
                "is not one of the categories; choose from the list or type its number 1-10")
    if text["link"] and not text["link"].lower().startswith(("http://", "https://")):
        problem("link", "ต้องขึ้นต้นด้วย http:// หรือ https://", "must start with http(s)://")
    attachments = tuple(n for n in (x.strip() for x in text["attachments"].split("\n")) if n)
    for name in attachments:
        if "/" in name or "\\" in name or name in (".", ".."):
            problem("attachments", f"ชื่อไฟล์ '{name}' ต้องเป็นชื่อไฟล์อย่างเดียว ไม่มีโฟลเดอร์",
                    f"'{name}' must be a plain file name, without folders")
    if text["approver_name"] and (
            thai.name_key(text["approver_name"]) != thai.name_key(config.director.person.name)):
        problem("approver_name", f"ต้องเป็นผู้อนุมัติที่กำหนดไว้ ({config.director.person.name})",
                f"must be the configured approver ({config.director.person.name})")
    if problems or request_date is None or work_group is None or category is None:
        return SheetResult(None, tuple(problems))
    return SheetResult(Request(
        unit=text["unit"],
        work_group=work_group,
        request_date=request_date,
        title=text["title"],
        category=category,
        detail=text["detail"],
        link=text["link"],
        note=text["note"],
        attachments=attachments,
        provider=Person(text["provider_name"], text["provider_position"]),
        approver=Person(text["approver_name"], text["approver_position"]),
        publisher=Person(text["publisher_name"] or config.publisher.name,
                         text["publisher_position"] or config.publisher.position),
    ))


def _request_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        return thai.parse_date(value)
    return None


def _choose(value: str, allowed: tuple[str, ...]) -> str | None:
    """The allowed value meant by ``value``: the label itself (ignoring spacing) or its number."""
    if not value:
        return None
    number = thai.arabic_digits(value).strip().rstrip(".")
    if number.isdigit() and 1 <= int(number) <= len(allowed):
        return allowed[int(number) - 1]
    key = "".join(value.split())
    for item in allowed:
        if "".join(item.split()) == key:
            return item
    return None


def fill(path: Path, values: dict[str, object]) -> None:
    """Write values into a request sheet by defined name (used by the demo and by tests to
    play the clerk). Values are stored as data: text stays text, never a formula."""
    wb = load_workbook(path)
    for name, value in values.items():
        located = wb.defined_names[name].destinations
        title, ref = next(iter(located))
        cell = wb[title][ref.replace("$", "")]
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"
    _save_atomically(wb, path)


def annotate(path: Path, out: Path, problems: tuple[Problem, ...]) -> bool:
    """A copy of the sheet with each offending cell highlighted and commented, so the clerk
    fixes it in place. Returns False when the file cannot be opened as a workbook."""
    try:
        wb = load_workbook(path)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        return False
    red = PatternFill("solid", fgColor="F4CCCC")
    for p in problems:
        if not p.cell or "!" not in p.cell:
            continue
        title, ref = p.cell.rsplit("!", 1)
        cell = wb[title][ref]
        cell.fill = red
        note = f"{p.thai}\n{p.english}"
        if cell.comment:
            note = f"{cell.comment.text}\n{note}"
        cell.comment = Comment(note, "pipeline", width=400, height=120)
    _save_atomically(wb, out)
    return True
