"""Several files sent as one zip: the webmaster's upload files, the auditor's trust kit.

The zip is written in a scratch folder (:mod:`pipeline.core.scratch`) and sent from the open
file, which is unlinked before the first byte goes out: nothing of it is kept once the
answer is sent, and a killed desk leaves a folder the next scratch user removes. Files are
read as regular files only (:func:`pipeline.desk.files.read`), so a link planted in a bundle
is not followed into the zip.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from starlette.responses import StreamingResponse

from pipeline.core import scratch
from pipeline.core.folders import Workspace
from pipeline.desk import files

CHUNK = 1 << 20
Entry = tuple[str, Path | bytes]  # the name in the zip, and the file or its content


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := handle.read(CHUNK):
            yield chunk
    finally:
        handle.close()


def write(path: Path, entries: Iterable[Entry]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, source in entries:
            zf.writestr(name, source if isinstance(source, bytes) else files.read(source))


def response(ws: Workspace, entries: Iterable[Entry], name: str) -> StreamingResponse:
    """``entries`` as the zip download ``name`` (an ASCII name)."""
    with scratch.folder(ws, "desk-zip-") as tmp:
        path = tmp / "files.zip"
        write(path, entries)
        handle = path.open("rb")
        size = os.fstat(handle.fileno()).st_size
    return StreamingResponse(_chunks(handle), media_type="application/zip", headers={
        "content-disposition": files.disposition(name), "content-length": str(size)})
