"""What needs someone's attention now, first thing in ``pipeline status`` (and, later, the
desk's front page): a folder the service cannot write or whose disk is (nearly) full, checked
live, then each request held by such a fault with its reason and when it is tried again.

A held request is recorded in the journal (:meth:`Journal.hold`); the live checks say what the
journal cannot, when the fault is the journal's own disk (issue 15: a full disk was shown only
as requests stuck in their states, with no problem named).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pipeline.core import faults, thai
from pipeline.notify import queue
from pipeline.records.journal import Entry, Journal
from pipeline.settings.config import Config

FULL_MB = 1  # a disk with less free is full, whatever the floor (even ``min_free_mb = 0``)


@dataclass(frozen=True)
class Problem:
    """One line for a person: what is wrong, Thai then English, and who it holds."""

    text: str
    request_id: str = ""
    retry_at: datetime | None = None


def machine_problems(config: Config) -> list[Problem]:
    """Live checks of the folders the service writes: read-only or not writable (each
    folder), and less free space than ``[watch] min_free_mb`` (each file system once)."""
    ws = config.workspace
    found: list[Problem] = []
    devices: set[int] = set()
    for folder in (ws.state, ws.outbox, ws.inbox, ws.rejected, ws.pending):
        fault = faults.read_only_folder(folder)
        if fault is None and (device := faults.device_of(folder)) not in devices:
            devices.add(device)
            fault = faults.low_space((folder,), max(config.min_free_mb, FULL_MB))
        if fault is not None:
            found.append(Problem(str(fault)))
    return found


def held_problems(journal: Journal) -> list[Problem]:
    return [_held(entry) for entry in journal.held()]


def _held(entry: Entry) -> Problem:
    when = f"; {_next_try(entry.retry_at)}" if entry.retry_at else ""
    return Problem(f"{entry.id} {entry.source_name} ({entry.state}) พักไว้ / held: "
                   f"{entry.message}{when}", entry.id, entry.retry_at)


def _next_try(when: datetime) -> str:
    return (f"ลองใหม่ {thai.long_datetime(when, digits=False)} / next try "
            f"{when.astimezone(thai.BANGKOK):%Y-%m-%d %H:%M:%S}")


def notice_problems(journal: Journal) -> list[Problem]:
    """Notices that could not be sent yet: what, to where, the last error, the next try."""
    return [Problem(f"แจ้งเตือนยังส่งไม่ได้ / notice not sent: {w.kind} ({w.channel})"
                    f"{' ' + w.request_id if w.request_id else ''}, {w.attempts} ครั้ง / "
                    f"attempts: {w.last_error}; {_next_try(w.next_try)}",
                    w.request_id, w.next_try)
            for w in queue.status(journal) if w.failing]


def problems(config: Config, journal: Journal) -> list[Problem]:
    """Everything that holds work, the machine's faults first, then failing notices."""
    return machine_problems(config) + held_problems(journal) + notice_problems(journal)
