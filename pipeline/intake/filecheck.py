"""What a file dropped as a request sheet really is, judged before openpyxl parses anything.

From its first bytes and its zip directory only (fast, bounded): an old .xls or an encrypted
workbook renamed .xlsx, another kind of file or package (.ods, .xlsm, .xlsb, a Word document),
a damaged or truncated zip, a zip bomb; so that nothing can crash or stall the watcher. Each
problem says, in Thai and English, what to do instead.
"""

from __future__ import annotations

import logging
import re
import zipfile
import zlib
from pathlib import Path
from xml.etree import ElementTree

from openpyxl.utils.cell import range_boundaries

from pipeline.core.request import Problem
from pipeline.settings.config import SheetRules

log = logging.getLogger(__name__)

GET_TEMPLATE_TH = ("ขอแบบคำขอใหม่จากผู้ดูแลระบบ (คำสั่ง pipeline new-request) "
                   "แล้วคัดลอกข้อมูลลงไป")
GET_TEMPLATE_EN = ("get a new blank sheet (the administrator runs `pipeline new-request "
                   "FILE.xlsx`) and copy the values into it")

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


def file_problem(thai_text: str, english: str) -> Problem:
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
        return (file_problem(f"อ่านไฟล์ไม่ได้ ({exc.strerror}): บันทึกและวางไฟล์ใหม่",
                              f"the file cannot be read ({exc.strerror}): save and drop it "
                              f"again"),)
    if size == 0:
        return (file_problem("ไฟล์ว่างเปล่า (0 ไบต์) อาจบันทึกหรือคัดลอกไม่สำเร็จ: เปิดแบบคำขอใน Excel "
                              "บันทึกอีกครั้ง แล้ววางไฟล์ใหม่",
                              "the file is empty (0 bytes); saving or copying it probably "
                              "failed: open the sheet in Excel, save it again and drop it "
                              "again"),)
    if size > rules.max_sheet_bytes:
        return (file_problem(f"ไฟล์ใหญ่เกินไป ({_mb(size)} เกินกำหนด {_mb(rules.max_sheet_bytes)}): "
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
        return (damaged(),)


def damaged() -> Problem:
    return file_problem("ไฟล์เสียหรือไม่สมบูรณ์ (อาจคัดลอกไม่ครบ): เปิดแบบคำขอใน Excel "
                         "บันทึกอีกครั้ง แล้ววางไฟล์ใหม่",
                         "the file is damaged or incomplete (perhaps the copy was cut short): "
                         "open the sheet in Excel, save it again and drop it again")


def _ole_problem(path: Path) -> Problem:
    """An OLE2 compound file: an encrypted Office document, or an old binary one."""
    data = path.read_bytes()

    def has_stream(name: str) -> bool:
        return name.encode("utf-16-le") in data

    if has_stream("EncryptedPackage") or has_stream("EncryptionInfo"):
        return file_problem(
            "ไฟล์ถูกตั้งรหัสผ่านไว้ ระบบจึงเปิดไม่ได้: เปิดไฟล์ใน Excel ไปที่ ไฟล์ > ข้อมูล > ป้องกันเวิร์กบุ๊ก > "
            "เข้ารหัสด้วยรหัสผ่าน ลบรหัสผ่านออก บันทึก แล้ววางไฟล์ใหม่",
            "the workbook is protected by a password, so it cannot be read: open it in "
            "Excel, File > Info > Protect Workbook > Encrypt with Password, clear the password, "
            "save and drop it again")
    if has_stream("WordDocument"):
        return file_problem("ไฟล์นี้เป็นเอกสาร Word ไม่ใช่แบบคำขอ: ใช้แบบคำขอ (.xlsx) "
                             + GET_TEMPLATE_TH,
                             "this is a Word document, not a request sheet: fill in a request "
                             "sheet (.xlsx); " + GET_TEMPLATE_EN)
    return file_problem(
        "ไฟล์นี้เป็น Excel รุ่นเก่า (.xls) ที่ถูกเปลี่ยนชื่อเป็น .xlsx: " + _SAVE_AS_TH,
        "this is an old Excel 97-2003 workbook (.xls) renamed to .xlsx: " + _SAVE_AS_EN)


def _not_a_workbook(path: Path, head: bytes) -> Problem:
    for magic, thai_kind, english_kind in _OTHER_MAGICS:
        if head.startswith(magic):
            return file_problem(
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
        return file_problem("ไฟล์นี้ไม่ใช่ไฟล์ Excel (.xlsx): " + _SAVE_AS_TH,
                             "this is not an Excel workbook (.xlsx): " + _SAVE_AS_EN)
    return file_problem(f"ไฟล์นี้เป็นไฟล์{kind_th} ที่ตั้งชื่อเป็น .xlsx: " + _SAVE_AS_TH,
                         f"this is {kind_en} named .xlsx, not an Excel workbook: " + _SAVE_AS_EN)


def _bomb(what_th: str, what_en: str) -> Problem:
    return file_problem(f"ไฟล์นี้ผิดปกติ ({what_th}) ระบบจึงไม่เปิด: ใช้แบบคำขอที่ได้จากผู้ดูแลระบบ "
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
            return (damaged(),)
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
    return file_problem("ไฟล์ถูกตั้งรหัสผ่านไว้ ระบบจึงเปิดไม่ได้: ลบรหัสผ่านออก บันทึก แล้ววางไฟล์ใหม่",
                         "the file is protected by a password, so it cannot be read: clear "
                         "the password, save and drop it again")


def _package_kind(zf: zipfile.ZipFile, names: set[str]) -> Problem | None:
    """Why a zip that is not an .xlsx workbook is not one: ODS, XLSM, XLSB, DOCX, Strict."""
    if "mimetype" in names:
        mimetype = zf.read("mimetype")[:100]
        if b"spreadsheet" in mimetype:
            return file_problem("ไฟล์นี้เป็น OpenDocument (.ods) ที่ถูกเปลี่ยนชื่อเป็น .xlsx: "
                                 "เปิดใน LibreOffice Calc แล้วบันทึกเป็น (Save As) ชนิด "
                                 "'Excel 2007-365 (.xlsx)' แล้ววางไฟล์ใหม่",
                                 "this is an OpenDocument spreadsheet (.ods) renamed to .xlsx: "
                                 "open it in LibreOffice Calc, Save As 'Excel 2007-365 (.xlsx)' "
                                 "and drop the new file")
        return file_problem("ไฟล์นี้เป็นเอกสาร OpenDocument ไม่ใช่แบบคำขอ (.xlsx): " + GET_TEMPLATE_TH,
                             "this is an OpenDocument file, not a request sheet (.xlsx): "
                             + GET_TEMPLATE_EN)
    content_types = b""
    if "[Content_Types].xml" in names and zf.getinfo("[Content_Types].xml").file_size < 1 << 20:
        content_types = zf.read("[Content_Types].xml")
    if "xl/vbaProject.bin" in names or b"macroEnabled" in content_types:
        return file_problem("ไฟล์นี้เป็น Excel แบบมีแมโคร (.xlsm) ที่ถูกเปลี่ยนชื่อเป็น .xlsx: "
                             + _SAVE_AS_TH + " (แมโครจะไม่ถูกเก็บไว้)",
                             "this is a macro-enabled workbook (.xlsm) renamed to .xlsx: "
                             + _SAVE_AS_EN + " (macros are not kept)")
    if "xl/workbook.bin" in names:
        return file_problem("ไฟล์นี้เป็น Excel Binary (.xlsb) ที่ถูกเปลี่ยนชื่อเป็น .xlsx: " + _SAVE_AS_TH,
                             "this is an Excel binary workbook (.xlsb) renamed to .xlsx: "
                             + _SAVE_AS_EN)
    if "word/document.xml" in names or "ppt/presentation.xml" in names:
        kind_th, kind_en = (("เอกสาร Word", "a Word document") if "word/document.xml" in names
                            else ("งานนำเสนอ PowerPoint", "a PowerPoint presentation"))
        return file_problem(f"ไฟล์นี้เป็น{kind_th} ไม่ใช่แบบคำขอ: ใช้แบบคำขอ (.xlsx) " + GET_TEMPLATE_TH,
                             f"this is {kind_en}, not a request sheet: " + GET_TEMPLATE_EN)
    workbook = workbook_part(zf, names)
    if not content_types or workbook is None:
        return file_problem("ไฟล์นี้เป็นไฟล์บีบอัด (zip) ไม่ใช่ไฟล์ Excel: " + GET_TEMPLATE_TH,
                             "this is a zip archive, not an Excel workbook: " + GET_TEMPLATE_EN)
    with zf.open(workbook) as part:
        if b"purl.oclc.org/ooxml/spreadsheetml" in part.read(4096):
            return file_problem("ไฟล์บันทึกเป็นชนิด 'Strict Open XML Spreadsheet' ซึ่งระบบอ่านไม่ได้: "
                                 + _SAVE_AS_TH,
                                 "the file was saved as 'Strict Open XML Spreadsheet', which "
                                 "cannot be read: " + _SAVE_AS_EN)
    return None


NS_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_OFFICE_DOCUMENT = "/officeDocument"


def workbook_part(zf: zipfile.ZipFile, names: set[str]) -> str | None:
    """The workbook part's name, as the package's root relationships say (xl/workbook.xml)."""
    if "_rels/.rels" in names:
        root = ElementTree.fromstring(zf.read("_rels/.rels"))
        for rel in root.iter(NS_REL):
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
