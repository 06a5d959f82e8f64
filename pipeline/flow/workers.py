"""Running requests: in this process, or in a pool of worker processes to use every core.

Each worker process has its own Processor (its own LibreOffice, parsed keys and journal
connection); the journal's SQLite transactions keep them apart. Workers ignore SIGINT and
SIGTERM, so that stopping the watcher lets the current steps finish, and die with the
watcher if it is killed, so that no orphan goes on working beside its successor.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from pipeline import patches
from pipeline.core import logs
from pipeline.flow.outcome import Outcome
from pipeline.flow.processing import Processor
from pipeline.settings.config import Config

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_worker: Processor | None = None


def _die_with_parent(parent: int) -> None:
    """Linux: SIGKILL this process when the process that started it dies."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def _init_worker(config: Config, parent: int) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    patches.install()  # a spawned process starts with pristine pyHanko
    logs.configure(config.workspace.state)
    global _worker
    _worker = Processor(config)


def _run_in_worker(request_id: str) -> Outcome:
    assert _worker is not None
    return _worker.run(request_id)


class Runner(Protocol):
    """Runs requests by ID and hands back their outcomes."""

    def submit(self, request_id: str) -> None: ...

    def completed(self) -> list[Outcome]: ...

    def failures(self) -> list[str]:
        """Requests whose run failed outside the processor (a worker died): to retry later."""
        ...

    @property
    def in_flight(self) -> frozenset[str]: ...

    def close(self) -> None:
        """Let running requests finish; those not started stay open in the journal."""


class InlineRunner:
    """Runs each request at once, in this process, with the caller's processor."""

    def __init__(self, processor: Processor) -> None:
        self._processor = processor
        self._done: list[Outcome] = []

    def submit(self, request_id: str) -> None:
        self._done.append(self._processor.run(request_id))

    def completed(self) -> list[Outcome]:
        done, self._done = self._done, []
        return done

    def failures(self) -> list[str]:
        return []  # Processor.run returns an outcome whatever happens

    @property
    def in_flight(self) -> frozenset[str]:
        return frozenset()

    def close(self) -> None:
        pass


class PoolRunner:
    """Runs requests in ``workers`` processes; ``notify`` is called (from another thread)
    whenever an outcome is ready, so that the watcher wakes up."""

    def __init__(self, config: Config, workers: int, notify: Callable[[], None]) -> None:
        self._config = config
        self._workers = workers
        self._notify = notify
        self._lock = threading.Lock()
        self._futures: dict[str, Future[Outcome]] = {}
        self._failed: list[str] = []
        self._broken_at = float("-inf")
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker,
                                   initargs=(self._config, os.getpid()))

    def submit(self, request_id: str) -> None:
        with self._lock:
            if request_id in self._futures:
                return
            future = self._pool.submit(_run_in_worker, request_id)
            self._futures[request_id] = future
        future.add_done_callback(lambda _f: self._notify())

    def completed(self) -> list[Outcome]:
        with self._lock:
            done = {i: f for i, f in self._futures.items() if f.done()}
            for request_id in done:
                del self._futures[request_id]
        outcomes = []
        broken = []
        for request_id, future in done.items():
            try:
                outcomes.append(future.result())
            except BrokenProcessPool:
                broken.append(request_id)
            except Exception:  # outside Processor.run (which returns whatever happens)
                log.exception("%s failed in its worker; it stays open and is retried later",
                              request_id)
                self._failed.append(request_id)
        if broken:
            # a worker died (killed, out of memory): the requests are safe in the journal.
            # Retried at once the first time; a pool that breaks again within a minute (its
            # workers cannot even start) leaves them to the watcher's back-off instead.
            again = time.monotonic() - self._broken_at < 60
            self._broken_at = time.monotonic()
            log.error("a worker process died; restarting the workers for %s%s",
                      ", ".join(broken), " (later: it happened again)" if again else "")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            if again:
                self._failed.extend(broken)
            else:
                for request_id in broken:
                    self.submit(request_id)
        return outcomes

    def failures(self) -> list[str]:
        failed, self._failed = self._failed, []
        return failed

    @property
    def in_flight(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._futures)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
