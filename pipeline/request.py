"""The request: what one filled sheet asks for, as plain typed data shared by every stage."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date


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


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a sheet, told so that a clerk can fix it: where, and what, in
    Thai and in English."""

    field: str  # defined name of the input, e.g. "title"; "" for the file as a whole
    cell: str  # e.g. "คำขอ!C7"; "" when the problem is not one cell
    thai: str
    english: str

    def __str__(self) -> str:
        where = f" ({self.cell})" if self.cell else ""
        return f"{self.thai}{where} / {self.english}{where}"


@dataclass(frozen=True)
class SheetResult:
    """Reading a sheet gives a request or the list of every problem found in it."""

    request: Request | None
    problems: tuple[Problem, ...] = field(default=())

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
