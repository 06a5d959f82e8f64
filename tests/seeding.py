"""Seeding an archive with controlled dates for the index, publication and report tests:
bundles written by bundle.write_bundle, journal entries by the Journal, rejections by
rejection.reject, exactly as the pipeline leaves them, without LibreOffice or signing (a
test that checks signatures passes a real signed PDF)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from pipeline import demo
from pipeline.bundles import bundle, publish
from pipeline.core.request import Problem, Rejected, Request, to_dict
from pipeline.flow.outcome import Outcome
from pipeline.flow.processing import Processor
from pipeline.intake import blank_sheet, sheet
from pipeline.intake.rejection import reject
from pipeline.records.journal import Journal, State
from pipeline.settings import config as config_mod
from pipeline.settings.config import Config

FAKE_PDF = b"%PDF-1.4\n% not a real form\n"
_counter = iter(range(1, 1_000_000))


def request(config: Config, title: str, *, work_group: int = 2, category: int = 7,
            attachments: tuple[str, ...] = (), day: date = date(2026, 11, 1)) -> Request:
    """A valid request of the demo office (work group and category by index)."""
    return Request(
        unit=config.unit, work_group=config.work_groups[work_group], request_date=day,
        title=title, category=config.categories[category], detail="รายละเอียด",
        provider=demo.PEOPLE["provider"], approver=config.director.person,
        publisher=config.publisher, attachments=attachments)


def _claim(config: Config, name: str, received: datetime) -> str:
    journal = Journal(config.workspace.journal_file, config.id_prefix)
    try:
        return journal.claim(Path("/inbox") / name, f"{next(_counter):064x}", received,
                             taken=True).id
    finally:
        journal.close()


def _advance(config: Config, request_id: str, state: State, when: datetime,
             message: str = "") -> None:
    journal = Journal(config.workspace.journal_file, config.id_prefix)
    try:
        journal.advance(request_id, state, when, message)
    finally:
        journal.close()


def archived(config: Config, tmp: Path, req: Request, received: datetime,
             approved: datetime | None = None, *, published: tuple[date, str] | None = None,
             pdf: Path | None = None, attachments: dict[str, bytes] | None = None,
             name: str | None = None) -> str:
    """An archived request (a bundle) signed by the director at ``approved``, its sheet
    dropped as ``name`` (default: the title)."""
    approved = approved or received + timedelta(minutes=3)
    name = name or f"{req.title}.xlsx"
    request_id = _claim(config, name, received)
    work = tmp / f"seed-{request_id}"
    work.mkdir(parents=True)
    if pdf is None:
        pdf = work / "signed.pdf"
        pdf.write_bytes(FAKE_PDF + request_id.encode())
    source = work / "source.xlsx"
    source.write_bytes(b"sheet " + request_id.encode())
    files = []
    for name, data in (attachments or {}).items():
        (work / name).write_bytes(data)
        files.append(work / name)
    signatures = (
        bundle.SignatureRecord("provider", demo.PEOPLE["provider"].name, "1" * 64,
                               approved - timedelta(minutes=1)),
        bundle.SignatureRecord("director", config.director.person.name, "2" * 64, approved),
    )
    folder = bundle.write_bundle(config.workspace.outbox, bundle.BundleContent(
        request_id=request_id, request=req, signed_pdf=pdf, sheet=source,
        sheet_name=name, attachments=tuple(files), signatures=signatures,
        received_at=received, archived_at=approved, status="approved"))
    _advance(config, request_id, State.ARCHIVED, approved)
    if published is not None:
        day, url = published
        event = publish.Publication(url, day, datetime.combine(day, datetime.min.time(),
                                                                approved.tzinfo),
                                    config.publisher.name)
        bundle.append_event(folder, event.to_event(), status="published")
    return request_id


def returned(config: Config, tmp: Path, received: datetime, *, values: dict[str, object],
             thai: str, english: str, refused: bool = False, cell: str = "",
             name: str | None = None) -> str:
    """A request whose sheet was returned (or, with ``refused``, that the director did not
    approve): the journal entry, and the report and kept sheet in inbox/rejected/; its sheet
    dropped as ``name`` (default: the title)."""
    name = name or f"{values.get('title') or 'ไม่มีหัวข้อ'}.xlsx"
    request_id = _claim(config, name, received)
    sheet_path = tmp / f"returned-{request_id}.xlsx"
    blank_sheet.new_request(sheet_path, config)
    blank_sheet.fill(sheet_path, values)
    when = received + timedelta(minutes=30 if refused else 0, seconds=5)
    problem = Problem("", cell, thai, english)
    reject(sheet_path, name, config.workspace.rejected, (problem,), when,
           request_id=request_id, give_back=True)
    journal = Journal(config.workspace.journal_file, config.id_prefix)
    try:  # as Processor records it
        journal.reject(request_id, when, Rejected(refused, (problem,), sheet.summary(sheet_path)))
    finally:
        journal.close()
    return request_id


def refused_problem(reason: str) -> tuple[str, str]:
    """The problem Processor.refuse records."""
    return (f"ผู้อนุมัติไม่อนุมัติ เหตุผล: {reason}",
            f"the director did not approve it; reason: {reason}")


def awaiting(config: Config, req: Request, received: datetime) -> str:
    """A request signed by its provider, waiting for the director (its work folder holds
    the validated request, as the processor leaves it)."""
    request_id = _claim(config, f"{req.title}.xlsx", received)
    work = config.workspace.work / request_id
    work.mkdir(parents=True)
    (work / "request.json").write_text(json.dumps(to_dict(req), ensure_ascii=False),
                                       encoding="utf-8")
    _advance(config, request_id, State.AWAITING_DIRECTOR, received + timedelta(minutes=2))
    return request_id


@contextlib.contextmanager
def power_cut_after_commit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The bundle update made inside stops right after its commit point (the staged manifest
    written, nothing renamed yet), as a power cut there would leave it."""
    real = bundle._roll_forward
    calls: list[Path] = []

    def crash_after_commit(folder: Path) -> None:
        calls.append(folder)
        if len(calls) == 2:  # the roll-forward right after the staged manifest is written
            raise SystemExit("power cut")
        real(folder)

    monkeypatch.setattr(bundle, "_roll_forward", crash_after_commit)
    with pytest.raises(SystemExit):
        yield
    monkeypatch.setattr(bundle, "_roll_forward", real)


def without_webmaster_key(cfg: Config) -> Config:
    """The demo office with no key in [publisher] (as a real office may run): publication
    records events and signs nothing, which is what bundles seeded with a fake PDF need."""
    path = cfg.workspace.config_file
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("[publisher]\n")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    kept = [line for line in lines[start:end]
            if not line.startswith(("pkcs12 ", "passphrase_file "))]
    path.write_text("".join(lines[:start] + kept + lines[end:]), encoding="utf-8")
    return config_mod.load(cfg.workspace.root)


def archived_sample(processor: Processor, config: Config, tmp: Path) -> Outcome:
    """The demo's sample request, processed for real (rendered, signed twice, archived)."""
    path = tmp / "r.xlsx"
    blank_sheet.new_request(path, config)
    blank_sheet.fill(path, demo.sample_values(date.today()))
    outcome = processor.process(path)
    assert outcome.state == State.ARCHIVED, outcome.problems
    return outcome
