"""Logging: one line per state change, to stderr and ``.pipeline/pipeline.log``.

Only request IDs, file names, states and messages are logged: never a key, passphrase or PIN
(the error messages that reach the log are written so as not to hold them).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

LOG_NAME = "pipeline.log"


def configure(state_dir: Path | None) -> None:
    """Log the pipeline's own INFO lines, and others' warnings, to stderr and, when the
    workspace's private folder exists, to its log file (appended, shared by the workers)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if state_dir is not None and state_dir.is_dir():
        handlers.append(logging.FileHandler(state_dir / LOG_NAME, encoding="utf-8"))
    logging.basicConfig(level=logging.WARNING, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pipeline").setLevel(logging.INFO)
