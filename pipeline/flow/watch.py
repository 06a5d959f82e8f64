"""Watching the inbox: watchdog events to react at once, a periodic rescan because events
do not always arrive (network shares), and a settle check so a file still being copied is
never taken half-written."""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import signal
import stat
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from watchdog.events import EVENT_TYPE_CLOSED, FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from pipeline.core import faults, guard
from pipeline.core.errors import PipelineError
from pipeline.flow.holds import retry_delay
from pipeline.flow.outcome import Outcome, Refused
from pipeline.flow.processing import Processor
from pipeline.flow.workers import InlineRunner, PoolRunner, Runner
from pipeline.intake.rejection import reject_stray
from pipeline.notify.sender import Background

log = logging.getLogger(__name__)

IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload")
INCOMPLETE_GRACE = 10  # a settled .xlsx that is not yet a valid zip waits this many settles
_KEPT_CLOSES = 10_000  # close events remembered at most (each is forgotten when taken)


@dataclass(frozen=True)
class WatchOptions:
    once: bool = False
    settle: float = 1.0  # seconds a file must stay unchanged before it is taken
    rescan: float = 10.0  # seconds between full rescans
    polling: bool = False
    # processes that run requests; 0 runs them in the watcher itself. One more than the cores:
    # a worker waiting for its LibreOffice leaves its core to another (bench/bench_watch.py)
    workers: int = (os.cpu_count() or 1) + 1
    index_every: float = 5.0  # seconds between index rebuilds during a burst


def is_ignored(path: Path) -> bool:
    """Never touched: Excel lock files, hidden files, partial downloads, real folders (such
    as ``rejected/``). A link is not ignored, whatever it points to: it is refused."""
    name = path.name
    if name.startswith(("~$", ".")) or name.lower().endswith(IGNORED_SUFFIXES):
        return True
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return True


def is_candidate(path: Path) -> bool:
    """A request sheet dropped in the inbox."""
    return not is_ignored(path) and path.name.lower().endswith(".xlsx")


class _Settle:
    """Remembers each file's (size, mtime) to tell when it has stopped changing, and, from
    local change notification (inotify), its (size, mtime) when a writer closed it."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._seen: dict[Path, tuple[int, int, float]] = {}
        self._closed: dict[Path, tuple[int, int]] = {}  # written by the observer's thread

    def note_closed(self, path: Path) -> None:
        """A writer closed ``path`` (an inotify close-after-write event)."""
        if len(self._closed) >= _KEPT_CLOSES:  # names that never became requests
            self._closed.clear()
        try:
            st = os.lstat(path)
        except OSError:
            return
        self._closed[path] = (st.st_size, st.st_mtime_ns)

    def closed_unchanged(self, path: Path, st: os.stat_result) -> bool:
        """Whether ``path``, whose ``fstat`` is ``st``, has not changed since a writer
        closed it: nothing is writing it any more. Never true under polling (network
        shares), which sees no close."""
        return self._closed.get(path) == (st.st_size, st.st_mtime_ns)

    def ready(self, path: Path, st: os.stat_result, interval: float | None = None) -> bool:
        """Whether ``path``, whose ``fstat`` is ``st``, has stopped changing."""
        interval = self.interval if interval is None else interval
        now = time.time()
        if now - st.st_mtime >= interval:
            return True
        previous = self._seen.get(path)
        if previous and previous[:2] == (st.st_size, st.st_mtime_ns):
            return now - previous[2] >= interval
        self._seen[path] = (st.st_size, st.st_mtime_ns, now)
        return False

    def forget(self, path: Path) -> None:
        self._seen.pop(path, None)
        self._closed.pop(path, None)


class _Wake(FileSystemEventHandler):
    def __init__(self, event: threading.Event, settle: _Settle) -> None:
        self.event = event
        self.settle = settle

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type == EVENT_TYPE_CLOSED and not event.is_directory:
            self.settle.note_closed(Path(os.fsdecode(event.src_path)))
        self.event.set()


@contextmanager
def _stop_on_signals(stop: threading.Event, wake: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM end the loop after the current request, not in the middle of it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(*_: object) -> None:
        stop.set()
        wake.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


class WatchError(PipelineError):
    """The watcher cannot start; the message says why."""


@contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """One watcher per workspace: a second one refuses to start rather than race the first
    (both would see the same files; the journal would keep them from signing twice, but a
    clerk would get confusing duplicate rejections)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            raise WatchError(f"another `pipeline watch` (pid {holder}) is already watching this "
                             f"workspace; stop it first (only one watcher per workspace)"
                             ) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)
            fcntl.flock(f, fcntl.LOCK_UN)


def watch(processor: Processor, options: WatchOptions,
          on_outcome: Callable[[Outcome], None] = lambda _o: None,
          stop: threading.Event | None = None) -> None:
    """Process the inbox until stopped (or, with ``once``, until nothing more can be done
    now). The inbox is read here; the requests run in ``options.workers`` processes (or in
    this one with ``workers=0``). Requests held by a fault of the set-up or of a service are
    retried when their back-off time has come; the index is rebuilt when work pauses, or
    every ``index_every`` seconds during a burst. Notices are sent by a thread of their own
    (:class:`Background`), woken by each outcome: a slow mail server never holds intake."""
    ws = processor.ws
    try:
        for folder in (ws.inbox, ws.rejected, ws.received, ws.outbox, ws.pending, ws.state):
            guard.check_folder(folder, ws.root)
    except guard.UnsafeFolder as exc:
        raise WatchError(str(exc)) from None
    inbox = ws.inbox
    inbox.mkdir(parents=True, exist_ok=True)
    stop = stop or threading.Event()
    wake = threading.Event()
    settle = _Settle(options.settle)
    with _exclusive(processor.ws.state / "watch.lock"), _stop_on_signals(stop, wake):
        runner: Runner = (PoolRunner(processor.config, options.workers, wake.set)
                          if options.workers else InlineRunner(processor))
        index = _IndexDebounce(processor, options.index_every)
        index.changed = True  # at start: a run killed before its end may have left it stale
        observer = None
        if not options.once:
            observer = (PollingObserver if options.polling else Observer)()
            observer.schedule(_Wake(wake, settle), str(inbox), recursive=False)
            observer.start()
        backoff = _Backoff(processor.config.retry_first)
        notices = None if options.once else Background(processor.config).start()
        try:
            processor.clear_leftovers()
            for request_id in processor.open_requests():  # held ones too: it is a restart
                runner.submit(request_id)
            while True:
                for outcome in runner.completed():
                    index.changed = True  # the index lists every request, whatever its state
                    backoff.note(outcome)
                    on_outcome(outcome)
                    if notices is not None:
                        notices.wake()
                backoff.failed(runner.failures())
                if stop.is_set():
                    break
                copying = backoff.guard("intake", lambda: _intake(
                    processor, runner, settle, index, on_outcome)) or False
                if not options.once:  # requests held for a retry, when their time has come
                    backoff.guard("retries", functools.partial(_retry_due, processor, runner,
                                                               backoff))
                busy = bool(runner.in_flight)
                backoff.guard("index", functools.partial(index.maybe_rebuild, busy))
                if options.once and not copying and not busy:
                    break
                wake.wait(min(options.settle, options.rescan) if copying else options.rescan)
                wake.clear()
        finally:
            if observer is not None:
                observer.stop()
                observer.join()
            runner.close()
            if notices is not None:
                notices.stop()
            for outcome in runner.completed():
                index.changed = True
                on_outcome(outcome)
            index.wait()  # whatever the back-off says: no rebuild outlives the watcher
            backoff.guard("index", index.finish)


def _intake(processor: Processor, runner: Runner, settle: _Settle, index: _IndexDebounce,
            on_outcome: Callable[[Outcome], None]) -> bool:
    """One look at the inbox: take the sheets that are complete, the attachments now due,
    refuse strays. True while a sheet is still being copied. Nothing is taken while the
    workspace's disk is below ``[watch] min_free_mb``: the sheets wait in the inbox."""
    ws = processor.ws
    low = faults.low_space((ws.state,), processor.config.min_free_mb)
    if low is not None:
        raise _Paused(low)
    copying = False
    claimed = processor.claimed_sources()
    for path in sorted(p for p in ws.inbox.iterdir() if is_candidate(p)):
        if Path(os.path.abspath(path)) in claimed:  # its request moves it when retried
            continue
        if not _complete(path, settle):
            copying = True
            continue
        settle.forget(path)
        try:
            runner.submit(processor.take(path, take=True).id)
        except Refused as refused:  # a link or the like: moved to rejected/
            index.changed = True
            on_outcome(refused.outcome)
    for request_id in processor.attachments_due():
        runner.submit(request_id)
    _reject_strays(processor, ws.inbox)
    return copying


def _retry_due(processor: Processor, runner: Runner, backoff: _Backoff) -> None:
    for request_id in processor.open_requests(due_only=True):
        if backoff.due(request_id):
            runner.submit(request_id)


class _Paused(Exception):
    """Intake waits for the machine: ``fault`` says why."""

    def __init__(self, fault: faults.Fault) -> None:
        super().__init__(str(fault))
        self.fault = fault


class _Backoff:
    """What the watcher does not try again too soon, in memory (so that it holds even when
    the journal cannot record a hold, its disk being full): requests whose outcome was a
    hold, requests whose worker failed, and the watcher's own tasks (intake, index) that hit
    a fault. Each waits ``first`` seconds, doubling after each failure, at most 30 min; one
    log line when a task's reason changes, and one when it works again."""

    def __init__(self, first: float) -> None:
        self._first = first
        self._until: dict[str, float] = {}
        self._attempts: dict[str, int] = {}
        self._reasons: dict[str, str] = {}

    def _hold(self, key: str, seconds: float | None = None) -> float:
        attempts = self._attempts.get(key, 0)
        delay = retry_delay(self._first, attempts) if seconds is None else seconds
        self._attempts[key] = attempts + 1
        self._until[key] = time.monotonic() + delay
        return delay

    def _clear(self, key: str) -> None:
        self._until.pop(key, None)
        self._attempts.pop(key, None)

    def due(self, key: str) -> bool:
        return time.monotonic() >= self._until.get(key, 0.0)

    def note(self, outcome: Outcome) -> None:
        if outcome.request_id is None:
            return
        if outcome.retry_at is None:
            self._clear(outcome.request_id)
        else:
            seconds = (outcome.retry_at - datetime.now(UTC)).total_seconds()
            self._hold(outcome.request_id, max(0.0, seconds))

    def failed(self, request_ids: list[str]) -> None:
        for request_id in request_ids:
            self._hold(request_id)

    def guard(self, task: str, work: Callable[[], object]) -> object:
        """Run one of the watcher's tasks unless it is waiting; a fault (or any error: the
        watcher stays up) makes it wait. Returns what the task returned, else None."""
        if not self.due(task):
            return None
        try:
            result = work()
        except Exception as exc:  # noqa: BLE001 - the watcher outlives any fault
            fault = exc.fault if isinstance(exc, _Paused) else faults.classify(exc)
            reason = str(fault) if fault else f"{type(exc).__name__}: {exc}"
            delay = self._hold(task)
            if not faults.same_reason(self._reasons.get(task, ""), reason):
                log.error("%s paused, next try in %.0f s: %s", task, delay, reason,
                          exc_info=exc if fault is None else None)
            self._reasons[task] = reason
            return None
        if self._reasons.pop(task, None) is not None:
            log.info("%s works again", task)
        self._clear(task)
        return result


class _IndexDebounce:
    """The index is derived from every bundle, so during a burst it is rebuilt at most every
    ``every`` seconds, or four times as long as the last rebuild took (a large archive), rather
    than once per request; and once more when the watcher stops. A rebuild reads every
    manifest (minutes for 100,000 bundles), so it runs beside the watcher's loop, in a thread
    of its own (with its own journal connection, as ``index.gather`` opens one): intake and
    the workers' outcomes do not wait for it (``bench/bench_archive.py``)."""

    def __init__(self, processor: Processor, every: float) -> None:
        self._processor = processor
        self._every = every
        self._took = 0.0
        self._last = time.monotonic()
        self._thread: threading.Thread | None = None
        self._failed: Exception | None = None
        self.changed = False

    def maybe_rebuild(self, busy: bool) -> None:
        """Start a rebuild when one is due; a failure of the last one is raised here (for
        the watcher's back-off), and what it was to write stays to be written."""
        if self._thread is not None:
            if self._thread.is_alive():
                return
            self._thread = None
            failed, self._failed = self._failed, None
            if failed is not None:
                self.changed = True
                raise failed
        interval = max(self._every, 4 * self._took)
        if self.changed and (not busy or time.monotonic() - self._last >= interval):
            self.changed = False
            self._thread = threading.Thread(target=self._rebuild, name="index", daemon=True)
            self._thread.start()

    def wait(self) -> None:
        """Until the rebuild under way, if any, is over."""
        if self._thread is not None:
            self._thread.join()

    def finish(self) -> None:
        """When the watcher stops: wait for a rebuild under way, then write what changed."""
        self.wait()
        self.maybe_rebuild(busy=False)
        if self._thread is not None:
            self._thread.join()
            self.maybe_rebuild(busy=False)  # raises its failure

    def _rebuild(self) -> None:
        start = time.monotonic()
        try:
            self._processor.rebuild_index()
        except Exception as exc:  # noqa: BLE001 - raised in the watcher's loop, by maybe_rebuild
            self._failed = exc
        self._last = time.monotonic()
        self._took = self._last - start


def _complete(path: Path, settle: _Settle) -> bool:
    """Unchanged for the settle interval and a whole .xlsx (zip) file; or, at once, a whole
    zip that has not changed since its writer closed it (local disks: the close is seen).
    A settled file that is not a zip yet gets a longer grace, then is taken anyway (and
    rejected as unreadable). What is not a regular file is "complete" at once, to be
    refused without being opened."""
    try:
        with guard.open_regular(path) as (fd, st):
            if not settle.closed_unchanged(path, st) and not settle.ready(path, st):
                return False
            with os.fdopen(os.dup(fd), "rb") as f:
                whole = zipfile.is_zipfile(f)
    except guard.NotAFile:
        return True
    except FileNotFoundError:
        settle.forget(path)
        return False
    return whole or settle.ready(path, st, settle.interval * INCOMPLETE_GRACE)


def _reject_strays(processor: Processor, inbox: Path) -> None:
    """Reject files that are not sheets and that no sheet names, once they have waited as
    long as an attachment may wait for its sheet."""
    awaited = {name for names in processor.awaited_attachments().values() for name in names}
    wait = processor.config.attachment_wait
    for path in sorted(inbox.iterdir()):
        if is_ignored(path) or is_candidate(path) or path.name in awaited:
            continue
        # a link or the like is refused at once; a file waits for the sheet that names it
        if guard.is_hostile(path) or time.time() - path.lstat().st_mtime >= wait:
            rejection = reject_stray(path, processor.ws.rejected, datetime.now(UTC))
            log.info("rejected %s: not a request sheet; report %s", path.name, rejection.report)


def drain(processor: Processor, settle: float = 0.0, workers: int = 0) -> list[Outcome]:
    """Process everything in the inbox now (``watch --once``) and return what happened."""
    outcomes: list[Outcome] = []
    watch(processor, WatchOptions(once=True, settle=settle, workers=workers),
          on_outcome=outcomes.append)
    return outcomes
