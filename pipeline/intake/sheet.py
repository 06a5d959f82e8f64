"""The request sheet staff fill in Excel: writing a blank one and reading a filled one.

Cells are found by workbook-level defined names, never by address, so a sheet whose rows a
clerk moved or restyled still reads. A file is first checked for what it really is (an old
.xls or an encrypted workbook renamed .xlsx, a damaged or truncated zip, a zip bomb) from its
first bytes and its zip directory, before openpyxl parses anything, so that nothing can crash
or stall the watcher. The values read are checked by ``validate.py``; every problem names the
Thai label, the defined name and the cell, so the clerk knows exactly what to fix.
"""

from __future__ import annotations

import logging
import posixpath
import re
import warnings
import zipfile
import zlib
from datetime import date, datetime
from pathlib import Path
from xml.etree import ElementTree

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.comments import Comment
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.datetime import from_excel
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.core import fsutil, guard, thai
from pipeline.core.request import FIELD_BY_NAME, FIELDS, Field, Problem, SheetResult
from pipeline.intake import validate
from pipeline.settings.config import Config, SheetRules

__all__ = ["FIELDS", "FIELD_BY_NAME", "Field", "SHEET_TITLE", "TEMPLATE_VERSION", "annotate",
           "check_file", "fill", "new_request", "read_sheet"]

log = logging.getLogger(__name__)

SHEET_TITLE = "คำขอ"
LISTS_TITLE = "รายการ"
TEMPLATE_VERSION = "1"
VERSION_PROPERTY = "pipeline_template_version"
FIRST_ROW = 5
# A date in the Thai Buddhist calendar (calendar 07, locale 041E) that Excel, LibreOffice and
# WPS all read as a date format.
DATE_FORMAT = "[$-107041E]d mmmm yyyy"
_THIN = Side(style="thin", color="999999")
_GET_TEMPLATE_TH = ("ขอแบบคำขอใหม่จากผู้ดูแลระบบ (คำสั่ง pipeline new-request) "
                    "แล้วคัดลอกข้อมูลลงไป")
_GET_TEMPLATE_EN = ("get a new blank sheet (the administrator runs `pipeline new-request "
                    "FILE.xlsx`) and copy the values into it")


def new_request(path: Path, config: Config) -> None:
    """Write a blank request sheet: labels, instructions, drop-down lists, defined names,
    and the office's own values (unit, approver, publisher) already filled in."""
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
    ws.column_dimensions["A"].width = 42
    ws.column_dimensions["B"].width = 70
    ws.column_dimensions["C"].width = 45
    ws.freeze_panes = None
    _save_atomically(wb, path)


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


def _save_atomically(wb: Workbook, path: Path) -> None:
    fsutil.write_via(path, lambda partial: wb.save(partial))


# -- what the file really is ---------------------------------------------------------------

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_OTHER_MAGICS = (
    (b"%PDF", "ไฟล์ PDF", "a PDF document"),
    (b"\x89PNG", "ไฟล์รูปภาพ", "a picture (PNG)"),
    (b"\xff\xd8\xff", "ไฟล์รูปภาพ", "a picture (JPEG)"),
    (b"GIF8", "ไฟล์รูปภาพ", "a picture (GIF)"),
    (b"Rar!", "ไฟล์บีบอัด RAR", "a RAR archive"),
    (b"7z\xbc\xaf", "ไฟล์บีบอัด 7-Zip", "a 7-Zip archive"),
    (b"\x1f\x8b", "ไฟล์บีบอัด gzip", "a gzip archive"),
    (b"{\\rtf", "เอกสาร RTF", "an RTF document"),
)
_SAVE_AS_TH = ("เปิดไฟล์ใน Excel แล้วเลือก บันทึกเป็น (Save As) ชนิด 'Excel Workbook (*.xlsx)' "
               "แล้ววางไฟล์ใหม่")
_SAVE_AS_EN = "open it in Excel, Save As 'Excel Workbook (*.xlsx)' and drop the new file"
_XML_SUFFIXES = (".xml", ".rels", ".vml")
MAX_MERGED_CELLS = 100_000
_MERGE_REF = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*?ref=\"([A-Za-z$0-9:]+)\"")
_MAX_RATIO = 200  # unpacked : packed, for a part over 1 MB; XML rarely exceeds 30


def _file_problem(thai_text: str, english: str) -> Problem:
    return Problem("", "", thai_text, english)


def _mb(size: int) -> str:
    return f"{size / (1 << 20):.1f} MB"


def check_file(path: Path, rules: SheetRules | None = None) -> tuple[Problem, ...]:
    """What is wrong with ``path`` as an .xlsx file, judged from its first bytes and its zip
    directory only (fast, bounded): empty, too large, not an .xlsx (an .xls, .xlsm, .ods or
    other file renamed), encrypted, damaged or truncated, or a zip bomb. Empty when openpyxl
    may safely open it."""
    rules = rules or SheetRules()
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as exc:
        return (_file_problem(f"อ่านไฟล์ไม่ได้ ({exc.strerror}): บันทึกและวางไฟล์ใหม่",
                              f"the file cannot be read ({exc.strerror}): save and drop it "
                              f"again"),)
    if size == 0:
        return (_file_problem("ไฟล์ว่างเปล่า (0 ไบต์) อาจบันทึกหรือคัดลอกไม่สำเร็จ: เปิดแบบคำขอใน Excel "
                              "บันทึกอีกครั้ง แล้ววางไฟล์ใหม่",
                              "the file is empty (0 bytes); saving or copying it probably "
                              "failed: open the sheet in Excel, save it again and drop it "
                              "again"),)
    if size > rules.max_sheet_bytes:
        return (_file_problem(f"ไฟล์ใหญ่เกินไป ({_mb(size)} เกินกำหนด {_mb(rules.max_sheet_bytes)}): "
                              "ลบรูปภาพหรือข้อมูลที่ไม่ใช่แบบคำขอออก "
                              "ไฟล์แนบให้วางไว้ข้างแบบคำขอ ไม่ใช่ใส่ในแบบคำขอ",
                              f"the file is too large ({_mb(size)}, more than "
                              f"{_mb(rules.max_sheet_bytes)}): remove pictures and anything "
                              f"else that is not the request; attachments go beside the sheet, "
                              f"not inside it"),)
    if head.startswith(OLE2_MAGIC):
        return (_ole_problem(path),)
    if not head.startswith(_ZIP_MAGICS):
        return (_not_a_workbook(path, head),)
    try:
        return _zip_problems(path, rules)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
            NotImplementedError, RuntimeError, ValueError, KeyError,
            ElementTree.ParseError) as exc:
        log.info("%s: damaged zip (%s: %s)", path.name, type(exc).__name__, exc)
        return (_damaged(),)


def _damaged() -> Problem:
    return _file_problem("ไฟล์เสียหรือไม่สมบูรณ์ (อาจคัดลอกไม่ครบ): เปิดแบบคำขอใน Excel "
                         "บันทึกอีกครั้ง แล้ววางไฟล์ใหม่",
                         "the file is damaged or incomplete (perhaps the copy was cut short): "
                         "open the sheet in Excel, save it again and drop it again")


def _ole_problem(path: Path) -> Problem:
    """An OLE2 compound file: an encrypted Office document, or an old binary one."""
    data = path.read_bytes()

    def has_stream(name: str) -> bool:
        return name.encode("utf-16-le") in data

    if has_stream("EncryptedPackage") or has_stream("EncryptionInfo"):
        return _file_problem(
            "ไฟล์ถูกตั้งรหัสผ่านไว้ ระบบจึงเปิดไม่ได้: เปิดไฟล์ใน Excel ไปที่ ไฟล์ > ข้อมูล > ป้องกันเวิร์กบุ๊ก > "
            "เข้ารหัสด้วยรหัสผ่าน ลบรหัสผ่านออก บันทึก แล้ววางไฟล์ใหม่",
            "the workbook is protected by a password, so it cannot be read: open it in "
            "Excel, File > Info > Protect Workbook > Encrypt with Password, clear the password, "
            "save and drop it again")
    if has_stream("WordDocument"):
        return _file_problem("ไฟล์นี้เป็นเอกสาร Word ไม่ใช่แบบคำขอ: ใช้แบบคำขอ (.xlsx) "
                             + _GET_TEMPLATE_TH,
                             "this is a Word document, not a request sheet: fill in a request "
                             "sheet (.xlsx); " + _GET_TEMPLATE_EN)
    return _file_problem(
        "ไฟล์นี้เป็น Excel รุ่นเก่า (.xls) ที่ถูกเปลี่ยนชื่อเป็น .xlsx: " + _SAVE_AS_TH,
        "this is an old Excel 97-2003 workbook (.xls) renamed to .xlsx: " + _SAVE_AS_EN)


def _not_a_workbook(path: Path, head: bytes) -> Problem:
    for magic, thai_kind, english_kind in _OTHER_MAGICS:
        if head.startswith(magic):
            return _file_problem(
                f"ไฟล์นี้เป็น{thai_kind} ที่ตั้งชื่อเป็น .xlsx ไม่ใช่แบบคำขอ: ไฟล์แนบให้ใส่ชื่อไว้ในช่อง "
                "ไฟล์แนบ ของแบบคำขอ แล้ววางไว้คู่กัน",
                f"this is {english_kind} named .xlsx, not a request sheet: attachments are "
                f"named in the sheet's attachments cell and dropped beside it")
    with path.open("rb") as f:
        start = f.read(4096)
    lowered = start.lower().replace(b"\x00", b"")
    if b"urn:schemas-microsoft-com:office:spreadsheet" in lowered:
        kind_th, kind_en = "Excel 2003 XML", "an Excel 2003 XML spreadsheet"
    elif b"<html" in lowered or b"<table" in lowered or b"<!doctype html" in lowered:
        kind_th, kind_en = "หน้าเว็บ (HTML)", "a web page (HTML)"
    elif b"\x00" not in start[:512] or start.startswith((b"\xff\xfe", b"\xfe\xff")):
        kind_th, kind_en = "ข้อความ (เช่น CSV)", "a text file (e.g. CSV)"
    else:
        return _file_problem("ไฟล์นี้ไม่ใช่ไฟล์ Excel (.xlsx): " + _SAVE_AS_TH,
                             "this is not an Excel workbook (.xlsx): " + _SAVE_AS_EN)
    return _file_problem(f"ไฟล์นี้เป็นไฟล์{kind_th} ที่ตั้งชื่อเป็น .xlsx: " + _SAVE_AS_TH,
                         f"this is {kind_en} named .xlsx, not an Excel workbook: " + _SAVE_AS_EN)


def _bomb(what_th: str, what_en: str) -> Problem:
    return _file_problem(f"ไฟล์นี้ผิดปกติ ({what_th}) ระบบจึงไม่เปิด: ใช้แบบคำขอที่ได้จากผู้ดูแลระบบ "
                         "กรอกใหม่ แล้ววางไฟล์ใหม่",
                         f"this file is abnormal ({what_en}), so it is not opened: fill in a "
                         f"request sheet from the administrator and drop that")


def _zip_problems(path: Path, rules: SheetRules) -> tuple[Problem, ...]:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if len(infos) > rules.max_entries:
            return (_bomb(f"มีไฟล์ย่อยเกิน {rules.max_entries:,} ไฟล์",
                          f"more than {rules.max_entries:,} parts inside"),)
        unpacked = sum(i.file_size for i in infos)
        if unpacked > rules.max_unpacked_bytes:
            return (_bomb(f"ขยายแล้วมีขนาดเกิน {_mb(rules.max_unpacked_bytes)}",
                          f"more than {_mb(rules.max_unpacked_bytes)} once unpacked"),)
        for info in infos:
            if info.flag_bits & 0x1:
                return (_ole_like_encrypted(),)
            if info.file_size > (1 << 20) and info.file_size > _MAX_RATIO * max(
                    info.compress_size, 1):
                return (_bomb(f"ส่วน {info.filename} ถูกบีบอัดไว้เกิน {_MAX_RATIO} เท่า",
                              f"the part {info.filename} is compressed more than "
                              f"{_MAX_RATIO} times"),)
        names = {i.filename for i in infos}
        if kind := _package_kind(zf, names):
            return (kind,)
        xml = [i for i in infos if i.filename.lower().endswith(_XML_SUFFIXES)]
        xml_size = sum(i.file_size for i in xml)
        if xml_size > rules.max_xml_bytes:
            return (_bomb(f"ข้อมูลในตารางเกิน {_mb(rules.max_xml_bytes)}",
                          f"more than {_mb(rules.max_xml_bytes)} of spreadsheet data"),)
        if zf.testzip() is not None:
            return (_damaged(),)
        merged = 0
        for info in xml:
            has_dtd, cells = _scan_part(zf, info)
            if has_dtd:
                return (_bomb(f"ส่วน {info.filename} มี DTD", f"the part {info.filename} "
                                                              f"declares a DTD"),)
            merged += cells
        if merged > MAX_MERGED_CELLS:
            return (_bomb(f"รวมเซลล์ (Merge) ไว้เกิน {MAX_MERGED_CELLS:,} เซลล์",
                          f"merged cells covering more than {MAX_MERGED_CELLS:,} cells"),)
    return ()


def _ole_like_encrypted() -> Problem:
    return _file_problem("ไฟล์ถูกตั้งรหัสผ่านไว้ ระบบจึงเปิดไม่ได้: ลบรหัสผ่านออก บันทึก แล้ววางไฟล์ใหม่",
                         "the file is protected by a password, so it cannot be read: clear "
                         "the password, save and drop it again")


def _package_kind(zf: zipfile.ZipFile, names: set[str]) -> Problem | None:
    """Why a zip that is not an .xlsx workbook is not one: ODS, XLSM, XLSB, DOCX, Strict."""
    if "mimetype" in names:
        mimetype = zf.read("mimetype")[:100]
        if b"spreadsheet" in mimetype:
            return _file_problem("ไฟล์นี้เป็น OpenDocument (.ods) ที่ถูกเปลี่ยนชื่อเป็น .xlsx: "
                                 "เปิดใน LibreOffice Calc แล้วบันทึกเป็น (Save As) ชนิด "
                                 "'Excel 2007-365 (.xlsx)' แล้ววางไฟล์ใหม่",
                                 "this is an OpenDocument spreadsheet (.ods) renamed to .xlsx: "
                                 "open it in LibreOffice Calc, Save As 'Excel 2007-365 (.xlsx)' "
                                 "and drop the new file")
        return _file_problem("ไฟล์นี้เป็นเอกสาร OpenDocument ไม่ใช่แบบคำขอ (.xlsx): " + _GET_TEMPLATE_TH,
                             "this is an OpenDocument file, not a request sheet (.xlsx): "
                             + _GET_TEMPLATE_EN)
    content_types = b""
    if "[Content_Types].xml" in names and zf.getinfo("[Content_Types].xml").file_size < 1 << 20:
        content_types = zf.read("[Content_Types].xml")
    if "xl/vbaProject.bin" in names or b"macroEnabled" in content_types:
        return _file_problem("ไฟล์นี้เป็น Excel แบบมีแมโคร (.xlsm) ที่ถูกเปลี่ยนชื่อเป็น .xlsx: "
                             + _SAVE_AS_TH + " (แมโครจะไม่ถูกเก็บไว้)",
                             "this is a macro-enabled workbook (.xlsm) renamed to .xlsx: "
                             + _SAVE_AS_EN + " (macros are not kept)")
    if "xl/workbook.bin" in names:
        return _file_problem("ไฟล์นี้เป็น Excel Binary (.xlsb) ที่ถูกเปลี่ยนชื่อเป็น .xlsx: " + _SAVE_AS_TH,
                             "this is an Excel binary workbook (.xlsb) renamed to .xlsx: "
                             + _SAVE_AS_EN)
    if "word/document.xml" in names or "ppt/presentation.xml" in names:
        kind_th, kind_en = (("เอกสาร Word", "a Word document") if "word/document.xml" in names
                            else ("งานนำเสนอ PowerPoint", "a PowerPoint presentation"))
        return _file_problem(f"ไฟล์นี้เป็น{kind_th} ไม่ใช่แบบคำขอ: ใช้แบบคำขอ (.xlsx) " + _GET_TEMPLATE_TH,
                             f"this is {kind_en}, not a request sheet: " + _GET_TEMPLATE_EN)
    workbook = _workbook_part(zf, names)
    if not content_types or workbook is None:
        return _file_problem("ไฟล์นี้เป็นไฟล์บีบอัด (zip) ไม่ใช่ไฟล์ Excel: " + _GET_TEMPLATE_TH,
                             "this is a zip archive, not an Excel workbook: " + _GET_TEMPLATE_EN)
    with zf.open(workbook) as part:
        if b"purl.oclc.org/ooxml/spreadsheetml" in part.read(4096):
            return _file_problem("ไฟล์บันทึกเป็นชนิด 'Strict Open XML Spreadsheet' ซึ่งระบบอ่านไม่ได้: "
                                 + _SAVE_AS_TH,
                                 "the file was saved as 'Strict Open XML Spreadsheet', which "
                                 "cannot be read: " + _SAVE_AS_EN)
    return None


_NS_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_OFFICE_DOCUMENT = "/officeDocument"


def _workbook_part(zf: zipfile.ZipFile, names: set[str]) -> str | None:
    """The workbook part's name, as the package's root relationships say (xl/workbook.xml)."""
    if "_rels/.rels" in names:
        root = ElementTree.fromstring(zf.read("_rels/.rels"))
        for rel in root.iter(_NS_REL):
            if rel.get("Type", "").endswith(_OFFICE_DOCUMENT):
                target = rel.get("Target", "").lstrip("/")
                return target if target in names else None
    return "xl/workbook.xml" if "xl/workbook.xml" in names else None


def _scan_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[bool, int]:
    """One pass over an XML part: whether it declares a DTD (entities that expand to
    gigabytes; Office never writes one), and how many cells its merged ranges cover (openpyxl
    makes an object for each, so a range over the whole sheet would stall it)."""
    merged = 0
    tail = b""
    with zf.open(info) as part:
        while chunk := part.read(1 << 20):
            data = tail + chunk
            if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
                return True, merged
            for m in _MERGE_REF.finditer(data):
                try:
                    min_col, min_row, max_col, max_row = range_boundaries(
                        m[1].decode("ascii").replace("$", ""))
                except (ValueError, TypeError):
                    continue
                if None not in (min_col, min_row, max_col, max_row):
                    merged += (max_col - min_col + 1) * (max_row - min_row + 1)
            # keep the end for a match cut in two; one counted twice only overstates a count
            # that is compared to a generous limit
            tail = data[-200:]
    return False, merged


# -- reading -------------------------------------------------------------------------------

def read_sheet(path: Path, config: Config, *, today: date | None = None,
               certificate_name: validate.CertificateName | None = None) -> SheetResult:
    """Read and validate a filled sheet; report every problem at once. ``certificate_name``
    gives the name in a registered provider's certificate (see ``validate.validate``)."""
    problems = check_file(path, config.sheet)
    if problems:
        return SheetResult(None, problems)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions it drops
            wb = load_workbook(path, data_only=True)
        cells = _named_cells(wb, path)
    except Exception as exc:  # openpyxl on a malformed file: any error means "unreadable"
        log.info("%s: unreadable workbook (%s: %s)", path.name, type(exc).__name__, exc)
        return SheetResult(None, (_damaged(),))
    if isinstance(cells, Problem):
        return SheetResult(None, (cells,))
    return validate.validate(cells, config, today=today, certificate_name=certificate_name)


def _named_cells(wb: Workbook, path: Path) -> dict[str, validate.RawCell] | Problem:
    located: dict[str, tuple[str, str]] = {}
    missing = []
    for spec in FIELDS:
        where = _locate(wb, spec.name)
        if where is None:
            missing.append(spec.name)
        else:
            located[spec.name] = where
    if missing:
        return _version_problem(wb, missing)
    formulas = _formula_cells(path, located.values())
    return {name: _raw_cell(wb, title, coord, formulas, name == "request_date")
            for name, (title, coord) in located.items()}


def _locate(wb: Workbook, name: str) -> tuple[str, str] | None:
    """(sheet title, cell) a defined name points to: workbook-level, or (as some programs
    save them) sheet-level; None when it is missing or points nowhere (#REF!)."""
    defined = wb.defined_names.get(name)
    if defined is None:
        defined = next((ws.defined_names[name] for ws in wb.worksheets
                        if name in ws.defined_names), None)
    if defined is None:
        return None
    for title, ref in defined.destinations:
        coord = ref.replace("$", "").split(":")[0].upper()
        if (title in wb.sheetnames and isinstance(wb[title], Worksheet)
                and re.fullmatch(r"[A-Z]{1,3}[1-9][0-9]{0,6}", coord)):
            return title, coord
    return None


def _version_problem(wb: Workbook, missing: list[str]) -> Problem:
    version = next((str(p.value) for p in wb.custom_doc_props if p.name == VERSION_PROPERTY),
                   None)
    if len(missing) == len(FIELDS) and not any(
            cell.value is not None for ws in wb.worksheets for row in ws.iter_rows()
            for cell in row):
        return _file_problem(f"ไฟล์ Excel นี้ว่างเปล่า ไม่ใช่แบบคำขอ: ใช้แบบคำขอรุ่นที่ {TEMPLATE_VERSION} "
                             + _GET_TEMPLATE_TH,
                             f"this workbook is empty, not a request sheet: use the request "
                             f"sheet, version {TEMPLATE_VERSION}; " + _GET_TEMPLATE_EN)
    this_th = f" (ไฟล์นี้เป็นรุ่นที่ {version})" if version else ""
    this_en = f" (this file is version {version})" if version else ""
    names = ", ".join(missing)
    return _file_problem(
        f"ไฟล์นี้ไม่ใช่แบบคำขอรุ่นปัจจุบัน{this_th}: ไม่พบช่อง {names} "
        f"ต้องใช้แบบคำขอรุ่นที่ {TEMPLATE_VERSION}: " + _GET_TEMPLATE_TH,
        f"this is not the current request sheet{this_en}: the named cells {names} are missing "
        f"or were deleted. Version {TEMPLATE_VERSION} is expected: " + _GET_TEMPLATE_EN)


_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _formula_cells(path: Path, located) -> dict[tuple[str, str], tuple[bool, bool]]:
    """For each named cell that holds a formula: (True, whether a computed value was saved).
    openpyxl reads both as None, and cannot tell them apart."""
    wanted: dict[str, set[str]] = {}
    for title, coord in located:
        wanted.setdefault(title, set()).add(coord)
    found: dict[tuple[str, str], tuple[bool, bool]] = {}
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        workbook = _workbook_part(zf, names)
        if workbook is None:
            return found
        folder = posixpath.dirname(workbook)
        rels_name = posixpath.join(folder, "_rels", posixpath.basename(workbook) + ".rels")
        targets = {rel.get("Id"): rel.get("Target", "")
                   for rel in ElementTree.fromstring(zf.read(rels_name)).iter(_NS_REL)}
        for sheet in ElementTree.fromstring(zf.read(workbook)).iter(f"{_NS_MAIN}sheet"):
            title = sheet.get("name")
            target = targets.get(sheet.get(_NS_DOC_REL), "")
            part = (target.lstrip("/") if target.startswith("/")
                    else posixpath.normpath(posixpath.join(folder, target)))
            if title not in wanted or part not in names:
                continue
            with zf.open(part) as f:
                for _event, element in ElementTree.iterparse(f):
                    if element.tag == f"{_NS_MAIN}c":
                        coord = element.get("r")
                        if coord in wanted[title] and element.find(f"{_NS_MAIN}f") is not None:
                            # an empty <v/> is an empty text result only in a text cell
                            # (t="str"); openpyxl writes one for every formula it saves
                            cached = element.find(f"{_NS_MAIN}v")
                            found[title, coord] = (True, cached is not None and (
                                bool(cached.text) or element.get("t") == "str"))
                        element.clear()
    return found


_ESCAPED = re.compile("_x(000[0-9A-Fa-f]|001[0-9A-Fa-f])_")


def _raw_cell(wb: Workbook, title: str, coord: str,
              formulas: dict[tuple[str, str], tuple[bool, bool]],
              is_date: bool) -> validate.RawCell:
    ws = wb[title]
    cell = ws[coord]
    address = f"{title}!{coord}"
    formula, computed = formulas.get((title, coord), (False, True))
    if isinstance(cell, MergedCell):
        top = next((str(r.start_cell.coordinate) for r in ws.merged_cells.ranges
                    if coord in r), "?")
        return validate.RawCell(None, address, merged_into=f"{title}!{top}")
    value = cell.value
    if cell.data_type == "e":
        return validate.RawCell(None, address, formula, computed, error=str(value))
    if isinstance(value, str):  # Excel writes a carriage return as _x000D_
        value = _ESCAPED.sub(lambda m: chr(int(m[1], 16)), value)
    serial = None
    if is_date and isinstance(value, int | float) and not isinstance(value, bool):
        serial = _serial_date(value, wb.epoch)
    link = (cell.hyperlink.target or "") if cell.hyperlink is not None else ""
    return validate.RawCell(value, address, formula, computed, hyperlink=link,
                            serial_date=serial)


def _serial_date(value: float, epoch: datetime) -> date | None:
    """A number in a date cell whose date format was lost (some programs save plain numbers):
    the date it stands for, when it is a plausible one (years 1950-2700, Buddhist Era too)."""
    if not 18264 <= value <= 292_000:  # 1950-01-01 .. about 2699
        return None
    try:
        moment = from_excel(value, epoch)
    except (OverflowError, ValueError):
        return None
    return moment.date() if isinstance(moment, datetime) else None


# -- writing values and annotations --------------------------------------------------------

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
    _save_atomically(wb, path)


def annotate(path: Path, out: Path, problems: tuple[Problem, ...],
             rules: SheetRules | None = None) -> bool:
    """A copy of the sheet with each offending cell highlighted and commented, so the clerk
    fixes it in place and drops it back. Returns False when the file cannot be opened as a
    workbook (it is never parsed unless ``check_file`` finds it sound)."""
    if check_file(path, rules):
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = load_workbook(path)
        red = PatternFill("solid", fgColor="F4CCCC")
        first = None
        notes: dict[tuple[str, str], list[str]] = {}
        for p in problems:
            if "!" in p.cell:
                title, ref = p.cell.rsplit("!", 1)
                notes.setdefault((title, ref), []).append(
                    f"{p.thai_line()}\n{p.english_line()}")
        for (title, ref), texts in notes.items():
            if title not in wb.sheetnames or not isinstance(wb[title], Worksheet):
                continue
            ws = wb[title]
            cell = ws[ref]
            if isinstance(cell, MergedCell):
                continue
            cell.fill = red
            note = "\n\n".join(texts)
            if cell.comment:
                note = f"{cell.comment.text}\n\n{note}"
            lines = sum(len(t) // 60 + 1 for t in note.split("\n"))
            cell.comment = Comment(note, "pipeline", width=420, height=min(40 + 18 * lines, 600))
            if first is None:
                first = (ws, ref)
        if first is not None:  # open the copy on the first cell to fix
            ws, ref = first
            wb.active = wb.worksheets.index(ws)
            for view in ws.views.sheetView:
                view.tabSelected = True
                view.selection[0].activeCell = ref
                view.selection[0].sqref = ref
            for other in wb.worksheets:
                if other is not ws:
                    for view in other.views.sheetView:
                        view.tabSelected = False
        _save_atomically(wb, out)
    except Exception as exc:  # a copy for convenience: never worth failing the rejection
        log.warning("cannot write the annotated copy of %s: %s: %s", path.name,
                    type(exc).__name__, exc)
        return False
    return True


SUMMARY_FIELDS = ("title", "work_group", "category", "request_date", "provider_name",
                  "approver_name")


def summary(path: Path) -> dict[str, str]:
    """A few cells of a sheet that failed validation, by their defined names, as text (a
    date as the Thai short date): what the index and the reports show of a returned request.
    Best effort: a sheet that cannot be read gives nothing; a link is never followed."""
    try:
        if guard.kind_of(path.lstat()) is not None:
            return {}
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a damaged file fails anywhere inside openpyxl; best effort
        log.debug("cannot read %s: %s", path, exc)
        return {}
    values: dict[str, str] = {}
    try:
        for name in SUMMARY_FIELDS:
            defined = wb.defined_names.get(name)
            for title, ref in defined.destinations if defined is not None else ():
                if title in wb.sheetnames:
                    values[name] = _summary_text(wb[title][ref.replace("$", "").split(":")[0]]
                                                 .value)
                    break
    except Exception as exc:  # noqa: BLE001 - as above
        log.debug("cannot read %s: %s", path, exc)
    finally:
        wb.close()
    return values


def _summary_text(value: object) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return thai.short_date(value)
    return thai.normalize_text("" if value is None else str(value))
