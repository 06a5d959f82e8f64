"""The clerk's receipt: a sheet taken from the inbox leaves ``inbox/received/<name>.<ID>.txt``
naming its request ID, so that a good sheet does not vanish without a trace (issue 19): the
clerk can quote the ID to the director, find the bundle ``outbox/<ID>/`` or, if it comes back,
the report in ``inbox/rejected/``. Written again, identically, if a crash repeats the step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.core import fsutil, guard, thai
from pipeline.core.folders import Workspace


@dataclass(frozen=True)
class Received:
    """What the receipt says: the clerk's file name, its request ID, when, its SHA-256."""

    name: str
    id: str
    received_at: datetime
    sha256: str


def path(ws: Workspace, entry: Received) -> Path:
    return ws.received / f"{entry.name}.{entry.id}.txt"


def text(entry: Received) -> str:
    when = thai.long_datetime(entry.received_at, digits=False)
    return "\r\n".join([
        f"ไฟล์ / file: {entry.name}",
        f"เลขที่คำขอ / request ID: {entry.id}",
        f"รับเมื่อ / received: {when}",
        f"SHA-256: {entry.sha256}",
        "",
        f"ระบบรับแบบคำขอนี้แล้ว เป็นคำขอเลขที่ {entry.id} เมื่อผู้อนุมัติลงนามแล้ว แบบฟอร์มที่ลงนาม"
        f"จะอยู่ในโฟลเดอร์ outbox/{entry.id} หากพบปัญหา แบบคำขอจะถูกส่งคืนในโฟลเดอร์ "
        "inbox/rejected พร้อมคำอธิบาย",
        "",
        f"This request sheet was received as request {entry.id}. Once the director has signed, "
        f"the signed form is in outbox/{entry.id}; if there is a problem, the sheet comes back "
        "in inbox/rejected with a report.",
        "",
    ])


def write(ws: Workspace, entry: Received) -> Path:
    """Leave the receipt (UTF-8 with a BOM and CRLF, as Windows Notepad reads Thai)."""
    guard.real_folder(ws.received)
    target = path(ws, entry)
    fsutil.write_bytes(target, b"\xef\xbb\xbf" + text(entry).encode("utf-8"))
    return target
