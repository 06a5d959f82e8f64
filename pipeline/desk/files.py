"""Files sent to a browser: read as regular files only (no link followed), named with a
plain download name in both forms RFC 6266 allows, and written to the audit log."""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from pipeline.core import guard, inputs
from pipeline.desk.access import Visitor, now
from pipeline.desk.audit_log import Action


def disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 name (RFC 6266, 5987):
    a Thai file name survives, and no quote or control character reaches the header."""
    fallback = "".join(c if c.isascii() and c.isalnum() or c in "._-" else "_" for c in name)
    return f"attachment; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{quote(name)}"


MAX_FILE = 512 << 20  # more than any file the inbox accepts


def read(path: Path, limit: int = MAX_FILE) -> bytes:
    """A file the pipeline wrote, as a regular file with one name: a link or a second name
    planted in a shared folder is not followed (404), so no page can be made to send a
    file from elsewhere on the server."""
    try:
        with guard.open_regular(path) as (fd, st):
            if st.st_size > limit:
                raise HTTPException(413, "too_large")
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
    except (OSError, guard.NotAFile):
        raise HTTPException(404, "not_found") from None


def download(request: Request, visitor: Visitor, path: Path, name: str,
             request_id: str = "") -> Response:
    data = read(path)
    request.app.state.desk.audit.append(
        now(), visitor.login, visitor.address, Action.DOWNLOAD, request_id,
        inputs.ascii_escaped(name)[:200])
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(data, media_type=kind,
                    headers={"content-disposition": disposition(name)})
