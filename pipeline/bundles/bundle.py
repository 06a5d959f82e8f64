"""The archived bundle: one folder per request, complete or absent, with a manifest of hashes.

The folder is assembled under a hidden temporary name and renamed into place only when every
file and the manifest are on disk, so a crash leaves no half bundle behind.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.core import fsutil
from pipeline.core.errors import PipelineError
from pipeline.core.request import Request, request_id_key, to_dict

SCHEMA = "pipeline.bundle/1"
MANIFEST = "manifest.json"
SHEET_NAME = "request.xlsx"
ATTACHMENTS = "attachments"


@dataclass(frozen=True)
class SignatureRecord:
    role: str
    signer: str
    cert_sha256: str
    signed_at: datetime

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "signer": self.signer, "cert_sha256": self.cert_sha256,
                "signed_at": self.signed_at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> SignatureRecord:
        return cls(data["role"], data["signer"], data["cert_sha256"],
                   datetime.fromisoformat(data["signed_at"]))


@dataclass(frozen=True)
class BundleContent:
    request_id: str
    request: Request
    signed_pdf: Path
    sheet: Path
    sheet_name: str  # the name the clerk gave the sheet
    attachments: tuple[Path, ...]
    signatures: tuple[SignatureRecord, ...]
    received_at: datetime
    archived_at: datetime
    status: str


def pdf_name(request_id: str) -> str:
    return f"{request_id}.pdf"


def write_bundle(outbox: Path, content: BundleContent) -> Path:
    """Write ``outbox/<request id>/``; if it is already there, it is left as it is."""
    final = outbox / content.request_id
    if final.is_dir():
        return final
    outbox.mkdir(parents=True, exist_ok=True)
    tmp = outbox / f".tmp-{content.request_id}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / ATTACHMENTS).mkdir(parents=True)
    files = {pdf_name(content.request_id): content.signed_pdf, SHEET_NAME: content.sheet}
    files.update({f"{ATTACHMENTS}/{a.name}": a for a in content.attachments})
    for rel, src in files.items():
        fsutil.copy_file(src, tmp / rel, sync_dir=False)  # the folders are synced below
    manifest = {
        "schema": SCHEMA,
        "request_id": content.request_id,
        "status": content.status,
        "request": to_dict(content.request),
        "source": {"name": content.sheet_name, "sha256": fsutil.sha256_file(content.sheet)},
        "signed_pdf": pdf_name(content.request_id),
        "files": {rel: {"sha256": fsutil.sha256_file(tmp / rel), "size": (tmp / rel).stat().st_size}
                  for rel in sorted(files)},
        "signatures": [s.to_dict() for s in content.signatures],
        "times": {"received": content.received_at.isoformat(),
                  "archived": content.archived_at.isoformat()},
        "events": [],
    }
    fsutil.write_bytes(tmp / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2)
                       .encode("utf-8"))
    fsutil.fsync_dir(tmp / ATTACHMENTS)
    fsutil.fsync_dir(tmp)
    os.rename(tmp, final)
    fsutil.fsync_dir(outbox)
    return final


class ManifestError(PipelineError, ValueError):
    """A bundle's manifest.json is not a manifest (not JSON, or not a JSON object); the
    message names the bundle, in Thai and English."""


class NoSuchBundle(PipelineError):
    """A request ID that names no bundle of this outbox."""


def listed(outbox: Path, ids: Iterable[str] = ()) -> list[Path]:
    """The bundles named by ``ids``, else every bundle in the outbox, in request order."""
    wanted = list(ids)
    if wanted:
        missing = [i for i in wanted if not is_bundle(outbox / i)]
        if missing:
            raise NoSuchBundle(f"no bundle {', '.join(missing)} in {outbox}")
        return [outbox / i for i in wanted]
    if not outbox.is_dir():
        return []
    found = [p for p in outbox.iterdir() if not p.name.startswith(".") and is_bundle(p)]
    return sorted(found, key=lambda p: request_id_key(p.name))


def read_manifest(bundle: Path) -> dict:
    """The bundle's manifest; ManifestError (a ValueError) when it is not JSON or not an
    object."""
    return _manifest_at(bundle, bundle / MANIFEST)


def _manifest_at(bundle: Path, path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{MANIFEST} ของ {bundle.name} เสียหาย / {bundle.name}: {MANIFEST} "
                            f"is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{MANIFEST} ของ {bundle.name} เสียหาย / {bundle.name}: {MANIFEST} "
                            f"is not a manifest (a JSON {type(data).__name__}, not an object)")
    return data


def is_bundle(path: Path) -> bool:
    return (path / MANIFEST).is_file()


def check_bundle(bundle: Path, view: Committed | None = None) -> list[str]:
    """What is wrong with a bundle's files against its manifest (empty when all is well),
    as committed (``view``, by default :func:`committed`): an update that a crash left
    unfinished after its commit point is judged as finished, and nothing is written."""
    view = view or committed(bundle)
    try:
        manifest = view.read_manifest()
        listed: dict[str, dict] = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"manifest.json unreadable: {exc}"]
    problems = []
    present = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    present.discard(MANIFEST)
    present -= _staged_names(listed)
    for rel, meta in listed.items():
        if rel not in present and rel not in view.staged:
            problems.append(f"{rel}: missing")
        elif fsutil.sha256_file(view.file(rel)) != meta.get("sha256"):
            problems.append(f"{rel}: SHA-256 differs from manifest.json")
    problems.extend(f"{rel}: not listed in manifest.json" for rel in sorted(present - set(listed)))
    return problems


# -- later changes: an event appended to the history, a file replaced with its hash -----------
_PENDING = ".pending"
_PENDING_MANIFEST = f".{MANIFEST}{_PENDING}"


def _staged_names(listed: Mapping[str, object]) -> set[str]:
    """What an update that was killed before its commit point leaves (:func:`append_event`
    stages under these hidden names, and the next update removes them): not part of the
    bundle, so no reader may call them damage (issue 18 point 4)."""
    staged = {f".{rel}{_PENDING}" for rel in (*listed, MANIFEST) if "/" not in rel}
    return staged | {f".{name}.tmp" for name in staged}  # fsutil's own partial copies


class BundleChanged(Exception):
    """The bundle changed between the caller reading it and asking to update it."""


def append_event(
    bundle: Path,
    event: dict,
    *,
    status: str | None = None,
    signature: SignatureRecord | None = None,
    replace: Mapping[str, Path] | None = None,
    expect_sha256: Mapping[str, str] | None = None,
) -> dict:
    """Append ``event`` to the manifest's ``events`` (a history that is only ever appended
    to), optionally replacing top-level files (``replace``: name in the bundle -> new
    content), recording their new hashes, adding a signature and setting the status.
    ``expect_sha256`` guards against a concurrent change: the named files must still have
    these hashes, else BundleChanged.

    All or nothing, even across a crash: the new files and the new manifest are staged
    under hidden names, the staged manifest is the commit point, and the renames that
    follow are redone by :func:`recover` if a crash interrupts them. Returns the manifest.
    """
    replace = dict(replace or {})
    if any("/" in rel or rel == MANIFEST for rel in replace):
        raise ValueError("only top-level files other than the manifest can be replaced")
    with fsutil.locked_folder(bundle):
        _roll_forward(bundle)
        manifest = read_manifest(bundle)
        for leftover in _staged_names(manifest["files"]):  # of an update never committed
            (bundle / leftover).unlink(missing_ok=True)
        for rel, sha256 in (expect_sha256 or {}).items():
            if manifest["files"].get(rel, {}).get("sha256") != sha256:
                raise BundleChanged(f"{bundle.name}/{rel} changed meanwhile; try again")
        for rel, src in replace.items():
            if rel not in manifest["files"]:
                raise ValueError(f"{rel} is not a file of bundle {bundle.name}")
            staged = bundle / f".{rel}{_PENDING}"
            fsutil.copy_file(src, staged, sync_dir=False)
            manifest["files"][rel] = {"sha256": fsutil.sha256_file(staged),
                                      "size": staged.stat().st_size}
        manifest.setdefault("events", []).append(event)
        if signature is not None:
            manifest["signatures"].append(signature.to_dict())
        if status is not None:
            manifest["status"] = status
        fsutil.write_bytes(bundle / _PENDING_MANIFEST,
                           json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
        _roll_forward(bundle)
    return manifest


@dataclass(frozen=True)
class Committed:
    """A bundle as its last committed update left it, seen without writing anything (an
    auditor's copy may be on a read-only medium). After a crash between an update's commit
    point (the staged manifest) and its renames, that is the staged manifest and the staged
    files where present, else the bundle's own files; :func:`recover` (the writers') makes
    the folder say the same by finishing the renames."""

    folder: Path
    manifest_path: Path
    staged: frozenset[str] = frozenset()  # top-level files whose committed content is staged

    @property
    def unfinished(self) -> bool:
        """An update is committed but not yet finished (its renames are still to be done)."""
        return self.manifest_path.name == _PENDING_MANIFEST

    def file(self, rel: str) -> Path:
        """Where the committed content of ``rel`` (a file the manifest lists) is."""
        return self.folder / (f".{rel}{_PENDING}" if rel in self.staged else rel)

    def read_manifest(self) -> dict:
        """The committed manifest, as :func:`read_manifest` reads the bundle's own."""
        return _manifest_at(self.folder, self.manifest_path)


def committed(bundle: Path) -> Committed:
    """The bundle as committed (:class:`Committed`), read-only; cheap when no update is
    unfinished: one stat."""
    pending = bundle / _PENDING_MANIFEST
    if not pending.exists():
        return Committed(bundle, bundle / MANIFEST)
    # the update that wrote the staged manifest removed the leftovers of any earlier one
    # first (append_event), so every staged file is its own
    staged = frozenset(p.name[1:-len(_PENDING)] for p in bundle.iterdir()
                       if p.name.startswith(".") and p.name.endswith(_PENDING) and p.is_file())
    return Committed(bundle, pending, staged - {MANIFEST})


def recover(bundle: Path) -> None:
    """Finish an update that a crash interrupted after its commit point (cheap otherwise:
    one stat). The writers (index, publish, archive) call it before reading a manifest; a
    reader that must not write (verify) sees the same state through :func:`committed`."""
    if (bundle / _PENDING_MANIFEST).exists():
        with fsutil.locked_folder(bundle):
            _roll_forward(bundle)


def _roll_forward(bundle: Path) -> None:
    pending = bundle / _PENDING_MANIFEST
    if not pending.exists():
        return
    manifest = json.loads(pending.read_text(encoding="utf-8"))
    for rel in manifest["files"]:
        staged = bundle / f".{rel}{_PENDING}"
        if "/" not in rel and staged.exists():
            os.replace(staged, bundle / rel)
    os.replace(pending, bundle / MANIFEST)
    fsutil.fsync_dir(bundle)

