"""Draining the queue: each due notice handed to its channel; a failure records the attempt,
the error (scrubbed of every secret) and the next try, 30 s later, then twice as long each
time, at most an hour. Nothing is ever dropped.

One sender at a time per workspace (``.pipeline/notify.lock``): the watcher's thread and
``pipeline notify --send`` from cron never send the same row twice. A crash after the server
accepted a message and before the journal recorded it sends that one message again, with the
same Message-ID (and the same LINE retry key, the same webhook delivery ID).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pipeline.notify import checks, line, mail, webhook
from pipeline.notify.events import Notice
from pipeline.notify.mail import SendError
from pipeline.records.journal import Journal
from pipeline.settings.config import Config
from pipeline.settings.notify import NotifySettings

log = logging.getLogger(__name__)

RETRY_FIRST = 30.0
RETRY_MAX = 3600.0
LOCK = "notify.lock"
SENDERS: dict[str, Callable[[NotifySettings, Notice], None]] = {
    "mail": mail.send, "webhook": webhook.send, "line": line.send}


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones (30 s, doubling, 1 h at most)."""
    return min(RETRY_FIRST * 2 ** min(attempts, 16), RETRY_MAX)


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret value replaced: what a server echoed never reaches the
    journal, a log line or a page."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


@dataclass(frozen=True)
class Drained:
    sent: int = 0
    failed: int = 0
    busy: bool = False  # another sender holds the queue now


@contextmanager
def _exclusive(config: Config) -> Iterator[bool]:
    state = config.workspace.state
    state.mkdir(parents=True, exist_ok=True)
    fd = os.open(state / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def send_due(config: Config, journal: Journal, now: datetime | None = None, *,
             limit: int = 100, stop: threading.Event | None = None) -> Drained:
    """Send the notices due at ``now`` (at most ``limit``), stopping early when ``stop`` is
    set. Each attempt is bounded by ``[notify] smtp_timeout``."""
    sent = failed = 0
    with _exclusive(config) as mine:
        if not mine:
            return Drained(busy=True)
        for row in journal.notices.due(now or datetime.now(UTC), limit):
            if stop is not None and stop.is_set():
                break
            notice = Notice.from_payload(row.payload)
            try:
                SENDERS[row.channel](config.notify, notice)
            except Exception as exc:  # noqa: BLE001 - recorded and retried, never dropped
                text = str(exc) if isinstance(exc, SendError) else (
                    f"{type(exc).__name__}: {exc}")
                error = scrub(text, config.notify.secrets())
                delay = retry_delay(row.attempts)
                journal.notices.failed(row.id, error,
                                       (now or datetime.now(UTC)) + timedelta(seconds=delay))
                if error != row.last_error:  # one line per change of reason, not per retry
                    log.warning("notice %s (%s) not sent, next try in %.0f s: %s", row.key,
                                row.channel, delay, error)
                failed += 1
                continue
            journal.notices.sent(row.id, datetime.now(UTC))
            log.info("notice %s sent by %s", row.key, row.channel)
            sent += 1
    return Drained(sent, failed)


class Background:
    """The watcher's sender: a thread with its own journal connection that, every ``every``
    seconds (or when woken), queues the digests, reminders and the admin's notices that are
    due (:mod:`pipeline.notify.checks`) and sends what is due. Intake never waits for it."""

    def __init__(self, config: Config, every: float = 15.0) -> None:
        self._config = config
        self._every = every
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="notify", daemon=True)

    def start(self) -> Background:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=self._config.notify.smtp_timeout * 3 + 5)

    def _run(self) -> None:
        journal = Journal(self._config.workspace.journal_file, self._config.id_prefix)
        watch = checks.Checks(self._config)
        try:
            while not self._stop.is_set():
                try:
                    watch.run(journal)
                    send_due(self._config, journal, stop=self._stop)
                except Exception:  # noqa: BLE001 - the thread outlives any fault
                    log.exception("notices: the sender failed; trying again later")
                self._wake.wait(self._every)
                self._wake.clear()
        finally:
            journal.close()
