from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline import demo, sheet
from pipeline.sheet import FIELDS

NAMES = {"unit", "work_group", "request_date", "title", "category", "detail", "link", "note",
         "attachments", "provider_name", "provider_position", "approver_name",
         "approver_position", "publisher_name", "publisher_position"}


@pytest.fixture
def blank(demo_ws, tmp_path) -> Path:
    path = tmp_path / "คำขอ ใหม่.xlsx"
    sheet.new_request(path, demo_ws)
    return path


def test_blank_sheet_has_the_defined_names_lists_and_office_values(blank, demo_ws):
    wb = load_workbook(blank)
    assert set(wb.defined_names) >= NAMES
    ws = wb[sheet.SHEET_TITLE]
    lists = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    assert set(lists.values()) == {"=list_work_group", "=list_category"}

    def value(name):
        title, ref = next(iter(wb.defined_names[name].destinations))
        return wb[title][ref.replace("$", "")].value

    assert value("unit") == demo_ws.unit
    assert value("approver_name") == demo_ws.director.person.name
    assert value("publisher_name") == demo_ws.publisher.name
    assert value("title") is None


def test_filled_sheet_reads_into_a_request(blank, demo_ws):
    sheet.fill(blank, demo.sample_values(date(2026, 11, 25)))
    result = sheet.read_sheet(blank, demo_ws)
    assert result.ok, result.problems
    req = result.request
    assert req.request_date == date(2026, 11, 25)
    assert req.category == "ข่าวประชาสัมพันธ์"
    assert req.provider.name == demo.PEOPLE["provider"].name
    assert req.approver.name == demo.PEOPLE["director"].name
    assert "\n" in req.detail  # line breaks of the detail are kept


def test_every_missing_field_is_reported_with_its_cell(blank, demo_ws):
    sheet.fill(blank, {"unit": "  "})
    result = sheet.read_sheet(blank, demo_ws)
    assert not result.ok
    fields = [p.field for p in result.problems]
    prefilled = {"approver_name", "approver_position"}  # unit was prefilled too, then blanked
    required = [f.name for f in FIELDS if f.required and f.name not in prefilled]
    assert sorted(fields) == sorted(required)
    title = next(p for p in result.problems if p.field == "title")
    assert title.cell == f"{sheet.SHEET_TITLE}!B8"
    assert "หัวข้อ" in str(title) and "title" in str(title) and "B8" in str(title)


def test_category_by_number_and_text_dates_are_accepted(blank, demo_ws):
    values = demo.sample_values(date(2026, 11, 25))
    sheet.fill(blank, {**values, "category": "๘", "request_date": "25 พ.ย. 2569",
                       "work_group": " ".join(values["work_group"])})  # spaced out: still found
    result = sheet.read_sheet(blank, demo_ws)
    assert result.ok, result.problems
    assert result.request.category == "ข่าวประชาสัมพันธ์"
    assert result.request.work_group == values["work_group"]
    assert result.request.request_date == date(2026, 11, 25)


def test_wrong_choices_and_link_are_problems(blank, demo_ws):
    sheet.fill(blank, {**demo.sample_values(date(2026, 11, 25)), "category": "11",
                       "work_group": "กลุ่มงานที่ไม่มี", "link": "www.example.com",
                       "request_date": "31/2/2569", "attachments": "../secret.txt"})
    result = sheet.read_sheet(blank, demo_ws)
    assert {p.field for p in result.problems} == {"category", "work_group", "link",
                                                  "request_date", "attachments"}


def test_formula_like_text_stays_text(blank, demo_ws):
    sheet.fill(blank, {**demo.sample_values(date(2026, 11, 25)),
                       "title": '=HYPERLINK("http://x","คลิก")'})
    raw = load_workbook(blank)
    title, ref = next(iter(raw.defined_names["title"].destinations))
    assert raw[title][ref.replace("$", "")].data_type == "s"
    result = sheet.read_sheet(blank, demo_ws)
    assert result.request.title == '=HYPERLINK("http://x","คลิก")'


def test_a_file_that_is_not_a_workbook_is_one_clear_problem(tmp_path, demo_ws):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"this is not a zip")
    result = sheet.read_sheet(bad, demo_ws)
    assert not result.ok
    assert ".xlsx" in result.problems[0].english


def test_a_sheet_without_the_names_says_how_to_get_the_template(tmp_path, demo_ws):
    from openpyxl import Workbook

    old = tmp_path / "old.xlsx"
    Workbook().save(old)
    result = sheet.read_sheet(old, demo_ws)
    assert "pipeline new-request" in result.problems[0].english
