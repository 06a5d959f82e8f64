"""The one root of the errors a person can act on.

Each module raises its own kind (a wrong ``pipeline.toml``, a request that cannot be
published, a missing program…), all derived from :class:`PipelineError`: ``str()`` is one
line, Thai then English where the module has both, saying what is wrong and what to do, and
``exit_code`` says how a command ends (1: it could not be done; 2: the input is not of the
kind asked, or the installation is not what the pipeline needs). The command line maps them
in one place, never with a traceback; the web desk will show the same line.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Something a person can act on, said in one line."""

    exit_code: int = 1


class InstallationError(PipelineError):
    """The machine lacks what the pipeline needs (a program, a package at its release)."""

    exit_code = 2
