"""What the desk's tests share: a cheap Argon2id hasher (the real algorithm, smaller
parameters, so that a test of twenty failed sign-ins takes milliseconds per hash), a fixed
moment, and every byte the workspace's state holds, to search for secrets."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher

from pipeline.core import thai
from pipeline.desk.accounts import Accounts
from pipeline.settings.config import Config

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=thai.BANGKOK)
PASSWORD = "ม้าลาย-zebra-2569"  # Thai and ASCII: what an office password looks like


class CountingHasher(PasswordHasher):
    """Argon2id with small parameters that counts its verifications."""

    def __init__(self, time_cost: int = 1) -> None:
        super().__init__(time_cost=time_cost, memory_cost=1024, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
        self.verified.append(hash if isinstance(hash, str) else hash.decode())
        return super().verify(hash, password)


def accounts(config: Config, hasher: PasswordHasher | None = None) -> Accounts:
    return Accounts(config.workspace.journal_file, config, hasher or CountingHasher())


def state_bytes(config: Config) -> bytes:
    """Everything in the workspace's private folder: the journal with its WAL, the log."""
    return b"".join(p.read_bytes() for p in sorted(Path(config.workspace.state).rglob("*"))
                    if p.is_file())
