"""Rejections a clerk can act on: the sheet kept under its own name in ``inbox/rejected/``,
beside a report in Thai then English and a copy with the offending cells highlighted."""

from __future__ import annotations

import glob
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.core import fsutil, guard, thai
from pipeline.core.request import Problem
from pipeline.intake import sheet


@dataclass(frozen=True)
class Rejection:
    sheet: Path  # where the clerk's file is now
    report: Path
    annotated: Path | None


def report_text(name: str, problems: tuple[Problem, ...], when: datetime,
                request_id: str | None, annotated: str | None = None, *,
                refused: bool = False) -> str:
    """The report: every problem in Thai, then in English, each with its cell and how to fix
    it; ``annotated`` names the highlighted copy to fix in place. ``refused``: the director
    read the request and did not approve it, which is said as such (it was processed: "not
    processed" would be untrue)."""
    count = len(problems)
    lines = [
        f"ไฟล์ / file: {name}",
        f"เวลา / time: {thai.long_datetime(when, digits=False)}",
    ]
    if request_id:
        lines.append(f"เลขที่คำขอ / request ID: {request_id}")
    lines += ["", "ผู้อนุมัติพิจารณาคำขอนี้แล้ว และไม่อนุมัติ:" if refused
              else f"คำขอนี้ยังไม่ได้ดำเนินการ เพราะพบปัญหา {count} ข้อ:", ""]
    lines += [f"{i}. {p.thai_line()}" for i, p in enumerate(problems, start=1)]
    lines += [""]
    if annotated:
        lines += [f"วิธีแก้: เปิดไฟล์ {annotated} ในโฟลเดอร์นี้ ช่องที่ต้องแก้เป็นสีแดงและมีคำอธิบาย "
                  "แก้ให้ครบทุกช่อง บันทึกเป็น .xlsx แล้ววางไฟล์ในโฟลเดอร์ inbox อีกครั้ง"]
    else:
        lines += ["แก้ไขแล้วบันทึกเป็น .xlsx และวางไฟล์ในโฟลเดอร์ inbox อีกครั้ง"]
    lines += ["", "The director considered this request and did not approve it:" if refused
              else f"This request was not processed: {count} "
                   f"problem{'s were' if count != 1 else ' was'} found:", ""]
    lines += [f"{i}. {p.english_line()}" for i, p in enumerate(problems, start=1)]
    lines += [""]
    if annotated:
        lines += [f"How to fix: open {annotated} in this folder: the cells to fix are red, "
                  "each with a comment. Fix them all, save as .xlsx and drop it into the inbox "
                  "folder again."]
    else:
        lines += ["Fix it, save as .xlsx and drop it into the inbox folder again."]
    return "\r\n".join([*lines, ""])


def reject(source: Path, name: str, rejected_dir: Path, problems: tuple[Problem, ...],
           when: datetime, *, request_id: str | None = None, give_back: bool,
           refused: bool = False) -> Rejection:
    """Write the highlighted copy and the report (UTF-8 with a BOM, CRLF, so that Windows
    Notepad shows the Thai); with ``give_back`` (the pipeline took the sheet from the inbox)
    also put the sheet beside them under the clerk's own ``name``, byte for byte. The
    sheet's earlier rejections are moved aside first (:func:`tidy`). Doing it again after a
    crash writes the same files again: nothing is lost, and the clerk sees one report."""
    guard.real_folder(rejected_dir)
    tidy(rejected_dir, name, when)  # the sheet's earlier rejections: only the newest stays
    target = (fsutil.copy_unique(source, rejected_dir, name) if give_back
              else fsutil.unique_path(rejected_dir, name))
    corrected = rejected_dir / f"{target.stem}.corrected.xlsx"
    annotated = (corrected if any(p.cell for p in problems)
                 and sheet.annotate(source, corrected, problems) else None)
    report = rejected_dir / f"{target.name}.error.txt"
    text = report_text(name, problems, when, request_id, annotated.name if annotated else None,
                       refused=refused)
    fsutil.write_bytes(report, b"\xef\xbb\xbf" + text.encode("utf-8"))
    return Rejection(target if give_back else source, report, annotated)


_COPY_MARK = re.compile(r"(?:\s*\(\d+\)|\.corrected|\s+-\s+copy|\s+-\s+สำเนา)$",
                        re.IGNORECASE)


def sheet_key(name: str) -> str:
    """The name a sheet keeps through its corrections: ``ข่าว.xlsx``, the highlighted copy
    ``ข่าว.corrected.xlsx`` a clerk fixes and drops back, ``ข่าว (2).xlsx`` or
    ``ข่าว.corrected (2).xlsx`` (names made unique) and a Windows ``ข่าว - Copy.xlsx`` all give
    ``ข่าว``: how a resubmission is matched with the sheet it replaces."""
    stem = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    if stem.lower().endswith(".xlsx"):
        stem = stem[:-5]
    stem = " ".join(stem.split())
    while (shorter := _COPY_MARK.sub("", stem)) != stem:
        stem = shorter
    return stem.casefold()


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


def not_a_file_problem(name: str, kind: guard.Kind) -> Problem:
    """Why a link (or FIFO, device…) in the inbox was refused without being opened."""
    return Problem(
        "", "",
        f"'{name}' เป็น{kind.thai} ไม่ใช่ไฟล์ ระบบจึงไม่เปิด ไม่อ่าน และไม่ตามไปยังสิ่งที่ชี้ถึง: "
        "กรุณาคัดลอกไฟล์จริงมาวางในโฟลเดอร์ inbox (ไม่ใช่ทางลัด)",
        f"'{name}' is {kind.english}, not a file, so it was neither opened, read nor "
        "followed: copy the file itself into the inbox folder (not a shortcut to it)")


def reject_entry(path: Path, rejected_dir: Path, problems: tuple[Problem, ...], when: datetime,
                 *, request_id: str | None = None) -> Rejection:
    """Move an inbox entry *itself* (a link is moved as the link: ``rename`` never follows
    it) into ``rejected_dir``, beside its report; nothing is opened or copied. The report is
    written first, so that a crash before the move repeats the same report and move."""
    guard.real_folder(rejected_dir)
    target = fsutil.unique_path(rejected_dir, path.name)
    report = rejected_dir / f"{target.name}.error.txt"
    text = report_text(path.name, problems, when, request_id)
    fsutil.write_bytes(report, b"\xef\xbb\xbf" + text.encode("utf-8"))
    os.rename(path, target)
    fsutil.fsync_dir(path.parent)
    fsutil.fsync_dir(rejected_dir)
    return Rejection(target, report, None)


def reject_stray(path: Path, rejected_dir: Path, when: datetime) -> Rejection:
    """Move a stray entry out of the inbox as it is (never following a link), with a report
    saying what to do instead."""
    kind = guard.entry_kind(path)
    problem = not_a_file_problem(path.name, kind) if kind else stray_problem(path)
    return reject_entry(path, rejected_dir, (problem,), when)


REPORT_SUFFIX = ".error.txt"


SUPERSEDED_PREFIX = "superseded-"  # + the day moved, Buddhist Era: superseded-2569-11-05


def _reports(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.glob(f"*{REPORT_SUFFIX}") if not p.is_symlink())
    except OSError:
        return []


def _set_of(report: Path) -> tuple[Path, Path, Path]:
    """A rejection's files: the sheet as the clerk gave it, its highlighted copy, the report
    (in the order they are moved: the report last, so a set half moved is still found)."""
    target = report.with_name(report.name[:-len(REPORT_SUFFIX)])
    return target, report.with_name(f"{Path(target.name).stem}.corrected.xlsx"), report


def tidy(rejected_dir: Path, name: str, when: datetime) -> Path | None:
    """Move the rejections of the sheet ``name`` (and of its copies and corrected copies:
    sheet_key) out of the way, into ``superseded-<day>/`` inside ``rejected_dir``, when it
    comes back (rejected again, or accepted): the clerk sees only the newest report per
    sheet, and nothing is deleted. Each file is renamed
    (never overwriting: fsutil.unique_path), the report last; running it again after a crash
    moves what is left. Returns the folder moved into, if anything moved."""
    key = sheet_key(name)
    moved = None
    for report in _reports(rejected_dir):
        target, corrected, _ = files = _set_of(report)
        if sheet_key(target.name) != key:
            continue
        if moved is None:
            day = when.astimezone(thai.BANGKOK).date()
            moved = rejected_dir / f"{SUPERSEDED_PREFIX}{thai.be_year(day)}-{day:%m-%d}"
            guard.real_folder(moved)  # never moved into a link planted there
        for path in files:
            if os.path.lexists(path):
                os.rename(path, fsutil.unique_path(moved, path.name))
    if moved is not None:
        fsutil.fsync_dir(moved)
        fsutil.fsync_dir(rejected_dir)
    return moved


def recorded(rejection: Rejection) -> tuple[tuple[str, int, str], ...]:
    """The report and the highlighted copy as the journal keeps them: (name, size, SHA-256)."""
    return tuple((path.name, path.stat().st_size, fsutil.sha256_file(path))
                 for path in (rejection.annotated, rejection.report) if path is not None)


def find(rejected_dir: Path, wanted: tuple[str, int, str]) -> Path | None:
    """The file the pipeline wrote, as ``wanted`` (:func:`recorded`) says it: in
    ``rejected_dir``, else among the superseded ones :func:`tidy` moved aside (under its name
    or the ``name (2)`` a move may have given it), a regular file with those exact bytes.
    A file planted in the shared folder under that name, or the file changed since, is not
    it: None."""
    name, size, sha256 = wanted
    stem, suffix = Path(name).stem, Path(name).suffix
    try:
        older = sorted((p for p in rejected_dir.glob(f"{SUPERSEDED_PREFIX}*")
                        if p.is_dir() and not p.is_symlink()), reverse=True)
    except OSError:
        return None
    for folder in (rejected_dir, *older):
        try:
            candidates = sorted(folder.glob(f"{glob.escape(stem)}*{glob.escape(suffix)}"))
        except OSError:
            continue
        for path in candidates:
            if path.name != name and not re.fullmatch(
                    rf"{re.escape(stem)} \(\d+\){re.escape(suffix)}", path.name):
                continue
            try:
                with guard.open_regular(path) as (fd, st):
                    if st.st_size == size and fsutil.sha256_fd(fd) == sha256:
                        return path
            except (OSError, guard.NotAFile):
                continue
    return None
    for folder in (rejected_dir, *older):
        for report in _reports(folder):
            try:
                with guard.open_regular(report) as (fd, _):
                    head = os.read(fd, 4096)
            except (OSError, guard.NotAFile):
                continue
            if wanted in head:
                target, corrected, _ = _set_of(report)
                return Rejection(target, report, corrected if corrected.is_file() else None)
    return None
