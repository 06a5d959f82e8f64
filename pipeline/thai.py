"""Thai official conventions: Buddhist-Era dates, Thai digits and month names, text normalisation.

Official forms write dates as ``๒๕ พฤศจิกายน ๒๕๖๙``: day, full month name, Buddhist-Era year,
all in Thai digits. Keeping these rules in one place keeps the form, the stamps, the index and
the reports consistent.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")
BE_OFFSET = 543

MONTHS = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)
MONTHS_ABBR = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)

_TO_THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
_TO_ARABIC_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")

# Invisible characters that change string equality: zero-width space/joiners, BOM, soft hyphen.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_NIKHAHIT_SARA_AA = re.compile("\u0e4d\u0e32")  # sara am typed as two characters
_TONE_MARKS = "\u0e48\u0e49\u0e4a\u0e4b"
_DOUBLED_MARK = re.compile(f"([{_TONE_MARKS}\u0e31-\u0e3a\u0e47\u0e4c\u0e4d])\\1+")
_TITLES = ("นางสาว", "นาย", "นาง", "น.ส.", "ดร.", "ว่าที่ร้อยตรี", "ว่าที่ ร.ต.")


def thai_digits(value: object) -> str:
    """Arabic digits in ``value`` written as Thai digits."""
    return str(value).translate(_TO_THAI_DIGITS)


def arabic_digits(value: str) -> str:
    """Thai digits in ``value`` written as Arabic digits."""
    return value.translate(_TO_ARABIC_DIGITS)


def be_year(d: date) -> int:
    return d.year + BE_OFFSET


def long_date(d: date, *, digits: bool = True) -> str:
    """``๒๕ พฤศจิกายน ๒๕๖๙`` (Thai digits unless ``digits`` is False)."""
    text = f"{d.day} {MONTHS[d.month - 1]} {be_year(d)}"
    return thai_digits(text) if digits else text


def short_date(d: date, *, digits: bool = False) -> str:
    """``25 พ.ย. 2569``: the compact form used in tables and the index."""
    text = f"{d.day} {MONTHS_ABBR[d.month - 1]} {be_year(d)}"
    return thai_digits(text) if digits else text


def long_datetime(moment: datetime, *, digits: bool = True) -> str:
    """``๒๕ พฤศจิกายน ๒๕๖๙ เวลา ๑๔:๐๕ น.`` in Bangkok time, as stamps show signing times."""
    local = moment.astimezone(BANGKOK)
    text = f"{long_date(local.date(), digits=False)} เวลา {local:%H:%M} น."
    return thai_digits(text) if digits else text


def normalize_text(value: str) -> str:
    """Canonical form of typed Thai text: NFC, no invisible characters, sara am as one
    character, no doubled marks, no surrounding space. Line breaks inside are kept."""
    text = unicodedata.normalize("NFC", value)
    text = _INVISIBLE.sub("", text)
    text = _NIKHAHIT_SARA_AA.sub("\u0e33", text)
    text = _DOUBLED_MARK.sub(r"\1", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.strip() for line in text.strip().split("\n"))


def name_key(name: str) -> str:
    """A person's name reduced for comparison: no title (นาย/นาง/นางสาว/ดร.), no spacing."""
    text = normalize_text(name)
    changed = True
    while changed:
        changed = False
        for title in _TITLES:
            if text.startswith(title) and len(text) > len(title):
                text = text[len(title):].lstrip()
                changed = True
    return re.sub(r"\s+", "", text)


_MONTH_LOOKUP = {
    **{name: i for i, name in enumerate(MONTHS, start=1)},
    **{abbr.replace(".", ""): i for i, abbr in enumerate(MONTHS_ABBR, start=1)},
}
_NUMERIC_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_WORDED_DATE = re.compile(r"^(\d{1,2})\s*([^\d\s]+)\s*(?:พ\.?ศ\.?)?\s*(\d{4})$")


def _gregorian_year(year: int) -> int:
    """A year as typed: from 2400 on it is Buddhist Era (Gregorian 2400 is far off)."""
    return year - BE_OFFSET if year >= 2400 else year


def parse_date(text: str) -> date | None:
    """A date typed as text: ``25/11/2569``, ``25 พ.ย. 2569``, ``๒๕ พฤศจิกายน ๒๕๖๙``,
    ``2026-11-25`` or ``25/11/2026``. None when it is not a real date."""
    value = arabic_digits(normalize_text(text))
    try:
        if m := _ISO_DATE.match(value):
            return date(_gregorian_year(int(m[1])), int(m[2]), int(m[3]))
        if m := _NUMERIC_DATE.match(value):
            return date(_gregorian_year(int(m[3])), int(m[2]), int(m[1]))
        if m := _WORDED_DATE.match(value):
            month = _MONTH_LOOKUP.get(m[2].replace(".", ""))
            if month:
                return date(_gregorian_year(int(m[3])), month, int(m[1]))
    except ValueError:
        return None
    return None
