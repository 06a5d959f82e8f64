"""Keeping the archive verifiable for the retention period: refreshing document timestamps.

A B-LTA signature stays verifiable as long as its newest document timestamp does, and that
lasts until the timestamp authority's certificate expires: after that day nothing proves the
evidence beneath was not made later. Before it, a new document timestamp over the whole file
(after the validation data of the current one) carries the proof forward by the lifetime of
the new authority's certificate. The signed PDF grows by an incremental update, so the
previous file stays the first ``previous_pdf.size`` bytes of the new one; the bundle's
manifest takes the new hash and a ``timestamp-refreshed`` event in the same atomic update.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from pipeline.bundles import bundle
from pipeline.core import fsutil, scratch
from pipeline.core.folders import Workspace
from pipeline.records import freshness, index_files
from pipeline.settings.config import Config, ConfigError
from pipeline.signatures import evidence, timestamps
from pipeline.signatures.model import Evidence, SigningError
from pipeline.signatures.timestamps import DocumentTimestamp

EVENT_REFRESHED = "timestamp-refreshed"
DEFAULT_WITHIN = timedelta(days=365)


class Result(StrEnum):
    REFRESHED = "refreshed"  # a new document timestamp was added
    CURRENT = "current"  # its newest timestamp lasts beyond the window: nothing to do
    SKIPPED = "skipped"  # nothing to refresh: no document timestamp (signed below B-LTA)
    FAILED = "failed"  # it needed a refresh and did not get one; the message says why


@dataclass(frozen=True)
class Refreshed:
    """What happened to one bundle."""

    request_id: str
    result: Result
    expires: datetime | None = None  # when its newest timestamp expires now
    message: str = ""


def refresh_timestamps(
    config: Config,
    folders: Iterable[Path],
    *,
    within: timedelta = DEFAULT_WITHIN,
    force: bool = False,
    now: datetime | None = None,
) -> list[Refreshed]:
    """Add a document timestamp to each bundle of ``folders`` whose newest one expires
    within ``within`` (every one with ``force``), then regenerate the index if any changed
    or if it is stale.
    ``folders`` is consumed lazily (a progress bar may wrap it). Idempotent: a refreshed
    bundle lasts beyond the window, and a refresh that would not is not made. The timestamp
    authority and revocation data are gathered only when a bundle needs them."""
    now = now or datetime.now(UTC)
    scratch.sweep(config.workspace)  # what a killed run staged, even if nothing is due now
    gathered = functools.cache(lambda: evidence.gather(config))
    results = [_refresh(config.workspace, folder, gathered, within, force, now)
               for folder in folders]
    if any(r.result == Result.REFRESHED for r in results):
        index_files.refresh(config.workspace)
    else:  # nothing changed now, but a run killed before its end may have left it stale
        freshness.ensure_current(config.workspace)
    return results


def _refresh(ws: Workspace, folder: Path, gathered: Callable[[], Evidence],
             within: timedelta, force: bool, now: datetime) -> Refreshed:
    request_id = folder.name
    bundle.recover(folder)
    manifest = bundle.read_manifest(folder)
    name = manifest["signed_pdf"]
    pdf = folder / name
    expected = manifest["files"][name]["sha256"]
    if fsutil.sha256_file(pdf) != expected:
        return Refreshed(request_id, Result.FAILED, message=(
            f"{name} no longer matches manifest.json: check it with `pipeline verify {folder}`"))
    try:
        stamps = timestamps.document_timestamps(pdf)
    except SigningError as exc:
        return Refreshed(request_id, Result.FAILED, message=str(exc))
    if not stamps:
        return Refreshed(request_id, Result.SKIPPED,
                         message="no document timestamp (signed below B-LTA): nothing to refresh")
    newest = stamps[-1]
    if newest.expires <= now:
        return Refreshed(request_id, Result.FAILED, newest.expires, (
            f"its newest timestamp expired on {newest.expires:%Y-%m-%d}: too late to refresh"))
    if not force and newest.expires - now > within:
        return Refreshed(request_id, Result.CURRENT, newest.expires)
    with scratch.folder(ws, "refresh-") as tmp:
        staged = tmp / name
        try:
            added = timestamps.add_document_timestamp(pdf, staged, gathered())
        except (SigningError, ConfigError) as exc:
            return Refreshed(request_id, Result.FAILED, newest.expires, str(exc))
        if not force and added.expires - now <= within:  # it would be due again at once
            return Refreshed(request_id, Result.FAILED, newest.expires, (
                f"the timestamp authority's certificate ({added.tsa}) itself expires on "
                f"{added.expires:%Y-%m-%d}, within the window: renew it, or refresh with "
                f"a shorter --within"))
        event = _event(newest, added, now, expected, pdf.stat().st_size)
        try:
            bundle.append_event(folder, event, replace={name: staged},
                                expect_sha256={name: expected})
        except bundle.BundleChanged as exc:
            return Refreshed(request_id, Result.FAILED, newest.expires, str(exc))
    return Refreshed(request_id, Result.REFRESHED, added.expires)


def _event(previous: DocumentTimestamp, added: DocumentTimestamp, now: datetime,
           previous_sha256: str, previous_size: int) -> dict:
    return {
        "type": EVENT_REFRESHED,
        "recorded_at": now.isoformat(),
        "timestamp_at": added.at.isoformat(),
        "tsa": added.tsa,
        "tsa_cert_sha256": added.tsa_cert_sha256,
        "expires": added.expires.isoformat(),
        "previous_expires": previous.expires.isoformat(),
        "previous_pdf": {"sha256": previous_sha256, "size": previous_size},
    }
