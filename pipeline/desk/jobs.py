"""Work that outlives one page: the director's approval of several requests, signed one
after another with one key load, while the page shows how far it has got.

A job runs in a thread of the desk's process and lives in memory only: the journal, not the
job, is the record of what was signed, so a desk restarted in the middle loses nothing but
the progress page (the approvals already signed are archived, the rest still wait, and an
interrupted one is finished by the next decision: :class:`pipeline.flow.decisions.Decision`).
A job is visible only to the account that started it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.flow.outcome import Outcome

MAX_KEPT = 100  # finished jobs kept for their pages; the oldest are forgotten first


@dataclass
class Job:
    owner: str  # the login that started it
    total: int
    done: int = 0
    current: str = ""
    outcomes: list[Outcome] = field(default_factory=list)
    error: str = ""  # a message for the director, never a traceback or a secret
    finished: bool = False


class Jobs:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self, owner: str, total: int, work: Callable[[Job], None]) -> str:
        """Run ``work(job)`` in a thread; ``work`` updates the job as it goes."""
        job_id = secrets.token_urlsafe(12)
        job = Job(owner, total)
        with self._lock:
            self._jobs[job_id] = job
            finished = [k for k, j in self._jobs.items() if j.finished]
            for old in finished[:max(0, len(finished) - MAX_KEPT)]:
                del self._jobs[old]

        def run() -> None:
            try:
                work(job)
            finally:
                job.finished = True

        thread = threading.Thread(target=run, name=f"desk-job-{job_id}", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return job_id

    def wait(self, timeout: float) -> bool:
        """Give the running jobs up to ``timeout`` seconds in all to finish (the desk is
        stopping); whether they all did. A job still running when the process ends is cut
        between two approvals or inside one: the journal finishes that one on the next
        decision (nothing is signed twice or lost), and each approval already signed is in
        the audit log, written as it was signed."""
        with self._lock:
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in threads)

    def get(self, job_id: str, owner: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None
