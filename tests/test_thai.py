from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import thai


def test_long_date_uses_buddhist_era_thai_month_and_digits():
    assert thai.long_date(date(2026, 11, 25)) == "๒๕ พฤศจิกายน ๒๕๖๙"
    assert thai.short_date(date(2027, 1, 2)) == "2 ม.ค. 2570"


def test_long_datetime_is_bangkok_time():
    moment = datetime(2026, 11, 25, 20, 5, tzinfo=UTC)  # 03:05 next day in Bangkok
    assert thai.long_datetime(moment) == "๒๖ พฤศจิกายน ๒๕๖๙ เวลา ๐๓:๐๕ น."


@pytest.mark.parametrize("text", [
    "25/11/2569", "25 พ.ย. 2569", "๒๕ พฤศจิกายน ๒๕๖๙", "2026-11-25", "25/11/2026",
    "25 พฤศจิกายน พ.ศ. 2569", " 25.11.2569 ",
])
def test_parse_date_accepts_official_and_gregorian_forms(text):
    assert thai.parse_date(text) == date(2026, 11, 25)


@pytest.mark.parametrize("text", ["31/2/2569", "2569", "เมื่อวาน", "25/13/2569", ""])
def test_parse_date_rejects_what_is_not_a_date(text):
    assert thai.parse_date(text) is None


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2399, 12, 31)))
def test_parse_date_round_trips_every_written_form(d):
    assert thai.parse_date(thai.long_date(d)) == d
    assert thai.parse_date(thai.short_date(d)) == d
    assert thai.parse_date(f"{d.day}/{d.month}/{thai.be_year(d)}") == d


def test_normalize_text_fixes_common_typing_mistakes():
    assert thai.normalize_text(" ค\u0e4d\u0e32 ") == "คำ"  # nikhahit + sara aa -> sara am
    assert thai.normalize_text("น้\u0e49ำ") == "น้ำ"  # doubled tone mark
    assert thai.normalize_text("ข้อ\u200bมูล\r\nบรรทัด ") == "ข้อมูล\nบรรทัด"


@given(st.text())
def test_normalize_text_is_idempotent(text):
    once = thai.normalize_text(text)
    assert thai.normalize_text(once) == once


def test_name_key_ignores_titles_and_spacing():
    assert thai.name_key("นางสาว นูรีซัน  หะยีมะ") == thai.name_key("นูรีซัน หะยีมะ")
    assert thai.name_key("ดร.สมชาย ใจดี") == thai.name_key("สมชาย ใจดี")
    assert thai.name_key("สมชาย ใจดี") != thai.name_key("สมหญิง ใจดี")
