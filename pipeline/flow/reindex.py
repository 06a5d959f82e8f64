"""When the watcher rewrites ``index.xlsx`` and ``index.csv``.

The index is derived data: the journal and the bundles are the truth, and the index says
whether it is current (freshness.py). Gathering its rows costs little once the rows are kept
(index_cache.py: a stat per bundle), but writing the workbook costs in proportion to the
archive (openpyxl, about 0.25 ms a row: 25 s for 100,000 bundles), and a file cannot be
rewritten in part. So the choice is when to write it, not whether to write it all:

* when work pauses (nothing in flight), at once: after a burst the index is current within
  the time of one rewrite;
* during a burst, no more often than keeps its rewrites under :data:`SHARE` of one core:
  every ``every`` seconds at least, and ``1/SHARE - 1`` times as long as a rewrite takes
  (the last one's time, or before one, :data:`SECONDS_PER_ROW` times the journal's
  requests). The index work per request is then bounded by ``SHARE`` core-seconds over the
  requests per second, whatever the archive's size (bench/bench_archive.py): the cost per
  request stays flat;
* at start only checked (freshness.ensure_current), and rewritten if stale: a watcher killed
  before its last rewrite leaves it stale, a watcher restarted on a current index costs
  one gathering, not one rewrite;
* once more when the watcher stops.

A rewrite runs beside the watcher's loop, in a thread of its own (with its own journal
connection, as ``index.gather`` opens one): intake and the workers' outcomes do not wait for it.
"""

from __future__ import annotations

import threading
import time

from pipeline.flow.processing import Processor
from pipeline.records import freshness, index_files
from pipeline.records.journal import Journal

SHARE = 0.05  # of one core, at most, for the index's rewrites during a burst
SECONDS_PER_ROW = 0.00025  # a rewrite's cost per row, until one is measured (bench_index.py)


class IndexDebounce:
    def __init__(self, processor: Processor, every: float) -> None:
        self._processor = processor
        self._every = every
        self._took: float | None = None  # seconds the last rewrite took; None: none yet
        self._estimate = 0.0  # seconds a rewrite would take, before one was measured
        self._last = time.monotonic()
        self._thread: threading.Thread | None = None
        self._failed: Exception | None = None
        self._check = True  # the first run only checks, and rewrites a stale index
        self.changed = True

    def interval(self) -> float:
        """Seconds between rewrites during a burst."""
        took = self._took if self._took is not None else self._estimate
        return max(self._every, took * (1 / SHARE - 1))

    def maybe_rebuild(self, busy: bool) -> None:
        """Start a rewrite (or the first check) when one is due; a failure of the last one is
        raised here (for the watcher's back-off), and what it was to write stays to be
        written."""
        if self._thread is not None:
            if self._thread.is_alive():
                return
            self._thread = None
            failed, self._failed = self._failed, None
            if failed is not None:
                self.changed = True
                raise failed
        if self.changed and (not busy or self._check
                             or time.monotonic() - self._last >= self.interval()):
            self.changed = False
            self._thread = threading.Thread(target=self._rebuild, name="index", daemon=True)
            self._thread.start()

    def wait(self) -> None:
        """Until the rewrite under way, if any, is over."""
        if self._thread is not None:
            self._thread.join()

    def finish(self) -> None:
        """When the watcher stops: wait for a rewrite under way, then write what changed."""
        self.wait()
        self.maybe_rebuild(busy=False)
        if self._thread is not None:
            self._thread.join()
            self.maybe_rebuild(busy=False)  # raises its failure

    def _rebuild(self) -> None:
        start = time.monotonic()
        ws = self._processor.ws
        try:  # an index the workspace has not yet is written at once, even an empty one
            if self._check and (ws.outbox / index_files.INDEX_NAME).exists():
                self._estimate = SECONDS_PER_ROW * self._requests()
                rewritten = freshness.ensure_current(ws) is not None
            else:
                self._processor.rebuild_index()
                rewritten = True
            self._check = False
        except Exception as exc:  # noqa: BLE001 - raised in the watcher's loop, by maybe_rebuild
            self._failed = exc
            return
        finally:
            self._last = time.monotonic()
        if rewritten:
            self._took = self._last - start

    def _requests(self) -> int:
        journal = Journal(self._processor.ws.journal_file)
        try:
            return journal.changed()[0]
        finally:
            journal.close()
