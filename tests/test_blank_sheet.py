"""The blank request sheet agrees with itself and prints (issue 19 point 4): the category's
list takes its number as the hint says, the date cell is checked, the provider is chosen
from the settings, rows are tall enough for 16 pt, and it prints on one A4 page (converted
by the session's LibreOffice, pages counted, each label beside its cell)."""

from __future__ import annotations

import re
import subprocess

from openpyxl import load_workbook

from pipeline.core.request import FIELDS
from pipeline.intake import blank_sheet


def _validation_of(ws, name: str):
    cell = blank_sheet.named_cell(ws.parent, name).coordinate
    return next(dv for dv in ws.data_validations.dataValidation if cell in dv.sqref)


def test_the_sheets_checks_agree_with_its_hints(demo_ws, tmp_path):
    path = tmp_path / "blank.xlsx"
    blank_sheet.new_request(path, demo_ws)
    wb = load_workbook(path)
    ws = wb[blank_sheet.SHEET_TITLE]
    category = _validation_of(ws, "category")
    hint = next(f.hint for f in FIELDS if f.name == "category")
    assert "1-10" in hint and "1-10" in category.error
    assert category.type == "list" and category.errorStyle == "warning"  # "8" can be kept
    work_group = _validation_of(ws, "work_group")
    assert work_group.errorStyle in (None, "stop")  # only the list
    provider = _validation_of(ws, "provider_name")
    assert provider.type == "list" and provider.errorStyle in (None, "stop")
    listed = wb.defined_names["list_provider_name"].destinations
    title, ref = next(iter(listed))
    names = [c.value for row in wb[title][ref.replace("$", "")] for c in row]
    assert names == [p.person.name for p in demo_ws.providers]
    date_check = _validation_of(ws, "request_date")
    assert date_check.type == "date" and "2569" in date_check.error
    for spec in FIELDS:
        row = blank_sheet.named_cell(wb, spec.name).row
        assert ws.row_dimensions[row].height >= 24, spec.name  # 16 pt Thai needs ~24 pt


def test_the_blank_sheet_prints_on_one_a4_page_labels_beside_cells(demo_ws, tmp_path, converter):
    path = tmp_path / "blank.xlsx"
    blank_sheet.new_request(path, demo_ws)
    pdf = tmp_path / "blank.pdf"
    converter.convert(path, pdf)
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert (round(width), round(height)) == (595, 842)  # A4 portrait
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True,
                         text=True).stdout
    words = [(w, float(y0), float(y1), float(x0)) for x0, y0, _x1, y1, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
        xml)]
    unit = next(w for w in words if w[0] == demo_ws.unit.split()[0][:8] or
                w[0].startswith(demo_ws.unit[:8]))
    label = next(w for w in words if w[0].startswith("ชื่อหน่วยงาน"))
    assert label[3] < unit[3]  # the label left of its value
    assert abs(label[1] - unit[1]) < 6  # on the same line
