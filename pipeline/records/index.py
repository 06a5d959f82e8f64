"""The rows of ``outbox/index.xlsx`` and ``outbox/index.csv``: one per request, for the office
and its auditors (the files themselves: index_files.py).

The index is derived data. The truth is the bundles' manifests (archived requests) and the
journal (requests still waiting, and those returned to the clerk), so the index is never edited
in place: it is generated from them and swapped in atomically, a reader never sees half a file.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pipeline.bundles import bundle, proof, publish
from pipeline.core import inputs, thai, workfolder
from pipeline.core.folders import Workspace
from pipeline.core.request import request_id_key
from pipeline.intake.rejection import sheet_key
from pipeline.records import index_cache
from pipeline.records.journal import Entry, Journal, State

log = logging.getLogger(__name__)


class Status(StrEnum):
    """A request's status as the office names it."""

    WAITING = "รอลงนาม"
    APPROVED = "อนุมัติแล้ว"
    PUBLISHED = "เผยแพร่แล้ว"
    NOT_APPROVED = "ไม่อนุมัติ"
    RETURNED = "ส่งกลับแก้ไข"

    @property
    def english(self) -> str:
        return _STATUS_ENGLISH[self]


_STATUS_ENGLISH = {
    Status.WAITING: "awaiting signature",
    Status.APPROVED: "approved",
    Status.PUBLISHED: "published",
    Status.NOT_APPROVED: "not approved",
    Status.RETURNED: "returned for correction",
}
# A manifest's "status" (the bundle's own word) to the office's.
_MANIFEST_STATUS = {
    "approved": Status.APPROVED,
    "published": Status.PUBLISHED,
    "not-approved": Status.NOT_APPROVED,
    "declined": Status.NOT_APPROVED,
}
# What a request not yet archived is waiting for, by journal state.
_WAITING_FOR = {
    State.RECEIVED: "รอตรวจแบบคำขอ",
    State.VALIDATED: "รอจัดทำแบบฟอร์ม",
    State.RENDERED: "รอผู้ให้ข้อมูลลงนาม",
    State.PROVIDER_SIGNED: "รอผู้อนุมัติลงนาม",
    State.AWAITING_DIRECTOR: "รอผู้อนุมัติลงนาม",
    State.SIGNED: "รอจัดเก็บ",
}


@dataclass(frozen=True, slots=True)
class Row:
    """One request as the index and the reports show it."""

    request_id: str
    status: Status
    received_at: datetime  # when the pipeline took the sheet (aware)
    source_name: str = ""  # the sheet's name as the clerk gave it
    request_date: date | None = None
    work_group: str = ""
    category: str = ""
    title: str = ""
    provider: str = ""
    approver: str = ""
    provider_signed_at: datetime | None = None
    director_signed_at: datetime | None = None
    published_on: date | None = None
    published_url: str = ""
    pdf_sha256: str = ""
    bundle: str = ""  # the bundle folder, relative to the outbox; "" when not archived
    signed_pdf: str = ""  # relative to the outbox
    note: str = ""  # why it was returned, what it waits for, what is wrong with it
    reasons: tuple[str, ...] = ()  # why it was returned or refused, one per problem (Thai)
    closed_at: datetime | None = None  # when it was returned or refused
    journal_state: str = ""  # the journal's state; "" for a bundle the journal does not know
    manifest_sha256: str = ""  # of the manifest.json the row was read from; "" if none
    sheet_note: str = ""  # the sheet's own note (หมายเหตุ): it may name the request replaced
    replaces: str = ""  # the returned or refused request this one is a resubmission of
    replaced_by: str = ""  # the resubmission that replaces this returned or refused request
    obligation: str = ""  # the obligation the clerk picked on the sheet (its ID), if any
    # the newest check of the published address (bundles/proof.py), and its day
    check_verdict: proof.Verdict | None = None
    checked_on: date | None = None

    @property
    def rejected(self) -> bool:
        return self.status in (Status.RETURNED, Status.NOT_APPROVED)

    @property
    def resubmission(self) -> str:
        """The links between a sheet sent again and the one it replaces, in Thai: what the
        index's note and the report show beside the request."""
        return "; ".join(
            [f"ส่งใหม่แทนคำขอ {self.replaces}"] * bool(self.replaces)
            + [f"ส่งใหม่แล้วเป็นคำขอ {self.replaced_by}"] * bool(self.replaced_by))

    @property
    def remarks(self) -> str:
        """The index's note: the row's own, then the resubmission links (Thai / English)."""
        english = "; ".join([f"resubmission of {self.replaces}"] * bool(self.replaces)
                            + [f"sent again as {self.replaced_by}"] * bool(self.replaced_by))
        return "; ".join(p for p in (self.note, self.resubmission and
                                     f"{self.resubmission} / {english}") if p)

    @property
    def approved_at(self) -> datetime | None:
        return self.director_signed_at if self.status in (Status.APPROVED,
                                                          Status.PUBLISHED) else None



# -- gathering ---------------------------------------------------------------------------------
def gather(ws: Workspace) -> list[Row]:
    """Every request, from the manifests and the journal, sorted by request ID. Only the
    manifests that changed since the last gathering are read (index_cache.py)."""
    rows: dict[str, Row] = {}
    outbox = ws.outbox
    if outbox.is_dir():
        for row in index_cache.rows(outbox, ws.state, _cache_version(),
                                    functools.partial(bundle_row, outbox), encode, decode):
            rows[row.request_id] = row
    for entry in _journal_entries(ws):
        known = rows.get(entry.id)
        if known is not None:
            rows[entry.id] = _with(known, journal_state=str(entry.state),
                                   source_name=known.source_name or entry.source_name)
        else:
            rows[entry.id] = _journal_row(ws, entry)
    return link_resubmissions(sorted(rows.values(), key=lambda r: request_id_key(r.request_id)))




def link_resubmissions(rows: list[Row]) -> list[Row]:
    """Each returned or refused request linked with the sheet sent again in its place: the
    next one (in the order received) whose sheet names it in its note, or else whose file
    name is the same once the marks of a copy are dropped (rejection.sheet_key: the
    highlighted ``….corrected.xlsx`` a clerk fixed, ``… (2).xlsx``). A request replaced
    once stays replaced; a resubmission rejected again can itself be replaced. ``rows`` are
    in ID order; the links are set on copies, in the same order."""
    by_id = {r.request_id: r for r in rows}
    open_by_name: dict[str, str] = {}  # the latest rejected, not yet replaced, per sheet name
    for row in sorted(rows, key=lambda r: (r.received_at, request_id_key(r.request_id))):
        key = sheet_key(row.source_name) if row.source_name else ""
        named = [i for i in inputs.ANY_ID.findall(row.sheet_note)
                 if i in by_id and by_id[i].rejected and not by_id[i].replaced_by
                 and by_id[i].received_at < row.received_at]
        old = named[0] if named else open_by_name.get(key) if key else None
        if old is not None:
            by_id[old] = replace(by_id[old], replaced_by=row.request_id)
            by_id[row.request_id] = replace(by_id[row.request_id], replaces=old)
            if open_by_name.get(key) == old:
                del open_by_name[key]
        if key and by_id[row.request_id].rejected:
            open_by_name[key] = row.request_id
        elif key:
            open_by_name.pop(key, None)  # taken: a later sheet of that name is a new request
    return [by_id[r.request_id] for r in rows]


# -- a bundle's row kept between gatherings (index_cache.py) -----------------------------------
_TIMES = ("received_at", "provider_signed_at", "director_signed_at", "closed_at")
_DAYS = ("request_date", "published_on", "checked_on")
# the same few values in every row: one string each in a gathering's memory
_SHARED = ("work_group", "category", "provider", "approver", "journal_state")


def encode(row: Row) -> str:
    """A row as JSON text; :func:`decode` gives back an equal row."""
    data = {f.name: getattr(row, f.name) for f in fields(Row)}
    for name in (*_TIMES, *_DAYS):
        if data[name] is not None:
            data[name] = data[name].isoformat()
    return json.dumps(data, ensure_ascii=False)


def decode(text: str) -> Row:
    data = json.loads(text)
    for name in _TIMES:
        if data[name] is not None:
            data[name] = datetime.fromisoformat(data[name])
    for name in _DAYS:
        if data[name] is not None:
            data[name] = date.fromisoformat(data[name])
    for name in _SHARED:
        data[name] = sys.intern(data[name])
    data["status"] = Status(data["status"])
    data["reasons"] = tuple(data["reasons"])
    if data["check_verdict"] is not None:
        data["check_verdict"] = proof.Verdict(data["check_verdict"])
    return Row(**data)


@functools.cache
def _cache_version() -> str:
    """A hash of the code that makes a bundle's row: kept rows made by other code are not
    used (a change to how a row is read must not be hidden by rows read before it)."""
    digest = hashlib.sha256()
    for module in (__name__, bundle.__name__, publish.__name__, proof.__name__,
                   index_cache.__name__):
        digest.update(Path(sys.modules[module].__file__ or "").read_bytes())
    return digest.hexdigest()


def _with(row: Row, **changes: Any) -> Row:
    return replace(row, **changes)


def bundle_row(outbox: Path, folder: Path) -> Row | None:
    """One bundle's row (None when its manifest cannot be read), as :func:`gather` reads it
    (also for a reader that keeps the rows and knows which bundle it just changed)."""
    bundle.recover(folder)  # finish an update a crash interrupted, before reading
    try:
        raw = (folder / bundle.MANIFEST).read_bytes()  # read once: hashed as parsed
        m = json.loads(raw)
        req = m["request"]
        signed_at = {s["role"]: datetime.fromisoformat(s["signed_at"])
                     for s in m.get("signatures", ())}
        publications = publish.publications(m)
        status = (Status.PUBLISHED if publications
                  else _MANIFEST_STATUS.get(m.get("status", ""), Status.APPROVED))
        last = publications[-1] if publications else None
        checked = proof.last_check(m, last.url) if last else None
        pdf = m["signed_pdf"]
        return Row(
            request_id=m["request_id"],
            status=status,
            received_at=datetime.fromisoformat(m["times"]["received"]),
            source_name=m.get("source", {}).get("name", ""),
            request_date=date.fromisoformat(req["request_date"]),
            work_group=req["work_group"],
            category=req["category"],
            title=req["title"],
            provider=req["provider"]["name"],
            approver=req["approver"]["name"],
            provider_signed_at=signed_at.get("provider"),
            director_signed_at=signed_at.get("director"),
            published_on=last.published_on if last else None,
            published_url=last.url if last else "",
            pdf_sha256=m["files"][pdf]["sha256"],
            bundle=f"{folder.name}/",
            signed_pdf=f"{folder.name}/{pdf}",
            manifest_sha256=hashlib.sha256(raw).hexdigest(),
            sheet_note=req.get("note") or "",
            obligation=req.get("obligation", ""),
            check_verdict=checked[0] if checked else None,
            checked_on=checked[1].astimezone(thai.BANGKOK).date() if checked else None,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # the journal still lists the request; its row will say the bundle is damaged
        log.warning("index: %s/manifest.json cannot be read (%s); listed as damaged",
                    folder.name, exc)
        return None


def _journal_entries(ws: Workspace) -> Iterator[Entry]:
    if not ws.journal_file.is_file():
        return
    journal = Journal(ws.journal_file)
    try:
        for state in State:
            yield from journal.in_state(state)
    finally:
        journal.close()


def _journal_row(ws: Workspace, entry: Entry) -> Row:
    """A request the journal knows but no readable bundle holds."""
    base = Row(request_id=entry.id, status=Status.WAITING, received_at=entry.received_at,
               source_name=entry.source_name, journal_state=str(entry.state))
    if entry.state == State.REJECTED:
        return _rejected_row(base, entry)
    if entry.state == State.ARCHIVED:
        return _with(base, status=Status.APPROVED,
                     note="แฟ้มคำขอหายหรือเสียหาย ตรวจด้วย pipeline verify / "
                          "the bundle is missing or damaged")
    if entry.state not in _WAITING_FOR:  # a state added later: shown as the journal says
        return _with(base, note=str(entry.state))
    row = _with(base, note=_WAITING_FOR[entry.state])
    request = workfolder.read_request(ws.work / entry.id)
    if request is None:
        return row
    return _with(row, request_date=request.request_date, work_group=request.work_group,
                 category=request.category, title=request.title,
                 provider=request.provider.name, approver=request.approver.name,
                 sheet_note=request.note or "", obligation=request.obligation)


def _rejected_row(base: Row, entry: Entry) -> Row:
    """A returned or refused request: the reasons and what its sheet said, as the journal
    recorded them when it was rejected."""
    rejected = entry.rejected
    if rejected is None:  # rejected by a version that kept only the message
        return _with(base, status=Status.RETURNED, closed_at=entry.updated_at,
                     note=entry.message, reasons=(entry.message,))
    values = rejected.values
    return _with(
        base,
        status=Status.NOT_APPROVED if rejected.by_director else Status.RETURNED,
        closed_at=entry.updated_at,
        note="; ".join(p.thai_line() for p in rejected.problems),
        reasons=tuple(p.plain_thai() for p in rejected.problems),
        title=values.get("title", ""),
        work_group=values.get("work_group", ""),
        category=values.get("category", ""),
        provider=values.get("provider_name", ""),
        approver=values.get("approver_name", ""),
        request_date=thai.parse_date(values.get("request_date", "")),
        sheet_note=values.get("note", ""),
    )

