import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from pipeline import demo
from pipeline.core import thai
from pipeline.core.request import FIELDS, Problem
from pipeline.intake import blank_sheet, sheet

TODAY = thai.today()
NAMES = {"unit", "work_group", "request_date", "title", "category", "detail", "link", "note",
         "attachments", "provider_name", "provider_position", "approver_name",
         "approver_position", "publisher_name", "publisher_position"}


@pytest.fixture
def blank(demo_ws, tmp_path) -> Path:
    path = tmp_path / "คำขอ ใหม่.xlsx"
    blank_sheet.new_request(path, demo_ws)
    return path


def test_blank_sheet_has_the_defined_names_lists_and_office_values(blank, demo_ws):
    wb = load_workbook(blank)
    assert set(wb.defined_names) >= NAMES
    ws = wb[blank_sheet.SHEET_TITLE]
    lists = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    assert set(lists.values()) == {"=list_work_group", "=list_category", "=list_provider_name",
                                   "=list_obligation",
                                   "DATE(1957,1,1)"}  # the request date: a date check

    def cell(name):
        title, ref = next(iter(wb.defined_names[name].destinations))
        return wb[title][ref.replace("$", "")]

    assert cell("unit").value == demo_ws.unit
    assert cell("approver_name").value == demo_ws.director.person.name
    assert cell("publisher_name").value == demo_ws.publisher.name
    assert cell("title").value is None
    assert cell("title").number_format == "@"  # typed text stays text ("1/12" is no date)
    assert cell("request_date").number_format == blank_sheet.DATE_FORMAT
    assert {p.name: p.value for p in wb.custom_doc_props}[blank_sheet.VERSION_PROPERTY] == "1"


def test_filled_sheet_reads_into_a_request(blank, demo_ws):
    blank_sheet.fill(blank, demo.sample_values(TODAY))
    result = sheet.read_sheet(blank, demo_ws)
    assert result.ok, result.problems
    req = result.request
    assert req.request_date == TODAY
    assert req.category == "ข่าวประชาสัมพันธ์"
    assert req.provider.name == demo.PEOPLE["provider"].name
    assert req.approver.name == demo.PEOPLE["director"].name
    assert "\n" in req.detail  # line breaks of the detail are kept
    assert result.cells["title"] == f"{blank_sheet.SHEET_TITLE}!B8"


def test_every_missing_field_is_reported_with_its_cell(blank, demo_ws):
    blank_sheet.fill(blank, {"unit": "  "})
    result = sheet.read_sheet(blank, demo_ws)
    assert not result.ok
    fields = [p.field for p in result.problems]
    prefilled = {"approver_name", "approver_position"}  # unit was prefilled too, then blanked
    required = [f.name for f in FIELDS if f.required and f.name not in prefilled]
    assert sorted(fields) == sorted(required)
    title = next(p for p in result.problems if p.field == "title")
    assert title.cell == f"{blank_sheet.SHEET_TITLE}!B8"
    assert str(title) == ("หัวข้อ (คำขอ!B8) ว่าง กรุณากรอกหัวข้อ / "
                          "title (B8) is empty: fill in the title")


def test_category_by_number_and_text_dates_are_accepted(blank, demo_ws):
    values = demo.sample_values(TODAY)
    blank_sheet.fill(blank, {**values, "category": "๘", "request_date": thai.short_date(TODAY),
                       "work_group": " ".join(values["work_group"])})  # spaced out: still found
    result = sheet.read_sheet(blank, demo_ws)
    assert result.ok, result.problems
    assert result.request.category == "ข่าวประชาสัมพันธ์"
    assert result.request.work_group == values["work_group"]
    assert result.request.request_date == TODAY


def test_wrong_choices_and_link_are_problems(blank, demo_ws):
    blank_sheet.fill(blank, {**demo.sample_values(TODAY), "category": "11",
                       "work_group": "กลุ่มงานที่ไม่มี", "link": "www.example.com",
                       "request_date": "31/2/2569", "attachments": "../secret.txt"})
    result = sheet.read_sheet(blank, demo_ws)
    assert {p.field for p in result.problems} == {"category", "work_group", "link",
                                                  "request_date", "attachments"}


def test_formula_like_text_stays_text(blank, demo_ws):
    blank_sheet.fill(blank, {**demo.sample_values(TODAY), "title": '=HYPERLINK("http://x","คลิก")'})
    raw = load_workbook(blank)
    title, ref = next(iter(raw.defined_names["title"].destinations))
    assert raw[title][ref.replace("$", "")].data_type == "s"
    result = sheet.read_sheet(blank, demo_ws)
    assert result.request.title == '=HYPERLINK("http://x","คลิก")'


def test_a_real_formula_gives_its_computed_value(blank, demo_ws):
    """A formula the clerk typed (Excel saves its result beside it) reads as its result."""
    import zipfile

    blank_sheet.fill(blank, demo.sample_values(TODAY))
    with zipfile.ZipFile(blank) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    start = xml.index('<c r="B8"')
    end = xml.index("</c>", start) + 4
    parts["xl/worksheets/sheet1.xml"] = (
        xml[:start] + '<c r="B8" t="str"><f>CONCATENATE("ประกาศ ","เรื่อง")</f>'
        '<v>ประกาศ เรื่อง</v></c>' + xml[end:]).encode()
    with zipfile.ZipFile(blank, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    result = sheet.read_sheet(blank, demo_ws)
    assert result.ok, result.problems
    assert result.request.title == "ประกาศ เรื่อง"


def test_a_file_that_is_not_a_workbook_is_one_clear_problem(tmp_path, demo_ws):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"this is not a zip")
    result = sheet.read_sheet(bad, demo_ws)
    assert not result.ok
    assert ".xlsx" in result.problems[0].english


def test_a_sheet_without_the_names_says_how_to_get_the_template(tmp_path, demo_ws):
    old = tmp_path / "old.xlsx"
    wb = Workbook()
    wb.active["A1"] = "แบบฟอร์มเก่า"
    wb.save(old)
    result = sheet.read_sheet(old, demo_ws)
    assert "pipeline new-request" in result.problems[0].english
    assert "Version 1 is expected" in result.problems[0].english


def test_annotate_never_opens_a_file_that_fails_the_checks(tmp_path, demo_ws):
    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000)
    problem = Problem("title", f"{blank_sheet.SHEET_TITLE}!B8", "x", "y")
    assert sheet.annotate(bomb, tmp_path / "out.xlsx", (problem,)) is False
    assert not (tmp_path / "out.xlsx").exists()


# -- sheets from LibreOffice Calc, and sheets whose layout a clerk changed --------------------

# Driven over UNO in a subprocess: what a clerk does in Calc (insert rows and a column, widen,
# restyle the labels, rename the tab), then saves as .xlsx; LibreOffice updates the names.
CALC_EDIT = r'''
import json, os, subprocess, sys, time, uno
from com.sun.star.beans import PropertyValue

def props(**kw):
    return tuple(PropertyValue(Name=k, Value=v) for k, v in kw.items())

src, profile, jobs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
pipe = f"calc-edit-{os.getpid()}"
office = subprocess.Popen(["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
                           "--invisible", "--norestore", f"--accept=pipe,name={pipe};urp;"])
local = uno.getComponentContext()
resolver = local.ServiceManager.createInstanceWithContext(
    "com.sun.star.bridge.UnoUrlResolver", local)
deadline = time.monotonic() + 60
while True:
    try:
        ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        break
    except Exception:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.1)
desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
try:
    for job in jobs:
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0,
                                           props(Hidden=True))
        ws = doc.Sheets.getByName("คำขอ")
        ws.Rows.insertByIndex(0, 3)
        ws.Columns.insertByIndex(0, 1)
        ws.Columns.getByIndex(2).Width = 22000
        for row in range(0, 30):
            label = ws.getCellByPosition(1, row)
            label.CharWeight = 100.0
            label.CharColor = 0x1F4E79
            label.CellBackColor = 0xDDEBF7
        for name, value in job.get("values", {}).items():
            doc.NamedRanges.getByName(name).getReferredCells().setString(value)
        if job.get("rename"):
            ws.setName(job["rename"])
        doc.storeToURL(uno.systemPathToFileUrl(job["out"]),
                       props(FilterName="Calc MS Excel 2007 XML", Overwrite=True))
        doc.close(True)
finally:
    try:
        desktop.terminate()
    except Exception:
        pass
    office.wait(timeout=60)
'''


def _soffice(profile: Path, *args: str) -> None:
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
                    "--norestore", *args], check=True, capture_output=True, timeout=180)


@pytest.fixture(scope="module")
def calc(demo_template, tmp_path_factory):
    """Sheets written by openpyxl, then saved by LibreOffice Calc as a clerk would."""
    from pipeline.settings import config as config_mod

    if shutil.which("soffice") is None:
        pytest.fail("LibreOffice is not installed (scripts/setup.sh installs it)")
    cfg = config_mod.load(demo_template)
    root = tmp_path_factory.mktemp("calc")
    profile = root / "profile"
    made = root / "made"
    made.mkdir()
    filled = made / "filled.xlsx"
    blank_sheet.new_request(filled, cfg)
    blank_sheet.fill(filled, {**demo.sample_values(TODAY), "request_date": TODAY,
                        "attachments": "ประกาศ ฉบับเต็ม.pdf\nภาพ.jpg"})
    formula = made / "formula.xlsx"
    shutil.copyfile(filled, formula)
    wb = load_workbook(formula)
    title, ref = next(iter(wb.defined_names["title"].destinations))
    wb[title][ref.replace("$", "")] = '=CONCATENATE("ประกาศ ","เรื่องไข้เลือดออก")'
    wb.save(formula)  # openpyxl computes nothing: no cached value
    out = root / "out"
    _soffice(profile, "--convert-to", "xlsx", "--outdir", str(out), str(filled), str(formula))
    _soffice(profile, "--convert-to", "xls", "--outdir", str(out), str(filled))
    _soffice(profile, "--convert-to", "ods", "--outdir", str(out), str(filled))
    jobs = [{"out": str(out / "layout.xlsx")},
            {"out": str(out / "layout-renamed-bad.xlsx"), "rename": "คำขอ (แก้ไข)",
             "values": {"title": "", "link": "www.moph.go.th"}}]
    subprocess.run([sys.executable, "-c", CALC_EDIT, str(filled), str(root / "uno-profile"),
                    json.dumps(jobs)], check=True, capture_output=True, timeout=180)
    return cfg, made, out


def test_a_sheet_saved_by_libreoffice_calc_reads_the_same(calc):
    cfg, made, out = calc
    original = sheet.read_sheet(made / "filled.xlsx", cfg)
    resaved = sheet.read_sheet(out / "filled.xlsx", cfg)
    assert original.ok and resaved.ok, resaved.problems
    assert resaved.request == original.request
    assert resaved.request.request_date == TODAY
    assert resaved.request.attachments == ("ประกาศ ฉบับเต็ม.pdf", "ภาพ.jpg")
    wb = load_workbook(out / "filled.xlsx")  # Calc keeps the Thai date format and version
    title, ref = next(iter(wb.defined_names["request_date"].destinations))
    assert "107041E" in wb[title][ref.replace("$", "")].number_format
    assert {p.name: p.value for p in wb.custom_doc_props}.get(blank_sheet.VERSION_PROPERTY) == "1"


def test_a_formula_is_reported_until_a_program_computes_it(calc):
    cfg, made, out = calc
    raw = sheet.read_sheet(made / "formula.xlsx", cfg)
    assert [(p.field, p.cell) for p in raw.problems] == [("title", f"{blank_sheet.SHEET_TITLE}!B8")]
    assert "never computed" in raw.problems[0].english
    computed = sheet.read_sheet(out / "formula.xlsx", cfg)
    assert computed.ok, computed.problems
    assert computed.request.title == "ประกาศ เรื่องไข้เลือดออก"


def test_a_sheet_whose_layout_a_clerk_changed_still_reads(calc):
    cfg, made, out = calc
    moved = sheet.read_sheet(out / "layout.xlsx", cfg)
    assert moved.ok, moved.problems
    assert moved.request == sheet.read_sheet(made / "filled.xlsx", cfg).request
    assert moved.cells["title"] == f"{blank_sheet.SHEET_TITLE}!C11"  # 3 rows, 1 column inserted
    bad = sheet.read_sheet(out / "layout-renamed-bad.xlsx", cfg)
    assert [(p.field, p.cell) for p in bad.problems] == [
        ("title", "คำขอ (แก้ไข)!C11"), ("link", "คำขอ (แก้ไข)!C14")]
    assert bad.problems[0].thai.startswith("หัวข้อ (คำขอ (แก้ไข)!C11) ว่าง")
    assert bad.problems[0].english.startswith("title (C11) is empty")


def test_the_corrected_copy_of_a_changed_layout_marks_the_moved_cells(calc, tmp_path):
    cfg, _made, out = calc
    bad = sheet.read_sheet(out / "layout-renamed-bad.xlsx", cfg)
    copy = tmp_path / "corrected.xlsx"
    assert sheet.annotate(out / "layout-renamed-bad.xlsx", copy, bad.problems)
    ws = load_workbook(copy)["คำขอ (แก้ไข)"]
    assert ws["C11"].comment is not None and ws["C14"].comment is not None
    assert ws["B11"].comment is None


@pytest.mark.parametrize(("made_by_calc", "advice"), [
    ("filled.xls", "old Excel 97-2003 workbook (.xls) renamed to .xlsx"),
    ("filled.ods", "OpenDocument spreadsheet (.ods) renamed to .xlsx"),
])
def test_calc_files_renamed_to_xlsx_are_told_apart(calc, tmp_path, made_by_calc, advice):
    cfg, _made, out = calc
    renamed = tmp_path / "แบบคำขอ.xlsx"
    shutil.copyfile(out / made_by_calc, renamed)
    [problem] = sheet.read_sheet(renamed, cfg).problems
    assert advice in problem.english and problem.cell == ""


def test_reading_a_dated_sheet_of_another_day(blank, demo_ws):
    """``today`` decides the date window (tests and re-validation of old requests)."""
    blank_sheet.fill(blank, {**demo.sample_values(date(2026, 11, 25))})
    assert sheet.read_sheet(blank, demo_ws, today=date(2026, 12, 1)).ok
    late = sheet.read_sheet(blank, demo_ws, today=date(2028, 1, 1))
    assert [p.field for p in late.problems] == ["request_date"]
