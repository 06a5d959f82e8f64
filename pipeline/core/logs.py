"""Logging: one line per state change, to stderr and ``.pipeline/pipeline.log``.

Only request IDs, file names, states and messages are logged: never a key, passphrase or PIN
(the error messages that reach the log are written so as not to hold them).

The log must never be what fills the disk or hides the product's words (issue 15: a
read-only outbox once produced 1,250 identical lines a second, 73 MB in 26 s):

- the same record repeated within a minute is written once, and the next one says how many
  were left out;
- the file is rotated at 10 MB, keeping five old ones (at most 60 MB in all), under a lock
  that the watcher, its workers and the commands share;
- a line that cannot be written (the disk is full, the folder read-only) is counted, not
  printed to stderr with a traceback as :mod:`logging` does by default;
- stderr carries the pipeline's own lines, each on one line; other libraries' records and
  every traceback go to the file only.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
import time
from pathlib import Path

LOG_NAME = "pipeline.log"
MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 5
REPEAT_WINDOW = 60.0  # seconds in which an identical record is written once
_MAX_KEYS = 1000
_state_dir: Path | None = None


def configure(state_dir: Path | None) -> None:
    """Log the pipeline's own INFO lines, and others' warnings, to stderr and, when the
    workspace's private folder exists, to its log file (appended, shared by the workers)."""
    global _state_dir
    repeats = _Repeats()
    console = logging.StreamHandler(sys.stderr)
    console.addFilter(_own)
    console.setFormatter(_OneLine("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handlers: list[logging.Handler] = [console]
    _state_dir = state_dir if state_dir is not None and state_dir.is_dir() else None
    if _state_dir is not None:
        shared = SharedFileHandler(_state_dir / LOG_NAME)
        shared.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s "
                                              "%(name)s: %(message)s"))
        handlers.append(shared)
    for handler in handlers:
        handler.addFilter(repeats)
    logging.basicConfig(level=logging.WARNING, handlers=handlers, force=True)
    logging.getLogger("pipeline").setLevel(logging.INFO)
    sys.unraisablehook = _unraisable


_UNRAISABLE = logging.getLogger("unraisable")  # not a pipeline.* logger: the file only


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """An exception Python cannot raise (in a ``__del__``, say: a library's ZipFile whose
    close fails on a full disk, after the error itself was handled) goes to the log file
    with its traceback, not onto stderr as Python's default hook prints it."""
    exc = unraisable.exc_value
    _UNRAISABLE.warning("%s: %s", unraisable.err_msg or "Exception ignored in",
                        unraisable.object, exc_info=(unraisable.exc_type, exc,
                                                     unraisable.exc_traceback)
                        if exc is not None else None)


def state_dir() -> Path | None:
    """The folder of the log file this process writes, for worker processes to use too."""
    return _state_dir


def _own(record: logging.LogRecord) -> bool:
    return record.name == "pipeline" or record.name.startswith("pipeline.")


class _OneLine(logging.Formatter):
    """A record on one line: its traceback, if any, is in the log file only."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            text = super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved
        text = " ".join(text.splitlines())
        return f"{text} (details in the log file)" if saved[0] and _state_dir else text


class _Repeats(logging.Filter):
    """Lets the first of identical records through and drops the same one again within
    REPEAT_WINDOW; the first after the window says how many were dropped."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Decided once per record, whichever handler asks first (each handler has it)."""
        verdict = getattr(record, "_pipeline_verdict", None)
        if verdict is None:
            verdict = self._decide(record)
            record._pipeline_verdict = verdict
        return verdict

    def _decide(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage())
        now = time.monotonic()
        first, dropped = self._seen.get(key, (float("-inf"), 0))
        if now - first < REPEAT_WINDOW:
            self._seen[key] = (first, dropped + 1)
            return False
        if len(self._seen) >= _MAX_KEYS:
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < REPEAT_WINDOW}
        self._seen[key] = (now, 0)
        if dropped:
            record.msg = f"{record.getMessage()} (and {dropped} more time(s) before)"
            record.args = None
        return True


class SharedFileHandler(logging.Handler):
    """Appends each record to ``path``, which several processes share, and rotates it at
    MAX_BYTES (``path.1`` … ``path.5``) under an ``flock`` on a lock file beside it, so that
    two processes never rotate at once nor write into a file just renamed away. Opening
    per record costs some microseconds; the pipeline logs a few lines per request."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._lock_path = path.with_name(f".{path.name}.lock")
        self._dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
        except Exception:  # noqa: BLE001 - a bad format string must not stop the service
            self._dropped += 1
            return
        try:
            with self._lock_path.open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if self.path.exists() and self.path.stat().st_size >= MAX_BYTES:
                    self._rotate()
                with self.path.open("a", encoding="utf-8") as f:
                    if self._dropped:
                        f.write(f"-- {self._dropped} log line(s) could not be written (disk "
                                f"full or read-only) --\n")
                        self._dropped = 0
                    f.write(line)
        except OSError:
            self._dropped += 1

    def _rotate(self) -> None:
        for n in range(BACKUPS - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
