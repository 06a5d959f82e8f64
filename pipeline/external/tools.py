"""The external programs the pipeline starts, each found once on PATH.

A program that is not installed used to surface as a raw ``FileNotFoundError`` (with a
traceback) from deep inside a step; here it is probed by name before it is started, and a
missing one is a :class:`MissingProgram` whose message says, in Thai and in English, which
Debian package to install. What a found program's path is does not change while a process
runs, so it is looked up once per process; a missing one is looked up again at the next use,
so that installing it fixes a running watcher without a restart.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import InstallationError


@dataclass(frozen=True)
class Program:
    """An external program: the name it is started by and the Debian package that has it."""

    name: str
    package: str
    purpose: str  # what the pipeline uses it for, in English


PDFTOTEXT = Program("pdftotext", "poppler-utils", "reading the text a PDF shows")
PDFTOCAIRO = Program("pdftocairo", "poppler-utils", "showing a PDF's pages as pictures")
SOFFICE = Program("soffice", "libreoffice-writer-nogui", "converting forms to PDF")
SETPRIV = Program("setpriv", "util-linux", "tying LibreOffice's life to its worker's")


class MissingProgram(InstallationError):
    """An external program the pipeline needs is not on PATH. Not an OSError on purpose: it
    is a fault of the installation, not of a file, and must not be handled as one."""

    def __init__(self, program: Program) -> None:
        super().__init__(program)  # the program alone, so that it pickles across processes
        self.program = program

    def __str__(self) -> str:
        p = self.program
        return (f"ไม่พบโปรแกรม {p.name} ในเครื่องนี้ ให้ผู้ดูแลระบบติดตั้งแพ็กเกจ {p.package} / "
                f"{p.name} is not installed (needed for {p.purpose}): install the Debian "
                f"package {p.package} (sudo apt-get install {p.package}, or scripts/setup.sh)")


_found: dict[str, Path] = {}  # name -> where it was found; the missing ones are not kept


def path(program: Program) -> Path:
    """Where ``program`` is; :class:`MissingProgram` when it is not on PATH."""
    found = _found.get(program.name)
    if found is None:
        where = shutil.which(program.name)
        if where is None:
            raise MissingProgram(program)
        found = _found[program.name] = Path(where)
    return found
