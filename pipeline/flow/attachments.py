"""The attachments a sheet names: present beside it in the inbox (or awaited there for a
while), plain files, within the size limits, each rule with its message for the clerk; then
brought into the request's work folder (called by :mod:`pipeline.flow.steps` and
:mod:`pipeline.flow.processing`)."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from pipeline.core import fsutil, guard
from pipeline.core.request import Problem, Request
from pipeline.core.workfolder import ATTACHMENTS, AWAITED_JSON
from pipeline.records.journal import Entry
from pipeline.settings.config import MB, Config


class AwaitingAttachments(Exception):
    """The sheet names attachments that have not arrived in the inbox yet."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"waiting for attachment(s): {', '.join(names)}")
        self.names = names


def awaiting_problem(exc: AwaitingAttachments) -> Problem:
    """What the clerk is told while the request waits for its attachments."""
    return Problem("attachments", "",
                   f"รอไฟล์แนบ {', '.join(exc.names)} วางไว้ในโฟลเดอร์ inbox",
                   f"{exc}; put them in the inbox folder")


def _now() -> datetime:
    return datetime.now(UTC)


def fetch(entry: Entry, src: Path, dst: Path) -> None:
    """Bring a file into the work folder: moved out of the inbox when the pipeline takes
    it (only a regular file of its own: else ``guard.NotAFile``), copied when it was
    named on the command line."""
    (fsutil.take if entry.taken else fsutil.copy_file)(src, dst)


def awaited(work: Path) -> list[str] | None:
    """The names a request waiting for attachments waits for (None: it is not waiting)."""
    path = work / AWAITED_JSON
    if not path.is_file():
        return None
    names: list[str] = json.loads(path.read_text(encoding="utf-8"))
    return names


def due(entry: Entry, names: list[str], wait: float) -> bool:
    """Whether the awaited attachments have all arrived, or the wait is over."""
    waited = (_now() - entry.received_at).total_seconds()
    origin = entry.source_path.parent
    return waited >= wait or all(os.path.lexists(origin / n) for n in names)


def _found(name: str, folders: tuple[Path, ...]) -> Path | None:
    if Path(name).name != name or name in ("", ".", ".."):
        return None
    for folder in folders:
        path = folder / name
        try:  # the entry itself: a link is found (and refused), not followed
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                return path
        except FileNotFoundError:
            continue
    return None


def _size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{max(1, round(n / 1024))} KB"


def check(entry: Entry, work: Path, request: Request, cell: str,
          config: Config) -> tuple[Problem, ...]:
    """The attachments of a valid sheet: present beside the sheet (or awaited: raises
    :class:`AwaitingAttachments` while ``[watch] attachment_wait`` is not over), plain files,
    within the size limits. When all is well they are brought into ``work/attachments/``.
    ``cell`` is where the sheet names them."""
    attachments = work / ATTACHMENTS
    attachments.mkdir(exist_ok=True)
    origin = entry.source_path.parent
    folders = (attachments, origin)
    missing = [n for n in request.attachments if _found(n, folders) is None]
    waited = (_now() - entry.received_at).total_seconds()
    if missing and entry.taken and waited < config.attachment_wait:
        fsutil.write_bytes(work / AWAITED_JSON,
                           json.dumps(missing, ensure_ascii=False).encode("utf-8"))
        raise AwaitingAttachments(missing)
    label = f"ไฟล์แนบ ({cell})" if cell else "ไฟล์แนบ"
    where = f"attachments ({cell.rsplit('!', 1)[-1]})" if cell else "attachments"
    if missing:
        return (Problem(
            "attachments", cell,
            f"{label} ไม่พบไฟล์ {', '.join(missing)} ข้างแบบคำขอ: วางไฟล์ไว้ในโฟลเดอร์ inbox "
            "พร้อมแบบคำขอ และตรวจว่าชื่อไฟล์ในช่องตรงกับชื่อไฟล์จริง (รวมนามสกุล เช่น .pdf)",
            f"{where} file(s) {', '.join(missing)} not found beside the sheet: drop them "
            "into the inbox with the sheet, and check that the names in the cell are the "
            "files' exact names (with the extension, e.g. .pdf)"),)
    problems = []
    limits = config.sheet
    sizes = {}
    for name in request.attachments:
        path = _found(name, folders)
        assert path is not None
        kind = guard.entry_kind(path)
        if kind is not None:
            problems.append(Problem(
                "attachments", cell,
                f"{label} '{name}' เป็น{kind.thai} ไม่ใช่ไฟล์ ระบบจึงไม่เปิดและไม่ตามลิงก์: "
                "คัดลอกไฟล์จริงมาวางแทน",
                f"{where} '{name}' is {kind.english}, not a file, so it was neither opened "
                "nor followed: drop a copy of the file itself"))
            continue
        sizes[name] = path.lstat().st_size
        if sizes[name] > limits.max_attachment_bytes:
            problems.append(Problem(
                "attachments", cell,
                f"{label} '{name}' ใหญ่ {_size(sizes[name])} เกินกำหนดไฟล์ละ "
                f"{_size(limits.max_attachment_bytes)}: ย่อขนาดไฟล์ หรือใส่เป็นลิงก์ในช่อง "
                "Link ภายนอก",
                f"{where} '{name}' is {_size(sizes[name])}, more than the "
                f"{_size(limits.max_attachment_bytes)} allowed per file: make it "
                "smaller, or share it as a link in the link cell"))
    total = sum(sizes.values())
    if total > limits.max_request_bytes:
        problems.append(Problem(
            "attachments", cell,
            f"{label} รวมกัน {_size(total)} เกินกำหนด "
            f"{_size(limits.max_request_bytes)} ต่อคำขอ: ย่อขนาดไฟล์ หรือแยกเป็นหลายคำขอ",
            f"{where} total {_size(total)}, more than the "
            f"{_size(limits.max_request_bytes)} allowed per request: make them smaller "
            "or split the request"))
    if problems:
        return tuple(problems)
    for name in request.attachments:
        if not (attachments / name).is_file():
            fetch(entry, origin / name, attachments / name)
    return ()
