"""Shared fixtures: one LibreOffice converter and one test PKI for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def converter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One long-lived LibreOffice for every test that converts."""
    from pipeline.office import Converter

    with Converter(profile_dir=tmp_path_factory.mktemp("lo-profile")) as conv:
        yield conv
