"""One request through every step: claim, read, render, sign twice, archive.

Each step reads what the previous one left in the request's work folder and writes its own
result atomically, then the journal records it. Re-running a step after a crash therefore
gives the same result, and ``resume`` finishes whatever a crash interrupted.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pipeline.core import faults, fsutil, guard, inputs, scratch
from pipeline.core.request import Problem, Rejected, Request
from pipeline.core.workfolder import SOURCE
from pipeline.external import tools
from pipeline.external.office import ConversionError, Converter
from pipeline.flow import attachments, holds, steps
from pipeline.flow.attachments import AwaitingAttachments
from pipeline.flow.outcome import Outcome, PendingRequest, Refused
from pipeline.form.render import RenderError
from pipeline.intake import receipt
from pipeline.intake.rejection import (
    Rejection,
    not_a_file_problem,
    recorded,
    reject_entry,
    tidy,
)
from pipeline.notify import build, events
from pipeline.records import index_files
from pipeline.records.journal import FINAL_STATES, Entry, Journal, State
from pipeline.records.notices import NoticeRow
from pipeline.settings.config import Config, ConfigError
from pipeline.signatures.signing import SigningError

log = logging.getLogger(__name__)

# in .pipeline/: one director's decision at a time, held exclusively by the approver (the
# desk, `pipeline approve`); others archive a signed request only while they can hold it shared
DECISION_LOCK = "decision.lock"


def _now() -> datetime:
    return datetime.now(UTC)


class Processor:
    """Holds what is costly to set up (LibreOffice, parsed keys, the journal) for many requests."""

    def __init__(self, config: Config, converter: Converter | None = None) -> None:
        self.config = config
        self.ws = config.workspace
        self.journal = Journal(self.ws.journal_file, config.id_prefix)
        self._own_converter = converter is None
        self.converter = converter or Converter(timeout=config.office_timeout)
        self._signers = steps.Signers(config)
        self._deciding = False  # inside deciding(): this processor holds the decision lock

    def close(self) -> None:
        self._signers.close()
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
            attachments.fetch(entry, source, work / SOURCE)
        except guard.NotAFile as exc:  # swapped for a link between the hash and the move
            raise Refused(self._refuse_entry(entry, exc.kind)) from None
        return entry

    def awaited_attachments(self) -> dict[str, list[str]]:
        """For each request waiting for attachments, the names it waits for."""
        waiting = {}
        for entry in self.journal.in_state(State.RECEIVED):
            names = attachments.awaited(self._work(entry.id))
            if names is not None:
                waiting[entry.id] = names
        return waiting

    def attachments_due(self) -> list[str]:
        """Requests whose awaited attachments have all arrived, or whose wait is over."""
        due = []
        for request_id, names in self.awaited_attachments().items():
            entry = self.journal.get(request_id)
            assert entry is not None
            if attachments.due(entry, names, self.config.attachment_wait):
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
        steps.clear_done(self.ws, self._done)

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
        if entry.state in FINAL_STATES:  # finished meanwhile (by the approver): nothing to do
            return self._finished(entry)
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
        except AwaitingAttachments as exc:
            self.journal.advance(request_id, State.RECEIVED, _now(), str(exc))
            return Outcome(entry.source_path, request_id, State.RECEIVED,
                           problems=(attachments.awaiting_problem(exc),))
        except ConversionError as exc:
            return self._reject(entry, (steps.conversion_problem(exc),))
        except (RenderError, SigningError, ConfigError, guard.UnsafeFolder,
                tools.MissingProgram) as exc:
            return self._held(entry, exc)

    def _held(self, entry: Entry, reason: Exception | faults.Fault, *,
              unexpected: bool = False) -> Outcome:
        """The request stays in its state and is tried again later (:func:`holds.hold`)."""
        held = holds.hold(self.journal, entry, reason, self.config.retry_first,
                          unexpected=unexpected)
        return Outcome(entry.source_path, entry.id, held.state, problems=(held.problem,),
                       retry_at=held.retry_at, repeated=held.repeated)

    def _steps(self, entry: Entry) -> Outcome:
        request_id = entry.id
        work = self._work(request_id)
        if entry.state == State.RECEIVED:
            if not (work / SOURCE).exists():  # crashed between the claim and the fetch
                if not os.path.lexists(entry.source_path):
                    return self._vanished(entry)
                work.mkdir(parents=True, exist_ok=True)
                attachments.fetch(entry, entry.source_path, work / SOURCE)
            if entry.taken:  # from the inbox: the clerk gets the request ID
                receipt.write(self.ws, receipt.Received(entry.source_name, entry.id,
                                                        entry.received_at, entry.source_sha256))
            problems = (steps.duplicate(self.journal, entry)
                        or steps.validate_sheet(entry, work, self.config, self._signers))
            if problems:
                return self._reject(entry, problems)
            if entry.taken:  # the sheet's earlier rejections are superseded: moved aside
                tidy(self.ws.rejected, entry.source_name, _now())
            self._advance(entry, State.VALIDATED)
        request = steps.read_request(work)
        current = self.journal.get(request_id)
        assert current is not None  # recorded before any step
        state = current.state
        if state == State.SIGNED:
            return self._finish_signed(entry, None)
        if state == State.VALIDATED:
            steps.render_form(entry, request, work, self.config, self.converter)
            state = self._advance(entry, State.RENDERED)
        if state == State.RENDERED:
            steps.sign_provider(request, work, self.config, self._signers)
            state = self._advance(entry, State.PROVIDER_SIGNED)
        if state == State.PROVIDER_SIGNED:
            if not self.config.auto_approve:
                steps.show_director(entry, request, work, self.ws.pending)
                self._advance(entry, State.AWAITING_DIRECTOR, notice=build.awaiting_director(
                    self.config, entry.id, request))
                return Outcome(entry.source_path, request_id, State.AWAITING_DIRECTOR)
            state = self._sign_director(entry)
        if state == State.AWAITING_DIRECTOR:
            return Outcome(entry.source_path, request_id, state)
        return self._finish_signed(entry, request)

    def _finish_signed(self, entry: Entry, request: Request | None) -> Outcome:
        """Archive a request the director has signed, under the decision lock: the approver
        (the desk, ``pipeline approve``) holds it while it archives what it has just signed,
        and a second writer of ``outbox/<ID>`` beside it, or one removing the work folder
        under it, must not run. Anyone else (the watcher, its workers) only tries the lock:
        when it is held, the request stays SIGNED for the approver to finish, or for the
        watcher's next pass. The state is read again under the lock, since the approver
        may have finished it in the meantime."""
        with self._decision_lock_if_free() as free:
            if not free:
                return Outcome(entry.source_path, entry.id, State.SIGNED,
                               problems=(steps.being_decided_problem(),))
            current = self.journal.get(entry.id)
            assert current is not None
            if current.state != State.SIGNED:
                return self._finished(current)
            return self._archive(entry, request or steps.read_request(self._work(entry.id)))

    def _finished(self, entry: Entry) -> Outcome:
        """A request already where it ends, as the outcome says it."""
        bundle = self.ws.outbox / entry.id if entry.state == State.ARCHIVED else None
        return Outcome(entry.source_path, entry.id, entry.state, bundle=bundle)

    # -- the director -------------------------------------------------------------------
    def pending(self) -> list[PendingRequest]:
        """Requests signed by their provider and waiting for the director, oldest first."""
        waiting = []
        for entry in self.journal.in_state(State.AWAITING_DIRECTOR):
            request = steps.read_request(self._work(entry.id))
            shown = steps.pending_attachments(self.ws.pending, entry.id)
            waiting.append(PendingRequest(entry.id, request, entry.updated_at,
                                          self.ws.pending / f"{entry.id}.pdf",
                                          tuple(shown / n for n in request.attachments)))
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
        :meth:`pending` and calling :meth:`approve` or :meth:`refuse`; meanwhile the
        watcher leaves the requests it signs alone (:meth:`_finish_signed`)."""
        fd = self._open_decision_lock()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._deciding = True
            yield
        finally:
            self._deciding = False
            os.close(fd)  # releases the lock

    @contextmanager
    def _decision_lock_if_free(self) -> Iterator[bool]:
        """Whether no approver is deciding for the ``with`` block: this processor is the
        approver (inside :meth:`deciding`), or it holds the lock now, taken without waiting
        on a descriptor of its own. Never a blocking take: flock belongs to the open file,
        so an approver opening the lock file again would wait for itself. Taken shared: the
        watcher's workers archiving other requests at once do not keep each other out,
        only an approver's exclusive hold does (and the approver waits for them)."""
        if self._deciding:
            yield True
            return
        fd = self._open_decision_lock()
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
            else:
                yield True
        finally:
            os.close(fd)  # releases the lock, when taken here

    def _open_decision_lock(self) -> int:
        self.ws.state.mkdir(parents=True, exist_ok=True)
        return os.open(self.ws.state / DECISION_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                       0o644)

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
        return self._reject(entry, (steps.refusal_problem(reason),), refusal=reason)

    def _awaiting(self, request_id: str) -> Entry:
        entry = self.journal.get(request_id)
        if entry is None:
            raise LookupError(f"no request {request_id}")
        if entry.state != State.AWAITING_DIRECTOR:
            raise LookupError(f"{request_id} is not waiting for the director (it is {entry.state})")
        return entry

    def _sign_director(self, entry: Entry) -> State:
        """The approver's signature (:func:`steps.sign_director`), then the journal."""
        steps.sign_director(self._work(entry.id), self.config, self._signers)
        return self._advance(entry, State.SIGNED)

    def _refuse_entry(self, entry: Entry, kind: guard.Kind) -> Outcome:
        """A link (or FIFO, device…) named like a sheet: moved, as the link itself, to
        ``inbox/rejected/`` with a report; the journal names the entry, not its target."""
        problem = not_a_file_problem(entry.source_name, kind)
        rejection = None
        if os.path.lexists(entry.source_path):
            rejection = reject_entry(entry.source_path, self.ws.rejected, (problem,), _now(),
                                     request_id=entry.id)
        self._record_rejection(entry, Rejected(False, (problem,)), rejection)
        shutil.rmtree(self._work(entry.id), ignore_errors=True)
        return Outcome(entry.source_path, entry.id, State.REJECTED, rejection=rejection,
                       problems=(problem,))

    def _vanished(self, entry: Entry) -> Outcome:
        """The sheet was removed from the inbox after the claim, before the pipeline took it."""
        problem = steps.vanished_problem()
        self._record_rejection(entry, Rejected(False, (problem,)), None)
        return Outcome(entry.source_path, entry.id, State.REJECTED, problems=(problem,))

    def _archive(self, entry: Entry, request: Request) -> Outcome:
        work = self._work(entry.id)
        folder = steps.write_bundle(entry, request, work, self.ws.outbox)
        self._advance(entry, State.ARCHIVED,
                      notice=build.approved(self.config, entry.id, request, folder))
        steps.discard(self.ws, entry.id)
        return Outcome(entry.source_path, entry.id, State.ARCHIVED, bundle=folder)

    def _reject(self, entry: Entry, problems: tuple[Problem, ...], *,
                refusal: str = "") -> Outcome:
        """Give the clerk's files back: a sheet (and any attachments) the pipeline took go to
        inbox/rejected/ beside the report. Copies first, then the journal (and the notice to
        the provider, in its transaction), then the work folder goes: a crash anywhere in
        between repeats the rejection, never loses it. ``refusal``: the director's reason."""
        work = self._work(entry.id)
        held = work / SOURCE if entry.taken else entry.source_path
        rejection = steps.give_back(entry, work, held, self.ws.rejected, problems,
                                    refused=bool(refusal))
        said = steps.said(work, held)
        self._record_rejection(
            entry, Rejected(bool(refusal), problems, said, recorded(rejection)),
            rejection, refusal=refusal)
        steps.discard(self.ws, entry.id)
        return Outcome(entry.source_path, entry.id, State.REJECTED, rejection=rejection,
                       problems=problems)

    def _record_rejection(self, entry: Entry, rejected: Rejected, rejection: Rejection | None,
                          *, refusal: str = "") -> None:
        """The journal records the rejection and queues, in the same transaction, the notice
        to the provider: the director's reason, or the problems with the report and the
        highlighted copy attached."""
        notice = (build.rejected_by_director(self.config, entry.id, rejected.values, refusal)
                  if refusal else build.refused_at_intake(
                      self.config, entry.id, entry.source_name, rejected.problems,
                      rejected.values, [p for p in (rejection.report, rejection.annotated)
                                        if p is not None] if rejection else []))
        self.journal.reject(entry.id, _now(), rejected, notices=self._rows(notice))
        log.info("%s %s %s: %s", entry.id, State.REJECTED, entry.source_name,
                 "; ".join(p.english for p in rejected.problems))

    def _rows(self, notice: events.Notice | None) -> Sequence[NoticeRow]:
        return events.rows(self.config, notice) if notice is not None else ()

    def _advance(self, entry: Entry, state: State, message: str = "",
                 notice: events.Notice | None = None) -> State:
        """The journal records ``state``, and queues ``notice`` in the same transaction."""
        self.journal.advance(entry.id, state, _now(), message, notices=self._rows(notice))
        log.info("%s %s %s%s", entry.id, state, entry.source_name,
                 f": {message}" if message else "")
        return state
