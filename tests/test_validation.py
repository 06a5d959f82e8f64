"""Sheets staff cannot get wrong: every bad input ends in a rejection a clerk can act on.

One table of bad inputs, each with the exact problems expected (field, cell, English text).
Each is read on its own (fast, ``sheet.read_sheet``), and all of them go through the watcher
together with one good sheet: the watcher keeps running, every input comes back byte for byte
beside its report, and the good sheet still becomes a bundle.
"""

from __future__ import annotations

import dataclasses
import io
import struct
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from pipeline import demo
from pipeline.bundles import bundle
from pipeline.core import thai
from pipeline.core.request import FIELD_BY_NAME, FIELDS, Person
from pipeline.flow.processing import Processor
from pipeline.flow.watch import drain
from pipeline.intake import blank_sheet, sheet, validate
from pipeline.records.journal import State
from pipeline.settings import config as config_mod
from pipeline.settings.config import ActingDirector, SheetRules

TODAY = thai.today()
KB = 1024
RULES = SheetRules(max_sheet_bytes=5 * 1024 * KB, max_unpacked_bytes=8 * 1024 * KB,
                   max_xml_bytes=4 * 1024 * KB, max_entries=300,
                   max_attachment_bytes=100 * KB, max_request_bytes=150 * KB)
CELL = {spec.name: f"B{blank_sheet.FIRST_ROW + i}" for i, spec in enumerate(FIELDS)}
DIRECTOR = demo.PEOPLE["director"]
PROVIDER = demo.PEOPLE["provider"]
CATEGORIES = config_mod.DEFAULT_CATEGORIES
SAVE_AS = "open it in Excel, Save As 'Excel Workbook (*.xlsx)' and drop the new file"
GET_TEMPLATE = ("get a new blank sheet (the administrator runs `pipeline new-request "
                "FILE.xlsx`) and copy the values into it")
DAMAGED = ("the file is damaged or incomplete (perhaps the copy was cut short): open the sheet "
           "in Excel, save it again and drop it again")
ABNORMAL = ("this file is abnormal ({}), so it is not opened: fill in a request sheet from the "
            "administrator and drop that")
DATE_EXAMPLE = "type day/month/Buddhist-Era year, e.g. 25/11/2569 or 25 พ.ย. 2569"
BROKEN_LINK = ("is broken (no valid web site name after the //): copy the link again from the "
               "browser's address bar")
PLAIN_NAME = ("must be a plain file name, without folders or drives (no ../, / or C:\\): put "
              "the file in the inbox beside the sheet and write only its name")


@pytest.fixture(scope="module")
def config(demo_template):
    return dataclasses.replace(config_mod.load(demo_template), sheet=RULES)


# -- building bad inputs -------------------------------------------------------------------

def good_sheet(path: Path, cfg, **values: object) -> Path:
    blank_sheet.new_request(path, cfg)
    blank_sheet.fill(path, {**demo.sample_values(TODAY), **values})
    return path


def with_values(**values: object) -> Callable[[Path, object], Path]:
    return lambda path, cfg: good_sheet(path, cfg, **values)


def edit_cells(edit: Callable[[object], None], **values: object):
    """A filled sheet changed with openpyxl beyond plain values (formulas, merges...)."""
    def build(path: Path, cfg) -> Path:
        good_sheet(path, cfg, **values)
        wb = load_workbook(path)
        edit(wb)
        wb.save(path)
        return path
    return build


def rewrite_zip(change: Callable[[dict[str, bytes]], None], **values: object):
    """A filled sheet whose package parts are changed (as a broken or hostile tool might)."""
    def build(path: Path, cfg) -> Path:
        good_sheet(path, cfg, **values)
        with zipfile.ZipFile(path) as zf:
            parts = {n: zf.read(n) for n in zf.namelist()}
        change(parts)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in parts.items():
                zf.writestr(name, data)
        return path
    return build


def raw_bytes(data: bytes | Callable[[], bytes]):
    def build(path: Path, cfg) -> Path:
        path.write_bytes(data() if callable(data) else data)
        return path
    return build


def compound_file(*streams: tuple[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (what .xls files and encrypted .xlsx files are) holding
    ``streams``, each stored in whole 512-byte sectors."""
    sector = 512
    end, free, fat_sector = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    fat = [fat_sector, end]  # sector 0: the FAT, sector 1: the directory
    data = b""
    entries = []
    for name, content in streams:
        start = len(fat)
        count = max(1, -(-len(content) // sector))
        fat += [start + i + 1 for i in range(count - 1)] + [end]
        data += content.ljust(count * sector, b"\0")
        entries.append((name, 2, start, len(content)))

    def entry(name: str, kind: int, start: int, size: int, child: int, right: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return (encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1)
                + struct.pack("<III", free, right, child) + b"\0" * 16 + b"\0" * 4
                + b"\0" * 16 + struct.pack("<IQ", start, size))

    directory = entry("Root Entry", 5, end, 0, 1, free)
    for i, (name, kind, start, size) in enumerate(entries, start=1):
        directory += entry(name, kind, start, size, free, i + 1 if i < len(entries) else free)
    directory = directory.ljust(sector, b"\0")
    header = (bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
              + struct.pack("<I", 0) + struct.pack("<I", free) * 108)
    return header + struct.pack(f"<{sector // 4}I", *fat, *[free] * (sector // 4 - len(fat))) \
        + directory + data


def zip_of(parts: dict[str, bytes]) -> Callable[[], bytes]:
    def make() -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in parts.items():
                zf.writestr(name, data)
        return out.getvalue()
    return make


def truncated(path: Path, cfg) -> Path:
    good_sheet(path, cfg, title="ไฟล์ที่คัดลอกไม่ครบ")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def corrupted(path: Path, cfg) -> Path:
    """Bytes damaged inside a part: the zip directory is intact, a CRC is not."""
    good_sheet(path, cfg, title="ไฟล์เสียตรงกลาง")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[middle] ^= 0xFF
    data[middle + 1] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def huge(path: Path, cfg) -> Path:
    with path.open("wb") as f:  # sparse: big on paper, nothing written
        f.write(b"PK\x03\x04")
        f.truncate(6 * 1024 * KB)
    return path


def empty_workbook(path: Path, cfg) -> Path:
    Workbook().save(path)
    return path


def old_template(path: Path, cfg) -> Path:
    wb = Workbook()
    ws = wb.active
    ws["A1"], ws["B1"] = "หัวข้อ", "ประกาศเก่า"
    wb.save(path)
    return path


def without_names(*names: str):
    def edit(wb) -> None:
        for name in names:
            del wb.defined_names[name]
    return edit_cells(edit, title="แบบฟอร์มที่ชื่อช่องหายไป " + " ".join(names))


def ref_error_name(wb) -> None:
    from openpyxl.workbook.defined_name import DefinedName

    wb.defined_names["title"] = DefinedName("title", attr_text="'คำขอ'!#REF!")


def with_media(name: str, data: bytes, count: int = 1):
    def change(parts: dict[str, bytes]) -> None:
        for i in range(count):
            parts[name.format(i)] = data
    return rewrite_zip(change, title=f"แนบสื่อ {name} {count}")


def dtd(parts: dict[str, bytes]) -> None:
    """The "billion laughs": entities that expand to gigabytes when parsed."""
    styles = parts["xl/styles.xml"]
    if styles.startswith(b"<?xml"):
        styles = styles.split(b"?>", 1)[1]
    parts["xl/styles.xml"] = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>' + styles)


def giant_merge(parts: dict[str, bytes]) -> None:
    xml = parts["xl/worksheets/sheet1.xml"]
    merge = b'<mergeCell ref="D1:XFD1048576"/>'
    if b"</mergeCells>" in xml:
        xml = xml.replace(b"</mergeCells>", merge + b"</mergeCells>")
    parts["xl/worksheets/sheet1.xml"] = xml


def strict(parts: dict[str, bytes]) -> None:
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        b"http://purl.oclc.org/ooxml/spreadsheetml/main")


def macro(parts: dict[str, bytes]) -> None:
    parts["xl/vbaProject.bin"] = compound_file(("VBA", b"Attribute VB_Name" * 40))


def set_cell(name: str, value: object, **attributes: object):
    """An edit that puts ``value`` in the named cell, then sets the cell's ``attributes``."""
    def edit(wb) -> None:
        cell = blank_sheet.named_cell(wb, name)
        cell.value = value
        for attribute, setting in attributes.items():
            setattr(cell, attribute, setting)
    return edit


def formula(name: str, text: str):
    return set_cell(name, text)  # openpyxl saves no computed value


def error_value(name: str, error: str):
    return set_cell(name, error, data_type="e")


def as_date(name: str):
    """What Excel does to "1/12" typed in a General cell: a date, with a date format."""
    return set_cell(name, datetime(2026, 12, 1), number_format="d/m/yyyy")


def as_number(name: str, number: float):
    return set_cell(name, number, number_format="General")


def merged_over(name: str):
    def edit(wb) -> None:
        title, ref = next(iter(wb.defined_names[name].destinations))
        row = ref.replace("$", "")[1:]
        wb[title].merge_cells(f"A{row}:B{row}")
    return edit


# -- the table ------------------------------------------------------------------------------

def P(field_name: str, english: str) -> tuple[str, str]:  # noqa: N802 - reads like the table
    """An expected problem: the field, and the English text after "field (cell) "."""
    return field_name, english


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path, object], Path]
    expected: list[tuple[str, str]]
    certificate: str | None = None  # the name in the provider's certificate, when it matters
    attachments: dict[str, int] = field(default_factory=dict)  # files dropped beside it
    stage: str = "sheet"  # "sheet": read_sheet finds it; "process": only processing does


def _future() -> date:
    return TODAY + timedelta(days=400)


def _past() -> date:
    return TODAY - timedelta(days=800)


ALL_CATEGORIES = "; ".join(f"{i}. {c}" for i, c in enumerate(CATEGORIES, start=1))

CASES = [
    # files that are not what they claim
    Case("zero-bytes", raw_bytes(b""), [P("", "the file is empty (0 bytes); saving or copying "
                                              "it probably failed: open the sheet in Excel, "
                                              "save it again and drop it again")]),
    Case("truncated", truncated, [P("", DAMAGED)]),
    Case("corrupt-part", corrupted, [P("", DAMAGED)]),
    Case("zip-header-then-garbage", raw_bytes(b"PK\x03\x04" + bytes(range(256)) * 8),
         [P("", DAMAGED)]),
    Case("random-binary", raw_bytes(bytes(range(256)) * 4),
         [P("", "this is not an Excel workbook (.xlsx): " + SAVE_AS)]),
    Case("csv-renamed", raw_bytes("หัวข้อ,รายละเอียด\nประกาศ,ข่าว\n".encode()),
         [P("", "this is a text file (e.g. CSV) named .xlsx, not an Excel workbook: " + SAVE_AS)]),
    Case("html-renamed", raw_bytes(b"<html><body><table><tr><td>x</td></tr></table></body>"),
         [P("", "this is a web page (HTML) named .xlsx, not an Excel workbook: " + SAVE_AS)]),
    Case("pdf-renamed", raw_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n"),
         [P("", "this is a PDF document named .xlsx, not a request sheet: attachments are "
                 "named in the sheet's attachments cell and dropped beside it")]),
    Case("xls-renamed", raw_bytes(compound_file(("Workbook", b"\x09\x08" * 2100))),
         [P("", "this is an old Excel 97-2003 workbook (.xls) renamed to .xlsx: " + SAVE_AS)]),
    Case("encrypted", raw_bytes(compound_file(("EncryptionInfo", b"\x04\x00\x04\x00" * 1100),
                                              ("EncryptedPackage", bytes(range(256)) * 20))),
         [P("", "the workbook is protected by a password, so it cannot be read: open it in "
                 "Excel, File > Info > Protect Workbook > Encrypt with Password, clear the "
                 "password, save and drop it again")]),
    Case("xlsm-renamed", rewrite_zip(macro),
         [P("", "this is a macro-enabled workbook (.xlsm) renamed to .xlsx: " + SAVE_AS
                 + " (macros are not kept)")]),
    Case("ods-renamed", raw_bytes(zip_of({"mimetype": b"application/vnd.oasis.opendocument."
                                                   b"spreadsheet", "content.xml": b"<x/>"})),
         [P("", "this is an OpenDocument spreadsheet (.ods) renamed to .xlsx: open it in "
                 "LibreOffice Calc, Save As 'Excel 2007-365 (.xlsx)' and drop the new file")]),
    Case("docx-renamed", raw_bytes(zip_of({"[Content_Types].xml": b"<Types/>",
                                              "word/document.xml": b"<w/>"})),
         [P("", "this is a Word document, not a request sheet: " + GET_TEMPLATE)]),
    Case("zip-archive-renamed", raw_bytes(zip_of({"รายงาน.txt": "ข้อความ".encode()})),
         [P("", "this is a zip archive, not an Excel workbook: " + GET_TEMPLATE)]),
    Case("strict-ooxml", rewrite_zip(strict),
         [P("", "the file was saved as 'Strict Open XML Spreadsheet', which cannot be read: "
                 + SAVE_AS)]),
    Case("huge-file", huge,
         [P("", "the file is too large (6.0 MB, more than 5.0 MB): remove pictures and "
                 "anything else that is not the request; attachments go beside the sheet, not "
                 "inside it")]),
    Case("zip-bomb-ratio", with_media("xl/media/image{}.png", b"\0" * (6 * 1024 * KB)),
         [P("", ABNORMAL.format("the part xl/media/image0.png is compressed more than 200 "
                                "times"))]),
    Case("zip-bomb-total", with_media("xl/media/image{}.png", b"\0" * (900 * KB), count=10),
         [P("", ABNORMAL.format("more than 8.0 MB once unpacked"))]),
    Case("zip-bomb-entries", with_media("xl/media/p{}.bin", b"x", count=400),
         [P("", ABNORMAL.format("more than 300 parts inside"))]),
    Case("entity-expansion", rewrite_zip(dtd),
         [P("", ABNORMAL.format("the part xl/styles.xml declares a DTD"))]),
    Case("merge-whole-sheet", rewrite_zip(giant_merge),
         [P("", ABNORMAL.format("merged cells covering more than 100,000 cells"))]),
    Case("empty-workbook", empty_workbook,
         [P("", "this workbook is empty, not a request sheet: use the request sheet, version "
                 "1; " + GET_TEMPLATE)]),
    Case("old-template", old_template,
         [P("", "this is not the current request sheet: the named cells "
                 + ", ".join(f.name for f in FIELDS if not f.cell_optional)
                 + " are missing or were deleted. Version 1 "
                 "is expected: " + GET_TEMPLATE)]),
    Case("names-removed", without_names("title", "detail"),
         [P("", "this is not the current request sheet (this file is version 1): the named "
                 "cells title, detail are missing or were deleted. Version 1 is expected: "
                 + GET_TEMPLATE)]),
    Case("row-deleted", edit_cells(ref_error_name, title="แถวถูกลบ"),
         [P("", "this is not the current request sheet (this file is version 1): the named "
                 "cells title are missing or were deleted. Version 1 is expected: "
                 + GET_TEMPLATE)]),
    # cells left empty, or not readable as values
    Case("blank-form-dropped", lambda path, cfg: (blank_sheet.new_request(path, cfg), path)[1],
         [P(name, f"is empty: fill in the {FIELD_BY_NAME[name].english}")
          for name in ("work_group", "request_date", "title", "category", "detail",
                       "provider_name", "provider_position")]),
    Case("spaces-and-zero-width-only", with_values(title=" \u200b\u00a0 ", detail="\u200b\n "),
         [P("title", "is empty: fill in the title"), P("detail", "is empty: fill in the detail")]),
    Case("formula-not-computed",
         edit_cells(formula("title", '=CONCATENATE("ประกาศ ","เรื่อง")')),
         [P("title", "holds a formula whose result was never computed (the file was saved by a "
                     "program that does not calculate): open it in Excel or LibreOffice Calc "
                     "and save it again, or type the value instead of the formula")]),
    Case("error-value", edit_cells(error_value("detail", "#REF!")),
         [P("detail", "shows the error #REF!: fix the formula or type the value instead")]),
    Case("text-turned-into-date", edit_cells(as_date("title")),
         [P("title", "was turned into a date or time by the spreadsheet program: format the "
                     "cell as Text (or start with an apostrophe ') and type it again")]),
    Case("merged-input-cell", edit_cells(merged_over("title")),
         [P("title", "is merged into คำขอ!A8, so what was typed in it is lost: unmerge the "
                     "cells and type it again")]),
    Case("title-too-long", with_values(title="ก" * 301),
         [P("title", "is 301 characters long, more than the 300 allowed: shorten it")]),
    Case("detail-too-long", with_values(detail="ข้อความ\n" * 400),
         [P("detail", "is 3,199 characters long, more than the 3,000 allowed: shorten it "
                      "(attach a long text as a file in the attachments cell)")]),
    # choices
    Case("work-group-misspelt", with_values(work_group="กลุ่มงานควบคุมโรคติดต่อ"),
         [P("work_group", "'กลุ่มงานควบคุมโรคติดต่อ' is not one of the work groups: choose from "
                          "the cell's drop-down list (closest: "
                          "'กลุ่มงานควบคุมโรคติดต่อและโรคไม่ติดต่อ')")]),
    Case("work-group-unknown", with_values(work_group="ฝ่ายไอที"),
         [P("work_group", "'ฝ่ายไอที' is not one of the work groups: choose from the cell's "
                          "drop-down list (valid: " + "; ".join(demo.WORK_GROUPS) + ")")]),
    Case("category-number-out-of-range", with_values(category="11"),
         [P("category", "'11' is not one of the categories: choose from the cell's drop-down "
                        f"list or type its number 1-10 (valid: {ALL_CATEGORIES})")]),
    Case("category-misspelt", with_values(category="ข่าวประชาสัมพัน"),
         [P("category", "'ข่าวประชาสัมพัน' is not one of the categories: choose from the cell's "
                        "drop-down list or type its number 1-10 (closest: "
                        "'8. ข่าวประชาสัมพันธ์')")]),
    # dates
    Case("date-words", with_values(request_date="เมื่อวาน"),
         [P("request_date", f"'เมื่อวาน' is not a date: {DATE_EXAMPLE}")]),
    Case("date-impossible", with_values(request_date="31/2/2569"),
         [P("request_date", "there is no day 31 in month 2 of 2026 (B.E. 2569): check the "
                            "date")]),
    Case("date-month-13", with_values(request_date="25/13/2569"),
         [P("request_date", "there is no month 13 (months are 1-12, and the day comes before "
                            f"the month): {DATE_EXAMPLE}")]),
    Case("date-us-order", with_values(request_date="11/25/2026"),
         [P("request_date", "there is no month 25 (months are 1-12, and the day comes before "
                            f"the month): {DATE_EXAMPLE}")]),
    Case("date-far-future", with_values(request_date=_future()),
         [P("request_date", f"{_future():%d/%m/%Y} is more than 60 days ahead: check the day, "
                            f"month and year (this year is {TODAY.year}, B.E. "
                            f"{TODAY.year + 543})")]),
    Case("date-long-ago", with_values(request_date=f"{_past():%d/%m/%Y}"),
         [P("request_date", f"{_past():%d/%m/%Y} is more than 365 days ago: put the date of "
                            f"this request (this year is {TODAY.year}, B.E. "
                            f"{TODAY.year + 543})")]),
    Case("date-plain-number", edit_cells(as_number("request_date", 12345)),
         [P("request_date", f"is the number 12345, not a date: {DATE_EXAMPLE}")]),
    # links
    Case("link-without-scheme", with_values(link="www.moph.go.th"),
         [P("link", "'www.moph.go.th' must start with https:// (e.g. https://www.moph.go.th)")]),
    Case("link-javascript", with_values(link="javascript:alert(1)"),
         [P("link", "'javascript:alert(1)' is not a web link: it must start with https:// or "
                    "http://")]),
    Case("link-ftp", with_values(link="ftp://files.example.org/a.pdf"),
         [P("link", "'ftp://files.example.org/a.pdf' only http:// and https:// links are "
                    "accepted (not ftp://)")]),
    Case("link-no-host", with_values(link="https://"), [P("link", f"'https://' {BROKEN_LINK}")]),
    Case("link-missing-colon", with_values(link="http//www.moph.go.th"),
         [P("link", "'http//www.moph.go.th' is not a web link: it must start with https:// or "
                    "http://")]),
    Case("link-space", with_values(link="https://www.moph.go.th/ข่าว ล่าสุด"),
         [P("link", "'https://www.moph.go.th/ข่าว ล่าสุด' contains a space: copy the link again "
                    "from the browser's address bar")]),
    Case("link-bad-host", with_values(link="https://moph..go.th/"),
         [P("link", f"'https://moph..go.th/' {BROKEN_LINK}")]),
    Case("link-credentials", with_values(link="https://admin:1234@www.moph.go.th/"),
         [P("link", "'https://admin:1234@www.moph.go.th/' must not contain a user name or "
                    "password (the part before @)")]),
    # attachments
    Case("attachment-parent-folder", with_values(attachments="../secret.txt"),
         [P("attachments", f"'../secret.txt' {PLAIN_NAME}")]),
    Case("attachment-absolute-path", with_values(attachments="/etc/passwd"),
         [P("attachments", f"'/etc/passwd' {PLAIN_NAME}")]),
    Case("attachment-windows-path", with_values(attachments="C:\\Users\\งาน\\ประกาศ.pdf"),
         [P("attachments", f"'C:\\Users\\งาน\\ประกาศ.pdf' {PLAIN_NAME}")]),
    Case("attachment-bad-characters", with_values(attachments="ประกาศ?.pdf"),
         [P("attachments", "'ประกาศ?.pdf' contains characters file names cannot have "
                           "(< > : \" | ? *): rename the file and write its new name")]),
    Case("attachment-hidden", with_values(attachments=".ซ่อน.pdf"),
         [P("attachments", "'.ซ่อน.pdf' is a hidden or temporary file name, which the inbox "
                           "ignores: rename the file so it does not start with . or ~$")]),
    Case("attachment-excel", with_values(attachments="ตาราง.xlsx"),
         [P("attachments", "'ตาราง.xlsx' an Excel file cannot be attached, as the inbox would "
                           "take it for another request sheet: save it as PDF or put it in a "
                           ".zip")]),
    Case("attachment-twice", with_values(attachments="ภาพ.jpg\nภาพ.JPG"),
         [P("attachments", "'ภาพ.JPG' is named twice: name each file once")]),
    # people
    Case("provider-unregistered", with_values(provider_name="นายคนอื่น ไม่มีกุญแจ"),
         [P("provider_name", "no signing key is registered for 'นายคนอื่น ไม่มีกุญแจ': correct "
                             "the name to a registered provider, or ask the administrator to "
                             "register this person in pipeline.toml [[providers]]")]),
    Case("provider-misspelt", with_values(provider_name="นางสาวนูรีซัน หะยีมา"),
         [P("provider_name", "no signing key is registered for 'นางสาวนูรีซัน หะยีมา': correct "
                             "the name to a registered provider (closest registered name: "
                             f"'{PROVIDER.name}'), or ask the administrator to register this "
                             "person in pipeline.toml [[providers]]")]),
    Case("provider-key-of-someone-else", with_values(), certificate="นายสมชาย ใจดี",
         expected=[P("provider_name",
                     f"the signing key registered for '{PROVIDER.name}' holds the certificate "
                     "of 'นายสมชาย ใจดี', and nobody signs for someone else: ask the "
                     "administrator to fix the key in pipeline.toml (or to pair the two names "
                     "in [sheet.certificate_names])")],
         stage="sheet-only"),
    Case("approver-not-director", with_values(approver_name="นายรอง ผู้อำนวยการ"),
         [P("approver_name", f"'นายรอง ผู้อำนวยการ' is not the configured approver: put "
                             f"'{DIRECTOR.name}'")]),
    Case("approver-position-wrong", with_values(approver_position="ผู้อำนวยการโรงพยาบาล"),
         [P("approver_position", "'ผู้อำนวยการโรงพยาบาล' is not the approver's position: put "
                                 f"'{DIRECTOR.position}'")]),
    # several at once: all are reported, not only the first
    Case("many-at-once", with_values(title="", category="99", request_date="32/1/2569",
                                     link="www.x", attachments="../../etc/shadow"),
         [P("title", "is empty: fill in the title"),
          P("category", "'99' is not one of the categories: choose from the cell's drop-down "
                        f"list or type its number 1-10 (valid: {ALL_CATEGORIES})"),
          P("request_date", "there is no day 32 in month 1 of 2026 (B.E. 2569): check the "
                            "date"),
          P("link", "'www.x' must start with https:// (e.g. https://www.x)"),
          P("attachments", f"'../../etc/shadow' {PLAIN_NAME}")]),
    Case("formula-and-merge-and-long", edit_cells(
        lambda wb: (formula("detail", "=A1")(wb), merged_over("note")(wb)), title="ข" * 350),
         [P("title", "is 350 characters long, more than the 300 allowed: shorten it"),
          P("detail", "holds a formula whose result was never computed (the file was saved by "
                      "a program that does not calculate): open it in Excel or LibreOffice "
                      "Calc and save it again, or type the value instead of the formula"),
          P("note", "is merged into คำขอ!A12, so what was typed in it is lost: unmerge the "
                    "cells and type it again")]),
    # found only when the sheet is processed: the attachments beside it
    Case("attachment-missing", with_values(attachments="ไม่มีจริง.pdf"),
         [P("attachments", "file(s) ไม่มีจริง.pdf not found beside the sheet: drop them into "
                           "the inbox with the sheet, and check that the names in the cell are "
                           "the files' exact names (with the extension, e.g. .pdf)")],
         stage="process"),
    Case("attachment-too-big", with_values(attachments="วิดีโอ ยาว.pdf"),
         attachments={"วิดีโอ ยาว.pdf": 120 * KB},
         expected=[P("attachments", "'วิดีโอ ยาว.pdf' is 120 KB, more than the 100 KB allowed "
                                    "per file: make it smaller, or share it as a link in the "
                                    "link cell")],
         stage="process"),
    Case("attachments-too-big-together", with_values(attachments="ส่วนที่ 1.pdf\nส่วนที่ 2.pdf"),
         attachments={"ส่วนที่ 1.pdf": 90 * KB, "ส่วนที่ 2.pdf": 80 * KB},
         expected=[P("attachments", "total 170 KB, more than the 150 KB allowed per request: "
                                    "make them smaller or split the request")],
         stage="process"),
]


def _check(problems, expected: list[tuple[str, str]]) -> None:
    got = [(p.field, p.cell, p.english) for p in problems]
    want = []
    for field_name, english in expected:
        if field_name:
            cell = f"{blank_sheet.SHEET_TITLE}!{CELL[field_name]}"
            want.append((field_name, cell, f"{field_name} ({CELL[field_name]}) {english}"))
        else:
            want.append(("", "", english))
    assert sorted(got) == sorted(want)
    for p in problems:
        if p.field:  # the Thai names the field by its label and its cell
            label = FIELD_BY_NAME[p.field].label
            assert p.thai.startswith(f"{label} ({blank_sheet.SHEET_TITLE}!{CELL[p.field]}) ")


def test_there_are_at_least_forty_distinct_bad_inputs():
    assert len({c.id for c in CASES}) == len(CASES) >= 40


@pytest.mark.parametrize("case", [c for c in CASES if c.stage != "process"], ids=lambda c: c.id)
def test_each_bad_input_gives_exactly_its_problems(case, config, tmp_path):
    path = case.build(tmp_path / f"{case.id}.xlsx", config)
    before = path.read_bytes()
    started = time.monotonic()
    result = sheet.read_sheet(path, config, today=TODAY,
                              certificate_name=lambda p: case.certificate or p.person.name)
    assert time.monotonic() - started < 10  # never a hang
    assert result.request is None and not result.ok
    _check(result.problems, case.expected)
    assert path.read_bytes() == before  # reading never changes the clerk's file


def test_the_watcher_rejects_every_bad_input_keeps_it_and_goes_on(demo_ws, converter):
    """All bad inputs in the inbox at once, with one good sheet among them."""
    cfg = dataclasses.replace(demo_ws, attachment_wait=0, sheet=RULES)
    inbox = demo_ws.workspace.inbox
    dropped: dict[str, bytes] = {}
    for case in CASES:
        if case.stage == "sheet-only":
            continue
        staged = case.build(demo_ws.workspace.root / f"{case.id}.xlsx", cfg)
        for name, size in case.attachments.items():
            (inbox / name).write_bytes(bytes([len(name)]) * size)
        dropped[case.id] = staged.read_bytes()
        staged.rename(inbox / staged.name)
    good = good_sheet(demo_ws.workspace.root / "ดี.xlsx", cfg, attachments="ประกาศ ฉบับเต็ม.pdf")
    (inbox / "ประกาศ ฉบับเต็ม.pdf").write_bytes(b"%PDF-1.4 full text")
    good.rename(inbox / good.name)

    started = time.monotonic()
    with Processor(cfg, converter) as proc:
        outcomes = drain(proc)
    assert time.monotonic() - started < 120
    by_name = {o.source.name: o for o in outcomes}
    assert by_name["ดี.xlsx"].state == State.ARCHIVED
    files = bundle.read_manifest(by_name["ดี.xlsx"].bundle)["files"]
    assert "attachments/ประกาศ ฉบับเต็ม.pdf" in files  # Thai names are kept
    rejected = demo_ws.workspace.rejected
    for case in CASES:
        if case.stage == "sheet-only":
            continue
        name = f"{case.id}.xlsx"
        outcome = by_name[name]
        assert outcome.state == State.REJECTED, case.id
        _check(outcome.problems, case.expected)
        assert (rejected / name).read_bytes() == dropped[case.id]  # given back byte for byte
        report = (rejected / f"{name}.error.txt").read_bytes()
        assert report.startswith(b"\xef\xbb\xbf")  # so that Notepad shows the Thai
        text = report.decode("utf-8-sig")
        for p in outcome.problems:
            assert p.thai_line() in text and p.english_line() in text
            assert text.index(p.thai_line()) < text.index("This request was not processed")
        assert (rejected / f"{case.id}.corrected.xlsx").exists() == any(
            p.cell for p in outcome.problems), case.id
    assert not [p for p in inbox.iterdir() if p.is_file()]  # nothing left half-processed


def test_the_corrected_copy_highlights_and_comments_each_cell(processor, demo_ws):
    inbox = demo_ws.workspace.inbox
    good_sheet(inbox / "แก้.xlsx", demo_ws, title="", link="www.moph.go.th")
    outcome = processor.process(inbox / "แก้.xlsx", take=True)
    assert outcome.state == State.REJECTED
    copy = load_workbook(outcome.rejection.annotated)
    ws = copy[blank_sheet.SHEET_TITLE]
    for name in ("title", "link"):
        cell = ws[CELL[name]]
        assert cell.fill.fgColor.rgb.endswith("F4CCCC")
        assert cell.comment is not None and name in cell.comment.text
    assert ws.sheet_view.selection[0].activeCell == CELL["title"]
    assert ws[CELL["unit"]].comment is None
    # the clerk fixes the copy in place and drops it back: it goes through
    blank_sheet.fill(outcome.rejection.annotated, {"title": "ประกาศ", "link": "https://www.moph.go.th"})
    again = sheet.read_sheet(outcome.rejection.annotated, demo_ws)
    assert again.ok, again.problems
    report = outcome.rejection.report.read_text(encoding="utf-8-sig")
    assert outcome.rejection.annotated.name in report


def test_values_are_data_on_the_form_and_in_the_index(processor, demo_ws):
    tricky = ('{{ config }} {% for x in y %} <w:t>x</w:t> ]]> =HYPERLINK("http://evil","คลิก")')
    path = good_sheet(demo_ws.workspace.inbox / "อักขระ.xlsx", demo_ws, title=tricky,
                      note='=HYPERLINK("http://evil")')
    outcome = processor.process(path, take=True)
    assert outcome.state == State.ARCHIVED, outcome.problems
    index = load_workbook(processor.rebuild_index())
    titles = [row[5] for row in index.active.iter_rows(min_row=3)]
    assert [(c.value, c.data_type) for c in titles] == [(tricky, "s")]
    import subprocess

    text = subprocess.run(["pdftotext", "-raw", str(outcome.bundle / f"{outcome.request_id}.pdf"),
                           "-"], capture_output=True, text=True, check=True).stdout
    assert "".join(tricky.split()) in "".join(text.split())


def test_a_provider_whose_key_is_someone_elses_is_rejected_at_validation(demo_ws, converter):
    """The key registered for the provider holds the director's certificate: rejected with
    the cell, before anything is rendered or signed."""
    provider = demo_ws.providers[0]
    swapped = dataclasses.replace(provider, key=demo_ws.director.key)
    cfg = dataclasses.replace(demo_ws, providers=(swapped,))
    path = good_sheet(demo_ws.workspace.inbox / "แทน.xlsx", cfg)
    with Processor(cfg, converter) as proc:
        outcome = proc.process(path, take=True)
    assert outcome.state == State.REJECTED
    [problem] = outcome.problems
    assert problem.field == "provider_name"
    assert problem.cell == f"{blank_sheet.SHEET_TITLE}!{CELL['provider_name']}"
    assert f"holds the certificate of '{DIRECTOR.name}'" in problem.english


def test_certificate_names_pair_a_sheet_name_with_another_certificate_name(config, tmp_path):
    paired = dataclasses.replace(config, sheet=dataclasses.replace(
        config.sheet, certificate_names=((PROVIDER.name, "NUREESAN HAYEEMA"),)))
    path = good_sheet(tmp_path / "en.xlsx", config)
    result = sheet.read_sheet(path, paired, certificate_name=lambda p: "Miss Nureesan Hayeema")
    assert result.ok, result.problems
    unpaired = sheet.read_sheet(path, config, certificate_name=lambda p: "NUREESAN HAYEEMA")
    assert [p.field for p in unpaired.problems] == ["provider_name"]


def test_an_acting_director_may_approve_and_must_say_so(config, tmp_path):
    acting = ActingDirector(Person("นายสมศักดิ์ รักงาน", "นักวิชาการสาธารณสุขชำนาญการพิเศษ"),
                            "รักษาราชการแทน")
    cfg = dataclasses.replace(config, sheet=dataclasses.replace(config.sheet,
                                                                acting_directors=(acting,)))
    expected = f"{acting.person.position} รักษาราชการแทน{DIRECTOR.position}"
    ok = good_sheet(tmp_path / "ok.xlsx", cfg, approver_name="สมศักดิ์  รักงาน",
                    approver_position=expected)
    result = sheet.read_sheet(ok, cfg)
    assert result.ok, result.problems
    assert result.request.approver.name == "สมศักดิ์ รักงาน"
    bad = good_sheet(tmp_path / "bad.xlsx", cfg, approver_name="นายสมศักดิ์ รักงาน",
                     approver_position=acting.person.position)
    [problem] = sheet.read_sheet(bad, cfg).problems
    assert problem.field == "approver_position"
    assert problem.english.endswith(f"put '{expected}'")
    other = good_sheet(tmp_path / "other.xlsx", cfg, approver_name="นายใครก็ได้")
    [problem] = sheet.read_sheet(other, cfg).problems
    assert "นายสมศักดิ์ รักงาน (รักษาราชการแทน)" in problem.english


def test_sheet_rules_come_from_pipeline_toml(demo_ws):
    import tomllib

    ws = demo_ws.workspace
    data = tomllib.loads(ws.config_file.read_text(encoding="utf-8"))
    data["sheet"] = tomllib.loads("""
max_days_past = 30
max_days_future = 7
max_sheet_mb = 2
max_attachment_mb = 10
max_request_mb = 25.5

[max_length]
title = 120

[certificate_names]
"นางสาวนูรีซัน หะยีมะ" = "NUREESAN HAYEEMA"

[[acting_directors]]
name = "นายสมศักดิ์ รักงาน"
position = "นักวิชาการสาธารณสุขชำนาญการพิเศษ"
title = "ปฏิบัติราชการแทน"
""")
    rules = config_mod._parse(ws, data).sheet
    assert (rules.max_days_past, rules.max_days_future) == (30, 7)
    assert rules.max_sheet_bytes == 2 << 20 and rules.max_request_bytes == int(25.5 * (1 << 20))
    assert rules.max_length == (("title", 120),)
    assert rules.certificate_names == (("นางสาวนูรีซัน หะยีมะ", "NUREESAN HAYEEMA"),)
    assert rules.acting_directors[0].title == "ปฏิบัติราชการแทน"
    data["sheet"]["max_length"] = {"titel": 120}
    with pytest.raises(config_mod.ConfigError, match="unknown field titel"):
        config_mod._parse(ws, data)
    data["sheet"] = {"acting_directors": [{"name": "ก ข", "position": "ค", "title": "แทน"}]}
    with pytest.raises(config_mod.ConfigError, match="title must be one of"):
        config_mod._parse(ws, data)


def test_the_defaults_keep_the_demo_sheet_valid(demo_template):
    cfg = config_mod.load(demo_template)
    assert cfg.sheet == SheetRules()
    assert sheet.read_sheet(demo_template / demo.SAMPLE, cfg).ok


@pytest.mark.parametrize(("url", "ok"), [
    ("https://www.moph.go.th/", True), ("http://ddc.moph.go.th/news?id=1#top", True),
    ("https://ตัวอย่าง.ไทย/ข่าว", True), ("https://192.168.1.10:8080/a", True),
    ("HTTPS://WWW.MOPH.GO.TH", True), ("https://localhost/", False),
    ("https://www.moph.go.th:99999/", False), ("https://-bad-.go.th", False),
    ("mailto:a@b.th", False), ("https://www.moph.go.th /x", False),
])
def test_url_rule(url, ok):
    assert (validate.url_problem(url) is None) == ok


def test_choices_accept_labels_numbers_and_spacing_variants():
    cats = CATEGORIES
    for typed in ("ข่าวประชาสัมพันธ์", " ข่าว ประชา\u200bสัมพันธ์ ", "8", "๘", "8.", "(8)",
                  "8. ข่าวประชาสัมพันธ์", "8 ข่าวประชาสัมพันธ์", "ระบบงานให้บริการ E-SERVICE"):
        expected = cats[8] if "SERVICE" in typed else cats[7]
        assert validate.match_choice(typed, cats, numbers=True) == expected, typed
    assert validate.match_choice("8. กฎหมาย", cats, numbers=True) is None
    assert validate.match_choice("3", tuple(demo.WORK_GROUPS), numbers=False) is None


def test_text_is_cleaned_and_line_breaks_of_the_detail_kept(config, tmp_path):
    path = good_sheet(tmp_path / "word.xlsx", config,
                      title="  ประกาศ\u00a0\u00a0เรื่อง\nน\u0e4d\u0e49\u0e32ท่วม  ",
                      detail="บรรทัดแรก_x000D_\nบรรทัดสอง\u2028บรรทัดสาม_x000B_สี่",
                      link="เว็บไซต์กรม", provider_name="  นางสาว นูรีซัน  หะยีมะ ")
    wb = load_workbook(path)
    title, ref = next(iter(wb.defined_names["link"].destinations))
    wb[title][ref.replace("$", "")].hyperlink = "https://ddc.moph.go.th/"
    wb.save(path)
    result = sheet.read_sheet(path, config)
    assert result.ok, result.problems
    req = result.request
    assert req.title == "ประกาศ เรื่อง น้ำท่วม"
    assert req.detail == "บรรทัดแรก\nบรรทัดสอง\nบรรทัดสาม\nสี่"
    assert req.link == "https://ddc.moph.go.th/"  # the link behind a cell's text
    assert req.provider.name == "นางสาว นูรีซัน หะยีมะ"


@pytest.mark.parametrize("typed", [
    date.today(), datetime.now(), f"{TODAY.day} {thai.MONTHS_ABBR[TODAY.month - 1]} "
    f"{thai.be_year(TODAY)}", thai.long_date(TODAY), f"{TODAY:%d/%m}/{thai.be_year(TODAY)}",
    f"{TODAY:%Y-%m-%d}", f"{TODAY:%d/%m/%Y}", f"{TODAY:%d/%m}/{thai.be_year(TODAY) % 100:02d}",
    datetime(TODAY.year + 543, TODAY.month, min(TODAY.day, 28)),  # a B.E. year in a date cell
])
def test_dates_as_offices_type_them(config, tmp_path, typed):
    path = good_sheet(tmp_path / "d.xlsx", config, request_date=typed)
    result = sheet.read_sheet(path, config, today=TODAY)
    assert result.ok, result.problems
    expected = typed.date() if isinstance(typed, datetime) else typed
    if isinstance(expected, date) and expected.year > 2400:
        expected = expected.replace(year=expected.year - 543)
    assert result.request.request_date in (expected, TODAY)


def test_a_date_serial_without_its_date_format_is_read_as_a_date(config, tmp_path):
    path = good_sheet(tmp_path / "serial.xlsx", config)
    wb = load_workbook(path)
    title, ref = next(iter(wb.defined_names["request_date"].destinations))
    cell = wb[title][ref.replace("$", "")]
    cell.value = (TODAY - date(1899, 12, 30)).days
    cell.number_format = "General"
    wb.save(path)
    result = sheet.read_sheet(path, config, today=TODAY)
    assert result.ok, result.problems
    assert result.request.request_date == TODAY


def test_a_provider_key_that_cannot_be_opened_holds_the_request_not_the_clerk(processor,
                                                                              demo_ws):
    """A passphrase the administrator broke is the set-up's fault: the sheet waits (and is
    retried), it is not rejected; a sheet with problems of its own is still rejected."""
    passphrase = demo_ws.providers[0].key.passphrase_file
    secret = passphrase.read_bytes()
    passphrase.write_bytes(b"not-the-passphrase")
    inbox = demo_ws.workspace.inbox
    held = processor.process(good_sheet(inbox / "รอ.xlsx", demo_ws), take=True)
    assert held.state == State.RECEIVED and held.rejection is None
    assert "wrong passphrase" in held.problems[0].english
    bad = processor.process(good_sheet(inbox / "ผิด.xlsx", demo_ws, title=""), take=True)
    assert bad.state == State.REJECTED
    assert [p.field for p in bad.problems] == ["title"]
    passphrase.write_bytes(secret)
    [done] = processor.resume()
    assert (done.request_id, done.state) == (held.request_id, State.ARCHIVED)
