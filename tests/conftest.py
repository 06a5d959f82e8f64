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


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo workspace (PKI, config, sample request) made once; tests take copies."""
    from pipeline import demo

    return demo.create(tmp_path_factory.mktemp("demo-template") / "ws").config.workspace.root


@pytest.fixture
def demo_ws(demo_template: Path, tmp_path: Path):
    """A private copy of the demo workspace for one test."""
    import shutil

    from pipeline import config

    root = tmp_path / "ws"
    shutil.copytree(demo_template, root)
    return config.load(root)


@pytest.fixture
def processor(demo_ws, converter):
    """A processor on the test's workspace, sharing the session's LibreOffice."""
    from pipeline.processing import Processor

    with Processor(demo_ws, converter=converter) as proc:
        yield proc


@pytest.fixture(scope="session")
def pki(demo_template: Path):
    """The session's one test PKI (root, intermediate, a PKCS#12 key per demo person): the
    demo workspace's."""
    from pipeline import demo
    from pipeline.pki import load_pki

    return load_pki(demo_template / demo.PKI_DIR)


@pytest.fixture(scope="session")
def nss_db(pki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An NSS database trusting only the test root, for poppler's pdfsig. NSS checks
    document signers as e-mail signers, hence the root's trust flags "C,C,"."""
    import subprocess

    db = tmp_path_factory.mktemp("nss")
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{db}", "-n", "test-root", "-t", "C,C,",
                    "-i", str(pki.root_pem)], check=True)
    return db
