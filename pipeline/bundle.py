"""The archived bundle: one folder per request, complete or absent, with a manifest of hashes.

The folder is assembled under a hidden temporary name and renamed into place only when every
file and the manifest are on disk, so a crash leaves no half bundle behind.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline import fsutil
from pipeline.request import Request, to_dict

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


def read_manifest(bundle: Path) -> dict:
    return json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))


def is_bundle(path: Path) -> bool:
    return (path / MANIFEST).is_file()


def check_bundle(bundle: Path) -> list[str]:
    """What is wrong with a bundle's files against its manifest (empty when all is well)."""
    try:
        manifest = read_manifest(bundle)
        listed: dict[str, dict] = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"manifest.json unreadable: {exc}"]
    problems = []
    present = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    present.discard(MANIFEST)
    for rel, meta in listed.items():
        if rel not in present:
            problems.append(f"{rel}: missing")
        elif fsutil.sha256_file(bundle / rel) != meta.get("sha256"):
            problems.append(f"{rel}: SHA-256 differs from manifest.json")
    problems.extend(f"{rel}: not listed in manifest.json" for rel in sorted(present - set(listed)))
    return problems
