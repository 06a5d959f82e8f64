"""A verification's reports for people and programs: the documented JSON, the summary, a table
per item for the terminal, and one self-contained HTML page.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

from pipeline.audit.model import Indication, Report, SignatureStatus, Trust, exit_code
from pipeline.core import inputs, thai
from pipeline.signatures.model import ROLE_TITLES

SCHEMA = "pipeline.verify/1"


def to_json(reports: Sequence[Report], trust: Trust) -> str:
    """The documented ``pipeline.verify/1`` schema (README, "Verifying")."""
    def signature(s: SignatureStatus) -> dict:
        data = asdict(s)
        data.update(indication=str(s.indication), signer=s.signer, messages=list(s.messages))
        return data

    document = {
        "schema": SCHEMA,
        "verified_at": datetime.now(UTC),
        "trust": {"roots": [str(p) for p in trust.roots], "crls": len(trust.crls),
                  "online": trust.online},
        "summary": summary(reports),
        "items": [{
            "path": str(r.path),
            "kind": "bundle" if r.is_bundle else "pdf",
            "indication": None if r.error else str(r.indication),
            "exit_code": r.exit_code,
            "error": r.error or None,
            "bundle_problems": list(r.bundle_problems),
            "notes": list(r.notes),
            "signatures": [signature(s) for s in r.signatures],
        } for r in reports],
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=_json_default)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)


class Summary(TypedDict):
    """The counts at the end of a verification (and in its JSON)."""

    exit_code: int
    items: int
    counts: dict[str, int]
    signatures: int


def summary(reports: Sequence[Report]) -> Summary:
    counts = {str(i): 0 for i in Indication} | {"UNREADABLE": 0}
    for r in reports:
        counts["UNREADABLE" if r.error else str(r.indication)] += 1
    return Summary(exit_code=exit_code(reports), items=len(reports), counts=counts,
                   signatures=sum(len(r.signatures) for r in reports))


_THAI = {
    Indication.PASSED: "ผ่าน", Indication.INDETERMINATE: "ยังสรุปไม่ได้",
    Indication.FAILED: "ไม่ผ่าน",
}


def _when(moment: datetime | None) -> str:
    return thai.long_datetime(moment, digits=False) if moment else "-"


def to_text(reports: Sequence[Report]) -> Iterator[str]:
    """A table per item for the terminal, with the control characters a PDF's names or a
    file name could carry written as ``\\xNN`` (escape sequences would drive the auditor's
    terminal, a newline in a file name would split its line): one item's line stays one
    line, and the name can still be found."""
    return (inputs.ascii_escaped(line) for line in _text_lines(reports))


def _text_lines(reports: Sequence[Report]) -> Iterator[str]:
    for r in reports:
        head = ("UNREADABLE / อ่านไม่ได้" if r.error
                else f"{r.indication} / {_THAI[r.indication]}")
        yield f"{r.path}: {head}"
        if r.error:
            yield f"  {r.error}"
        for problem in r.bundle_problems:
            yield f"  bundle: {problem}"
        for note in r.notes:
            yield f"  note: {note}"
        for s in r.signatures:
            mark = "[OK]" if s.indication is Indication.PASSED else "[NOT OK]"
            sub = f" / {s.subindication}" if s.subindication else ""
            yield f"  {mark} {s.role or s.field}: {s.signer}  {s.indication}{sub}  {s.level}"
            yield (f"      intact={_yes(s.intact)} trusted={_yes(s.trusted)} "
                   f"revocation={s.revocation} changes={s.modification}"
                   f"({'permitted' if s.changes_permitted else 'NOT permitted'}) "
                   f"name-on-form={_match(s)}")
            yield (f"      signed {_when(s.signed_at)}; timestamp {_when(s.timestamp_at)}"
                   + (f"; serial {s.certificate.serial}, SHA-256 {s.certificate.sha256[:16]}…"
                      if s.certificate else ""))
            for message in s.messages:
                yield f"      - {message}"
    info = summary(reports)
    counts = ", ".join(f"{k} {v}" for k, v in info["counts"].items())
    yield (f"สรุป (summary): {info['items']} รายการ (items), {info['signatures']} ลายมือชื่อ "
           f"(signatures); ผลของแต่ละรายการ (items by result): {counts}; "
           f"exit code {info['exit_code']}")
    for r in reports:  # what needs a look, again at the end of a long listing
        if r.error or r.indication is not Indication.PASSED:
            yield f"  {_verdict(r)}: {r.path}"


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _match(s: SignatureStatus) -> str:
    return {None: "not printed", True: "matches", False: "DIFFERS"}[s.name_matches]


# The HTML page's values: Thai, then the English term the table and the JSON use.
_THAI_YES = {True: "ใช่ (yes)", False: "ไม่ใช่ (no)"}
_THAI_REVOCATION = {"good": "ไม่ถูกเพิกถอน (good)", "revoked": "ถูกเพิกถอน (revoked)",
                    "unknown": "ไม่ทราบสถานะ (unknown)"}
_THAI_MODIFICATION = {
    "none": "ไม่มีการแก้ไข (none)",
    "lta_updates": "เพิ่มข้อมูลตรวจสอบและตราประทับเวลาเท่านั้น (lta_updates)",
    "form_filling": "กรอกแบบฟอร์มและลงนามเพิ่ม (form_filling)",
    "annotations": "เพิ่มหมายเหตุประกอบ (annotations)",
    "other": "แก้ไขอย่างอื่น (other)",
    "unknown": "ไม่ทราบ (unknown)",
}
_THAI_PERMITTED = {True: "อนุญาต (permitted)", False: "ไม่อนุญาต (NOT permitted)"}
_THAI_MATCH = {None: "ไม่ได้พิมพ์ชื่อไว้ (not printed)", True: "ตรงกัน (matches)",
               False: "ไม่ตรงกัน (DIFFERS)"}


def _thai(table: dict, value: object) -> str:
    return table.get(value, str(value))


def to_html(reports: Sequence[Report], trust: Trust) -> str:
    """One self-contained page (no external resources) to open, print or attach."""
    info = summary(reports)
    e = html.escape
    rows = "".join(
        f"<tr class='{_css(r)}'><td>{e(str(r.path))}</td><td>{e(_verdict(r))}</td>"
        f"<td>{len(r.signatures)}</td><td>{e('; '.join(r.bundle_problems) or r.error)}</td></tr>"
        for r in reports)
    details = []
    for r in reports:
        blocks = "".join(_html_signature(s) for s in r.signatures)
        extra = "".join(f"<li>{e(p)}</li>" for p in (*r.bundle_problems, *r.notes))
        details.append(f"<section><h2>{e(str(r.path))} — {e(_verdict(r))}</h2>"
                       + (f"<p class='bad'>{e(r.error)}</p>" if r.error else "")
                       + (f"<ul>{extra}</ul>" if extra else "") + blocks + "</section>")
    counts = ", ".join(f"{_result_thai(k)} ({k}): {v}" for k, v in info["counts"].items())
    return f"""<!DOCTYPE html>
<html lang="th"><head><meta charset="utf-8">
<title>รายงานการตรวจสอบลายมือชื่อ (Validation report)</title>
<style>body{{font-family:"TH Sarabun New",Laksaman,Garuda,sans-serif;font-size:15px;margin:2em}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #999;padding:3px 6px;
text-align:left;vertical-align:top}}.TOTAL_PASSED{{background:#e6f4e6}}
.INDETERMINATE{{background:#fff4d6}}.TOTAL_FAILED,.UNREADABLE{{background:#fbe3e3}}
.bad{{color:#a00}}section{{margin-top:1.5em}}tr{{page-break-inside:avoid}}
h2,h3{{page-break-after:avoid}}section th{{width:28%}}</style></head><body>
<h1>รายงานการตรวจสอบลายมือชื่ออิเล็กทรอนิกส์ (Signature validation report)</h1>
<p>ตรวจเมื่อ (verified at): {e(_when(datetime.now(UTC)))} ·
ใบรับรองหลักที่เชื่อถือ (trust roots): {e(', '.join(p.name for p in trust.roots))} ·
CRL ที่นำมา (CRLs supplied): {len(trust.crls)} · ออนไลน์ (online): {_THAI_YES[trust.online]}</p>
<h2>สรุป (Summary): {info['items']} รายการ (items), {info['signatures']} ลายมือชื่อ
(signatures)</h2>
<p>ผลของแต่ละรายการ (items by result): {e(counts)} · exit code {info['exit_code']}</p>
<table><tr><th>รายการ (item)</th><th>ผล (indication)</th><th>ลายมือชื่อ (signatures)</th>
<th>ปัญหา (problems)</th></tr>{rows}</table>
{''.join(details)}
<p>TOTAL_PASSED = ผ่าน · INDETERMINATE = ยังสรุปไม่ได้ (ข้อมูลไม่พอ) · TOTAL_FAILED = ไม่ผ่าน
(ETSI EN 319 102-1)</p></body></html>
"""


def _result_thai(key: str) -> str:
    """The Thai of a summary's key: an indication, or UNREADABLE."""
    return next((_THAI[i] for i in Indication if i == key), "อ่านไม่ได้")


def _verdict(r: Report) -> str:
    return "UNREADABLE / อ่านไม่ได้" if r.error else f"{r.indication} / {_THAI[r.indication]}"


def _css(r: Report) -> str:
    return "UNREADABLE" if r.error else str(r.indication)


def _html_signature(s: SignatureStatus) -> str:
    e = html.escape
    c = s.certificate
    rows = [
        ("ผล (indication)", f"{s.indication} / {_THAI[s.indication]} {s.subindication}".strip()),
        ("บทบาท (role)", f"{s.role} {ROLE_TITLES.get(s.role, '')}".strip()),
        ("ผู้ลงนาม (signer)", s.signer),
        ("ชื่อบนแบบฟอร์ม (name on the form)",
         f"{s.printed_name or '-'} — {_THAI_MATCH[s.name_matches]}"),
        ("ใบรับรอง (certificate)",  # every part comes from the PDF: escaped
         "<br>".join(e(part) for part in (
             c.subject, f"ผู้ออกใบรับรอง (issuer): {c.issuer}",
             f"หมายเลข (serial): {c.serial}",
             f"ใช้ได้ (valid) {_when(c.not_before)} – {_when(c.not_after)}",
             f"SHA-256: {c.sha256}"))
         if c else "-"),
        ("เวลาลงนาม (signing time)", _when(s.signed_at)),
        ("เวลาประทับ (timestamp)", _when(s.timestamp_at)),
        ("ความครบถ้วน (integrity)", _THAI_YES[s.intact]),
        ("ความน่าเชื่อถือ (trust)", _THAI_YES[s.trusted]),
        ("สถานะการเพิกถอน (revocation at signing)", _thai(_THAI_REVOCATION, s.revocation)),
        ("ระดับ (PAdES level)", s.level),
        ("การแก้ไขภายหลัง (changes after signing)",
         f"{_thai(_THAI_MODIFICATION, s.modification)}, "
         f"{_THAI_PERMITTED[bool(s.changes_permitted)]}"),
        ("หมายเหตุ (messages)", "<br>".join(e(m) for m in s.messages) or "-"),
    ]
    body = "".join(f"<tr><th>{e(k)}</th><td>{v if k.startswith(('ใบรับรอง', 'หมายเหตุ')) else e(v)}"
                   f"</td></tr>" for k, v in rows)
    return f"<h3 class='{s.indication}'>{e(s.field)}</h3><table>{body}</table>"
