"""Reading a filled request sheet, and annotating one returned to the clerk.

Cells are found by workbook-level defined names, never by address, so a sheet whose rows a
clerk moved or restyled still reads. A file is first checked for what it really is
(``filecheck.py``), before openpyxl parses anything. The values read are checked by
``validate.py``; every problem names the Thai label, the defined name and the cell, so the
clerk knows exactly what to fix. Blank sheets are written by ``blank_sheet.py``.
"""

from __future__ import annotations

import logging
import posixpath
import re
import warnings
import zipfile
from datetime import date, datetime
from pathlib import Path
from xml.etree import ElementTree

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.core import guard, thai
from pipeline.core.request import FIELDS, Problem, SheetResult
from pipeline.intake import validate
from pipeline.intake.blank_sheet import TEMPLATE_VERSION, VERSION_PROPERTY, save_atomically
from pipeline.intake.filecheck import (
    GET_TEMPLATE_EN,
    GET_TEMPLATE_TH,
    NS_REL,
    check_file,
    damaged,
    file_problem,
    workbook_part,
)
from pipeline.settings.config import Config, SheetRules

log = logging.getLogger(__name__)


def read_sheet(path: Path, config: Config, *, today: date | None = None,
               certificate_name: validate.CertificateName | None = None) -> SheetResult:
    """Read and validate a filled sheet; report every problem at once. ``certificate_name``
    gives the name in a registered provider's certificate (see ``validate.validate``)."""
    problems = check_file(path, config.sheet)
    if problems:
        return SheetResult(None, problems)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions it drops
            wb = load_workbook(path, data_only=True)
        cells = _named_cells(wb, path)
    except Exception as exc:  # openpyxl on a malformed file: any error means "unreadable"
        log.info("%s: unreadable workbook (%s: %s)", path.name, type(exc).__name__, exc)
        return SheetResult(None, (damaged(),))
    if isinstance(cells, Problem):
        return SheetResult(None, (cells,))
    return validate.validate(cells, config, today=today, certificate_name=certificate_name)


def _named_cells(wb: Workbook, path: Path) -> dict[str, validate.RawCell] | Problem:
    located: dict[str, tuple[str, str]] = {}
    missing = []
    for spec in FIELDS:
        where = _locate(wb, spec.name)
        if where is not None:
            located[spec.name] = where
        elif not spec.cell_optional:
            missing.append(spec.name)
    if missing:
        return _version_problem(wb, missing)
    formulas = _formula_cells(path, located.values())
    cells = {name: _raw_cell(wb, title, coord, formulas, name == "request_date")
             for name, (title, coord) in located.items()}
    # a cell added later (Field.cell_optional), absent from a sheet made before it: empty
    return {spec.name: cells.get(spec.name, validate.RawCell(None, "")) for spec in FIELDS}


def _locate(wb: Workbook, name: str) -> tuple[str, str] | None:
    """(sheet title, cell) a defined name points to: workbook-level, or (as some programs
    save them) sheet-level; None when it is missing or points nowhere (#REF!)."""
    defined = wb.defined_names.get(name)
    if defined is None:
        defined = next((ws.defined_names[name] for ws in wb.worksheets
                        if name in ws.defined_names), None)
    if defined is None:
        return None
    for title, ref in defined.destinations:
        coord = ref.replace("$", "").split(":")[0].upper()
        if (title in wb.sheetnames and isinstance(wb[title], Worksheet)
                and re.fullmatch(r"[A-Z]{1,3}[1-9][0-9]{0,6}", coord)):
            return title, coord
    return None


def _version_problem(wb: Workbook, missing: list[str]) -> Problem:
    version = next((str(p.value) for p in wb.custom_doc_props if p.name == VERSION_PROPERTY),
                   None)
    if len(missing) == sum(not f.cell_optional for f in FIELDS) and not any(
            cell.value is not None for ws in wb.worksheets for row in ws.iter_rows()
            for cell in row):
        return file_problem(f"ไฟล์ Excel นี้ว่างเปล่า ไม่ใช่แบบคำขอ: ใช้แบบคำขอรุ่นที่ {TEMPLATE_VERSION} "
                             + GET_TEMPLATE_TH,
                             f"this workbook is empty, not a request sheet: use the request "
                             f"sheet, version {TEMPLATE_VERSION}; " + GET_TEMPLATE_EN)
    this_th = f" (ไฟล์นี้เป็นรุ่นที่ {version})" if version else ""
    this_en = f" (this file is version {version})" if version else ""
    names = ", ".join(missing)
    return file_problem(
        f"ไฟล์นี้ไม่ใช่แบบคำขอรุ่นปัจจุบัน{this_th}: ไม่พบช่อง {names} "
        f"ต้องใช้แบบคำขอรุ่นที่ {TEMPLATE_VERSION}: " + GET_TEMPLATE_TH,
        f"this is not the current request sheet{this_en}: the named cells {names} are missing "
        f"or were deleted. Version {TEMPLATE_VERSION} is expected: " + GET_TEMPLATE_EN)


_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _formula_cells(path: Path, located) -> dict[tuple[str, str], tuple[bool, bool]]:
    """For each named cell that holds a formula: (True, whether a computed value was saved).
    openpyxl reads both as None, and cannot tell them apart."""
    wanted: dict[str, set[str]] = {}
    for title, coord in located:
        wanted.setdefault(title, set()).add(coord)
    found: dict[tuple[str, str], tuple[bool, bool]] = {}
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        workbook = workbook_part(zf, names)
        if workbook is None:
            return found
        folder = posixpath.dirname(workbook)
        rels_name = posixpath.join(folder, "_rels", posixpath.basename(workbook) + ".rels")
        targets = {rel.get("Id"): rel.get("Target", "")
                   for rel in ElementTree.fromstring(zf.read(rels_name)).iter(NS_REL)}
        for sheet in ElementTree.fromstring(zf.read(workbook)).iter(f"{_NS_MAIN}sheet"):
            title = sheet.get("name")
            target = targets.get(sheet.get(_NS_DOC_REL), "")
            part = (target.lstrip("/") if target.startswith("/")
                    else posixpath.normpath(posixpath.join(folder, target)))
            if title not in wanted or part not in names:
                continue
            with zf.open(part) as f:
                for _event, element in ElementTree.iterparse(f):
                    if element.tag == f"{_NS_MAIN}c":
                        coord = element.get("r")
                        if coord in wanted[title] and element.find(f"{_NS_MAIN}f") is not None:
                            # an empty <v/> is an empty text result only in a text cell
                            # (t="str"); openpyxl writes one for every formula it saves
                            cached = element.find(f"{_NS_MAIN}v")
                            found[title, coord] = (True, cached is not None and (
                                bool(cached.text) or element.get("t") == "str"))
                        element.clear()
    return found


_ESCAPED = re.compile("_x(000[0-9A-Fa-f]|001[0-9A-Fa-f])_")


def _raw_cell(wb: Workbook, title: str, coord: str,
              formulas: dict[tuple[str, str], tuple[bool, bool]],
              is_date: bool) -> validate.RawCell:
    ws = wb[title]
    cell = ws[coord]
    address = f"{title}!{coord}"
    formula, computed = formulas.get((title, coord), (False, True))
    if isinstance(cell, MergedCell):
        top = next((str(r.start_cell.coordinate) for r in ws.merged_cells.ranges
                    if coord in r), "?")
        return validate.RawCell(None, address, merged_into=f"{title}!{top}")
    value = cell.value
    if cell.data_type == "e":
        return validate.RawCell(None, address, formula, computed, error=str(value))
    if isinstance(value, str):  # Excel writes a carriage return as _x000D_
        value = _ESCAPED.sub(lambda m: chr(int(m[1], 16)), value)
    serial = None
    if is_date and isinstance(value, int | float) and not isinstance(value, bool):
        serial = _serial_date(value, wb.epoch)
    link = (cell.hyperlink.target or "") if cell.hyperlink is not None else ""
    return validate.RawCell(value, address, formula, computed, hyperlink=link,
                            serial_date=serial)


def _serial_date(value: float, epoch: datetime) -> date | None:
    """A number in a date cell whose date format was lost (some programs save plain numbers):
    the date it stands for, when it is a plausible one (years 1950-2700, Buddhist Era too)."""
    if not 18264 <= value <= 292_000:  # 1950-01-01 .. about 2699
        return None
    try:
        moment = from_excel(value, epoch)
    except (OverflowError, ValueError):
        return None
    return moment.date() if isinstance(moment, datetime) else None


# -- annotating and summarising a returned sheet -------------------------------------------

def annotate(path: Path, out: Path, problems: tuple[Problem, ...],
             rules: SheetRules | None = None) -> bool:
    """A copy of the sheet with each offending cell highlighted and commented, so the clerk
    fixes it in place and drops it back. Returns False when the file cannot be opened as a
    workbook (it is never parsed unless ``check_file`` finds it sound)."""
    if check_file(path, rules):
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = load_workbook(path)
        red = PatternFill("solid", fgColor="F4CCCC")
        first = None
        notes: dict[tuple[str, str], list[str]] = {}
        for p in problems:
            if "!" in p.cell:
                title, ref = p.cell.rsplit("!", 1)
                notes.setdefault((title, ref), []).append(
                    f"{p.thai_line()}\n{p.english_line()}")
        for (title, ref), texts in notes.items():
            if title not in wb.sheetnames or not isinstance(wb[title], Worksheet):
                continue
            ws = wb[title]
            cell = ws[ref]
            if isinstance(cell, MergedCell):
                continue
            cell.fill = red
            note = "\n\n".join(texts)
            if cell.comment:
                note = f"{cell.comment.text}\n\n{note}"
            lines = sum(len(t) // 60 + 1 for t in note.split("\n"))
            cell.comment = Comment(note, "pipeline", width=420, height=min(40 + 18 * lines, 600))
            if first is None:
                first = (ws, ref)
        if first is not None:  # open the copy on the first cell to fix
            ws, ref = first
            wb.active = wb.worksheets.index(ws)
            for view in ws.views.sheetView:
                view.tabSelected = True
                view.selection[0].activeCell = ref
                view.selection[0].sqref = ref
            for other in wb.worksheets:
                if other is not ws:
                    for view in other.views.sheetView:
                        view.tabSelected = False
        save_atomically(wb, out)
    except Exception as exc:  # a copy for convenience: never worth failing the rejection
        log.warning("cannot write the annotated copy of %s: %s: %s", path.name,
                    type(exc).__name__, exc)
        return False
    return True


SUMMARY_FIELDS = ("title", "work_group", "category", "request_date", "provider_name",
                  "approver_name", "note")  # the note may name the request a sheet replaces


def summary(path: Path) -> dict[str, str]:
    """A few cells of a sheet that failed validation, by their defined names, as text (a
    date as the Thai short date): what the index and the reports show of a returned request.
    Best effort: a sheet that cannot be read gives nothing; a link is never followed."""
    try:
        if guard.kind_of(path.lstat()) is not None:
            return {}
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a damaged file fails anywhere inside openpyxl; best effort
        log.debug("cannot read %s: %s", path, exc)
        return {}
    values: dict[str, str] = {}
    try:
        for name in SUMMARY_FIELDS:
            defined = wb.defined_names.get(name)
            for title, ref in defined.destinations if defined is not None else ():
                if title in wb.sheetnames:
                    values[name] = _summary_text(wb[title][ref.replace("$", "").split(":")[0]]
                                                 .value)
                    break
    except Exception as exc:  # noqa: BLE001 - as above
        log.debug("cannot read %s: %s", path, exc)
    finally:
        wb.close()
    return values


def _summary_text(value: object) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return thai.short_date(value)
    return thai.normalize_text("" if value is None else str(value))
