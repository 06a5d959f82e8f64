"""The package as an office installs it: a wheel built from the source, installed (not
editable) into a fresh virtual environment, runs ``pipeline init --demo`` and ``pipeline
demo``. An editable install finds files in the source tree that a wheel may have left out
(the templates once were), so only an installed wheel proves what ships.

To stay quick it installs nothing from an index: the new environment is made from Debian's
python3 with its system site-packages (``uno``), and a ``.pth`` file lends it the project
environment's site-packages for the dependencies. Only that folder is lent, not its ``.pth``
files, so the project's editable install (a finder there that maps ``pipeline`` to the
source tree) is not active in it: ``pipeline`` can come from the wheel alone, which the test
checks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.wheel

SOURCE = Path(__file__).resolve().parents[1]
# What a clean checkout has and a build must not see (nor write into).
_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                     ".pytest_cache", ".ruff_cache", ".mypy_cache", "workspace")
TIMEOUT = 300  # seconds for one step; the demo starts LibreOffice and signs at B-LTA


def _run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin/`` folder of a fresh environment with only the wheel installed in it."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(SOURCE, source, ignore=_NOT_SOURCE)
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "--no-index", "-w", tmp / "dist", source], cwd=tmp)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("pipeline-*.whl")

    venv = tmp / "venv"
    made = _run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", "--without-pip",
                 venv], cwd=tmp)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     cwd=tmp).stdout.strip())
    (site / "project-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    pip = _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
                "--no-index", wheel], cwd=tmp)
    assert pip.returncode == 0, pip.stderr
    return venv / "bin"


def _env() -> dict[str, str]:
    """This environment minus what would point Python back at the source tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIPELINE_WORKSPACE")}
    return env | {"PYTHONNOUSERSITE": "1"}


def test_the_installed_package_is_the_wheel(installed: Path, tmp_path: Path) -> None:
    run = _run([installed / "python", "-c",
                "import pipeline, pipeline.settings.workspace as w; print(pipeline.__file__); "
                "print(w.builtin_template('approval_form.docx'))"], cwd=tmp_path, env=_env())
    assert run.returncode == 0, run.stderr
    module, template = (Path(line) for line in run.stdout.splitlines())
    venv = installed.parent
    assert module.is_relative_to(venv) and template.is_relative_to(venv)
    assert template.is_file()


def test_init_demo_and_demo_run_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    init = _run([installed / "pipeline", "init", "--demo", tmp_path / "ws"], cwd=tmp_path,
                env=_env())
    assert init.returncode == 0, init.stderr
    assert (tmp_path / "ws" / "templates" / "approval_form.docx").is_file()
    assert (tmp_path / "ws" / "templates" / "monthly_report.docx").is_file()

    demo = _run([installed / "pipeline", "--workspace", tmp_path / "ws", "demo"],
                cwd=tmp_path, env=_env())
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "TOTAL_PASSED" in demo.stdout
    assert "Traceback" not in demo.stderr
