"""Publication obligations: the config (every error names the key), the calendar (months,
fiscal quarters and years, fixed dates, Buddhist-Era months), what meets what (category and
work group, or the clerk's pick on the sheet), a synthetic year's met/due/overdue per
group, the reminders' days, the command's output and the reports' sections."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from seeding import archived, awaiting, request

from pipeline import demo
from pipeline.audit import signature
from pipeline.core import thai
from pipeline.intake import blank_sheet, sheet
from pipeline.records import index, obligations, reminders, report, report_files
from pipeline.records.obligations import State, Window
from pipeline.settings import config as config_mod
from pipeline.settings import obligations as settings

PIPELINE = [sys.executable, "-m", "pipeline"]
ADMIN, STRATEGY, DISEASE = demo.WORK_GROUPS[0], demo.WORK_GROUPS[5], demo.WORK_GROUPS[2]
PROCUREMENT_CATEGORY = 4  # ข้อมูลข่าวสารตาม พ.ร.บ.ข้อมูลข่าวสารของราชการ
NEWS = 7


def _read(text: str, groups=("ก", "ข")) -> settings.Obligations:
    import tomllib

    return settings.read(tomllib.loads(text), work_groups=groups,
                         categories=config_mod.DEFAULT_CATEGORIES, fail=ValueError)


def test_the_config_is_read_and_every_error_names_the_key():
    got = _read('[[obligations]]\nid = "plan"\ntitle = " แผน  ปฏิบัติการ "\ncategory = 1\n'
                'work_group = "all"\ndates = [2026-10-31, "2570-04-30"]\nindicator = "O10"\n'
                '[[providers]]\nname = "นาง ก"\nposition = "x"\nwork_group = "ข"\n')
    (plan,) = got.items
    assert (plan.title, plan.category, plan.work_groups, plan.dates, plan.indicator) == (
        "แผน ปฏิบัติการ", config_mod.DEFAULT_CATEGORIES[0], ("ก", "ข"),
        (date(2026, 10, 31), date(2027, 4, 30)), "O10")
    assert got.people_of("ข") == ("นาง ก",) and got.people_of("ก") == ()
    base = 'id = "a"\ntitle = "t"\ncategory = 1\nwork_group = "ก"\n'
    for body, key in [
        ('id = "a b"\ntitle = "t"\ncategory = 1\nwork_group = "ก"\nevery = "month"', "[0].id"),
        (base + 'every = "week"', "obligations[0].every"),
        (base + 'every = "month"\nday = 32', "obligations[0].day"),
        (base + 'every = "month"\ndates = [2026-01-01]', "obligations[0] needs every"),
        (base + 'dates = ["31/10/2569"]', "obligations[0].dates"),
        ('id = "a"\ntitle = "t"\ncategory = 11\nwork_group = "ก"\nevery = "year"',
         "obligations[0].category"),
        ('id = "a"\ntitle = "t"\ncategory = 1\nwork_group = "ค"\nevery = "year"',
         "obligations[0].work_group"),
        (base + 'every = "month"\nwhen = 1', "obligations[0]: unknown key when"),
        (base + 'every = "month"\n[[obligations]]\n' + base + 'every = "year"',
         "obligations[1].id 'a' is used twice"),
    ]:
        with pytest.raises(ValueError, match=key.replace("[", r"\[").replace("]", r"\]")):
            _read("[[obligations]]\n" + body)


def test_the_demo_carries_the_frameworks_list(demo_ws):
    items = {o.id: o for o in demo_ws.obligations.items}
    assert set(items) == {"basic-info", "action-plan", "complaints", "procurement", "activities"}
    assert items["basic-info"].work_groups == items["action-plan"].work_groups == (STRATEGY,)
    assert items["procurement"].work_groups == items["complaints"].work_groups == (ADMIN,)
    assert items["activities"].work_groups == tuple(demo_ws.work_groups)
    assert (items["procurement"].every, items["procurement"].day) == ("month", 10)
    assert "สขร. ๑" in items["procurement"].title
    assert all(set(o.work_groups) <= set(demo_ws.work_groups) for o in items.values())


def _ob(**changes) -> settings.Obligation:
    return dataclasses.replace(settings.Obligation("x", "t", "c", ("ก",)), **changes)


def test_the_calendar_of_months_fiscal_quarters_and_years_and_fixed_dates():
    nov = report.month("2569-11")  # Buddhist-Era month: November 2026
    assert obligations.windows(_ob(every="month", day=10), nov.start, nov.last_day) == [
        Window(date(2026, 11, 1), date(2026, 11, 30), date(2026, 11, 10))]
    feb = report.month("2570-02")
    assert obligations.windows(_ob(every="month", day=31), feb.start, feb.last_day) == [
        Window(date(2027, 2, 1), date(2027, 2, 28), date(2027, 2, 28))]  # past the end
    assert [w.due for w in obligations.windows(_ob(every="month"), date(2026, 11, 20),
                                               date(2027, 1, 5))] == [
        date(2026, 11, 30), date(2026, 12, 31), date(2027, 1, 31)]  # day 0: the last day
    assert obligations.windows(_ob(every="quarter", day=15), date(2026, 11, 15),
                               date(2027, 1, 1)) == [
        Window(date(2026, 10, 1), date(2026, 12, 31), date(2026, 10, 15)),
        Window(date(2027, 1, 1), date(2027, 3, 31), date(2027, 1, 15))]
    assert obligations.windows(_ob(every="year", day=31), date(2027, 9, 30),
                               date(2027, 9, 30)) == [
        Window(date(2026, 10, 1), date(2027, 9, 30), date(2026, 10, 31))]  # fiscal 2570
    fixed = _ob(dates=(date(2026, 10, 31), date(2027, 4, 30)))
    assert obligations.windows(fixed, date(2026, 1, 1), date(2028, 1, 1)) == [
        Window(date(2026, 10, 1), date(2027, 4, 29), date(2026, 10, 31)),
        Window(date(2026, 11, 1), date(2027, 9, 30), date(2027, 4, 30))]


def _published(cfg, tmp_path, title, group, category, day, obligation=""):
    req = dataclasses.replace(request(cfg, title, work_group=group, category=category,
                                      day=day - timedelta(days=2)), obligation=obligation)
    received = datetime.combine(day - timedelta(days=2), datetime.min.time(), UTC)
    return archived(cfg, tmp_path, req, received, received + timedelta(hours=1),
                    published=(day, f"https://example.go.th/{title}"))


def test_a_synthetic_year_is_met_due_and_overdue_exactly_per_group(demo_ws, tmp_path):
    cfg = demo_ws
    sep = _published(cfg, tmp_path, "sep", 2, 0, date(2026, 9, 5), obligation="procurement")
    oct_ = _published(cfg, tmp_path, "oct", 0, PROCUREMENT_CATEGORY, date(2026, 10, 8))
    nov = _published(cfg, tmp_path, "nov", 0, PROCUREMENT_CATEGORY, date(2026, 11, 12))
    complaint = _published(cfg, tmp_path, "complaint", 0, PROCUREMENT_CATEGORY,
                           date(2026, 11, 20), obligation="complaints")
    news = _published(cfg, tmp_path, "news", 2, NEWS, date(2026, 11, 3))
    plan = _published(cfg, tmp_path, "plan", 5, PROCUREMENT_CATEGORY, date(2026, 10, 30))
    waiting = awaiting(cfg, request(cfg, "dec", work_group=0, category=PROCUREMENT_CATEGORY),
                       datetime(2026, 12, 2, 3, 0, tzinfo=UTC))
    rows = index.gather(cfg.workspace)

    def states(month: str, as_of: date, group: str) -> dict[str, tuple]:
        period = report.month(month)
        found = obligations.for_period(cfg.obligations, cfg.work_groups, rows, period.start,
                                       period.last_day, as_of, group)
        return {o.obligation.id: (o.state, tuple(e.request_id for e in o.evidence), o.late,
                                  o.waiting) for block in found for o in block.occurrences}

    # picked on the sheet by another group: counts for the obligation's one group
    assert states("2569-09", date(2026, 9, 30), ADMIN)["procurement"] == (
        State.MET, (sep,), False, ())
    october = states("2569-10", date(2026, 10, 31), ADMIN)
    assert october["procurement"] == (State.MET, (oct_,), False, ())
    assert october["complaints"][0] == State.OVERDUE  # due 15 October
    assert october["activities"][0] == State.DUE  # due 31 October: not yet over
    november = states("2569-11", date(2026, 11, 30), ADMIN)
    assert november["procurement"] == (State.MET, (nov,), True, ())  # the 12th: late
    # the complaints report picked on the sheet (same category): it meets complaints only
    assert november["complaints"] == (State.MET, (complaint,), True, ())
    assert november["activities"][0] == State.DUE  # due on the 30th: the day itself
    assert states("2569-11", date(2026, 12, 1), ADMIN)["activities"][0] == State.OVERDUE
    assert states("2569-12", date(2026, 12, 8), ADMIN)["procurement"] == (
        State.DUE, (), False, (waiting,))
    assert states("2569-12", date(2026, 12, 11), ADMIN)["procurement"][0] == State.OVERDUE
    assert "complaints" not in states("2569-12", date(2026, 12, 31), ADMIN)  # met in Q1
    # each group meets a shared obligation for itself
    assert states("2569-11", date(2026, 11, 30), DISEASE)["activities"][:2] == (
        State.MET, (news,))
    strategy = states("2569-10", date(2026, 10, 31), STRATEGY)
    assert strategy["action-plan"] == (State.MET, (plan,), False, ())
    assert strategy["basic-info"][0] == State.DUE
    later = states("2569-12", date(2026, 12, 31), STRATEGY)  # an overdue yearly item stays
    assert later["basic-info"][0] == State.OVERDUE and "action-plan" not in later
    open_now = obligations.open_obligations(cfg.obligations, cfg.work_groups, rows,
                                            date(2026, 12, 5))
    assert [o.id for o in open_now] == ["basic-info", "procurement", "activities"]


def test_fixed_dates_take_a_late_publication_for_the_earlier_date(demo_ws, tmp_path):
    plan = settings.Obligation("plan", "แผน", demo_ws.categories[0], (ADMIN,),
                               dates=(date(2026, 10, 31), date(2027, 4, 30)))
    setting = settings.Obligations((plan,))
    late = _published(demo_ws, tmp_path, "late", 0, 0, date(2026, 11, 5))
    rows = index.gather(demo_ws.workspace)
    found = obligations.occurrences(plan, ADMIN, rows, date(2026, 10, 1), date(2027, 9, 30),
                                    date(2027, 5, 1))
    assert [(o.window.due, o.state, [e.request_id for e in o.evidence], o.late)
            for o in found] == [(date(2026, 10, 31), State.MET, [late], True),
                                (date(2027, 4, 30), State.OVERDUE, [], False)]
    assert obligations.for_period(setting, (ADMIN,), rows, date(2027, 4, 1),
                                  date(2027, 4, 30), date(2027, 4, 30))[0].occurrences[
        0].state == State.DUE


def test_the_reminders_come_on_the_right_days_once_per_occurrence(demo_ws, tmp_path):
    cfg = demo_ws

    def due(day: date, rows=()) -> set[tuple[str, str, str]]:
        return {(r.occurrence.obligation.id, r.work_group, r.kind)
                for r in reminders.due_reminders(cfg.obligations, cfg.work_groups, rows, day)
                if r.occurrence.obligation.id == "procurement"}

    assert due(date(2026, 12, 6)) == set()
    for day in (7, 8, 9, 10):  # three days before the 10th, and on it
        assert due(date(2026, 12, day)) == {("procurement", ADMIN, reminders.SOON)}, day
    for day in (11, 20, 31):
        assert due(date(2026, 12, day)) == {("procurement", ADMIN, reminders.OVERDUE)}, day
    assert due(date(2027, 1, 1)) == set()  # December's window closed; January's not yet
    _published(cfg, tmp_path, "dec", 0, PROCUREMENT_CATEGORY, date(2026, 12, 9))
    rows = index.gather(cfg.workspace)
    assert due(date(2026, 12, 10), rows) == due(date(2026, 12, 15), rows) == set()  # met
    keys = [r.key for day in range(7, 32)
            for r in reminders.due_reminders(cfg.obligations, cfg.work_groups, (),
                                             date(2026, 12, day))
            if r.occurrence.obligation.id == "procurement"]
    assert sorted(set(keys)) == [f"obligation|procurement|{ADMIN}|2026-12-10|overdue",
                                 f"obligation|procurement|{ADMIN}|2026-12-10|soon"]
    news = [r for r in reminders.due_reminders(cfg.obligations, cfg.work_groups, (),
                                               date(2026, 12, 29))
            if r.occurrence.obligation.id == "activities"]
    assert {r.work_group: r.recipients for r in news}[DISEASE] == (
        demo.PEOPLE["provider"].name,)  # the provider whose work_group it is
    assert news[0].line().startswith("ใกล้ถึงกำหนดเผยแพร่ ข่าวกิจกรรมของกลุ่มงาน ภายใน 31 ธ.ค. 2569")


def test_the_sheet_offers_the_open_obligations_and_reads_the_clerks_pick(demo_ws, tmp_path):
    path = tmp_path / "r.xlsx"
    procurement = demo_ws.obligations.by_id("procurement")
    blank_sheet.new_request(path, demo_ws, [procurement])
    wb = load_workbook(path)
    lists = {dv.formula1: str(dv.sqref) for dv in wb[blank_sheet.SHEET_TITLE]
             .data_validations.dataValidation}
    assert lists["=list_obligation"] == blank_sheet.named_cell(wb, "obligation").coordinate
    assert wb[blank_sheet.LISTS_TITLE]["C1"].value == procurement.label()
    assert blank_sheet.named_cell(wb, "publisher_position").row + 1 == blank_sheet.named_cell(
        wb, "obligation").row  # after the sheet's cells, which stay where they were
    today = thai.today()
    blank_sheet.fill(path, {**demo.sample_values(today), "obligation": procurement.label()})
    result = sheet.read_sheet(path, demo_ws, today=today)
    assert result.ok and result.request.obligation == "procurement"
    blank_sheet.fill(path, {"obligation": "รายงานที่ไม่มี"})
    result = sheet.read_sheet(path, demo_ws, today=today)
    (problem,) = result.problems
    cell = f"{blank_sheet.SHEET_TITLE}!{blank_sheet.named_cell(wb, 'obligation').coordinate}"
    assert (problem.field, problem.cell) == ("obligation", cell)
    assert problem.thai.startswith(f"ภาระการเผยแพร่ที่ตอบ (ถ้ามี) ({cell}) 'รายงานที่ไม่มี' "
                                   "ไม่อยู่ในรายการภาระการเผยแพร่")
    assert "is not one of the office's publication obligations" in problem.english
    # a sheet made before the cell existed still reads
    wb = load_workbook(path)
    del wb.defined_names["obligation"]
    wb.save(path)
    result = sheet.read_sheet(path, demo_ws, today=today)
    assert result.ok and result.request.obligation == ""


def test_the_command_prints_per_work_group_in_columns(demo_ws, tmp_path):
    met = _published(demo_ws, tmp_path, "nov", 0, PROCUREMENT_CATEGORY, date(2026, 11, 9))
    run = subprocess.run([*PIPELINE, "-w", str(demo_ws.workspace.root), "obligations",
                          "--month", "2569-11", "--work-group", "1"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("ภาระการเผยแพร่ประจำเดือนพฤศจิกายน ๒๕๖๙ (ข้อมูล ณ 30 พ.ย. 2569)")
    assert lines[2] == ADMIN
    rows = [line for line in lines if line.startswith("  ") and ": " in line
            and "published" not in line]
    assert [r.split()[0] for r in rows] == ["เลยกำหนด", "เผยแพร่แล้ว", "ถึงกำหนด"]
    # the due and title columns start at the same terminal column whatever the Thai marks
    dues = [re.search(r"\d{1,2} \S+ 25\d\d", r) for r in rows]
    titles = [re.search(r"[a-z-]+: ", r) for r in rows]
    assert len({thai.display_width(r[:m.start()]) for r, m in zip(rows, dues, strict=True)}) == 1
    assert len({thai.display_width(r[:m.start()]) for r, m in zip(rows, titles, strict=True)}) == 1
    assert f"{met}  เผยแพร่ / published 9 พ.ย. 2569  https://example.go.th/nov" in run.stdout
    assert lines[-1] == ("เผยแพร่แล้ว 1, ถึงกำหนด 1, เลยกำหนด 1 / met 1, due 1, overdue 1")
    bad = subprocess.run([*PIPELINE, "-w", str(demo_ws.workspace.root), "obligations",
                          "--month", "2569-13"], capture_output=True, text=True)
    assert bad.returncode == 2 and "2569-13" in bad.stderr


def _pdf_text(path) -> str:
    return "".join(subprocess.run(["pdftotext", "-raw", str(path), "-"], check=True,
                                  capture_output=True, text=True).stdout.split())


def test_the_reports_show_the_obligations_and_the_signed_ita_evidence(demo_ws, tmp_path,
                                                                      converter):
    nov = _published(demo_ws, tmp_path, "สขร", 0, PROCUREMENT_CATEGORY, date(2026, 11, 9))
    now = datetime(2026, 12, 10, 9, 0, tzinfo=thai.BANGKOK)
    (monthly,) = report_files.write_reports(demo_ws, report.month("2569-11"), converter,
                                            work_group=ADMIN, now=now)
    text = _pdf_text(monthly.pdf)
    for expected in ("๘.ภาระการเผยแพร่ตามกำหนด", "สรุปผลการจัดซื้อจัดจ้างประจำเดือน(แบบสขร.๑)",
                     f"{nov}(๙พ.ย.๒๕๖๙)", "รายงานผลการดำเนินการเรื่องร้องเรียน", "เลยกำหนด",
                     "๙.ปัญหาอุปสรรค"):
        assert expected in text, expected
    assert "๘.๑" not in text  # the ITA evidence is the fiscal year's
    sheet_rows = list(load_workbook(monthly.xlsx)["ภาระการเผยแพร่"].iter_rows(
        min_row=2, values_only=True))
    assert [(r[1], r[3], r[4]) for r in sheet_rows] == [
        ("รายงานผลการดำเนินการเรื่องร้องเรียน", "เลยกำหนด", None),
        ("สรุปผลการจัดซื้อจัดจ้างประจำเดือน (แบบ สขร. ๑)", "เผยแพร่แล้ว", nov),
        ("ข่าวกิจกรรมของกลุ่มงาน", "ถึงกำหนด", None)]

    (fiscal,) = report_files.write_reports(demo_ws, report.fiscal_year("2570"), converter,
                                           work_group=ADMIN, sign=True, now=now)
    text = _pdf_text(fiscal.pdf)
    for expected in ("๘.๑หลักฐานตามตัวชี้วัดITA", "ตัวชี้วัดO15:", nov,
                     "https://example.go.th/สขร", "๙พ.ย.๒๕๖๙"):
        assert expected in text, expected
    assert "ตัวชี้วัดO1:" not in text  # the strategy group's, not this group's report
    statuses = signature.verify_pdf(fiscal.pdf, demo_ws.trust_roots)
    assert [(s.field, s.ok) for s in statuses] == [("acknowledged", True)]
    evidence = list(load_workbook(fiscal.xlsx)["หลักฐาน ITA"].iter_rows(min_row=2,
                                                                       values_only=True))
    assert [(r[0], r[3], r[6]) for r in evidence] == [("O15", nov, "https://example.go.th/สขร")]
