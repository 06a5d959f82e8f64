"""A quiet terminal: the pipeline's commands print their own words on stderr and nothing
else (no third-party warning at start-up). Run as real processes, since warnings and
import-time output are what an in-process CliRunner would hide."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

PIPELINE = Path(sys.executable).with_name("pipeline")


def quiet_env() -> dict[str, str]:
    """The environment minus anything that would change which warnings show."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONWARNINGS", "PYTHONPATH")}


def test_help_prints_nothing_on_stderr(tmp_path: Path) -> None:
    run = subprocess.run([PIPELINE, "--help"], cwd=tmp_path, env=quiet_env(),
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0
    assert "verify" in run.stdout
    assert run.stderr == ""


def test_only_the_dsa_warning_is_silenced(tmp_path: Path) -> None:
    """The filter is for that one message: another warning of the same category shows."""
    script = ("import warnings, pipeline, pyhanko.sign\n"
              "from cryptography.utils import CryptographyDeprecationWarning as W\n"
              "warnings.warn('something else', W)\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=quiet_env(),
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0
    assert "something else" in run.stderr
    assert "DSA" not in run.stderr


def test_verify_of_attacked_files_prints_only_its_own_words(processor, tmp_path: Path) -> None:
    """pyHanko logs a WARNING with a traceback for a signature whose digest fails; the
    auditor's terminal gets the verdict, and the traceback goes to the log file."""
    from pipeline import demo
    from pipeline.records.journal import State

    outcome = processor.process(processor.ws.root / demo.SAMPLE)
    assert outcome.state == State.ARCHIVED, outcome.problems
    signed = (outcome.bundle / f"{outcome.request_id}.pdf").read_bytes()
    tampered = bytearray(signed)
    tampered[len(signed) // 3] ^= 0x01  # inside both signatures' byte ranges
    attacks = {"tampered.pdf": bytes(tampered),
               "truncated.pdf": signed[: len(signed) // 2],
               "appended.pdf": signed + b"\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"}
    for name, data in attacks.items():
        (tmp_path / name).write_bytes(data)
    run = subprocess.run([PIPELINE, "--workspace", processor.ws.root, "verify",
                          *(tmp_path / name for name in attacks)],
                         cwd=tmp_path, env=quiet_env(), capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode in (1, 2), run.stdout
    assert "TOTAL_FAILED" in run.stdout
    assert run.stderr.splitlines() == ["verifying / กำลังตรวจสอบ"], run.stderr


def test_a_missing_program_is_one_plain_line(processor, tmp_path: Path) -> None:
    """verify with poppler's pdftotext not on PATH: the one line saying what to install,
    exit 2, no traceback."""
    from pipeline import demo
    from pipeline.records.journal import State

    outcome = processor.process(processor.ws.root / demo.SAMPLE)
    assert outcome.state == State.ARCHIVED, outcome.problems
    nowhere = tmp_path / "empty-bin"
    nowhere.mkdir()
    run = subprocess.run([PIPELINE, "--workspace", processor.ws.root, "verify",
                          outcome.bundle / f"{outcome.request_id}.pdf"],
                         cwd=tmp_path, env=quiet_env() | {"PATH": str(nowhere)},
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 2
    assert run.stdout == ""
    (line,) = run.stderr.splitlines()
    assert "pdftotext" in line and "poppler-utils" in line and "ไม่พบโปรแกรม" in line


def test_missing_program_message_names_the_package() -> None:
    from pipeline.external import tools

    missing = tools.Program("no-such-program-here", "some-package", "testing")
    with pytest.raises(tools.MissingProgram) as caught:
        tools.path(missing)
    assert "no-such-program-here" in str(caught.value)
    assert "apt-get install some-package" in str(caught.value)
    again = pickle.loads(pickle.dumps(caught.value))  # as it comes back from a worker
    assert str(again) == str(caught.value)
    assert tools.path(tools.PDFTOTEXT).name == "pdftotext"


def test_a_missing_libreoffice_holds_the_request(demo_ws, monkeypatch, tmp_path: Path) -> None:
    """A fault of the installation, not of the sheet: the request waits (and is tried
    again), the reason says what to install; the sheet is not sent back to the clerk."""
    from pipeline import demo
    from pipeline.external import tools
    from pipeline.flow.processing import Processor
    from pipeline.records.journal import State

    (tmp_path / "setpriv").symlink_to(tools.path(tools.SETPRIV))
    monkeypatch.setattr(tools, "_found", {})  # forget where this process found soffice
    monkeypatch.setenv("PATH", str(tmp_path))
    with Processor(demo_ws) as proc:
        outcome = proc.process(demo_ws.workspace.root / demo.SAMPLE)
        entry = proc.journal.get(outcome.request_id)
    assert outcome.state not in (State.REJECTED, State.ARCHIVED)
    assert entry is not None and "libreoffice-writer-nogui" in entry.message


def test_an_exception_in_a_destructor_goes_to_the_log_file_not_stderr(tmp_path: Path) -> None:
    """A library object whose ``__del__`` fails (zipfile on a full disk, seen in the fault
    tests) would print "Exception ignored in" with a traceback on stderr."""
    script = ("import gc, pathlib, sys\n"
              "from pipeline.core import logs\n"
              "logs.configure(pathlib.Path(sys.argv[1]))\n"
              "class Broken:\n"
              "    def __del__(self):\n"
              "        raise OSError(28, 'No space left on device')\n"
              "Broken()\n"
              "gc.collect()\n")
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=tmp_path,
                         env=quiet_env(), capture_output=True, text=True, timeout=120,
                         check=False)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    logged = (tmp_path / "pipeline.log").read_text(encoding="utf-8")
    assert "No space left on device" in logged and "Traceback" in logged
