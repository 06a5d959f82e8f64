"""What processing a request gives back to the watcher and the command line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.core.request import Problem, Request
from pipeline.intake.rejection import Rejection
from pipeline.records.journal import State


class Refused(Exception):
    """An inbox entry that is not a regular file was refused when it was taken."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(f"{outcome.source.name} refused")
        self.outcome = outcome


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


@dataclass(frozen=True)
class PendingRequest:
    """A request waiting for the director: what the approval queue shows."""

    request_id: str
    request: Request
    waiting_since: datetime
    pdf: Path  # the provider-signed form, for the director to read
    attachments: tuple[Path, ...] = ()  # its attachments, in pending/<ID>/, in the sheet's order
