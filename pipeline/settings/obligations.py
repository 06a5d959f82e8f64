"""``[[obligations]]`` in pipeline.toml: what the office must publish, by whom and when (the
publication framework's section 2ก names who answers for what), read into frozen dataclasses.

Kept apart from ``config.py``, which calls :func:`read` once: the calendar built on these
(``records/obligations.py``) and the sheet's drop-down (``intake/blank_sheet.py``) need only
this. Every error names the key, e.g. ``obligations[2].every``.

```toml
[[obligations]]
id = "procurement"                      # letters, digits, - and _; unique
title = "สรุปผลการจัดซื้อจัดจ้าง (แบบ สขร. ๑)"
category = "ข้อมูลข่าวสารตาม พ.ร.บ.ข้อมูลข่าวสารของราชการ พ.ศ.๒๕๔๐"   # or its number 1-10
work_group = "กลุ่มงานบริหารทั่วไป"      # or work_groups = [...], or "all"
every = "month"                         # "month" | "quarter" | "year" (fiscal: from October)
day = 10                                # the due day, counted from the period's first day
# dates = [2026-10-31, "2570-04-30"]    # instead of every/day: fixed due dates (either era)
indicator = "O12"                       # optional: the ITA indicator it serves
remind_days = 3                         # optional: remind this many days before the due day
```

A provider's ``work_group`` in ``[[providers]]`` (optional) says whose reminders they get.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from pipeline.core import thai

EVERY = ("month", "quarter", "year")
ALL_GROUPS = "all"
MAX_TITLE = 300
MAX_INDICATOR = 40
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
DEFAULT_REMIND_DAYS = 3


@dataclass(frozen=True)
class Obligation:
    """One thing the office must publish: each period (``every``, due on ``day`` of it) or by
    fixed ``dates``; the responsible work groups (each meets it for itself)."""

    id: str
    title: str
    category: str
    work_groups: tuple[str, ...]
    every: str = ""  # "month" | "quarter" | "year"; "" with fixed dates
    day: int = 0  # the due day of the period, 1 = its first day; 0: its last day
    dates: tuple[date, ...] = ()
    indicator: str = ""  # the ITA indicator it serves (e.g. "MOIT 1", "O12"), or ""
    remind_days: int = DEFAULT_REMIND_DAYS

    def label(self) -> str:
        """How the request sheet's drop-down shows it: ``procurement: สรุปผล...``."""
        return f"{self.id}: {self.title}"


@dataclass(frozen=True)
class Obligations:
    """The office's obligations, and who in each work group is reminded of them."""

    items: tuple[Obligation, ...] = ()
    # (work group, names of the providers who belong to it), from [[providers]] work_group
    members: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def by_id(self, obligation_id: str) -> Obligation | None:
        return next((o for o in self.items if o.id == obligation_id), None)

    def people_of(self, work_group: str) -> tuple[str, ...]:
        return dict(self.members).get(work_group, ())


Fail = Callable[[str], Exception]  # makes the error that names the file (config's fail)


def read(data: dict, *, work_groups: Sequence[str], categories: Sequence[str],
         fail: Fail) -> Obligations:
    """``[[obligations]]`` and the providers' ``work_group`` from the parsed pipeline.toml."""
    entries = data.get("obligations", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise fail("[[obligations]] must be an array of tables")
    items: list[Obligation] = []
    for i, entry in enumerate(entries):
        item = _obligation(entry, f"obligations[{i}]", work_groups, categories, fail)
        if any(o.id == item.id for o in items):
            raise fail(f"obligations[{i}].id {item.id!r} is used twice: each obligation needs "
                       f"its own id")
        items.append(item)
    return Obligations(tuple(items), _members(data, work_groups, fail))


def _text(entry: dict, key: str, where: str, fail: Fail, limit: int) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not thai.normalize_line(value):
        raise fail(f"{where}.{key} is required (text)")
    text = thai.normalize_line(value)
    if len(text) > limit:
        raise fail(f"{where}.{key} is longer than {limit} characters")
    return text


def _obligation(entry: dict, where: str, work_groups: Sequence[str],
                categories: Sequence[str], fail: Fail) -> Obligation:
    known = {"id", "title", "category", "work_group", "work_groups", "every", "day", "dates",
             "indicator", "remind_days"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise fail(f"{where}: unknown key {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    obligation_id = entry.get("id")
    if not isinstance(obligation_id, str) or not _ID.fullmatch(obligation_id):
        raise fail(f"{where}.id is required: letters, digits, - and _ (at most 40), "
                   f"e.g. \"procurement\"")
    indicator = entry.get("indicator", "")
    if not isinstance(indicator, str) or len(indicator) > MAX_INDICATOR:
        raise fail(f"{where}.indicator must be text of at most {MAX_INDICATOR} characters, "
                   f"e.g. \"MOIT 1\" or \"O12\"")
    every, day, dates = _when(entry, where, fail)
    remind = entry.get("remind_days", DEFAULT_REMIND_DAYS)
    if isinstance(remind, bool) or not isinstance(remind, int) or not 0 <= remind <= 60:
        raise fail(f"{where}.remind_days must be a whole number of days, 0 to 60")
    return Obligation(
        id=obligation_id,
        title=_text(entry, "title", where, fail, MAX_TITLE),
        category=_category(entry, where, categories, fail),
        work_groups=_groups(entry, where, work_groups, fail),
        every=every, day=day, dates=dates,
        indicator=thai.normalize_line(indicator), remind_days=remind)


def _category(entry: dict, where: str, categories: Sequence[str], fail: Fail) -> str:
    value = entry.get("category")
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= len(categories):
        return categories[value - 1]
    if isinstance(value, str):
        key = thai.compact_key(value)
        found = next((c for c in categories if thai.compact_key(c) == key), None)
        if found is not None:
            return found
    listed = "; ".join(f"{n}. {c}" for n, c in enumerate(categories, start=1))
    raise fail(f"{where}.category must be one of the office's categories (or its number): "
               f"{listed}")


def _group(value: object, where: str, work_groups: Sequence[str], fail: Fail) -> str:
    if isinstance(value, str):
        key = thai.compact_key(value)
        found = next((g for g in work_groups if thai.compact_key(g) == key), None)
        if found is not None:
            return found
    raise fail(f"{where} {value!r} is not a work group of unit.work_groups: "
               + "; ".join(work_groups))


def _groups(entry: dict, where: str, work_groups: Sequence[str], fail: Fail
            ) -> tuple[str, ...]:
    if ("work_group" in entry) == ("work_groups" in entry):
        raise fail(f"{where} needs work_group (one, or \"{ALL_GROUPS}\" for every work "
                   f"group) or work_groups (a list), not both")
    if "work_group" in entry:
        if entry["work_group"] == ALL_GROUPS:
            return tuple(work_groups)
        return (_group(entry["work_group"], f"{where}.work_group", work_groups, fail),)
    listed = entry["work_groups"]
    if not isinstance(listed, list) or not listed:
        raise fail(f"{where}.work_groups must be a list of work groups")
    found = [_group(g, f"{where}.work_groups", work_groups, fail) for g in listed]
    return tuple(dict.fromkeys(found))


def _when(entry: dict, where: str, fail: Fail) -> tuple[str, int, tuple[date, ...]]:
    if ("every" in entry) == ("dates" in entry):
        raise fail(f"{where} needs every = \"month\" | \"quarter\" | \"year\" (with day) or "
                   f"dates = [...] (fixed due dates), one of them")
    if "dates" in entry:
        if "day" in entry:
            raise fail(f"{where}.day goes with every, not with dates")
        listed = entry["dates"]
        if not isinstance(listed, list) or not listed:
            raise fail(f"{where}.dates must be a list of dates, e.g. [2026-10-31, \"2570-04-30\"]")
        dates = sorted({_date(d, f"{where}.dates", fail) for d in listed})
        return "", 0, tuple(dates)
    every = entry["every"]
    if every not in EVERY:
        raise fail(f"{where}.every must be one of {', '.join(EVERY)}, not {every!r}")
    limit = {"month": 31, "quarter": 92, "year": 366}[every]
    day = entry.get("day", 0)
    if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= limit:
        raise fail(f"{where}.day must be a whole number, 1 to {limit} (the due day counted "
                   f"from the first day of the {every}), or 0 for its last day")
    return every, day, ()


def _date(value: object, where: str, fail: Fail) -> date:
    """A TOML date, or text ``YYYY-MM-DD`` in the Buddhist Era (2569-10-31) or not."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and (m := _ISO_DATE.fullmatch(thai.arabic_digits(value.strip()))):
        try:
            return date(thai.gregorian_year(int(m[1])), int(m[2]), int(m[3]))
        except ValueError:
            pass
    raise fail(f"{where}: {value!r} is not a date (write 2026-10-31, or \"2569-10-31\" in the "
               f"Buddhist Era)")


def _members(data: dict, work_groups: Sequence[str], fail: Fail
             ) -> tuple[tuple[str, tuple[str, ...]], ...]:
    providers = data.get("providers", [])
    members: dict[str, list[str]] = {}
    for i, entry in enumerate(providers if isinstance(providers, list) else ()):
        if not isinstance(entry, dict) or "work_group" not in entry:
            continue
        group = _group(entry["work_group"], f"providers[{i}].work_group", work_groups, fail)
        name = entry.get("name")
        if isinstance(name, str) and name.strip():
            members.setdefault(group, []).append(name.strip())
    return tuple((g, tuple(names)) for g, names in members.items())
