"""The notices no state change causes, queued when they are due: the director's daily digest
and reminders, the webmaster's digest and reminders, and the admin's (a request held too
long, timestamps to refresh, a full disk). Each has a key per period (the day, the week, the
reminder's number, the hold), so running the checks again, or after a restart, queues
nothing twice. Pass ``now`` to run them at another time (tests, a frozen clock)."""

from __future__ import annotations

import logging
import shutil
from datetime import date, datetime, timedelta

from pipeline.bundles import bundle
from pipeline.bundles.publish import publications
from pipeline.core import thai, workfolder
from pipeline.notify import build, follow_up
from pipeline.notify.build import Item
from pipeline.notify.events import Kind
from pipeline.notify.queue import enqueue
from pipeline.records.journal import Journal, State
from pipeline.settings.config import Config
from pipeline.signatures import timestamps
from pipeline.signatures.model import SigningError

log = logging.getLogger(__name__)


class Checks:
    """Remembers which day's scans of the outbox were made, so that the costly ones (every
    bundle's manifest, every signed PDF's timestamps) run once a day, not at every turn."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._scanned: dict[str, date] = {}

    def run(self, journal: Journal, now: datetime | None = None) -> int:
        """Queue whatever is due at ``now``; returns how many rows were queued."""
        now = now or datetime.now(thai.BANGKOK)
        local = now.astimezone(thai.BANGKOK)
        n = self.director(journal, now, local)
        n += self.held(journal, now)
        n += self.disk(journal, now, local)
        if local.time() >= self.config.notify.webmaster_digest and self._once("web", local):
            n += self.webmaster(journal, now, local)
        if self._once("timestamps", local):
            n += self.timestamps(journal, now, local)
        if self._once("obligations", local):
            n += follow_up.obligations(self.config, journal, now)
        if self._once("published", local):
            n += follow_up.publications(self.config, journal, now)
        return n

    def _once(self, scan: str, local: datetime) -> bool:
        if self._scanned.get(scan) == local.date():
            return False
        self._scanned[scan] = local.date()
        return True

    def director(self, journal: Journal, now: datetime, local: datetime) -> int:
        waiting = journal.in_state(State.AWAITING_DIRECTOR)
        items = [Item(e.id, _title(self.config, e.id), e.updated_at) for e in waiting]
        n = 0
        days = self.config.notify.director_days
        for item in items:
            period = (now - item.since) // timedelta(days=days)
            if period >= 1:
                n += enqueue(journal, self.config, build.director_reminder(self.config, item,
                                                                            period), now)
        at = self.config.notify.director_digest
        key = f"{Kind.DIRECTOR_DIGEST}:{local.date().isoformat()}"
        if at is not None and items and local.time() >= at and not journal.notices.queued(key):
            n += enqueue(journal, self.config,
                         build.director_digest(self.config, local.date(), items), now)
        return n

    def held(self, journal: Journal, now: datetime) -> int:
        limit = timedelta(hours=self.config.notify.held_hours)
        return sum(enqueue(journal, self.config,
                           build.held(self.config, e.id, e.state, e.held_since, e.message), now)
                   for e in journal.held() if e.held_since and now - e.held_since > limit)

    def disk(self, journal: Journal, now: datetime, local: datetime) -> int:
        root = self.config.workspace.root
        usage = shutil.disk_usage(root)
        percent = 100 * (usage.total - usage.free) / usage.total if usage.total else 0.0
        if percent <= self.config.notify.disk_percent:
            return 0
        return enqueue(journal, self.config,
                       build.disk_full(self.config, local.date(), percent, root), now)

    def webmaster(self, journal: Journal, now: datetime, local: datetime) -> int:
        """Approved bundles not recorded as published: today's digest, and a reminder for
        each that has waited longer than ``webmaster_reminder_days``."""
        items = [i for e in journal.in_state(State.ARCHIVED)
                 if (i := _unpublished(self.config, e.id)) is not None]
        if not items:
            return 0
        n = enqueue(journal, self.config, build.webmaster_digest(self.config, local.date(),
                                                                 items), now)
        days = self.config.notify.webmaster_days
        for item in items:
            period = (now - item.since) // timedelta(days=days)
            if period >= 1:
                n += enqueue(journal, self.config,
                             build.webmaster_reminder(self.config, item, period), now)
        return n

    def timestamps(self, journal: Journal, now: datetime, local: datetime) -> int:
        """Bundles whose newest document timestamp expires within ``timestamps_due_days``:
        one notice a week (ISO week) while any are due."""
        year, week, _ = local.isocalendar()
        key = f"{year}-W{week:02d}"
        if journal.notices.queued(f"{Kind.TIMESTAMPS_DUE}:{key}"):
            return 0
        window = now + timedelta(days=self.config.notify.timestamps_days)
        due = []
        for entry in journal.in_state(State.ARCHIVED):
            pdf = self.config.workspace.outbox / entry.id / bundle.pdf_name(entry.id)
            try:
                stamps = timestamps.document_timestamps(pdf) if pdf.is_file() else []
            except SigningError as exc:
                log.debug("%s: timestamps unreadable: %s", entry.id, exc)
                continue
            if stamps and stamps[-1].expires <= window:
                due.append((entry.id, stamps[-1].expires))
        if not due:
            return 0
        return enqueue(journal, self.config, build.timestamps_due(self.config, key, due), now)


def _manifest(config: Config, request_id: str) -> dict | None:
    folder = config.workspace.outbox / request_id
    try:
        return bundle.read_manifest(folder) if bundle.is_bundle(folder) else None
    except (OSError, ValueError):
        return None


def _title(config: Config, request_id: str) -> str:
    """A waiting request's title, from its work folder (empty when it cannot be read)."""
    request = workfolder.read_request(config.workspace.work / request_id)
    return request.title if request else ""


def _unpublished(config: Config, request_id: str) -> Item | None:
    manifest = _manifest(config, request_id)
    if (manifest is None or manifest.get("status") != "approved"
            or publications(manifest)):
        return None
    return Item(request_id, manifest["request"]["title"],
                datetime.fromisoformat(manifest["times"]["archived"]))
