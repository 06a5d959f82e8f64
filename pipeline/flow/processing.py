"""One request through every step: claim, read, render, sign twice, archive.

Each step reads what the previous one left in the request's work folder and writes its own
result atomically, then the journal records it. Re-running a step after a crash therefore
gives the same result, and ``resume`` finishes whatever a crash interrupted.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.bundles import bundle
from pipeline.core import faults, fsutil, guard, inputs, scratch, thai, workfolder
from pipeline.core.request import Person, Problem, Rejected, Request, from_dict, to_dict
from pipeline.core.workfolder import (
    AWAITED_JSON,
    FIELDS_PDF,
    FORM_PDF,
    PROVIDER_PDF,
    REQUEST_JSON,
    SIGNED_PDF,
    SOURCE,
    signature_file,
)
from pipeline.external import tools
from pipeline.external.office import ConversionError, Converter
from pipeline.form import render
from pipeline.form.render import RenderError
from pipeline.intake import sheet, validate
from pipeline.intake.rejection import Rejection, not_a_file_problem, reject, reject_entry
from pipeline.records import index_files
from pipeline.records.journal import FINAL_STATES, Entry, Journal, State
from pipeline.settings.config import MB, Config, ConfigError, KeySource, SignerConfig, TokenSource
from pipeline.signatures import evidence, signing
from pipeline.signatures.signing import SigningError

log = logging.getLogger(__name__)

DECISION_LOCK = "decision.lock"  # in .pipeline/: one director's decision at a time
EVIDENCE_LIFETIME = 3600.0  # seconds before revocation data is gathered again
RETRY_MAX = 1800  # seconds: the longest wait between retries ([watch] retry_first: the first)


class Refused(Exception):
    """An inbox entry that is not a regular file was refused when it was taken."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(f"{outcome.source.name} refused")
        self.outcome = outcome


class _AwaitingAttachments(Exception):
    """The sheet names attachments that have not arrived in the inbox yet."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"waiting for attachment(s): {', '.join(names)}")
        self.names = names


@dataclass(frozen=True)
class Outcome:
    source: Path
    request_id: str | None
    state: State
    bundle: Path | None = None
    rejection: Rejection | None = None
    problems: tuple[Problem, ...] = ()
    retry_at: datetime | None = None  # held: not to be tried again before then
    repeated: bool = False  # held again for the reason it was held for last time


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.is_dir() else []


def retry_delay(first: float, attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: ``first``, doubling, at
    most RETRY_MAX."""
    return min(first * 2 ** min(attempts, 16), RETRY_MAX)


def _now() -> datetime:
    return datetime.now(UTC)


def _record_signature(work: Path, info: signing.SignatureInfo) -> None:
    """Keep who signed and when for the manifest, written before the step is recorded."""
    record = bundle.SignatureRecord(info.role, info.signer, info.cert_sha256, info.signed_at)
    fsutil.write_bytes(work / signature_file(info.role),
                       json.dumps(record.to_dict(), ensure_ascii=False).encode("utf-8"))


@dataclass(frozen=True)
class PendingRequest:
    """A request waiting for the director: what the approval queue shows."""

    request_id: str
    request: Request
    waiting_since: datetime
    pdf: Path  # the provider-signed form, for the director to read


class Processor:
    """Holds what is costly to set up (LibreOffice, parsed keys, the journal) for many requests."""

    def __init__(self, config: Config, converter: Converter | None = None) -> None:
        self.config = config
        self.ws = config.workspace
        self.journal = Journal(self.ws.journal_file, config.id_prefix)
        self._own_converter = converter is None
        self.converter = converter or Converter(timeout=config.office_timeout)
        self._gathered: tuple[float, signing.Evidence] | None = None
        self._signers: dict[KeySource | TokenSource, signing.LoadedSigner] = {}

    def close(self) -> None:
        for signer in self._signers.values():
            signer.close()  # logs out of tokens
        self._signers.clear()
        self.journal.close()
        if self._own_converter:
            self.converter.close()

    def __enter__(self) -> Processor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- intake -------------------------------------------------------------------------
    def process(self, source: Path, *, take: bool = False) -> Outcome:
        """Process one sheet now (see :meth:`take`)."""
        try:
            entry = self.take(source, take=take)
        except Refused as refused:
            return refused.outcome
        return self.run(entry.id)

    def take(self, source: Path, *, take: bool = False) -> Entry:
        """Record a sheet in the journal and bring it into its work folder: moved out of the
        inbox when ``take`` (the watcher), else copied (the command line, which follows a
        link it is given). Once this returns, a rescan of the inbox cannot see the sheet
        again. From the inbox only a regular file of its own is taken (:mod:`pipeline.core.guard`):
        anything else is refused at once, moved as it is to ``inbox/rejected/``, and
        :class:`Refused` carries the outcome."""
        if not take:
            source = source.resolve()
            entry = self.journal.claim(source, fsutil.sha256_file(source), _now(), taken=False)
        else:
            source = Path(os.path.abspath(source))  # the entry itself, not what it points to
            try:
                with guard.open_regular(source) as (fd, _st):
                    digest = fsutil.sha256_fd(fd)
            except guard.NotAFile as exc:
                entry = self.journal.claim(source, "", _now(), taken=True)
                raise Refused(self._refuse_entry(entry, exc.kind)) from None
            entry = self.journal.claim(source, digest, _now(), taken=True)
        work = self._work(entry.id)
        work.mkdir(parents=True, exist_ok=True)
        try:
            self._fetch(entry, source, work / SOURCE)
        except guard.NotAFile as exc:  # swapped for a link between the hash and the move
            raise Refused(self._refuse_entry(entry, exc.kind)) from None
        return entry

    def awaited_attachments(self) -> dict[str, list[str]]:
        """For each request waiting for attachments, the names it waits for."""
        waiting = {}
        for entry in self.journal.in_state(State.RECEIVED):
            awaited = self._work(entry.id) / AWAITED_JSON
            if awaited.is_file():
                waiting[entry.id] = json.loads(awaited.read_text(encoding="utf-8"))
        return waiting

    def attachments_due(self) -> list[str]:
        """Requests whose awaited attachments have all arrived, or whose wait is over."""
        due = []
        for request_id, names in self.awaited_attachments().items():
            entry = self.journal.get(request_id)
            assert entry is not None
            waited = (_now() - entry.received_at).total_seconds()
            origin = entry.source_path.parent
            if waited >= self.config.attachment_wait or all(os.path.lexists(origin / n)
                                                           for n in names):
                due.append(request_id)
        return due

    def claimed_sources(self) -> set[Path]:
        """Inbox files claimed by a request that has not moved them yet (a crash or a full
        disk between the claim and the move): a rescan must not claim them a second time."""
        return {e.source_path for e in self.journal.in_state(State.RECEIVED)
                if e.taken and not (self._work(e.id) / SOURCE).exists()}

    def open_requests(self, *, due_only: bool = False) -> list[str]:
        """Every request between steps (not those waiting for the director or for
        attachments); with ``due_only``, not those held until a later retry either."""
        waiting = self.awaited_attachments()
        now = _now()
        return [e.id for e in self.journal.unfinished() if e.id not in waiting
                and not (due_only and e.retry_at is not None and e.retry_at > now)]

    def clear_leftovers(self) -> None:
        """Remove what a crash left behind after a request was done: its work folder, and
        its form in pending/ (the director must not be shown it as still waiting)."""
        scratch.sweep(self.ws)
        for folder in _entries(self.ws.work):
            if self._done(folder.name):
                shutil.rmtree(folder, ignore_errors=True)
        for form in _entries(self.ws.pending):
            if form.suffix == ".pdf" and self._done(form.stem):
                form.unlink(missing_ok=True)

    def _done(self, request_id: str) -> bool:
        entry = self.journal.get(request_id)
        return entry is not None and entry.state in FINAL_STATES

    def resume(self) -> list[Outcome]:
        """Finish every open request now, held ones included (after a restart, whatever
        held them may have been mended)."""
        self.clear_leftovers()
        return [self.run(request_id) for request_id in self.open_requests()]

    def rebuild_index(self) -> Path:
        return index_files.rebuild(self.ws.outbox)

    # -- the steps ----------------------------------------------------------------------
    def _work(self, request_id: str) -> Path:
        return self.ws.work / request_id

    def run(self, request_id: str) -> Outcome:
        """The remaining steps of one request. A document LibreOffice cannot convert is
        rejected; a fault of the office's own set-up (template, keys, passphrases), of a
        service, or of the machine (a full disk, a read-only folder) is not the clerk's to
        fix, so the request waits in its state and is retried later. No step starts while a
        workspace disk has less than ``[watch] min_free_mb`` free. Whatever else goes wrong
        holds the request too (logged once, with its traceback, in the log file): the
        watcher outlives any one request."""
        entry = self.journal.get(request_id)
        assert entry is not None
        try:
            low = faults.low_space((self.ws.state, self.ws.outbox), self.config.min_free_mb)
            return self._held(entry, low) if low else self._run(entry)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            fault = faults.classify(exc, self.ws.journal_file)
            return self._held(entry, fault or exc, unexpected=fault is None)

    def _run(self, entry: Entry) -> Outcome:
        request_id = entry.id
        try:
            return self._steps(entry)
        except guard.NotAFile as exc:
            if exc.path == entry.source_path:
                return self._refuse_entry(entry, exc.kind)
            return self._reject(entry, (not_a_file_problem(exc.path.name, exc.kind),))
        except _AwaitingAttachments as exc:
            self.journal.advance(request_id, State.RECEIVED, _now(), str(exc))
            problem = Problem("attachments", "",
                              f"รอไฟล์แนบ {', '.join(exc.names)} วางไว้ในโฟลเดอร์ inbox",
                              f"{exc}; put them in the inbox folder")
            return Outcome(entry.source_path, request_id, State.RECEIVED, problems=(problem,))
        except ConversionError as exc:
            problem = Problem("", "", "ระบบแปลงแบบฟอร์มเป็น PDF ไม่ได้ กรุณาแจ้งผู้ดูแลระบบ",
                              f"the form could not be converted to PDF ({exc}); "
                              f"tell the administrator")
            return self._reject(entry, (problem,))
        except (RenderError, SigningError, ConfigError, guard.UnsafeFolder,
                tools.MissingProgram) as exc:
            return self._held(entry, exc)

    def _held(self, entry: Entry, reason: Exception | faults.Fault, *,
              unexpected: bool = False) -> Outcome:
        """A fault of the set-up, of a service (the timestamp authority) or of the machine:
        the request stays in its state, with the reason, and is tried again later, waiting
        twice as long after each failure (30 s, 1 min, 2 min ... at most 30 min) so that a
        service that is down is not hammered. One log line when the reason changes, not one
        per retry. When the journal itself cannot be written (the disk is full), the hold
        lives only in the outcome, whose ``retry_at`` the watcher keeps in memory."""
        current = self.journal.get(entry.id) or entry
        delay = retry_delay(self.config.retry_first, current.attempts)
        now = _now()
        message = (f"unexpected error: {type(reason).__name__}: {reason}" if unexpected
                   else str(reason))
        repeated = current.attempts > 0 and faults.same_reason(current.message, message)
        try:
            self.journal.hold(entry.id, now, message, now + timedelta(seconds=delay))
        except sqlite3.Error as exc:
            log.debug("%s: the hold could not be recorded: %s", entry.id, exc)
        if not repeated:
            log.error("%s held in %s (%s), next try in %.0f s: %s", entry.id, current.state,
                      entry.source_name, delay, message,
                      exc_info=reason if unexpected and isinstance(reason, Exception) else None)
        problem = Problem("", "", "คำขอรอผู้ดูแลระบบหรือบริการภายนอก แล้วจะดำเนินการต่อเอง",
                          f"waiting for the administrator or a service: {message}")
        return Outcome(entry.source_path, entry.id, current.state, problems=(problem,),
                       retry_at=now + timedelta(seconds=delay), repeated=repeated)

    def _steps(self, entry: Entry) -> Outcome:
        request_id = entry.id
        work = self._work(request_id)
        if entry.state == State.RECEIVED:
            if not (work / SOURCE).exists():  # crashed between the claim and the fetch
                if not os.path.lexists(entry.source_path):
                    return self._vanished(entry)
                work.mkdir(parents=True, exist_ok=True)
                self._fetch(entry, entry.source_path, work / SOURCE)
            problems = self._duplicate(entry) or self._validate(entry, work)
            if problems:
                return self._reject(entry, problems)
            self._advance(entry, State.VALIDATED)
        request = from_dict(json.loads((work / REQUEST_JSON).read_text(encoding="utf-8")))
        current = self.journal.get(request_id)
        assert current is not None  # recorded before any step
        state = current.state
        if state == State.VALIDATED:
            render.render_pdf(request, request_id, self.config.template, work / FORM_PDF,
                              self.converter)
            sheet_inside = signing.Attachment(
                work / SOURCE, entry.source_name, signing.XLSX_MIME,
                "แบบคำขอเผยแพร่ข้อมูลต้นฉบับ / the original request sheet")
            signing.add_signature_fields(work / FORM_PDF, work / FIELDS_PDF, (sheet_inside,))
            state = self._advance(entry, State.RENDERED)
        if state == State.RENDERED:
            provider = self._provider(request)
            assert provider is not None  # checked in validation
            signer = self._signer(provider)
            # the stamp names the certificate's holder, whom validation matched to the sheet
            # (directly, or through [sheet.certificate_names])
            stamped = Person(signer.name, request.provider.position)
            info = signing.sign(work / FIELDS_PDF, work / PROVIDER_PDF, role="provider",
                                signer=signer, person=stamped,
                                font=self.config.font, certify=True,
                                evidence=self._evidence(), countersigned=True)
            _record_signature(work, info)
            state = self._advance(entry, State.PROVIDER_SIGNED)
        if state == State.PROVIDER_SIGNED:
            if not self.config.auto_approve:
                self.ws.pending.mkdir(exist_ok=True)
                fsutil.copy_file(work / PROVIDER_PDF, self.ws.pending / f"{request_id}.pdf")
                self._advance(entry, State.AWAITING_DIRECTOR)
                return Outcome(entry.source_path, request_id, State.AWAITING_DIRECTOR)
            state = self._sign_director(entry)
        if state == State.AWAITING_DIRECTOR:
            return Outcome(entry.source_path, request_id, state)
        return self._archive(entry, request)

    # -- the director -------------------------------------------------------------------
    def pending(self) -> list[PendingRequest]:
        """Requests signed by their provider and waiting for the director, oldest first."""
        waiting = []
        for entry in self.journal.in_state(State.AWAITING_DIRECTOR):
            request = from_dict(json.loads(
                (self._work(entry.id) / REQUEST_JSON).read_text(encoding="utf-8")))
            waiting.append(PendingRequest(entry.id, request, entry.updated_at,
                                          self.ws.pending / f"{entry.id}.pdf"))
        return waiting

    def finish_approved(self) -> list[Outcome]:
        """Archive the requests the director signed whose archiving was interrupted (a kill
        between the signature and the bundle's journal entry): an approval run repeated
        after a crash finishes them, without the watcher and without signing again."""
        finished = [self.run(entry.id) for entry in self.journal.in_state(State.SIGNED)]
        self.clear_leftovers()
        return finished

    @contextmanager
    def deciding(self) -> Iterator[None]:
        """Hold the workspace's decision lock (``.pipeline/decision.lock``): a second
        ``approve`` or ``reject`` of the same requests waits, then finds them decided,
        instead of racing for the same work folder. Callers hold it around reading
        :meth:`pending` and calling :meth:`approve` or :meth:`refuse`."""
        self.ws.state.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.ws.state / DECISION_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                     0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def approve(self, request_id: str) -> Outcome:
        """The director signs a waiting request; it is archived as a bundle."""
        entry = self._awaiting(request_id)
        try:
            self._sign_director(entry)
        except (SigningError, ConfigError) as exc:
            return self._held(entry, exc)
        except (OSError, sqlite3.Error) as exc:
            fault = faults.classify(exc, self.ws.journal_file)
            if fault is None:
                raise
            return self._held(entry, fault)
        return self.run(request_id)

    def refuse(self, request_id: str, reason: str) -> Outcome:
        """The director does not approve: the provider gets the sheet back with the reason
        (not empty, bounded: inputs.reason, checked before anything is written)."""
        reason = inputs.reason(reason)
        entry = self._awaiting(request_id)
        problem = Problem("", "", f"ผู้อนุมัติไม่อนุมัติ เหตุผล: {reason}",
                          f"the director did not approve it; reason: {reason}")
        return self._reject(entry, (problem,), by_director=True)

    def _awaiting(self, request_id: str) -> Entry:
        entry = self.journal.get(request_id)
        if entry is None:
            raise LookupError(f"no request {request_id}")
        if entry.state != State.AWAITING_DIRECTOR:
            raise LookupError(f"{request_id} is not waiting for the director (it is {entry.state})")
        return entry

    def _sign_director(self, entry: Entry) -> State:
        """The approver's signature on a provider-signed request: the director's, or that of
        the acting director the sheet names, whose stamp then says so (รักษาราชการแทน…)."""
        work = self._work(entry.id)
        request = from_dict(json.loads((work / REQUEST_JSON).read_text(encoding="utf-8")))
        approver, person = self.config.director, self.config.director.person
        acting = validate.acting_director(request.approver.name, self.config)
        if acting is not None:
            if acting.key is None:
                raise ConfigError(f"acting director {acting.person.name} has no signing key "
                                  f"in [[sheet.acting_directors]]")
            approver = SignerConfig(acting.person, acting.key)
            person = Person(acting.person.name, f"{acting.person.position} {acting.title}"
                                                f"{self.config.director.person.position}")
        info = signing.sign(work / PROVIDER_PDF, work / SIGNED_PDF, role="director",
                            signer=self._signer(approver), person=person,
                            font=self.config.font, evidence=self._evidence())
        _record_signature(work, info)
        return self._advance(entry, State.SIGNED)

    def _duplicate(self, entry: Entry) -> tuple[Problem, ...]:
        """The same bytes already make an earlier request: signing them again would publish
        the same thing twice."""
        earlier = self.journal.find_live(entry.source_sha256, before=entry.id)
        if earlier is None:
            return ()
        return (Problem("", "", f"ไฟล์นี้ส่งมาแล้ว เป็นคำขอเลขที่ {earlier.id}",
                        f"this exact file was already received as request {earlier.id}"),)

    def _refuse_entry(self, entry: Entry, kind: guard.Kind) -> Outcome:
        """A link (or FIFO, device…) named like a sheet: moved, as the link itself, to
        ``inbox/rejected/`` with a report; the journal names the entry, not its target."""
        problem = not_a_file_problem(entry.source_name, kind)
        rejection = None
        if os.path.lexists(entry.source_path):
            rejection = reject_entry(entry.source_path, self.ws.rejected, (problem,), _now(),
                                     request_id=entry.id)
        self._record_rejection(entry, Rejected(False, (problem,)))
        shutil.rmtree(self._work(entry.id), ignore_errors=True)
        return Outcome(entry.source_path, entry.id, State.REJECTED, rejection=rejection,
                       problems=(problem,))

    def _vanished(self, entry: Entry) -> Outcome:
        """The sheet was removed from the inbox after the claim, before the pipeline took it."""
        problem = Problem("", "", "ไฟล์ถูกลบออกจาก inbox ก่อนระบบจะรับไป",
                          "the sheet was removed from the inbox before it could be taken")
        self._record_rejection(entry, Rejected(False, (problem,)))
        return Outcome(entry.source_path, entry.id, State.REJECTED, problems=(problem,))

    def _validate(self, entry: Entry, work: Path) -> tuple[Problem, ...]:
        """Every problem of the sheet at once (``sheet.read_sheet``, which also checks that
        the provider's registered key is in their name), then the attachments: present
        beside the sheet (or awaited), plain files, within the size limits."""
        key_errors: list[Exception] = []

        def certificate_name(provider: SignerConfig) -> str | None:
            """The name in the provider's certificate. A PKCS#12 key is opened afresh (its
            passphrase may change before signing); a token's session is kept for signing."""
            try:
                if isinstance(provider.key, KeySource):
                    loaded = signing.load_signer(provider.key)
                    name = loaded.name
                    loaded.close()
                    return name
                return self._signer(provider).name
            except (SigningError, ConfigError) as exc:
                key_errors.append(exc)
                return None

        result = sheet.read_sheet(work / SOURCE, self.config, certificate_name=certificate_name)
        if key_errors and result.ok:
            raise key_errors[0]  # the set-up's fault, not the clerk's: held and retried
        if not result.ok:
            return result.problems
        request = result.request
        assert request is not None
        cell = result.cells.get("attachments", "")
        attachments = work / "attachments"
        attachments.mkdir(exist_ok=True)
        origin = entry.source_path.parent

        def found(name: str) -> Path | None:
            if Path(name).name != name or name in ("", ".", ".."):
                return None
            for folder in (attachments, origin):
                path = folder / name
                try:  # the entry itself: a link is found (and refused), not followed
                    if not stat.S_ISDIR(os.lstat(path).st_mode):
                        return path
                except FileNotFoundError:
                    continue
            return None

        missing = [n for n in request.attachments if found(n) is None]
        waited = (_now() - entry.received_at).total_seconds()
        if missing and entry.taken and waited < self.config.attachment_wait:
            fsutil.write_bytes(work / AWAITED_JSON,
                               json.dumps(missing, ensure_ascii=False).encode("utf-8"))
            raise _AwaitingAttachments(missing)
        label = f"ไฟล์แนบ ({cell})" if cell else "ไฟล์แนบ"
        where = f"attachments ({cell.rsplit('!', 1)[-1]})" if cell else "attachments"
        if missing:
            return (Problem(
                "attachments", cell,
                f"{label} ไม่พบไฟล์ {', '.join(missing)} ข้างแบบคำขอ: วางไฟล์ไว้ในโฟลเดอร์ inbox "
                "พร้อมแบบคำขอ และตรวจว่าชื่อไฟล์ในช่องตรงกับชื่อไฟล์จริง (รวมนามสกุล เช่น .pdf)",
                f"{where} file(s) {', '.join(missing)} not found beside the sheet: drop them "
                "into the inbox with the sheet, and check that the names in the cell are the "
                "files' exact names (with the extension, e.g. .pdf)"),)
        problems = []
        limits = self.config.sheet
        sizes = {}

        def size(n: int) -> str:
            return f"{n / MB:.1f} MB" if n >= MB else f"{max(1, round(n / 1024))} KB"

        for name in request.attachments:
            path = found(name)
            assert path is not None
            kind = guard.entry_kind(path)
            if kind is not None:
                problems.append(Problem(
                    "attachments", cell,
                    f"{label} '{name}' เป็น{kind.thai} ไม่ใช่ไฟล์ ระบบจึงไม่เปิดและไม่ตามลิงก์: "
                    "คัดลอกไฟล์จริงมาวางแทน",
                    f"{where} '{name}' is {kind.english}, not a file, so it was neither opened "
                    "nor followed: drop a copy of the file itself"))
                continue
            sizes[name] = path.lstat().st_size
            if sizes[name] > limits.max_attachment_bytes:
                problems.append(Problem(
                    "attachments", cell,
                    f"{label} '{name}' ใหญ่ {size(sizes[name])} เกินกำหนดไฟล์ละ "
                    f"{size(limits.max_attachment_bytes)}: ย่อขนาดไฟล์ หรือใส่เป็นลิงก์ในช่อง "
                    "Link ภายนอก",
                    f"{where} '{name}' is {size(sizes[name])}, more than the "
                    f"{size(limits.max_attachment_bytes)} allowed per file: make it "
                    "smaller, or share it as a link in the link cell"))
        total = sum(sizes.values())
        if total > limits.max_request_bytes:
            problems.append(Problem(
                "attachments", cell,
                f"{label} รวมกัน {size(total)} เกินกำหนด "
                f"{size(limits.max_request_bytes)} ต่อคำขอ: ย่อขนาดไฟล์ หรือแยกเป็นหลายคำขอ",
                f"{where} total {size(total)}, more than the "
                f"{size(limits.max_request_bytes)} allowed per request: make them smaller "
                "or split the request"))
        if problems:
            return tuple(problems)
        for name in request.attachments:
            if not (attachments / name).is_file():
                self._fetch(entry, origin / name, attachments / name)
        fsutil.write_bytes(work / REQUEST_JSON,
                           json.dumps(to_dict(request), ensure_ascii=False).encode("utf-8"))
        return ()

    @staticmethod
    def _fetch(entry: Entry, src: Path, dst: Path) -> None:
        """Bring a file into the work folder: moved out of the inbox when the pipeline takes
        it (only a regular file of its own: else ``guard.NotAFile``), copied when it was
        named on the command line."""
        (fsutil.take if entry.taken else fsutil.copy_file)(src, dst)

    def _provider(self, request: Request) -> SignerConfig | None:
        """The registered provider named on the sheet (titles and spacing aside, or paired
        in [sheet.certificate_names]): the same lookup validation used."""
        return validate.provider_for(request.provider.name, self.config)

    def _signer(self, who: SignerConfig) -> signing.LoadedSigner:
        if who.key not in self._signers:
            self._signers[who.key] = signing.load_signer(who.key)
        return self._signers[who.key]

    def _evidence(self) -> signing.Evidence:
        """Timestamp authority and revocation data, gathered once and renewed hourly."""
        now = time.monotonic()
        if self._gathered is None or now - self._gathered[0] > EVIDENCE_LIFETIME:
            self._gathered = (now, evidence.gather(self.config))
        return self._gathered[1]

    def _archive(self, entry: Entry, request: Request) -> Outcome:
        work = self._work(entry.id)
        signed = work / SIGNED_PDF
        content = bundle.BundleContent(
            request_id=entry.id,
            request=request,
            signed_pdf=signed,
            sheet=work / SOURCE,
            sheet_name=entry.source_name,
            attachments=tuple(work / "attachments" / n for n in request.attachments),
            signatures=tuple(bundle.SignatureRecord.from_dict(json.loads(
                (work / signature_file(role)).read_text(encoding="utf-8")))
                for role in ("provider", "director")),
            received_at=entry.received_at,
            archived_at=_now(),
            status="approved",
        )
        folder = bundle.write_bundle(self.ws.outbox, content)
        self._advance(entry, State.ARCHIVED)
        (self.ws.pending / f"{entry.id}.pdf").unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
        return Outcome(entry.source_path, entry.id, State.ARCHIVED, bundle=folder)

    def _reject(self, entry: Entry, problems: tuple[Problem, ...], *,
                by_director: bool = False) -> Outcome:
        """Give the clerk's files back: a sheet (and any attachments) the pipeline took go to
        inbox/rejected/ beside the report. Copies first, then the journal, then the work
        folder goes: a crash anywhere in between repeats the rejection, never loses it."""
        work = self._work(entry.id)
        held = work / SOURCE if entry.taken else entry.source_path
        rejection = reject(held, entry.source_name, self.ws.rejected, problems, _now(),
                           request_id=entry.id, give_back=entry.taken)
        taken = work / "attachments"
        if entry.taken and taken.is_dir():
            for attachment in sorted(taken.iterdir()):
                fsutil.copy_unique(attachment, self.ws.rejected, attachment.name)
        self._record_rejection(entry, Rejected(by_director, problems, self._said(entry, held)))
        (self.ws.pending / f"{entry.id}.pdf").unlink(missing_ok=True)
        shutil.rmtree(self._work(entry.id), ignore_errors=True)
        return Outcome(entry.source_path, entry.id, State.REJECTED, rejection=rejection,
                       problems=problems)

    def _said(self, entry: Entry, held: Path) -> dict[str, str]:
        """What the request says, for the index and the reports: from the validated request
        when there is one (a refusal by the director), else from the sheet's cells."""
        request = workfolder.read_request(self._work(entry.id))
        if request is None:
            return sheet.summary(held) if held.is_file() else {}
        return {"title": request.title, "work_group": request.work_group,
                "category": request.category,
                "request_date": thai.short_date(request.request_date),
                "provider_name": request.provider.name, "approver_name": request.approver.name}

    def _record_rejection(self, entry: Entry, rejected: Rejected) -> None:
        self.journal.reject(entry.id, _now(), rejected)
        log.info("%s %s %s: %s", entry.id, State.REJECTED, entry.source_name,
                 "; ".join(p.english for p in rejected.problems))

    def _advance(self, entry: Entry, state: State, message: str = "") -> State:
        self.journal.advance(entry.id, state, _now(), message)
        log.info("%s %s %s%s", entry.id, state, entry.source_name,
                 f": {message}" if message else "")
        return state
