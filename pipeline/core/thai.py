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
_MONTHS_EN = ("january", "february", "march", "april", "may", "june", "july", "august",
              "september", "october", "november", "december")

_TO_THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
_TO_ARABIC_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")

# Invisible characters that change string equality: zero-width space/joiners, word joiner and
# other invisible operators, BOM, soft hyphen, and the direction marks Word pastes along.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u200e\u200f\u2060-\u2064\ufeff\u00ad\u202a-\u202e]")
# Spaces of other widths (no-break space from Word, ideographic space...) are plain spaces.
_ODD_SPACE = re.compile("[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
# Line breaks of every kind: Word's manual line break (\v), page break, Unicode separators.
_LINE_BREAK = re.compile("\r\n|[\r\v\f\x1c-\x1e\x85\u2028\u2029]")
# Other control characters print as nothing or as boxes, and XML cannot carry most of them.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")
_SARA_E_TWICE = re.compile("\u0e40\u0e40")  # sara ae typed as two sara e
_TONE_MARKS = "\u0e48\u0e49\u0e4a\u0e4b"
# sara am typed as nikhahit + sara aa, possibly with the tone mark typed in between
_NIKHAHIT_SARA_AA = re.compile(f"\u0e4d([{_TONE_MARKS}]?)\u0e32")
# a tone mark typed before the vowel above the consonant: the vowel comes first
_TONE_BEFORE_VOWEL = re.compile(f"([{_TONE_MARKS}])([\u0e31\u0e34-\u0e37])")
# the same mark typed twice (sara aa, a spacing vowel, may repeat in words)
_DOUBLED_MARK = re.compile(f"([{_TONE_MARKS}\u0e31\u0e33-\u0e3a\u0e47\u0e4c\u0e4d])\\1+")
_SPACES = re.compile(" {2,}")
_TITLES = ("นางสาว", "นาย", "นาง", "น.ส.", "ดร.", "ว่าที่ร้อยตรีหญิง", "ว่าที่ร้อยตรี",
           "ว่าที่ ร.ต.หญิง", "ว่าที่ ร.ต.", "ว่าที่ร.ต.", "นพ.", "พญ.", "ทพ.", "ทพญ.", "ภก.",
           "ภญ.", "mrs.", "mrs", "mr.", "mr", "ms.", "ms", "miss", "dr.", "dr")


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


def today() -> date:
    """Today in Thailand, whatever the machine's time zone."""
    return datetime.now(BANGKOK).date()


def _fix_typing(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = _SARA_E_TWICE.sub("\u0e41", text)
    text = _NIKHAHIT_SARA_AA.sub("\\1\u0e33", text)
    text = _TONE_BEFORE_VOWEL.sub(r"\2\1", text)
    return _DOUBLED_MARK.sub(r"\1", text)


def normalize_text(value: str) -> str:
    """Canonical form of typed Thai text: NFC, no invisible or control characters, odd spaces
    as plain spaces, sara am as one character, sara ae not as two sara e, tone marks after the
    vowel above, no doubled marks, no space around lines or the whole. Line breaks (of any
    kind) are kept as ``\\n``."""
    text = _LINE_BREAK.sub("\n", value)
    text = _ODD_SPACE.sub(" ", _CONTROL.sub("", text))
    for _ in range(8):  # each fix can make another possible (e.g. a removed invisible mark)
        fixed = _fix_typing(text)
        if fixed == text:
            break
        text = fixed
    return "\n".join(line.strip() for line in text.strip().split("\n")).strip()


def normalize_line(value: str) -> str:
    """``normalize_text`` for a one-line value (a title, a name): line breaks and runs of
    spaces become one space."""
    return _SPACES.sub(" ", normalize_text(value).replace("\n", " "))


def compact_key(value: str) -> str:
    """A value reduced for comparing choices: normalised, no spacing at all, no case."""
    return re.sub(r"\s+", "", normalize_text(value)).casefold()


def name_key(name: str) -> str:
    """A person's name reduced for comparison: no title (นาย/นาง/นางสาว/ดร.), no spacing."""
    text = normalize_line(name).casefold()
    changed = True
    while changed:
        changed = False
        for title in _TITLES:
            if text.startswith(title) and len(text) > len(title):
                text = text[len(title):].lstrip()
                changed = True
    return re.sub(r"\s+", "", text)


# -- dates typed as text ------------------------------------------------------------------

def _month_key(token: str) -> str:
    return re.sub(r"[\s.]", "", token).casefold()


_MONTH_LOOKUP = {
    **{_month_key(name): i for i, name in enumerate(MONTHS, start=1)},
    **{_month_key(abbr): i for i, abbr in enumerate(MONTHS_ABBR, start=1)},
    **{name: i for i, name in enumerate(_MONTHS_EN, start=1)},
    **{name[:3]: i for i, name in enumerate(_MONTHS_EN, start=1)},
    "sept": 9,
    "กรกฏาคม": 7,  # a common misspelling (ฏ for ฎ)
}
_MONTH_NAMES = tuple(_month_key(name) for name in MONTHS)
_PREFIX = re.compile(r"^(?:วัน(?:จันทร์|อังคาร|พุธ|พฤหัสบดี|พฤหัส|ศุกร์|เสาร์|อาทิตย์)?\s*ที่|วันที่)\s*")
_ERA = re.compile(r"(?:พ\.?\s*ศ\.?|ค\.?\s*ศ\.?|b\.?\s*e\.?|a\.?\s*d\.?|c\.?\s*e\.?)\s*(?=\d+$)")
_ISO_TIME = re.compile(r"[t ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?$")
_NUMERIC_DATE = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4}|\d{2})$")
_YEAR_FIRST = re.compile(r"^(\d{4})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})$")
_WORDED_DATE = re.compile(r"^(\d{1,2})\s*([^\d]+?)\s*(\d{4}|\d{2})$")
_ENGLISH_DATE = re.compile(r"^([a-z]+)\.?\s*(\d{1,2}),?\s*(\d{4})$")


def month_number(token: str) -> int | None:
    """1-12 for a month name as typed: full or abbreviated Thai (with or without dots),
    the spoken short form (``พฤศจิกา``), English, or a common misspelling."""
    key = _month_key(token)
    if key in _MONTH_LOOKUP:
        return _MONTH_LOOKUP[key]
    if len(key) >= 4:
        matches = [i for i, name in enumerate(_MONTH_NAMES, start=1) if name.startswith(key)]
        if len(matches) == 1:
            return matches[0]
    return None


def date_parts(text: str) -> tuple[int, int, int] | None:
    """(day, month, year as typed) of a date typed as text, before checking that the date
    exists; None when the text is not written like a date at all."""
    value = arabic_digits(normalize_line(text)).casefold()
    value = _ISO_TIME.sub("", _PREFIX.sub("", value)).strip()
    value = _ERA.sub("", value)
    if m := _YEAR_FIRST.match(value):
        return int(m[3]), int(m[2]), int(m[1])
    if m := _NUMERIC_DATE.match(value):
        return int(m[1]), int(m[2]), int(m[3])
    if m := _WORDED_DATE.match(value):
        month = month_number(m[2])
        return (int(m[1]), month, int(m[3])) if month else None
    if m := _ENGLISH_DATE.match(value):
        month = month_number(m[1])
        return (int(m[2]), month, int(m[3])) if month else None
    return None


def gregorian_year(year: int, reference: date | None = None) -> int:
    """The Gregorian year of a year as typed. Four digits from 2400 on are Buddhist Era
    (Gregorian 2400 is centuries away), below are Gregorian; so a Buddhist-Era year typed
    where a Gregorian one is expected, or the reverse, is still understood. Two digits are
    read as whichever of 20yy and Buddhist-Era 25yy is nearer ``reference`` (today)."""
    if year >= 100:
        return year - BE_OFFSET if year >= 2400 else year
    ref = (reference or today()).year
    return min((2000 + year, 2500 + year - BE_OFFSET), key=lambda y: (abs(y - ref), y))


def parse_date(text: str, reference: date | None = None) -> date | None:
    """A date typed as text: ``25/11/2569``, ``25 พ.ย. 2569``, ``๒๕ พฤศจิกายน ๒๕๖๙``,
    ``วันที่ 25 พฤศจิกายน พ.ศ. 2569``, ``25 พ.ย. 69``, ``2026-11-25``, ``25/11/2026`` or
    ``25 Nov 2026``. None when it is not a real date."""
    parts = date_parts(text)
    if parts is None:
        return None
    day, month, year = parts
    try:
        return date(gregorian_year(year, reference), month, day)
    except ValueError:
        return None


# -- columns on a terminal -------------------------------------------------------------------

def display_width(text: str) -> int:
    """How many terminal columns ``text`` takes: Thai vowels and tone marks above and below
    the line (combining marks) take none, wide East Asian characters two."""
    return sum(0 if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf")
               else 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` columns (:func:`display_width`), for
    columns that line up whatever the Thai marks; a longer text is left whole."""
    return text + " " * max(0, width - display_width(text))
