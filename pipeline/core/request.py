"""The request: what one filled sheet asks for, as plain typed data shared by every stage,
and the fields of the request sheet it is read from."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from types import MappingProxyType


@dataclass(frozen=True)
class Field:
    """One input of the request sheet, found by its workbook-level defined name."""

    name: str  # the defined name
    label: str  # Thai label shown beside the cell
    english: str
    required: bool = True
    hint: str = ""
    max_length: int = 200  # characters, unless pipeline.toml [sheet.max_length] says otherwise
    multiline: bool = False  # line breaks are kept (else they become spaces)
    # added after sheets were in use: a sheet made before it lacks the cell, which reads as
    # empty (the sheet is not refused as an old template)
    cell_optional: bool = False


FIELDS: tuple[Field, ...] = (
    Field("unit", "ชื่อหน่วยงาน", "unit"),
    Field("work_group", "กลุ่มงาน", "work group", hint="เลือกจากรายการ / choose from the list"),
    Field("request_date", "วัน/เดือน/ปี", "request date", max_length=60,
          hint="เช่น 25/11/2569 หรือ 25 พ.ย. 2569 / e.g. 25/11/2569"),
    Field("title", "หัวข้อ", "title", max_length=300),
    Field("category", "ประเภทข้อมูล", "category",
          hint="เลือกจากรายการ หรือพิมพ์เลข 1-10 / choose from the list or type 1-10"),
    Field("detail", "รายละเอียดข้อมูล (โดยสรุปหรือเอกสารแนบ)", "detail", max_length=3000,
          multiline=True),
    Field("link", "Link ภายนอก", "external link", required=False, max_length=1000,
          multiline=True, hint="https://... (บรรทัดละหนึ่งลิงก์ / one per line)"),
    Field("note", "หมายเหตุ", "note", required=False, max_length=1000, multiline=True),
    Field("attachments", "ไฟล์แนบ", "attachments", required=False, max_length=2000,
          multiline=True,
          hint="ชื่อไฟล์ที่วางไว้คู่กับแบบฟอร์มนี้ บรรทัดละหนึ่งไฟล์ / file names, one per line"),
    Field("provider_name", "ผู้รับผิดชอบการให้ข้อมูล: ชื่อ", "provider's name", max_length=120),
    Field("provider_position", "ผู้รับผิดชอบการให้ข้อมูล: ตำแหน่ง", "provider's position"),
    Field("approver_name", "ผู้อนุมัติรับรอง: ชื่อ", "approver's name", max_length=120),
    Field("approver_position", "ผู้อนุมัติรับรอง: ตำแหน่ง", "approver's position",
          max_length=250),
    Field("publisher_name", "ผู้รับผิดชอบการนำข้อมูลขึ้นเผยแพร่: ชื่อ", "publisher's name",
          required=False, max_length=120),
    Field("publisher_position", "ผู้รับผิดชอบการนำข้อมูลขึ้นเผยแพร่: ตำแหน่ง",
          "publisher's position", required=False),
    Field("obligation", "ภาระการเผยแพร่ที่ตอบ (ถ้ามี)", "publication obligation", required=False,
          max_length=400, cell_optional=True,
          hint="เลือกจากรายการ ถ้าคำขอนี้เป็นรายการที่ต้องเผยแพร่ตามกำหนด / "
               "choose one if this is a scheduled publication"),
)
FIELD_BY_NAME: Mapping[str, Field] = MappingProxyType({f.name: f for f in FIELDS})
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)


@dataclass(frozen=True)
class Person:
    name: str
    position: str


@dataclass(frozen=True)
class Request:
    """A validated publication request, as read from a sheet."""

    unit: str
    work_group: str
    request_date: date
    title: str
    category: str
    detail: str
    provider: Person
    approver: Person
    publisher: Person
    link: str = ""
    note: str = ""
    attachments: tuple[str, ...] = ()
    obligation: str = ""  # the ID of the [[obligations]] entry the clerk picked, if any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a sheet, told so that a clerk can fix it: where, and what, in
    Thai and in English."""

    field: str  # defined name of the input, e.g. "title"; "" for the file as a whole
    cell: str  # e.g. "คำขอ!C7"; "" when the problem is not one cell
    thai: str
    english: str

    def __str__(self) -> str:
        return f"{self.thai_line()} / {self.english_line()}"

    def thai_line(self) -> str:
        """The Thai text, with the cell unless the text already names it."""
        return self.thai if not self.cell or self.cell in self.thai else (
            f"{self.thai} (ช่อง {self.cell})")

    def plain_thai(self) -> str:
        """The Thai text without its cell reference: for readers other than the clerk (the
        index's reasons, the monthly report), to whom ``(คำขอ!B8)`` means nothing."""
        return " ".join(self.thai.replace(f"({self.cell})", "").split()) if self.cell \
            else self.thai

    def english_line(self) -> str:
        cell = self.cell.rsplit("!", 1)[-1]
        return self.english if not cell or cell in self.english else (
            f"{self.english} (cell {self.cell})")


@dataclass(frozen=True)
class Rejected:
    """Why a request ended rejected, as the journal keeps it for the index and the reports
    (structured: never re-read from the clerk's report or a log message). ``by_director``:
    not approved by the director, with the reason as the one problem; otherwise returned to
    the clerk for correction. ``values``: what the sheet said (title, work_group, category,
    request_date, provider_name, approver_name), as far as it could be read. ``files``: the
    report and the highlighted copy written for the clerk, as (name, size, SHA-256): what the
    web desk hands out is found by these, never by what a shared folder holds."""

    by_director: bool
    problems: tuple[Problem, ...]
    values: dict[str, str] = field(default_factory=dict)
    files: tuple[tuple[str, int, str], ...] = ()

    def to_json(self) -> str:
        return json.dumps({"by_director": self.by_director,
                           "problems": [asdict(p) for p in self.problems],
                           "values": self.values, "files": [list(f) for f in self.files]},
                          ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Rejected:
        data = json.loads(text)
        return cls(bool(data["by_director"]),
                   tuple(Problem(**p) for p in data["problems"]),
                   {str(k): str(v) for k, v in data.get("values", {}).items()},
                   tuple((str(n), int(z), str(h)) for n, z, h in data.get("files", ())))


@dataclass(frozen=True)
class SheetResult:
    """Reading a sheet gives a request or the list of every problem found in it."""

    request: Request | None
    problems: tuple[Problem, ...] = field(default=())
    cells: Mapping[str, str] = field(default_factory=dict)  # defined name -> "คำขอ!B8"

    @property
    def ok(self) -> bool:
        return self.request is not None and not self.problems


def to_dict(request: Request) -> dict:
    """Plain JSON-ready form, for the work folder and the manifest."""
    data = asdict(request)
    data["request_date"] = request.request_date.isoformat()
    data["attachments"] = list(request.attachments)
    return data


def from_dict(data: dict) -> Request:
    return Request(
        **{**data,
           "request_date": date.fromisoformat(data["request_date"]),
           "attachments": tuple(data.get("attachments", ())),
           "provider": Person(**data["provider"]),
           "approver": Person(**data["approver"]),
           "publisher": Person(**data["publisher"])})


def request_id_key(request_id: str) -> tuple:
    """Sort ``REQ-2569-00042`` by year, then number (not as text: 100000 follows 99999)."""
    m = re.fullmatch(r"(.*)-(\d{4})-(\d+)", request_id)
    return (m[2], int(m[3]), m[1]) if m else ("", 0, request_id)
