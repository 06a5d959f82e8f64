"""A quiet terminal: the pipeline's commands print their own words on stderr and nothing
else (no third-party warning at start-up). Run as real processes, since warnings and
import-time output are what an in-process CliRunner would hide."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
