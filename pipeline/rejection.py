"""Rejections a clerk can act on: the sheet kept under its own name in ``inbox/rejected/``,
beside a report in Thai then English and a copy with the offending cells highlighted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline import fsutil, sheet, thai
from pipeline.request import Problem


@dataclass(frozen=True)
class Rejection:
    sheet: Path  # where the clerk's file is now
    report: Path
    annotated: Path | None


def report_text(name: str, problems: tuple[Problem, ...], when: datetime,
                request_id: str | None) -> str:
    lines = [
        f"ไฟล์ / file: {name}",
        f"เวลา / time: {thai.long_datetime(when, digits=False)}",
    ]
    if request_id:
        lines.append(f"เลขที่คำขอ / request ID: {request_id}")
    lines += ["", "คำขอนี้ยังไม่ได้ดำเนินการ เพราะ:", ""]
    lines += [f"{i}. {p.thai}" + (f" (ช่อง {p.cell})" if p.cell else "")
              for i, p in enumerate(problems, start=1)]
    lines += ["", "แก้ไขแล้วบันทึกเป็น .xlsx และวางไฟล์ในโฟลเดอร์ inbox อีกครั้ง", "",
              "This request was not processed because:", ""]
    lines += [f"{i}. {p.english}" + (f" (cell {p.cell})" if p.cell else "")
              for i, p in enumerate(problems, start=1)]
    lines += ["", "Fix it, save as .xlsx and drop it into the inbox folder again.", ""]
    return "\r\n".join(lines)


def reject(source: Path, name: str, rejected_dir: Path, problems: tuple[Problem, ...],
           when: datetime, *, request_id: str | None = None, give_back: bool) -> Rejection:
    """Write the report and the highlighted copy; with ``give_back`` (the pipeline took the
    sheet from the inbox) also put the sheet beside them under the clerk's own ``name``.
    Doing it again after a crash rewrites the same files: nothing is doubled."""
    rejected_dir.mkdir(parents=True, exist_ok=True)
    target = (fsutil.copy_unique(source, rejected_dir, name) if give_back
              else fsutil.unique_path(rejected_dir, name))
    report = rejected_dir / f"{target.name}.error.txt"
    text = report_text(name, problems, when, request_id)
    fsutil.write_bytes(report, b"\xef\xbb\xbf" + text.encode("utf-8"))
    annotated = rejected_dir / f"{target.stem}.corrected.xlsx"
    if not (any(p.cell for p in problems) and sheet.annotate(source, annotated, problems)):
        annotated = None
    return Rejection(target if give_back else source, report, annotated)


SPREADSHEET_SUFFIXES = (".xls", ".xlsm", ".xlsb", ".ods", ".csv")


def stray_problem(path: Path) -> Problem:
    """Why a file that is not a request sheet, and that no sheet names, cannot be taken."""
    if path.suffix.lower() in SPREADSHEET_SUFFIXES:
        return Problem(
            "", "",
            f"ระบบรับเฉพาะแบบคำขอที่เป็นไฟล์ Excel ชนิด .xlsx (ไฟล์นี้เป็น {path.suffix}) "
            "กรุณาเปิดไฟล์แล้วเลือก บันทึกเป็น (Save As) ชนิด 'Excel Workbook (*.xlsx)' แล้ววางใหม่",
            f"only .xlsx request sheets are accepted (this is {path.suffix}): open it, Save As "
            "'Excel Workbook (*.xlsx)' (macros are not kept) and drop the new file")
    return Problem(
        "", "",
        "ไฟล์นี้ไม่ได้ระบุเป็นไฟล์แนบในแบบคำขอใด กรุณาใส่ชื่อไฟล์ในช่อง ไฟล์แนบ ของแบบคำขอ "
        "แล้ววางไฟล์พร้อมแบบคำขอ",
        "no request sheet names this file as an attachment: put its name in the sheet's "
        "attachments (ไฟล์แนบ) cell and drop it together with the sheet")


def reject_stray(path: Path, rejected_dir: Path, when: datetime) -> Rejection:
    """Move a stray file out of the inbox, with a report saying what to do instead."""
    rejection = reject(path, path.name, rejected_dir, (stray_problem(path),), when,
                       give_back=True)
    path.unlink()
    fsutil.fsync_dir(path.parent)
    return rejection
