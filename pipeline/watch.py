"""Watching the inbox: watchdog events to react at once, a periodic rescan because events
do not always arrive (network shares), and a settle check so a file still being copied is
never taken half-written."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from pipeline.processing import Outcome, Processor

log = logging.getLogger(__name__)

IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload")


@dataclass(frozen=True)
class WatchOptions:
    once: bool = False
    settle: float = 1.0  # seconds a file must stay unchanged before it is taken
    rescan: float = 10.0  # seconds between full rescans
    polling: bool = False


def is_candidate(path: Path) -> bool:
    """A request sheet dropped in the inbox: not a lock file, hidden file or partial download."""
    name = path.name
    return (path.is_file() and not name.startswith(("~$", "."))
            and not name.lower().endswith(IGNORED_SUFFIXES)
            and name.lower().endswith(".xlsx"))


class _Settle:
    """Remembers each file's (size, mtime) to tell when it has stopped changing."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._seen: dict[Path, tuple[int, int, float]] = {}

    def ready(self, path: Path) -> bool:
        try:
            st = path.stat()
        except FileNotFoundError:
            self._seen.pop(path, None)
            return False
        now = time.time()
        if now - st.st_mtime >= self.interval:
            return True
        previous = self._seen.get(path)
        if previous and previous[:2] == (st.st_size, st.st_mtime_ns):
            return now - previous[2] >= self.interval
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
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM end the loop after the current request, not in the middle of it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = lambda *_: stop.set()  # noqa: E731
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def watch(processor: Processor, options: WatchOptions,
          on_outcome: Callable[[Outcome], None] = lambda _o: None,
          stop: threading.Event | None = None) -> list[Outcome]:
    """Process the inbox until stopped (or, with ``once``, until it is empty)."""
    inbox = processor.ws.inbox
    inbox.mkdir(parents=True, exist_ok=True)
    stop = stop or threading.Event()
    wake = threading.Event()
    settle = _Settle(options.settle)
    outcomes: list[Outcome] = []

    def handle(outcome: Outcome) -> None:
        outcomes.append(outcome)
        on_outcome(outcome)

    for outcome in processor.resume():
        handle(outcome)
    observer = None
    if not options.once:
        observer = (PollingObserver if options.polling else Observer)()
        observer.schedule(_Wake(wake), str(inbox), recursive=False)
        observer.start()
    try:
        with _stop_on_signals(stop):
            while not stop.is_set():
                waiting = False
                for path in sorted(p for p in inbox.iterdir() if is_candidate(p)):
                    if stop.is_set():
                        break
                    if not settle.ready(path):
                        waiting = True
                        continue
                    settle.forget(path)
                    handle(processor.process(path, take=True))
                if options.once and not waiting:
                    break
                wake.wait(min(options.settle, options.rescan) if waiting else options.rescan)
                wake.clear()
    finally:
        if observer is not None:
            observer.stop()
            observer.join()
    return outcomes
