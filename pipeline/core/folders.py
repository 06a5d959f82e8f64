"""The workspace's folders: where the office's shared folders (inbox, outbox, pending) and the
service's private one (.pipeline) are. Every stage needs them; they depend on nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CONFIG_NAME = "pipeline.toml"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def rejected(self) -> Path:
        return self.inbox / "rejected"

    @property
    def received(self) -> Path:
        """The clerk's receipts: one per sheet taken, naming its request ID."""
        return self.inbox / "received"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    @property
    def pending(self) -> Path:
        """Provider-signed forms waiting for the director, for the director to read."""
        return self.root / "pending"

    @property
    def state(self) -> Path:
        """Private working area: the journal, per-request work folders, the log."""
        return self.root / ".pipeline"

    @property
    def journal_file(self) -> Path:
        return self.state / "journal.sqlite"

    @property
    def work(self) -> Path:
        return self.state / "work"

    @property
    def scratch(self) -> Path:
        """Temporary folders of commands in progress (:mod:`pipeline.core.scratch`)."""
        return self.state / "tmp"
