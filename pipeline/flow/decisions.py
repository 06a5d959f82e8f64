"""The director's decisions, one implementation for the command line and the web desk.

A decision is taken under the workspace's decision lock (:meth:`Processor.deciding`): a
second ``approve`` or ``reject`` of the same requests, from a terminal or from a browser,
waits and then finds them decided, so a request is never signed twice or both signed and
refused. Approvals interrupted by a kill are finished first, without signing again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from pipeline.core import inputs, thai
from pipeline.core.errors import PipelineError
from pipeline.flow.outcome import Outcome, PendingRequest
from pipeline.flow.processing import Processor
from pipeline.intake import validate
from pipeline.records.journal import State
from pipeline.settings.config import Config


class NotWaiting(PipelineError):
    """A request named for a decision is not (or no longer) waiting for the director."""


@dataclass(frozen=True)
class Approved:
    finished: tuple[Outcome, ...]  # approvals an interrupted run had signed, now archived
    outcomes: tuple[Outcome, ...]  # one per chosen request, in order

    @property
    def ok(self) -> bool:
        return all(o.state == State.ARCHIVED for o in (*self.finished, *self.outcomes))


Progress = Callable[[int, int, Outcome], None]  # (done, of, the outcome just had)


class Decision:
    """An open decision: the processor under the decision lock, what waits, and the
    approvals a killed run left signed (finished on opening)."""

    def __init__(self, processor: Processor) -> None:
        self.processor = processor
        self.finished = tuple(processor.finish_approved())
        self.waiting = {item.request_id: item for item in processor.pending()}

    def choose(self, ids: Sequence[str], *, everything: bool = False,
               approver: str | None = None) -> list[str]:
        """The waiting requests named by ``ids`` (whole IDs or the short numbers the queue
        shows), or every one; typed input is checked before anything is signed. With
        ``approver`` (the web desk: the signed-in account's person), only requests whose
        sheet names that person as approver: an acting director's account never has a
        request addressed to the director signed."""
        if everything:
            return [i for i, item in self.waiting.items() if addressed_to(item, approver)]
        done = {o.request_id for o in self.finished}
        named = [inputs.waiting_id(i, self.waiting, self.processor.config.id_prefix)
                 for i in ids]
        chosen = [i for i in dict.fromkeys(named) if i not in done]
        unknown = [i for i in chosen if i not in self.waiting
                   or not addressed_to(self.waiting[i], approver)]
        if unknown:
            raise NotWaiting(f"ไม่มีคำขอนี้รอผู้อนุมัติ / not waiting for the director: "
                             f"{', '.join(unknown)}")
        return chosen

    def approve(self, chosen: Sequence[str], progress: Progress | None = None) -> Approved:
        """Sign each chosen request as the director (one key load for all) and archive it;
        the index is rebuilt once at the end."""
        outcomes = []
        for n, request_id in enumerate(chosen, 1):
            outcomes.append(self.processor.approve(request_id))
            if progress is not None:
                progress(n, len(chosen), outcomes[-1])
        self.processor.rebuild_index()
        return Approved(self.finished, tuple(outcomes))

    def refuse(self, request_id: str, reason: str, approver: str | None = None) -> Outcome:
        """Return a waiting request to its provider with the director's reason."""
        reason = inputs.reason(reason)  # checked before anything is written
        chosen = self.choose([request_id], approver=approver)
        if not chosen:
            raise NotWaiting(f"{request_id} ถูกตัดสินแล้ว / {request_id} was already decided")
        try:
            outcome = self.processor.refuse(chosen[0], reason)
        except LookupError as exc:
            raise NotWaiting(f"ไม่มีคำขอนี้รอผู้อนุมัติ / {exc}") from None
        self.processor.rebuild_index()
        return outcome


def addressed_to(item: PendingRequest, approver: str | None) -> bool:
    """Whether the sheet names ``approver`` (None: anyone) as the one who approves it."""
    return approver is None or thai.name_key(item.request.approver.name) == thai.name_key(
        approver)


def secret_needed(config: Config, approver: str) -> str | None:
    """What must be typed to use the key that signs for ``approver`` (the director's, or
    the acting director's own), when the configuration gives no source for it."""
    acting = validate.acting_director(approver, config)
    key = acting.key if acting is not None and acting.key is not None else config.director.key
    return key.secret_needed()


def with_secret(config: Config, approver: str, secret: str) -> Config:
    """``config`` with ``secret`` typed for the key that signs for ``approver``, for one
    action (kept in that config object only: KeySource.given)."""
    acting = validate.acting_director(approver, config)
    if acting is not None and acting.key is not None:
        typed = replace(acting, key=replace(acting.key, given=secret))
        others = tuple(typed if a is acting else a for a in config.sheet.acting_directors)
        return replace(config, sheet=replace(config.sheet, acting_directors=others))
    return replace(config, director=config.director.with_secret(secret))


@contextmanager
def deciding(config: Config) -> Iterator[Decision]:
    """A :class:`Decision` for the time of the ``with`` block."""
    with Processor(config) as processor, processor.deciding():
        yield Decision(processor)


def waiting(config: Config) -> list[PendingRequest]:
    """What waits for the director, oldest first (read without the decision lock)."""
    with Processor(config) as processor:
        return processor.pending()
