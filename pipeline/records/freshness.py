"""Whether ``outbox/index.xlsx`` and ``index.csv`` still say what the bundles and the journal
say: a fact read off the files, not a guess from a marker.

The index is derived data (index.py), so the test is exact: gathering the rows again must
give, byte for byte, the ``index.csv`` on disk, and the workbook's stamp must name that very
``index.csv`` (the workbook is written second, so a kill between the two, or a copy of one
file without the other, shows). A kill after a bundle changed but before the index was
rewritten (``published --sign``, ``refresh-timestamps``, a watcher stopped mid-burst) is
found by the next check, and every command that changes bundles, and the watcher at start,
rebuilds an index found stale.

Costs one gathering of the archive (the manifests that changed since the last one are read,
the others are told unchanged by their files' times: index_cache.py) and a comparison of
the index.csv: a fraction of a regeneration, whose cost is the workbook's writing
(bench/bench_index.py).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.core import thai
from pipeline.core.folders import Workspace
from pipeline.core.request import request_id_key
from pipeline.records import index, index_files

log = logging.getLogger(__name__)
_SHOWN = 5  # request IDs named in a message; the rest are counted
# An index's build time is taken before it reads the first manifest, so a manifest written
# after it is lag. File times are coarse (a kernel tick) and a file server's clock may differ
# a little from the watcher's: within this margin a row is given the benefit of the doubt.
_CLOCK_SLACK = timedelta(seconds=1)


def stale(ws: Workspace) -> list[str]:
    """Why the index is out of date, in English (empty when it is current)."""
    reasons = []
    marked = index_files.stale_reason(ws)
    if marked:
        reasons.append(f"its last regeneration could not be swapped in ({marked})")
    xlsx, table_path = ws.outbox / index_files.INDEX_NAME, ws.outbox / index_files.CSV_NAME
    rows = index.gather(ws)
    if not xlsx.exists() and not table_path.exists():
        return reasons + ([f"{index_files.INDEX_NAME} is not written yet"] if rows else [])
    try:
        table: bytes | None = table_path.read_bytes()
    except OSError as exc:
        table = None
        reasons.append(f"{index_files.CSV_NAME} cannot be read ({exc.strerror or exc})")
    try:
        stamp = index_files.read_stamp(xlsx)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises anything on a damaged file
        stamp = None
        reasons.append(f"{index_files.INDEX_NAME} cannot be read ({type(exc).__name__})")
    else:
        if stamp is None:
            reasons.append(f"{index_files.INDEX_NAME} carries no record of what it was built from")
        elif table is not None and hashlib.sha256(table).hexdigest() != stamp.csv_sha256:
            reasons.append(f"{index_files.INDEX_NAME} and {index_files.CSV_NAME} come from "
                           f"different regenerations")
    if table is not None:
        differ = _differing(table, index_files.csv_bytes(rows))
        if differ:
            named = ", ".join(differ[:_SHOWN]) + (f" and {len(differ) - _SHOWN} more"
                                                   if len(differ) > _SHOWN else "")
            reasons.append(f"{len(differ)} row(s) differ from the bundles and the journal: "
                           f"{named}")
    return reasons


def ensure_current(ws: Workspace) -> index_files.IndexResult | None:
    """Regenerate the index if it is stale (the result), else nothing (None)."""
    reasons = stale(ws)
    if not reasons:
        return None
    log.info("index stale (%s): regenerating", "; ".join(reasons))
    return index_files.refresh(ws)


def _differing(on_disk: bytes, expected: bytes) -> list[str]:
    """The request IDs whose rows differ between two index.csv files (a header that differs,
    from another version of the program, counts as every row)."""
    if on_disk == expected:
        return []
    old, new = _by_id(on_disk), _by_id(expected)
    if old.get("") != new.get(""):
        return sorted((set(old) | set(new)) - {""}, key=request_id_key) or ["(header)"]
    return sorted((k for k in set(old) | set(new) if old.get(k) != new.get(k)),
                  key=request_id_key)


def _by_id(table: bytes) -> dict[str, list[str]]:
    """Rows of an index.csv by request ID; the header under ""."""
    try:
        reader = csv.reader(io.StringIO(table.decode("utf-8-sig")))
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error):
        return {"": ["(unreadable)"]}
    out = {"": rows[0] if rows else []}
    out.update((row[0], row) for row in rows[1:] if row)
    return out


# -- one bundle's row, for verify --------------------------------------------------------------
def row_agrees(folder: Path, manifest: dict, raw: bytes, written: float
               ) -> tuple[list[str], tuple[str, ...]]:
    """Whether the index beside a bundle agrees with it: (problems, notes).

    A row that names this very manifest (by SHA-256) must agree with it field by field;
    anything else it says is tampering. A row from before this manifest existed in its
    current form (the watcher rebuilds the index a few seconds after a burst; a bundle just
    published or re-timestamped) is lag, not damage, when the index says it was built
    before the manifest was written (``written``, its modification time): a note, and the
    bundle is judged on its signatures and manifest alone. An index without a build record
    (an older version's) is held to every field, as before such records existed."""
    xlsx = folder.parent / index_files.INDEX_NAME
    if not xlsx.is_file():
        return [], (f"no {index_files.INDEX_NAME} beside the bundle: its row was not checked",)
    rows, stamp = _read(xlsx, xlsx.stat().st_mtime_ns)
    request_id = manifest.get("request_id", "")
    row = rows.get(request_id)
    claimed = row.get(index_files.MANIFEST_COLUMN) if row is not None else None
    if claimed != hashlib.sha256(raw).hexdigest() and stamp is not None:
        bundle_time = datetime.fromtimestamp(written, UTC)
        if stamp.built_at < bundle_time + _CLOCK_SLACK:
            return [], (f"index not yet updated for {request_id} (index written "
                        f"{_clock(stamp.built_at)}, bundle {_clock(bundle_time)}) / "
                        f"ดัชนียังไม่ปรับปรุง",)
        if row is not None and claimed:
            return [f"{index_files.INDEX_NAME}, {request_id}: the row comes from another "
                    f"manifest.json than the bundle's"], ()
    if row is None:
        return [f"{index_files.INDEX_NAME} has no row for {request_id}"], ()
    request = manifest.get("request", {})
    pdf = manifest.get("signed_pdf", "")
    expected = {
        "Title": request.get("title"),
        "Provider": request.get("provider", {}).get("name"),
        "Approver": request.get("approver", {}).get("name"),
        "SHA-256 of the signed PDF": manifest.get("files", {}).get(pdf, {}).get("sha256"),
    }
    return [f"{index_files.INDEX_NAME}, {request_id}: {column} differs from manifest.json"
            for column, value in expected.items() if row.get(column) != value], ()


def _clock(moment: datetime) -> str:
    return f"{moment.astimezone(thai.BANGKOK):%H:%M:%S}"


@functools.lru_cache(maxsize=4)
def _read(xlsx: Path,
          _mtime_ns: int) -> tuple[dict[str, dict[str, object]], index_files.Stamp | None]:
    """The index by request ID, and its stamp, read once per process (again if it changes)."""
    names = [c.english for c in index_files.COLUMNS]
    try:
        rows, stamp = index_files.read_index(xlsx)
    except Exception:  # noqa: BLE001 - openpyxl raises anything on a damaged workbook
        return {}, None
    return {str(row[0]): dict(zip(names, row, strict=False)) for row in rows}, stamp
