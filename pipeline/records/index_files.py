"""``outbox/index.xlsx`` and ``outbox/index.csv``: the files of the index (its rows:
index.py), written, swapped in and read back.

The index is generated from the manifests and the journal and swapped in atomically, a reader
never sees half a file. Gathering reads only the manifests that changed (index_cache.py); the
workbook's writing is what grows with the archive, so the watcher rewrites the index when work
pauses and, during a burst, only as often as keeps it a small share of a core (reindex.py).

When the swap fails, typically because the file is open in Excel on a Windows share (Samba
then refuses to replace it), nothing is lost: the truth is elsewhere. A warning says so, a
marker in ``.pipeline/`` records that the index is stale, and the index is written again a
little later (and at every later regeneration) until it succeeds.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from pipeline.core import faults, fsutil, scratch, thai
from pipeline.core.folders import Workspace
from pipeline.records.index import Row, gather

log = logging.getLogger(__name__)

INDEX_NAME = "index.xlsx"
CSV_NAME = "index.csv"
SHEET_TITLE = "ทะเบียนคำขอ"
HEADER_ROWS = 2  # Thai names, then English names; data start on row 3
STALE_NAME = "index-stale.txt"
LOCK_NAME = "index.lock"
RETRY_AFTER = 30.0  # seconds before a failed swap is tried again
# Excel shows these with the Thai Buddhist calendar (the 107 in the locale code): 25 พ.ย. 2569.
# LibreOffice reads the code the same way.
DATE_FORMAT = "[$-107041E]d mmm yyyy"
DATETIME_FORMAT = "[$-107041E]d mmm yyyy hh:mm"
_EXCEL_MAX_TEXT = 32767
_LINK_FONT = Font(color="0563C1", underline="single")


@dataclass(frozen=True)
class Column:
    thai: str
    english: str
    width: float


COLUMNS = (
    Column("เลขที่คำขอ", "Request ID", 17),
    Column("วันที่ขอ", "Request date", 13),
    Column("วันที่รับ", "Received", 17),
    Column("กลุ่มงาน", "Work group", 30),
    Column("ประเภทข้อมูล", "Category", 28),
    Column("หัวข้อ", "Title", 50),
    Column("ผู้ให้ข้อมูล", "Provider", 24),
    Column("ผู้อนุมัติ", "Approver", 24),
    Column("สถานะ", "Status", 14),
    Column("SHA-256 ของ PDF ที่ลงนาม", "SHA-256 of the signed PDF", 24),
    Column("ผู้ให้ข้อมูลลงนาม", "Provider signed", 17),
    Column("ผู้อนุมัติลงนาม", "Director signed", 17),
    Column("วันที่เผยแพร่", "Published on", 13),
    Column("URL ที่เผยแพร่", "Published URL", 40),
    Column("แฟ้มคำขอ", "Bundle folder", 18),
    Column("PDF ที่ลงนาม", "Signed PDF", 22),
    Column("ไฟล์ที่ส่ง", "Sheet as sent", 24),
    Column("หมายเหตุ", "Note", 50),
    Column("ตรวจหน้าที่เผยแพร่", "Publication check", 30),
    Column("SHA-256 ของ manifest.json", "SHA-256 of manifest.json", 24),
)
MANIFEST_COLUMN = "SHA-256 of manifest.json"
_LINK_COLUMNS = {13, 14, 15}  # 0-based: URL, bundle folder, signed PDF


@dataclass(frozen=True)
class IndexResult:
    """What a regeneration did. ``written`` is False when a file could not be swapped in
    (``problem`` says why); the index is then stale and is written again later."""

    xlsx: Path
    csv: Path
    rows: int
    written: bool
    seconds: float
    problem: str = ""


@dataclass(frozen=True)
class Stamp:
    """What an index workbook records of its own making (as custom document properties):
    when it began reading the bundles, and the SHA-256 of the index.csv written just before
    it, so that a kill between the two files, or a copy of one without the other, shows."""

    built_at: datetime
    csv_sha256: str


_BUILT_AT, _CSV_SHA256 = "pipeline-built-at", "pipeline-index-csv-sha256"


# -- writing -----------------------------------------------------------------------------------
def rebuild(outbox: Path) -> Path:
    """Regenerate the index of the workspace whose outbox is ``outbox`` (the processor's and
    the watcher's entry point). Never raises for a locked file: see :func:`refresh`."""
    return refresh(Workspace(outbox.resolve().parent)).xlsx


def refresh(ws: Workspace, *, retry_after: float | None = RETRY_AFTER) -> IndexResult:
    """Regenerate ``index.xlsx`` and ``index.csv`` from the manifests and the journal.

    Each file is written beside its target and renamed over it. When a rename fails (the
    file is locked), a warning is logged, ``.pipeline/index-stale.txt`` says so, and, in a
    long-running process, the whole index is regenerated again after ``retry_after`` seconds
    (None: only at the next call).
    """
    started = time.monotonic()
    with _exclusive(ws):
        scratch.sweep_partials(ws.outbox, (CSV_NAME, INDEX_NAME))  # of a killed writer
        begun = datetime.now(UTC)  # before any manifest is read: see freshness.row_agrees
        rows = gather(ws)
        table = csv_bytes(rows)
        stamp = Stamp(begun, hashlib.sha256(table).hexdigest())
        problems = []
        locked = False  # a failure that is no fault of the machine: a file open in Excel
        # index.csv first: index.xlsx, written last, names the index.csv it goes with
        for target, write in ((ws.outbox / CSV_NAME, lambda path: path.write_bytes(table)),
                              (ws.outbox / INDEX_NAME,
                               lambda path: write_xlsx(rows, path, stamp))):
            try:
                fsutil.write_via(target, write)
            except OSError as exc:
                fault = faults.classify(exc)
                locked = locked or fault is None or fault.kind == faults.NO_PERMISSION
                problems.append(f"{target.name}: {fault or exc.strerror or exc}")
        stale = ws.state / STALE_NAME
        if problems:
            problem = "; ".join(problems)
            _mark_stale(stale, problem)
            when = (f"it will be written again in {retry_after:g} s and at the next update"
                    if retry_after is not None else "it will be written at the next update")
            hint = (" It may be open in Excel on another computer (close it there)."
                    if locked else "")
            log.warning("index not updated: %s.%s Nothing is lost: the bundles and the "
                        "journal hold the data; %s", problem, hint, when)
            if retry_after is not None:
                _schedule_retry(ws, retry_after)
        else:
            stale.unlink(missing_ok=True)
            _cancel_retry()
    return IndexResult(ws.outbox / INDEX_NAME, ws.outbox / CSV_NAME, len(rows), not problems,
                       time.monotonic() - started, "; ".join(problems))


def stale_reason(ws: Workspace) -> str | None:
    """Why the index is out of date (its last regeneration could not be swapped in), or None."""
    try:
        return (ws.state / STALE_NAME).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None


@contextmanager
def _exclusive(ws: Workspace) -> Iterator[None]:
    """One regeneration at a time per workspace (the watcher, `pipeline process`, `pipeline
    published`): otherwise a slower one started earlier could swap in older data last."""
    ws.state.mkdir(parents=True, exist_ok=True)
    with (ws.state / LOCK_NAME).open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _mark_stale(marker: Path, problem: str) -> None:
    stamp = datetime.now(thai.BANGKOK).isoformat(timespec="seconds")
    with contextlib.suppress(OSError):  # the warning in the log says it already
        marker.write_text(f"{stamp} {problem}\n", encoding="utf-8")


_retry_lock = threading.Lock()
_retry_timer: threading.Timer | None = None


def _schedule_retry(ws: Workspace, delay: float) -> None:
    global _retry_timer
    with _retry_lock:
        if _retry_timer is not None:
            return
        _retry_timer = threading.Timer(delay, _retry, args=(ws, delay))
        _retry_timer.daemon = True
        _retry_timer.start()


def _retry(ws: Workspace, delay: float) -> None:
    global _retry_timer
    with _retry_lock:
        _retry_timer = None
    try:
        result = refresh(ws, retry_after=delay)
    except Exception:  # a background retry must never take the process down
        log.exception("index: retry failed")
        return
    if result.written:
        log.info("index written after an earlier failure (%d rows)", result.rows)


def _cancel_retry() -> None:
    global _retry_timer
    with _retry_lock:
        if _retry_timer is not None and _retry_timer is not threading.current_thread():
            _retry_timer.cancel()
        _retry_timer = None


def cells(row: Row) -> tuple[object, ...]:
    """A row's values in column order: dates as dates (local time, as Excel wants them)."""
    return (
        row.request_id,
        row.request_date,
        _local(row.received_at),
        row.work_group,
        row.category,
        row.title,
        row.provider,
        row.approver,
        str(row.status),
        row.pdf_sha256,
        _local(row.provider_signed_at),
        _local(row.director_signed_at),
        row.published_on,
        row.published_url,
        row.bundle,
        row.signed_pdf,
        row.source_name,
        row.remarks,
        publication_check(row),
        row.manifest_sha256,
    )


def publication_check(row: Row) -> str:
    """The newest check of the published address, in Thai with its day: ``ไม่พบหน้า (ตรวจ
    3 ธ.ค. 2569)``; "" when never checked."""
    if row.check_verdict is None or row.checked_on is None:
        return ""
    return f"{row.check_verdict.thai} (ตรวจ {thai.short_date(row.checked_on)})"


def _local(moment: datetime | None) -> datetime | None:
    """Bangkok wall time without a zone: Excel has no time zones."""
    return moment.astimezone(thai.BANGKOK).replace(tzinfo=None) if moment else None


def write_xlsx(rows: Iterable[Row], path: Path, stamp: Stamp | None = None) -> None:
    """The index workbook: Thai header and English header, frozen, filterable; every text is
    stored as text (a title such as ``=HYPERLINK(..)`` is never a formula); dates are real
    dates shown in the Buddhist Era; links open the bundle, its PDF and the published page.
    Written in openpyxl's streaming mode: about 4 s for 20,000 rows (bench/bench_index.py)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET_TITLE)
    for i, column in enumerate(COLUMNS, start=1):
        ws.column_dimensions[_letter(i)].width = column.width
    ws.freeze_panes = f"B{HEADER_ROWS + 1}"
    rows = list(rows)
    ws.auto_filter.ref = f"A{HEADER_ROWS}:{_letter(len(COLUMNS))}{HEADER_ROWS + max(1, len(rows))}"
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    thai_head, english_head = [], []
    for column in COLUMNS:
        cell = WriteOnlyCell(ws, column.thai)
        cell.font = Font(bold=True)
        cell.fill = head_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        thai_head.append(cell)
        cell = WriteOnlyCell(ws, column.english)
        cell.font = Font(italic=True, color="666666")
        cell.fill = head_fill
        english_head.append(cell)
    ws.append(thai_head)
    ws.append(english_head)
    for row in rows:
        ws.append([_xlsx_cell(ws, i, value) for i, value in enumerate(cells(row))])
    if stamp is not None:
        wb.custom_doc_props.append(StringProperty(name=_BUILT_AT,
                                                  value=stamp.built_at.isoformat()))
        wb.custom_doc_props.append(StringProperty(name=_CSV_SHA256, value=stamp.csv_sha256))
    wb.save(path)


def _xlsx_cell(ws, column: int, value: object) -> object:
    if value is None or value == "":
        return None
    if isinstance(value, datetime | date):
        cell = WriteOnlyCell(ws, value)
        cell.number_format = DATETIME_FORMAT if isinstance(value, datetime) else DATE_FORMAT
        return cell
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))[:_EXCEL_MAX_TEXT]
    if column in _LINK_COLUMNS:
        cell = WriteOnlyCell(ws, text)
        cell.data_type = "s"
        cell.hyperlink = text
        cell.font = _LINK_FONT
        return cell
    if text.startswith(("=", "#")):  # openpyxl would store it as a formula or an error
        cell = WriteOnlyCell(ws, text)
        cell.data_type = "s"
        return cell
    return text


def _letter(column: int) -> str:
    return get_column_letter(column)


def write_csv(rows: Iterable[Row], path: Path) -> None:
    path.write_bytes(csv_bytes(rows))


def csv_bytes(rows: Iterable[Row]) -> bytes:
    """The same rows for other tools: UTF-8 with a BOM (so Excel reads the Thai), one header
    row, dates in ISO 8601. A text that a spreadsheet would run as a formula (``=``, ``+``,
    ``-``, ``@``) gets a leading apostrophe. The same rows give the same bytes, which is how
    a stale index is told (freshness.py)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([f"{c.thai} / {c.english}" for c in COLUMNS])
    for row in rows:
        writer.writerow([_csv_value(v) for v in cells(row)])
    return buffer.getvalue().encode("utf-8-sig")


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def read_xlsx(path: Path) -> list[tuple[object, ...]]:
    """The data rows of an index workbook as values (for tests and tools)."""
    return read_index(path)[0]


def read_index(path: Path) -> tuple[list[tuple[object, ...]], Stamp | None]:
    """The data rows of an index workbook, and its stamp (None for a workbook written
    before stamps, or by another program)."""
    wb = load_workbook(path, read_only=True)
    try:
        rows = [tuple(r) for r in wb.active.iter_rows(min_row=HEADER_ROWS + 1, values_only=True)]
        return rows, _stamp(wb)
    finally:
        wb.close()


def read_stamp(path: Path) -> Stamp | None:
    """An index workbook's stamp alone: its rows are not read (seconds for a large archive)."""
    wb = load_workbook(path, read_only=True)
    try:
        return _stamp(wb)
    finally:
        wb.close()


def _stamp(wb: Workbook) -> Stamp | None:
    props = {p.name: p.value for p in wb.custom_doc_props}
    try:
        return Stamp(datetime.fromisoformat(props[_BUILT_AT]), str(props[_CSV_SHA256]))
    except (KeyError, ValueError, TypeError):
        return None
