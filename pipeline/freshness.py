"""Whether ``outbox/index.xlsx`` and ``index.csv`` still say what the bundles and the journal
say: a fact read off the files, not a guess from a marker.

The index is derived data (index.py), so the test is exact: gathering the rows again must
give, byte for byte, the ``index.csv`` on disk, and the workbook's stamp must name that very
``index.csv`` (the workbook is written second, so a kill between the two, or a copy of one
file without the other, shows). A kill after a bundle changed but before the index was
rewritten (``published --sign``, ``refresh-timestamps``, a watcher stopped mid-burst) is
found by the next check, and every command that changes bundles, and the watcher at start,
rebuilds an index found stale.

Costs one gathering of the archive: about what a regeneration costs without the writing
(bench/bench_index.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging

from pipeline import index
from pipeline.config import Workspace

log = logging.getLogger(__name__)
_SHOWN = 5  # request IDs named in a message; the rest are counted


def stale(ws: Workspace) -> list[str]:
    """Why the index is out of date, in English (empty when it is current)."""
    reasons = []
    marked = index.stale_reason(ws)
    if marked:
        reasons.append(f"its last regeneration could not be swapped in ({marked})")
    xlsx, table_path = ws.outbox / index.INDEX_NAME, ws.outbox / index.CSV_NAME
    rows = index.gather(ws)
    if not xlsx.exists() and not table_path.exists():
        return reasons + ([f"{index.INDEX_NAME} is not written yet"] if rows else [])
    try:
        table: bytes | None = table_path.read_bytes()
    except OSError as exc:
        table = None
        reasons.append(f"{index.CSV_NAME} cannot be read ({exc.strerror or exc})")
    try:
        stamp = index.read_index(xlsx)[1]
    except Exception as exc:  # noqa: BLE001 - openpyxl raises anything on a damaged file
        stamp = None
        reasons.append(f"{index.INDEX_NAME} cannot be read ({type(exc).__name__})")
    else:
        if stamp is None:
            reasons.append(f"{index.INDEX_NAME} carries no record of what it was built from")
        elif table is not None and hashlib.sha256(table).hexdigest() != stamp.csv_sha256:
            reasons.append(f"{index.INDEX_NAME} and {index.CSV_NAME} come from different "
                           f"regenerations")
    if table is not None:
        differ = _differing(table, index.csv_bytes(rows))
        if differ:
            named = ", ".join(differ[:_SHOWN]) + (f" and {len(differ) - _SHOWN} more"
                                                   if len(differ) > _SHOWN else "")
            reasons.append(f"{len(differ)} row(s) differ from the bundles and the journal: "
                           f"{named}")
    return reasons


def ensure_current(ws: Workspace) -> index.IndexResult | None:
    """Regenerate the index if it is stale (the result), else nothing (None)."""
    reasons = stale(ws)
    if not reasons:
        return None
    log.info("index stale (%s): regenerating", "; ".join(reasons))
    return index.refresh(ws)


def _differing(on_disk: bytes, expected: bytes) -> list[str]:
    """The request IDs whose rows differ between two index.csv files (a header that differs,
    from another version of the program, counts as every row)."""
    if on_disk == expected:
        return []
    old, new = _by_id(on_disk), _by_id(expected)
    if old.get("") != new.get(""):
        return sorted((set(old) | set(new)) - {""}, key=index.request_id_key) or ["(header)"]
    return sorted((k for k in set(old) | set(new) if old.get(k) != new.get(k)),
                  key=index.request_id_key)


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
