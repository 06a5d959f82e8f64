"""The rules a filled request sheet must meet, applied to the values ``sheet.py`` read.

Kept apart from the modules that talk to openpyxl and guard the file itself (``sheet.py``,
``blank_sheet.py``, ``filecheck.py``) so the rules are plain functions over plain values:
every field is checked, every problem is kept, and each one names the field by its Thai
label, its defined name and its cell, and says how to fix it.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

from pipeline.core import thai
from pipeline.core.request import FIELD_BY_NAME, FIELDS, Person, Problem, Request, SheetResult
from pipeline.settings.config import ActingDirector, Config, SignerConfig

# Given a registered provider, the name in the certificate of their signing key (None when the
# key cannot be opened now: a fault of the set-up, which the caller deals with).
CertificateName = Callable[[SignerConfig], "str | None"]

MAX_ATTACHMENTS = 50
MAX_LINKS = 10
_FILE_NAME_BYTES = 255  # what Linux and Windows file systems allow
_BAD_NAME_CHARS = set('<>:"/\\|?*') | {chr(c) for c in range(32)}
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TOP_LEVEL = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
_LINE_BREAK = re.compile("\r\n|[\r\n\v\f\x85\u2028\u2029]")
_LEADING_NUMBER = re.compile(r"^\(?(\d{1,2})\s*[.)]?\s*(.*)$", re.S)


@dataclass(frozen=True)
class RawCell:
    """What the sheet holds in one named cell, as read (``sheet.py`` fills it in)."""

    value: object  # the value, or a formula's cached value: str, int, float, bool, datetime...
    cell: str  # "คำขอ!B8"
    formula: bool = False
    computed: bool = True  # False: a formula whose result the saving program never computed
    error: str = ""  # an error value shown in the cell, e.g. "#REF!"
    hyperlink: str = ""  # where the cell links to (Insert > Link), if it does
    merged_into: str = ""  # the cell lies under a merged range starting at this cell
    serial_date: date | None = None  # a plain number read as a date serial (format lost)


class _Problems:
    def __init__(self, cells: Mapping[str, RawCell]) -> None:
        self._cells = cells
        self.items: list[Problem] = []
        self.fields: set[str] = set()

    def add(self, name: str, thai_text: str, english: str) -> None:
        spec = FIELD_BY_NAME[name]
        cell = self._cells[name].cell
        short = cell.rsplit("!", 1)[-1]
        self.items.append(Problem(name, cell, f"{spec.label} ({cell}) {thai_text}",
                                  f"{name} ({short}) {english}"))
        self.fields.add(name)


def validate(cells: Mapping[str, RawCell], config: Config, *, today: date | None = None,
             certificate_name: CertificateName | None = None) -> SheetResult:
    """Check every field of a sheet; a request when all is well, else every problem."""
    today = today or thai.today()
    problems = _Problems(cells)
    text: dict[str, str] = {}
    for spec in FIELDS:
        text[spec.name] = _field_text(spec.name, cells[spec.name], problems)
    for spec in FIELDS:
        if spec.name in problems.fields:
            continue
        value = text[spec.name]
        if spec.required and not value:
            hint = spec.hint.split(" / ")[0]
            problems.add(spec.name, f"ว่าง กรุณากรอก{spec.label}" + (f" ({hint})" if hint else ""),
                         f"is empty: fill in the {spec.english}")
            continue
        limit = _max_length(spec.name, config)
        if len(value) > limit:
            problems.add(spec.name,
                         f"ยาว {len(value):,} ตัวอักษร เกินกำหนด {limit:,} ตัวอักษร กรุณาย่อให้สั้นลง"
                         + (" (รายละเอียดที่ยาวให้แนบเป็นไฟล์ในช่อง ไฟล์แนบ)"
                            if spec.name == "detail" else ""),
                         f"is {len(value):,} characters long, more than the {limit:,} allowed: "
                         f"shorten it" + (" (attach a long text as a file in the attachments "
                                          "cell)" if spec.name == "detail" else ""))

    def usable(name: str) -> bool:
        return name not in problems.fields and bool(text[name])

    work_group = category = request_date = None
    if usable("work_group"):
        work_group = _choice(problems, "work_group", text["work_group"], config.work_groups,
                             numbers=False)
    if usable("category"):
        category = _choice(problems, "category", text["category"], config.categories,
                           numbers=True)
    if "request_date" not in problems.fields and cells["request_date"].value not in (None, ""):
        request_date = _request_date(problems, cells["request_date"], config, today)
    links = _links(problems, cells["link"], text["link"]) if usable("link") else ""
    attachments = (_attachments(problems, text["attachments"]) if usable("attachments")
                   else ())
    if usable("provider_name"):
        _provider(problems, text["provider_name"], config, certificate_name)
    if usable("approver_name"):
        _approver(problems, text["approver_name"], text["approver_position"],
                  "approver_position" not in problems.fields, config)
    obligation = _obligation(problems, text["obligation"], config) if usable("obligation") else ""

    if problems.items or request_date is None or work_group is None or category is None:
        order = {spec.name: i for i, spec in enumerate(FIELDS)}  # as they are on the sheet
        ordered = sorted(problems.items, key=lambda p: order[p.field])
        return SheetResult(None, tuple(ordered), _addresses(cells))
    return SheetResult(Request(
        unit=text["unit"],
        work_group=work_group,
        request_date=request_date,
        title=text["title"],
        category=category,
        detail=text["detail"],
        link=links,
        note=text["note"],
        attachments=attachments,
        provider=Person(text["provider_name"], text["provider_position"]),
        approver=Person(text["approver_name"], text["approver_position"]),
        publisher=Person(text["publisher_name"] or config.publisher.name,
                         text["publisher_position"] or config.publisher.position),
        obligation=obligation,
    ), (), _addresses(cells))


def _addresses(cells: Mapping[str, RawCell]) -> dict[str, str]:
    return {name: raw.cell for name, raw in cells.items()}


def _max_length(name: str, config: Config) -> int:
    return dict(config.sheet.max_length).get(name, FIELD_BY_NAME[name].max_length)


# -- reading a cell as text ----------------------------------------------------------------

def _field_text(name: str, raw: RawCell, problems: _Problems) -> str:
    """The cell's text, normalised; "" (and a problem) when the cell cannot be read."""
    spec = FIELD_BY_NAME[name]
    if raw.merged_into:
        problems.add(name, f"ถูกรวมเซลล์ (Merge) เข้ากับช่อง {raw.merged_into} สิ่งที่กรอกไว้จึงหายไป: "
                           "ยกเลิกการรวมเซลล์ (Unmerge) แล้วกรอกใหม่",
                     f"is merged into {raw.merged_into}, so what was typed in it is lost: "
                     "unmerge the cells and type it again")
        return ""
    if raw.error:
        problems.add(name, f"แสดงข้อผิดพลาด {raw.error}: แก้สูตร หรือพิมพ์ข้อความแทนสูตร",
                     f"shows the error {raw.error}: fix the formula or type the value instead")
        return ""
    if raw.formula and not raw.computed:
        problems.add(name, "มีสูตรที่ยังไม่ได้คำนวณ (บันทึกจากโปรแกรมที่ไม่คำนวณสูตร): "
                           "เปิดไฟล์ใน Excel หรือ LibreOffice Calc แล้วบันทึกใหม่ หรือพิมพ์ค่าแทนสูตร",
                     "holds a formula whose result was never computed (the file was saved by a "
                     "program that does not calculate): open it in Excel or LibreOffice Calc "
                     "and save it again, or type the value instead of the formula")
        return ""
    value = raw.value
    if value is None:
        return ""
    if name == "request_date":  # read by _request_date; here only whether it is empty
        return thai.normalize_line(value) if isinstance(value, str) else "date"
    if isinstance(value, datetime | date | time | timedelta):
        problems.add(name, "ถูก Excel เปลี่ยนเป็นวันที่หรือเวลา: ตั้งรูปแบบเซลล์เป็น ข้อความ (Text) "
                           "หรือพิมพ์ ' นำหน้า แล้วพิมพ์ใหม่",
                     "was turned into a date or time by the spreadsheet program: format the "
                     "cell as Text (or start with an apostrophe ') and type it again")
        return ""
    if isinstance(value, float):
        value = int(value) if value.is_integer() else f"{value:.15g}"
    text = str(value)
    if name == "attachments":  # file names as typed: only the spacing around each goes
        lines = (unicodedata.normalize("NFC", line).strip().strip("\u200b\ufeff").strip()
                 for line in _LINE_BREAK.split(text))
        return "\n".join(line for line in lines if line)
    return thai.normalize_text(text) if spec.multiline else thai.normalize_line(text)


# -- choices -------------------------------------------------------------------------------

def match_choice(value: str, allowed: tuple[str, ...], *, numbers: bool) -> str | None:
    """The allowed value meant by ``value``: the label itself, whatever its spacing or
    invisible characters, or (with ``numbers``) its number 1..n, alone or before the label."""
    key = thai.compact_key(value)
    keys = {thai.compact_key(item): item for item in allowed}
    if key in keys:
        return keys[key]
    if numbers and (m := _LEADING_NUMBER.match(thai.arabic_digits(thai.normalize_line(value)))):
        number, rest = int(m[1]), m[2]
        if 1 <= number <= len(allowed) and (
                not rest or thai.compact_key(rest) == thai.compact_key(allowed[number - 1])):
            return allowed[number - 1]
    return None


def closest(value: str, allowed: tuple[str, ...]) -> str | None:
    """The allowed value nearest to ``value``, if any is reasonably near."""
    keys = {thai.compact_key(item): item for item in allowed}
    near = difflib.get_close_matches(thai.compact_key(value), list(keys), n=1, cutoff=0.5)
    return keys[near[0]] if near else None


def _choice(problems: _Problems, name: str, value: str, allowed: tuple[str, ...], *,
            numbers: bool) -> str | None:
    chosen = match_choice(value, allowed, numbers=numbers)
    if chosen is not None:
        return chosen
    near = closest(value, allowed)
    if near is not None:
        number = f"{allowed.index(near) + 1}. " if numbers else ""
        hint_th, hint_en = f"ใกล้เคียงที่สุด: '{number}{near}'", f"closest: '{number}{near}'"
    else:
        listed = "; ".join(f"{i}. {a}" if numbers else a for i, a in enumerate(allowed, 1))
        hint_th, hint_en = f"ที่มี: {listed}", f"valid: {listed}"
    how_th = "เลือกจากรายการในช่อง" + (f" หรือพิมพ์เลข 1-{len(allowed)}" if numbers else "")
    how_en = "choose from the cell's drop-down list" + (
        f" or type its number 1-{len(allowed)}" if numbers else "")
    what_th, what_en = (("ประเภทข้อมูล", "categories") if name == "category"
                        else ("กลุ่มงาน", "work groups"))
    problems.add(name, f"'{value}' ไม่อยู่ในรายการ{what_th}: {how_th} ({hint_th})",
                 f"'{value}' is not one of the {what_en}: {how_en} ({hint_en})")
    return None


def obligation_for(value: str, config: Config) -> str | None:
    """The ID of the configured obligation ``value`` names: as the drop-down shows it
    (``id: title``), its ID alone or its title alone, whatever the spacing."""
    key = thai.compact_key(value)
    for item in config.obligations.items:
        if key in (thai.compact_key(item.id), thai.compact_key(item.label()),
                   thai.compact_key(item.title)):
            return item.id
    head = value.split(":", 1)[0].strip()
    return head if config.obligations.by_id(head) is not None and ":" in value else None


def _obligation(problems: _Problems, value: str, config: Config) -> str:
    found = obligation_for(value, config)
    if found is not None:
        return found
    items = config.obligations.items
    near = closest(value, tuple(o.label() for o in items)) if items else None
    if near is not None:
        hint_th, hint_en = f"ใกล้เคียงที่สุด: '{near}'", f"closest: '{near}'"
    elif items:
        listed = "; ".join(o.id for o in items)
        hint_th, hint_en = f"ที่มี: {listed}", f"valid: {listed}"
    else:
        hint_th, hint_en = "สำนักงานยังไม่ได้กำหนดไว้", "the office lists none"
    problems.add("obligation", f"'{value}' ไม่อยู่ในรายการภาระการเผยแพร่: เลือกจากรายการในช่อง "
                               f"หรือเว้นว่างไว้ ({hint_th})",
                 f"'{value}' is not one of the office's publication obligations: choose from "
                 f"the cell's drop-down list or leave it empty ({hint_en})")
    return ""


# -- dates ---------------------------------------------------------------------------------

def _request_date(problems: _Problems, raw: RawCell, config: Config,
                  today: date) -> date | None:
    value = raw.value
    example_th = "ให้พิมพ์ วัน/เดือน/ปี พ.ศ. เช่น 25/11/2569 หรือ 25 พ.ย. 2569"
    example_en = "type day/month/Buddhist-Era year, e.g. 25/11/2569 or 25 พ.ย. 2569"
    if isinstance(value, datetime):
        value = value.date()
    if raw.serial_date is not None:
        value = raw.serial_date
    if isinstance(value, date):
        day, month, year = value.day, value.month, value.year
    elif isinstance(value, str):
        parts = thai.date_parts(value)
        if parts is None:
            problems.add("request_date", f"'{thai.normalize_line(value)}' อ่านเป็นวันที่ไม่ได้: "
                                         f"{example_th}",
                         f"'{thai.normalize_line(value)}' is not a date: {example_en}")
            return None
        day, month, year = parts
    else:
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        problems.add("request_date", f"เป็นตัวเลข {shown} ไม่ใช่วันที่: {example_th}",
                     f"is the number {shown}, not a date: {example_en}")
        return None
    greg = thai.gregorian_year(year, today)
    shown_year = greg + thai.BE_OFFSET
    if not 1 <= month <= 12:
        problems.add("request_date", f"ไม่มีเดือนที่ {month} (เดือนต้องเป็น 1-12 และพิมพ์วันก่อนเดือน): "
                                     f"{example_th}",
                     f"there is no month {month} (months are 1-12, and the day comes before "
                     f"the month): {example_en}")
        return None
    try:
        result = date(greg, month, day)
    except ValueError:
        problems.add("request_date", f"ไม่มีวันที่ {day} ในเดือน{thai.MONTHS[month - 1]} "
                                     f"พ.ศ. {shown_year}: ตรวจวันที่อีกครั้ง",
                     f"there is no day {day} in month {month} of {greg} "
                     f"(B.E. {shown_year}): check the date")
        return None
    rules = config.sheet
    if result > today + timedelta(days=rules.max_days_future):
        problems.add("request_date", f"{thai.long_date(result, digits=False)} อยู่ล่วงหน้าเกิน "
                                     f"{rules.max_days_future} วัน: ตรวจวัน เดือน และปี พ.ศ. "
                                     f"(ปีนี้คือ {thai.be_year(today)})",
                     f"{result:%d/%m/%Y} is more than {rules.max_days_future} days ahead: "
                     f"check the day, month and year (this year is {today.year}, "
                     f"B.E. {thai.be_year(today)})")
        return None
    if result < today - timedelta(days=rules.max_days_past):
        problems.add("request_date", f"{thai.long_date(result, digits=False)} ผ่านมาแล้วเกิน "
                                     f"{rules.max_days_past} วัน: ใส่วันที่ยื่นคำขอ "
                                     f"(ปีนี้คือ พ.ศ. {thai.be_year(today)})",
                     f"{result:%d/%m/%Y} is more than {rules.max_days_past} days ago: put the "
                     f"date of this request (this year is {today.year}, "
                     f"B.E. {thai.be_year(today)})")
        return None
    return result


# -- links ---------------------------------------------------------------------------------

def url_problem(url: str) -> tuple[str, str] | None:
    """Why ``url`` is not a usable http(s) link (Thai, English), or None when it is."""
    if any(c.isspace() for c in url):
        return ("มีช่องว่างอยู่ในลิงก์: คัดลอกลิงก์จากแถบที่อยู่ของเว็บเบราว์เซอร์มาวางใหม่",
                "contains a space: copy the link again from the browser's address bar")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if "://" not in url:
        if re.match(r"^(?:www\.|[\w-]+(?:\.[\w-]+)+(?:[/:?#]|$))", url):
            return (f"ต้องขึ้นต้นด้วย https:// เช่น https://{url}",
                    f"must start with https:// (e.g. https://{url})")
        return ("ไม่ใช่ลิงก์เว็บ ต้องขึ้นต้นด้วย https:// หรือ http://",
                "is not a web link: it must start with https:// or http://")
    if scheme not in ("http", "https"):
        return (f"รับเฉพาะลิงก์ http:// หรือ https:// (ไม่ใช่ {scheme or '?'}://)",
                f"only http:// and https:// links are accepted (not {scheme or '?'}://)")
    if parts.username is not None or parts.password is not None:
        return ("ลิงก์ต้องไม่มีชื่อผู้ใช้หรือรหัสผ่าน (ส่วนที่อยู่หน้า @)",
                "must not contain a user name or password (the part before @)")
    try:
        host, _port = parts.hostname, parts.port
    except ValueError:
        host = None
    if not host or not _valid_host(host):
        return ("ลิงก์ไม่สมบูรณ์หรือชื่อเว็บไซต์ไม่ถูกต้อง: คัดลอกลิงก์จากแถบที่อยู่ของเว็บเบราว์เซอร์มาวางใหม่",
                "is broken (no valid web site name after the //): copy the link again from "
                "the browser's address bar")
    return None


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        return False
    labels = ascii_host.split(".")
    return (len(labels) >= 2 and len(ascii_host) <= 253
            and all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
            and bool(_TOP_LEVEL.fullmatch(labels[-1])))


def _links(problems: _Problems, raw: RawCell, value: str) -> str:
    lines = [line for line in value.split("\n") if line]
    # a cell showing a text ("เว็บไซต์กรม") and linking elsewhere (Insert > Link): the target
    if (len(lines) == 1 and url_problem(lines[0]) and raw.hyperlink
            and urlsplit(raw.hyperlink).scheme.lower() in ("http", "https")):
        lines = [raw.hyperlink.strip()]
    if len(lines) > MAX_LINKS:
        problems.add("link", f"มีลิงก์ {len(lines)} บรรทัด เกิน {MAX_LINKS}: "
                             "ใส่ลิงก์อื่นในรายละเอียดหรือไฟล์แนบ",
                     f"holds {len(lines)} links, more than {MAX_LINKS}: put the others in the "
                     f"detail or an attachment")
        return ""
    for line in lines:
        if why := url_problem(line):
            problems.add("link", f"'{line}' {why[0]}", f"'{line}' {why[1]}")
    return "\n".join(lines)


# -- attachments ---------------------------------------------------------------------------

def file_name_problem(name: str) -> tuple[str, str] | None:
    """Why ``name`` cannot be the name of a file the clerk hands in (Thai, English), or
    None: one plain name that Linux and Windows shares can hold and the inbox does not
    ignore. Attachments obey it (:func:`attachment_name_problem`), and so do sheets handed
    in at the desk (:mod:`pipeline.intake.upload`)."""
    if name in (".", "..") or "/" in name or "\\" in name or re.match(r"^[A-Za-z]:", name):
        return ("ต้องเป็นชื่อไฟล์อย่างเดียว ไม่มีโฟลเดอร์หรือไดรฟ์ (เช่น ../ หรือ C:\\): "
                "วางไฟล์ไว้ในโฟลเดอร์ inbox คู่กับแบบคำขอ แล้วใส่เฉพาะชื่อไฟล์",
                "must be a plain file name, without folders or drives (no ../, / or C:\\): "
                "put the file in the inbox beside the sheet and write only its name")
    if any(c in _BAD_NAME_CHARS or unicodedata.category(c) == "Cc" for c in name):
        return ("มีอักขระที่ใช้ในชื่อไฟล์ไม่ได้ (< > : \" | ? *): เปลี่ยนชื่อไฟล์แล้วใส่ชื่อใหม่",
                "contains characters file names cannot have (< > : \" | ? *): rename the file "
                "and write its new name")
    if name.startswith((".", "~$")):
        return ("เป็นชื่อไฟล์ซ่อนหรือไฟล์ชั่วคราว ซึ่งระบบไม่รับ: เปลี่ยนชื่อไฟล์ให้ไม่ขึ้นต้นด้วย . หรือ ~$",
                "is a hidden or temporary file name, which the inbox ignores: rename the file "
                "so it does not start with . or ~$")
    if name.endswith("."):
        return ("ชื่อไฟล์ต้องไม่ลงท้ายด้วยจุด", "must not end with a dot")
    if len(name.encode("utf-8")) > _FILE_NAME_BYTES:
        return ("ชื่อไฟล์ยาวเกินไป: เปลี่ยนชื่อไฟล์ให้สั้นลง",
                "is too long for a file name: rename the file to something shorter")
    return None


def attachment_name_problem(name: str) -> tuple[str, str] | None:
    """Why ``name`` cannot be an attachment's file name (Thai, English), or None."""
    if why := file_name_problem(name):
        return why
    if name.lower().endswith((".xlsx", ".xlsm", ".xls")):
        return ("ไฟล์ Excel แนบไม่ได้ เพราะระบบจะถือเป็นแบบคำขออีกฉบับ: บันทึกเป็น PDF หรือบีบอัดเป็น .zip",
                "an Excel file cannot be attached, as the inbox would take it for another "
                "request sheet: save it as PDF or put it in a .zip")
    return None


def _attachments(problems: _Problems, value: str) -> tuple[str, ...]:
    names = tuple(value.split("\n"))
    if len(names) > MAX_ATTACHMENTS:
        problems.add("attachments", f"มีไฟล์แนบ {len(names)} ไฟล์ เกิน {MAX_ATTACHMENTS}: "
                                    "รวมไฟล์เป็น .zip",
                     f"names {len(names)} files, more than {MAX_ATTACHMENTS}: put them in a .zip")
        return ()
    seen: set[str] = set()
    for name in names:
        if why := attachment_name_problem(name):
            problems.add("attachments", f"'{name}' {why[0]}", f"'{name}' {why[1]}")
        elif name.casefold() in seen:
            problems.add("attachments", f"'{name}' ซ้ำ: ใส่ชื่อไฟล์แต่ละไฟล์ครั้งเดียว",
                         f"'{name}' is named twice: name each file once")
        seen.add(name.casefold())
    return names


# -- people --------------------------------------------------------------------------------

def provider_for(name: str, config: Config) -> SignerConfig | None:
    """The registered provider named ``name`` on a sheet (titles and spacing aside), directly
    or through ``[sheet.certificate_names]``."""
    keys = {thai.name_key(name)}
    keys |= {thai.name_key(cert) for sheet_name, cert in config.sheet.certificate_names
             if thai.name_key(sheet_name) in keys}
    return next((p for p in config.providers if thai.name_key(p.person.name) in keys), None)


def certificate_matches(sheet_name: str, certificate: str, config: Config) -> bool:
    """Whether a certificate in the name ``certificate`` is that of the person named
    ``sheet_name`` on a sheet: the same name (titles and spacing aside), or paired in
    ``[sheet.certificate_names]``."""
    sheet_key, cert_key = thai.name_key(sheet_name), thai.name_key(certificate)
    return sheet_key == cert_key or any(
        thai.name_key(s) == sheet_key and thai.name_key(c) == cert_key
        for s, c in config.sheet.certificate_names)


def _provider(problems: _Problems, name: str, config: Config,
              certificate_name: CertificateName | None) -> None:
    provider = provider_for(name, config)
    if provider is None:
        near = closest(name, tuple(p.person.name for p in config.providers))
        hint_th = f" (ชื่อที่ใกล้เคียง: '{near}')" if near else ""
        hint_en = f" (closest registered name: '{near}')" if near else ""
        problems.add("provider_name",
                     f"ไม่มีกุญแจลงนามของ '{name}' ในระบบ: แก้ชื่อให้ตรงกับผู้ที่ลงทะเบียนไว้{hint_th} "
                     "หรือให้ผู้ดูแลระบบลงทะเบียนผู้ให้ข้อมูลคนนี้ใน pipeline.toml ก่อน",
                     f"no signing key is registered for '{name}': correct the name to a "
                     f"registered provider{hint_en}, or ask the administrator to register this "
                     f"person in pipeline.toml [[providers]]")
        return
    if certificate_name is None:
        return
    certificate = certificate_name(provider)
    if certificate is not None and not certificate_matches(name, certificate, config):
        problems.add("provider_name",
                     f"กุญแจลงนามที่ลงทะเบียนไว้สำหรับ '{name}' เป็นใบรับรองของ '{certificate}' "
                     "ไม่มีใครลงนามแทนผู้อื่นได้: แจ้งผู้ดูแลระบบให้แก้กุญแจใน pipeline.toml "
                     "(หรือจับคู่ชื่อไว้ใน [sheet.certificate_names])",
                     f"the signing key registered for '{name}' holds the certificate of "
                     f"'{certificate}', and nobody signs for someone else: ask the "
                     f"administrator to fix the key in pipeline.toml (or to pair the two names "
                     f"in [sheet.certificate_names])")


def acting_director(name: str, config: Config) -> ActingDirector | None:
    """The acting director named ``name``, if the config lists one."""
    key = thai.name_key(name)
    return next((a for a in config.sheet.acting_directors
                 if thai.name_key(a.person.name) == key), None)


def _approver(problems: _Problems, name: str, position: str, check_position: bool,
              config: Config) -> None:
    director = config.director.person
    if thai.name_key(name) == thai.name_key(director.name):
        if check_position and position and (
                thai.compact_key(position) != thai.compact_key(director.position)):
            problems.add("approver_position",
                         f"'{position}' ไม่ตรงกับตำแหน่งของผู้อนุมัติ: ใส่ '{director.position}'",
                         f"'{position}' is not the approver's position: put "
                         f"'{director.position}'")
        return
    acting = acting_director(name, config)
    if acting is not None:
        expected = f"{acting.person.position} {acting.title}{director.position}"
        if check_position and position and (
                thai.compact_key(acting.title) not in thai.compact_key(position)):
            problems.add("approver_position",
                         f"'{position}' ต้องระบุว่า{acting.title}: ใส่ '{expected}'",
                         f"'{position}' must say that {acting.person.name} signs as "
                         f"{acting.title} (acting for the director): put '{expected}'")
        return
    others = "".join(f", {a.person.name} ({a.title})" for a in config.sheet.acting_directors)
    problems.add("approver_name",
                 f"'{name}' ไม่ใช่ผู้อนุมัติที่กำหนดไว้: ใส่ '{director.name}'"
                 + (f" หรือผู้รักษาราชการแทนที่กำหนดไว้{others}" if others else ""),
                 f"'{name}' is not the configured approver: put '{director.name}'"
                 + (f" or a listed acting director{others}" if others else ""))
