"""One uploaded file, streamed from the request body straight into a folder the caller
owns (a scratch folder, :mod:`pipeline.core.scratch`), never into the system's temporary
folder: Starlette's own form parser spools files to ``/tmp``, where a file meant to be kept
nowhere would outlive the request if the process were killed.

The file is cut off at ``limit`` bytes (413, and what was written is the caller's folder's
to remove); the text fields beside it (the CSRF token) are bounded like every form's
(:data:`pipeline.desk.access.MAX_FIELD_BYTES`). The file keeps only a plain name: the last
part of what the browser sent, without control characters (it is shown, escaped, on the
verdict page and in the audit log; the file on disk has a fixed name).
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

MAX_NAME = 200  # characters of a file name kept


@dataclass
class Received:
    fields: dict[str, str] = field(default_factory=dict)
    path: Path | None = None  # the file, when one was sent
    name: str = ""  # its plain name as the browser gave it
    size: int = 0


def plain_name(sent: str) -> str:
    """The last part of a browser's file name, without control characters, shortened."""
    name = sent.replace("\\", "/").rsplit("/", 1)[-1]
    return inputs.ascii_escaped(name).strip()[:MAX_NAME]


class _Parts:
    """The parser's callbacks: one part at a time, a file part written to ``target``."""

    def __init__(self, target: Path, limit: int, got: Received) -> None:
        self.target, self.limit, self.got = target, limit, got
        self.header_name = self.header_value = b""
        self.disposition = b""
        self.field_name: str | None = None
        self.value = bytearray()
        self.fd: int | None = None

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def header_data(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name = self.header_value = b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        self.disposition = b""
        name = options.get(b"name")
        if name is None:
            raise HTTPException(400, "bad_form")
        self.field_name = name.decode("utf-8", "replace")
        if b"filename" in options:
            if self.got.path is not None:  # one file only
                raise HTTPException(400, "bad_form")
            self.got.name = plain_name(options[b"filename"].decode("utf-8", "replace"))
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
