"""One uploaded file, streamed from the request body straight into a folder the caller
owns (a scratch folder, :mod:`pipeline.core.scratch`), not through Starlette's own form
parser. That parser keeps a file in memory up to 1 MB, then in an unnamed temporary file in
the system's temporary folder (``O_TMPFILE``, or unlinked at once: a killed process leaves
nothing there), but it puts no bound on a file part: the whole upload is written there,
to ``/tmp``'s file system (often small, or in memory) and out of sight of the workspace's
free-space checks, before the page could refuse it; and what it gives has no path, which
the verifier needs (:func:`pipeline.audit.verify.verify_path`), so it would be copied once
more. Here the file is written once, on the workspace's own disk, under a fixed name in a
scratch folder that the request removes (and the next run sweeps, when a killed process
could not), and is cut off at ``limit`` bytes as it arrives (413, and what was written is
the caller's folder's to remove).

Everything else is bounded too: each part's headers (:data:`MAX_HEADER_BYTES`, 400 beyond),
the text fields beside the file (the CSRF token) like every form's
(:data:`pipeline.desk.access.MAX_FIELD_BYTES`). The file keeps only a plain name: the last
part of what the browser sent (:func:`pipeline.intake.upload.plain_name`), with control
characters escaped and shortened (it is shown, escaped, on the verdict page and in the
audit log; the file on disk has a fixed name).
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.exceptions import HTTPException
from starlette.requests import Request

from pipeline.core import inputs
from pipeline.desk.access import MAX_FIELD_BYTES, MAX_FIELDS
from pipeline.intake.upload import plain_name

MAX_NAME = 200  # characters of a file name kept
MAX_HEADER_BYTES = 4096  # of one part's headers together: a browser sends a few hundred


@dataclass
class Received:
    fields: dict[str, str] = field(default_factory=dict)
    path: Path | None = None  # the file, when one was sent
    name: str = ""  # its plain name as the browser gave it
    size: int = 0


def shown_name(sent: str) -> str:
    """The file's plain name as the browser sent it, control characters escaped, shortened."""
    return inputs.ascii_escaped(plain_name(sent))[:MAX_NAME]


class _Parts:
    """The parser's callbacks: one part at a time, a file part written to ``target``."""

    def __init__(self, target: Path, limit: int, got: Received) -> None:
        self.target, self.limit, self.got = target, limit, got
        self.header_name, self.header_value = bytearray(), bytearray()
        self.header_bytes = 0  # of the part's headers so far
        self.disposition = b""
        self.field_name: str | None = None
        self.value = bytearray()
        self.fd: int | None = None

    def _header_bytes(self, count: int) -> None:
        self.header_bytes += count
        if self.header_bytes > MAX_HEADER_BYTES:
            raise HTTPException(400, "bad_form")

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_bytes(end - start)
        self.header_name += data[start:end]

    def header_data(self, data: bytes, start: int, end: int) -> None:
        self._header_bytes(end - start)
        self.header_value += data[start:end]

    def header_end(self) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition = bytes(self.header_value)
        self.header_name, self.header_value = bytearray(), bytearray()

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        self.disposition = b""
        self.header_bytes = 0
        name = options.get(b"name")
        if name is None:
            raise HTTPException(400, "bad_form")
        self.field_name = name.decode("utf-8", "replace")
        if b"filename" in options:
            if self.got.path is not None:  # one file only
                raise HTTPException(400, "bad_form")
            self.got.name = shown_name(options[b"filename"].decode("utf-8", "replace"))
            self.got.path = self.target
            self.fd = os.open(self.target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        elif len(self.got.fields) >= MAX_FIELDS:
            raise HTTPException(400, "bad_form")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.fd is not None:
            self.got.size += end - start
            if self.got.size > self.limit:
                raise HTTPException(413, "too_large")
            os.write(self.fd, data[start:end])
        else:
            self.value += data[start:end]
            if len(self.value) > MAX_FIELD_BYTES:
                raise HTTPException(400, "bad_form")

    def part_end(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        elif self.field_name is not None:
            self.got.fields[self.field_name] = self.value.decode("utf-8", "replace")
        self.value = bytearray()
        self.field_name = None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


async def receive(request: Request, target: Path, limit: int, csrf: str) -> Received:
    """The multipart form of ``request``: its text fields, and its one file written to
    ``target`` (a new file) when one was sent. A form without the session's CSRF token
    ``csrf`` is refused (403) like every other (:func:`pipeline.desk.access.form`)."""
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise HTTPException(400, "bad_form")
    got = Received()
    parts = _Parts(target, limit, got)
    parser = MultipartParser(boundary, {
        "on_header_field": parts.header_field,
        "on_header_value": parts.header_data,
        "on_header_end": parts.header_end,
        "on_headers_finished": parts.headers_finished,
        "on_part_data": parts.part_data,
        "on_part_end": parts.part_end,
    })
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        raise HTTPException(400, "bad_form") from None
    finally:
        parts.close()
    sent = got.fields.get("csrf", "")
    if not csrf or not hmac.compare_digest(sent.encode(), csrf.encode()):
        raise HTTPException(403, "bad_form")
    return got
