"""The ``pipeline`` command: parse, call the library, print. No logic lives here: each command
calls one library function, the same the web desk calls. Commands are grouped by who uses
them; importing each group registers its commands on :data:`common.main`."""

from pipeline.cli import (  # noqa: F401 - registers them
    auditor,
    desk,
    director,
    office,
    serve,
    webmaster,
)
from pipeline.cli.common import main

__all__ = ["main"]
