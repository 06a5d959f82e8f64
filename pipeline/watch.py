"""Watching the inbox: watchdog events to react at once, a periodic rescan because events
do not always arrive (network shares), and a settle check so a file still being copied is
never taken half-written."""

from __future__ import annotations

import fcntl
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

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from pipeline import guard
from pipeline.processing import Outcome, Processor, Refused
from pipeline.rejection import reject_stray
from pipeline.workers import InlineRunner, PoolRunner, Runner

log = logging.getLogger(__name__)

IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload")
INCOMPLETE_GRACE = 10  # a settled .xlsx that is not yet a valid zip waits this many settles


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
    """Remembers each file's (size, mtime) to tell when it has stopped changing."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._seen: dict[Path, tuple[int, int, float]] = {}

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


class _Wake(FileSystemEventHandler):
    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def on_any_event(self, event: FileSystemEvent) -> None:
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


class WatchError(Exception):
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
    every ``index_every`` seconds during a burst."""
    ws = processor.ws
    try:
        for folder in (ws.inbox, ws.rejected, ws.outbox, ws.pending, ws.state):
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
        observer = None
        if not options.once:
            observer = (PollingObserver if options.polling else Observer)()
            observer.schedule(_Wake(wake), str(inbox), recursive=False)
            observer.start()
        try:
            processor.clear_leftovers()
            for request_id in processor.open_requests():  # held ones too: it is a restart
                runner.submit(request_id)
            while True:
                for outcome in runner.completed():
                    index.changed = True  # the index lists every request, whatever its state
                    on_outcome(outcome)
                if stop.is_set():
                    break
                copying = False  # a sheet still arriving: look again after the settle time
                for path in sorted(p for p in inbox.iterdir() if is_candidate(p)):
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
                _reject_strays(processor, inbox)
                if not options.once:  # requests held for a retry, when their time has come
                    for request_id in processor.open_requests(due_only=True):
                        runner.submit(request_id)
                busy = bool(runner.in_flight)
                index.maybe_rebuild(busy)
                if options.once and not copying and not busy:
                    break
                wake.wait(min(options.settle, options.rescan) if copying else options.rescan)
                wake.clear()
        finally:
            if observer is not None:
                observer.stop()
                observer.join()
            runner.close()
            for outcome in runner.completed():
                index.changed = True
                on_outcome(outcome)
            index.maybe_rebuild(busy=False)


class _IndexDebounce:
    """The index is derived from every bundle, so during a burst it is rebuilt at most every
    ``every`` seconds, or four times as long as the last rebuild took (a large archive), rather
    than once per request; and once more when the burst is over."""

    def __init__(self, processor: Processor, every: float) -> None:
        self._processor = processor
        self._every = every
        self._took = 0.0
        self._last = time.monotonic()
        self.changed = False

    def maybe_rebuild(self, busy: bool) -> None:
        interval = max(self._every, 4 * self._took)
        if self.changed and (not busy or time.monotonic() - self._last >= interval):
            start = time.monotonic()
            self._processor.rebuild_index()
            self._last = time.monotonic()
            self._took = self._last - start
            self.changed = False


def _complete(path: Path, settle: _Settle) -> bool:
    """Unchanged for the settle interval and a whole .xlsx (zip) file. A settled file that is
    not a zip yet gets a longer grace, then is taken anyway (and rejected as unreadable).
    What is not a regular file is "complete" at once, to be refused without being opened."""
    try:
        with guard.open_regular(path) as (fd, st):
            if not settle.ready(path, st):
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
