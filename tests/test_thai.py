import unicodedata
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pipeline.core import thai

TODAY = date(2026, 11, 25)


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


# -- property-based: the date parser -------------------------------------------------------

WRITTEN = {
    "long Thai digits": thai.long_date,
    "long": lambda d: thai.long_date(d, digits=False),
    "short": thai.short_date,
    "short Thai digits": lambda d: thai.short_date(d, digits=True),
    "slashes BE": lambda d: f"{d.day}/{d.month}/{thai.be_year(d)}",
    "padded BE": lambda d: f"{d.day:02d}/{d.month:02d}/{thai.be_year(d)}",
    "dots BE": lambda d: f"{d.day}.{d.month}.{thai.be_year(d)}",
    "dashes BE": lambda d: f"{d.day}-{d.month}-{thai.be_year(d)}",
    "slashes CE": lambda d: f"{d.day}/{d.month}/{d.year}",
    "ISO": lambda d: d.isoformat(),
    "ISO with BE year": lambda d: f"{thai.be_year(d)}-{d.month:02d}-{d.day:02d}",
    "ISO with time": lambda d: f"{d.isoformat()}T00:00:00",
    "official with prefix": lambda d: f"วันที่ {thai.long_date(d)}",
    "with พ.ศ.": lambda d: f"{d.day} {thai.MONTHS[d.month - 1]} พ.ศ. {thai.be_year(d)}",
    "abbreviation without dots": lambda d: (
        f"{d.day} {thai.MONTHS_ABBR[d.month - 1].replace('.', '')} {thai.be_year(d)}"),
    "Thai month, CE year": lambda d: f"{d.day} {thai.MONTHS_ABBR[d.month - 1]} {d.year}",
    "English": lambda d: f"{d.day} {d:%B} {d.year}",
    "English US": lambda d: f"{d:%b} {d.day}, {d.year}",
}


@given(d=st.dates(min_value=date(1950, 1, 1), max_value=date(2399, 12, 31)),
       form=st.sampled_from(sorted(WRITTEN)),
       noise=st.sampled_from(["", " ", "\u200b", "\u00a0", "\ufeff"]))
def test_parse_date_reads_every_way_offices_write_a_date(d, form, noise):
    text = WRITTEN[form](d)
    assert thai.parse_date(f"{noise}{text}{noise}", TODAY) == d


@given(d=st.dates(min_value=TODAY - timedelta(days=15 * 365),
                  max_value=TODAY + timedelta(days=15 * 365)))
def test_two_digit_years_are_read_as_the_nearest_of_be_and_ce(d):
    assert thai.parse_date(f"{d.day}/{d.month}/{thai.be_year(d) % 100:02d}", TODAY) == d
    assert thai.parse_date(f"{d.day} {thai.MONTHS_ABBR[d.month - 1]} "
                           f"{thai.be_year(d) % 100:02d}", TODAY) == d
    assert thai.parse_date(f"{d.day}/{d.month}/{d.year % 100:02d}", TODAY) == d


@given(st.integers(1, 40), st.integers(0, 14), st.integers(1950, 2700))
@example(29, 2, 2568)  # 2568 is a leap year, 2025 (its Gregorian year) is not
def test_a_date_that_does_not_exist_is_none(day, month, year):
    text = f"{day}/{month}/{year}"
    try:
        real = date(thai.gregorian_year(year, TODAY), month, day)
    except ValueError:
        real = None
    assert thai.parse_date(text, TODAY) == real


@given(st.text())
def test_parse_date_never_fails_on_any_text(text):
    result = thai.parse_date(text, TODAY)
    assert result is None or isinstance(result, date)


@given(st.from_regex(r"[0-9๐-๙]{1,2}[/.\-][0-9๐-๙]{1,2}[/.\-](?:[0-9๐-๙]{2}|[0-9๐-๙]{4})",
                     fullmatch=True))
def test_whatever_looks_like_a_date_gives_that_date_or_none(text):
    result = thai.parse_date(text, TODAY)
    parts = thai.date_parts(text)
    assert parts is not None
    assert result is None or (result.day, result.month) == parts[:2]


# -- property-based: the Thai normaliser ----------------------------------------------------

WORDS = ["น้ำ", "ท่วม", "ผู้ใหญ่บ้าน", "แจ้ง", "ปู่", "ย่า", "กำหนดการ", "ประชุม", "ฤๅษี",
         "ก๋วยเตี๋ยว", "ญาติ", "เกร็ด", "ที่", "สำนักงาน", "สาธารณสุข", "อำเภอ", "๑๒", "e-Service",
         "พ.ศ.๒๕๖๙", "ค่ำ", "แม่", "ดื่ม", "ซื้อ"]
BREAKS = ["\n", "\r\n", "\r", "\u2028", "\x0b"]
thai_text = st.text(alphabet=st.one_of(
    st.characters(min_codepoint=0x0E01, max_codepoint=0x0E5B),
    st.sampled_from([" ", "\n", "\r", "\t", "\u200b", "\u00a0", "\ufeff", "\u00ad",
                     "\x0b", "\u2028", "a", "1"])))
words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join)


@given(st.one_of(st.text(), thai_text))
def test_normalize_text_is_idempotent_and_canonical(text):
    once = thai.normalize_text(text)
    assert thai.normalize_text(once) == once
    assert unicodedata.is_normalized("NFC", once)
    for bad in ("\u200b", "\ufeff", "\u00ad", "\r", "\u0e4d\u0e32", "\u0e40\u0e40", "\t"):
        assert bad not in once
    for mark in "\u0e48\u0e49\u0e4a\u0e4b\u0e31\u0e34\u0e35\u0e36\u0e37\u0e38\u0e39":
        assert mark * 2 not in once
    assert all(line == line.strip() for line in once.split("\n"))


@given(st.lists(words, min_size=1, max_size=5), st.lists(st.sampled_from(BREAKS), min_size=4,
                                                         max_size=4))
def test_correct_text_is_kept_with_its_line_breaks(lines, breaks):
    typed = "".join(line + breaks[i % len(breaks)] for i, line in enumerate(lines[:-1]))
    typed += lines[-1]
    assert thai.normalize_text(typed) == "\n".join(lines)
    assert thai.normalize_line(typed) == " ".join(lines)


@given(words, st.data())
def test_common_typing_mistakes_give_the_correct_text(text, data):
    mistaken = text.replace("\u0e33", "\u0e4d\u0e32").replace("\u0e41", "\u0e40\u0e40")
    tone = data.draw(st.sampled_from("\u0e48\u0e49\u0e4a\u0e4b"))
    mistaken = mistaken.replace(tone, tone * data.draw(st.integers(1, 3)))
    assert thai.normalize_text(f"  {mistaken}\u200b ") == text


@given(words, st.sampled_from(["นาย", "นาง", "นางสาว", "น.ส.", "ดร.", "นาย ", "ดร. "]),
       st.sampled_from(["", " ", "  ", "\u00a0", "\u200b"]))
def test_name_key_ignores_titles_and_spacing_whatever_the_name(name, title, space):
    assert thai.name_key(f"{title}{space}{name}") == thai.name_key(name)
    assert thai.name_key(name.replace(" ", f" {space}")) == thai.name_key(name)
