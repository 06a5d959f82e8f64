"""The ``pipeline`` command: parse, call the library, print. No logic lives here: each command
calls one library function, the same the web desk calls. Commands are grouped by who uses
them (``common.COMMANDS`` says which module holds each); a command's module is imported
when that command runs, which registers it on :data:`common.main`."""

from pipeline.cli.common import main

__all__ = ["main"]
