"""``outbox/index.xlsx``: one row per archived request, derived from the bundles' manifests.

The index is derived data, so it is rebuilt from the manifests rather than edited in place;
writing it atomically means a reader never sees half a file.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from pipeline import bundle, thai

INDEX_NAME = "index.xlsx"
STATUS_TH = {"approved": "อนุมัติแล้ว", "published": "เผยแพร่แล้ว"}
COLUMNS = (
    ("เลขที่คำขอ", "Request ID", 18),
    ("วันที่ขอ", "Request date", 14),
    ("วันที่รับ", "Received", 14),
    ("กลุ่มงาน", "Work group", 28),
    ("ประเภทข้อมูล", "Category", 30),
    ("หัวข้อ", "Title", 50),
    ("ผู้ให้ข้อมูล", "Provider", 26),
    ("ผู้อนุมัติ", "Approver", 26),
    ("สถานะ", "Status", 14),
    ("SHA-256 ของ PDF ที่ลงนาม", "SHA-256 of signed PDF", 30),
    ("แฟ้ม", "Bundle", 22),
)


def rebuild(outbox: Path) -> Path:
    """Write ``outbox/index.xlsx`` from every bundle under ``outbox``."""
    wb = Workbook()
    ws = wb.active
    ws.title = "index"
    for col, (thai_head, english, width) in enumerate(COLUMNS, start=1):
        ws.cell(1, col, thai_head).font = Font(bold=True)
        ws.cell(2, col, english).font = Font(italic=True, color="666666")
        ws.column_dimensions[ws.cell(1, col).column_letter].width = width
    ws.freeze_panes = "A3"
    bundles = sorted(p for p in outbox.iterdir() if p.is_dir() and bundle.is_bundle(p))
    for row, folder in enumerate(bundles, start=3):
        m = bundle.read_manifest(folder)
        req = m["request"]
        received = datetime.fromisoformat(m["times"]["received"]).astimezone(thai.BANGKOK)
        values = (
            m["request_id"],
            thai.short_date(date.fromisoformat(req["request_date"])),
            thai.short_date(received.date()),
            req["work_group"],
            req["category"],
            req["title"],
            req["provider"]["name"],
            req["approver"]["name"],
            STATUS_TH.get(m["status"], m["status"]),
            m["files"][m["signed_pdf"]]["sha256"],
            f"{folder.name}/",
        )
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row, col, value)
            cell.data_type = "s"  # values are data: "=HYPERLINK(..)" in a title stays text
        link = ws.cell(row, len(values))
        link.hyperlink = f"{folder.name}/{m['signed_pdf']}"
        link.font = Font(color="0563C1", underline="single")
    ws.auto_filter.ref = f"A2:{ws.cell(2, len(COLUMNS)).column_letter}{max(2, len(bundles) + 2)}"
    target = outbox / INDEX_NAME
    tmp = outbox / f".{INDEX_NAME}.tmp"
    wb.save(tmp)
    tmp.replace(target)
    return target
