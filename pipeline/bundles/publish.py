"""The webmaster's part: recording that an approved item was put on the website, optionally
signing the form's third block, and collecting what is still to be uploaded.

A publication is an event appended to the bundle's manifest (``events``), never an edit of
what was there: the history shows every upload, when it was recorded and by whom. When the
webmaster signs, the signed PDF becomes a newer revision of itself: pyHanko appends the third
signature as an incremental update, so the previous file (with the first two signatures) is
byte for byte the first ``previous_pdf.size`` bytes of the new one. The bundle keeps only the
new file, and the event records the previous file's size and SHA-256, so that an auditor can
cut the earlier revision out and check it against the hash the manifest used to hold.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from pipeline.bundles import bundle
from pipeline.core import fsutil, inputs, scratch, thai
from pipeline.core.errors import PipelineError
from pipeline.core.request import Person, from_dict
from pipeline.settings.config import Config

EVENT_PUBLISHED = "published"
ROLE = "publisher"


class PublishError(PipelineError):
    """The publication cannot be recorded; the message says why and what to do."""


@dataclass(frozen=True)
class FileStamp:
    sha256: str
    size: int


@dataclass(frozen=True)
class Publication:
    """One upload of an approved item, as the manifest's history keeps it."""

    url: str
    published_on: date  # the day the item went on the website
    recorded_at: datetime  # when the pipeline was told
    recorded_by: str  # the webmaster, as configured
    signature: bundle.SignatureRecord | None = None  # the webmaster's signature, if made now
    previous_pdf: FileStamp | None = None  # the signed PDF before that signature
    corrects: str | None = None  # a correction: the URL recorded before, which this replaces
    already_recorded: bool = False  # not an event: what ``record`` found recorded already

    def to_event(self) -> dict:
        return {
            "type": EVENT_PUBLISHED,
            "url": self.url,
            "published_on": self.published_on.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "recorded_by": self.recorded_by,
            "signature": self.signature.to_dict() if self.signature else None,
            "previous_pdf": ({"sha256": self.previous_pdf.sha256, "size": self.previous_pdf.size}
                             if self.previous_pdf else None),
            "correction": self.corrects is not None,
            "corrects": self.corrects,
        }

    @classmethod
    def from_event(cls, event: dict) -> Publication:
        previous = event.get("previous_pdf")
        return cls(
            url=event["url"],
            published_on=date.fromisoformat(event["published_on"]),
            recorded_at=datetime.fromisoformat(event["recorded_at"]),
            recorded_by=event.get("recorded_by", ""),
            signature=(bundle.SignatureRecord.from_dict(event["signature"])
                       if event.get("signature") else None),
            previous_pdf=FileStamp(previous["sha256"], previous["size"]) if previous else None,
            corrects=event.get("corrects") if event.get("correction") else None,
        )


def publications(manifest: dict) -> list[Publication]:
    """The publications in a manifest's history, oldest first."""
    return [Publication.from_event(e) for e in manifest.get("events", ())
            if e.get("type") == EVENT_PUBLISHED]


def check_url(url: str) -> str:
    """The URL as recorded: an absolute http(s) address (what the index makes a link of),
    without control characters (inputs.url)."""
    try:
        return inputs.url(url)
    except inputs.InputError as exc:
        raise PublishError(str(exc)) from None


def record(
    config: Config,
    request_id: str,
    url: str,
    published_on: date | None = None,
    *,
    sign: bool | None = None,
    now: datetime | None = None,
) -> Publication:
    """Record that ``request_id`` was published at ``url`` on ``published_on`` (default:
    today). ``sign`` (default: when the webmaster has a key in the config) signs the form's
    third block with the webmaster's key; the first two signatures stay valid."""
    now = now or datetime.now(UTC)
    url = check_url(url)  # everything typed is checked before the bundle is touched
    try:
        folder = inputs.bundle_folder(request_id, config.workspace, config.id_prefix)
    except inputs.InputError as exc:
        raise PublishError(str(exc)) from None
    # The whole read-decide-write under the bundle's lock: two `published` at once (with
    # or without --sign) record one event, the other finds it recorded.
    with fsutil.locked_folder(folder):
        return _record(config, folder, url, published_on, sign, now)


def _record(config: Config, folder: Path, url: str, published_on: date | None,
            sign: bool | None, now: datetime) -> Publication:
    request_id = folder.name
    bundle.recover(folder)
    try:
        manifest = bundle.read_manifest(folder)
        pdf_name = manifest["signed_pdf"]
        expected = manifest["files"][pdf_name]["sha256"]
        earlier = publications(manifest)
    except bundle.ManifestError as exc:
        raise PublishError(str(exc)) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PublishError(f"manifest.json ของ {request_id} เสียหาย / {request_id}: "
                           f"manifest.json is not a complete manifest "
                           f"({type(exc).__name__}: {exc})") from None
    today = now.astimezone(thai.BANGKOK).date()
    latest = earlier[-1] if earlier else None
    if latest is not None and latest.url == url and published_on in (None,
                                                                     latest.published_on):
        return replace(latest, already_recorded=True)  # the same command again: nothing new
    published_on = published_on or today
    approved = _approved_on(manifest)
    if published_on > today:
        raise PublishError(f"the publication date {thai.short_date(published_on)} is in the "
                           f"future")
    if approved is not None and published_on < approved:
        raise PublishError(f"the publication date {thai.short_date(published_on)} is before "
                           f"the approval ({thai.short_date(approved)}): nothing may go on the "
                           f"website before the director signs")
    corrects = latest.url if latest is not None else None
    pdf = folder / pdf_name
    if fsutil.sha256_file(pdf) != expected:
        raise PublishError(f"{request_id}: the signed PDF no longer matches manifest.json; "
                           f"check it with `pipeline verify {folder}` before publishing")
    key = config.publisher_key
    already_signed = any(s.get("role") == ROLE for s in manifest.get("signatures", ()))
    if sign is None:
        sign = key is not None and not already_signed
    if sign and key is None:
        raise PublishError("the webmaster has no signing key: add pkcs12 and passphrase_file "
                           "(or passphrase_env) to [publisher] in pipeline.toml")
    if sign and already_signed:
        raise PublishError(f"{request_id}: the webmaster's block is already signed")

    publisher = config.publisher
    if not sign:
        publication = Publication(url, published_on, now, publisher.name, corrects=corrects)
        bundle.append_event(folder, publication.to_event(), status=EVENT_PUBLISHED)
        return publication

    assert key is not None
    # here, not at the top: the index and verify read publications (this module) on every
    # run, and the signing code costs a process ~0.2 s to import
    from pipeline.signatures import evidence, keys, signing

    request = from_dict(manifest["request"])
    person = _publisher_person(request.publisher, publisher)
    with scratch.folder(config.workspace, "published-") as tmp:
        signed = tmp / pdf_name
        info = signing.sign(pdf, signed, role=ROLE, signer=keys.load_signer(key),
                            person=person, font=config.font,
                            evidence=evidence.gather(config))  # the level the form has
        signature = bundle.SignatureRecord(info.role, info.signer, info.cert_sha256,
                                         info.signed_at)
        publication = Publication(url, published_on, now, publisher.name, signature,
                                  FileStamp(expected, pdf.stat().st_size), corrects=corrects)
        try:
            bundle.append_event(folder, publication.to_event(), status=EVENT_PUBLISHED,
                                signature=signature, replace={pdf_name: signed},
                                expect_sha256={pdf_name: expected})
        except bundle.BundleChanged as exc:
            raise PublishError(str(exc)) from None
    return publication


def _publisher_person(on_form: Person, configured: Person) -> Person:
    """The person the stamp names: as the form prints them, unless the form names someone
    else than the configured webmaster (whose key signs)."""
    return on_form if thai.name_key(on_form.name) == thai.name_key(configured.name) else configured


def _approved_on(manifest: dict) -> date | None:
    for s in manifest.get("signatures", ()):
        if s.get("role") == "director":
            return datetime.fromisoformat(s["signed_at"]).astimezone(thai.BANGKOK).date()
    return None


# -- collect -----------------------------------------------------------------------------------
INFO_NAME = "info.txt"


@dataclass(frozen=True)
class Collected:
    """One bundle copied for upload, or skipped with the reason."""

    request_id: str
    folder: Path | None
    files: tuple[Path, ...] = ()
    problem: str = ""


def ascii_name(name: str, fallback: str) -> str:
    """A file name safe on any web server and in any URL: ASCII letters, digits, ``-`` and
    ``_``, the extension kept. A name with no ASCII letters left becomes ``fallback``."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # a name, never a path
    stem, dot, suffix = name.rpartition(".")
    if not stem.strip(".") or not re.fullmatch(r"[A-Za-z0-9]{1,10}", suffix):
        stem, dot, suffix = name, "", ""
    text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9_-]+", "-", text)
    text = re.sub(r"([-_])[-_]+", r"\1", text).strip("-_")[:60].strip("-_")
    suffix = re.sub(r"[^A-Za-z0-9]", "", suffix)[:10].lower()
    return f"{text or fallback}{dot if suffix else ''}{suffix}"


def upload_name(request_id: str, n: int, name: str) -> str:
    """The name attachment ``n`` of ``request_id`` is uploaded under: the request ID, its
    number, then what the original name has in ASCII (``poster2.jpg`` becomes
    ``REQ-2569-00008-02-poster2.jpg``); a name with none keeps only ID and number
    (``REQ-2569-00008-01.pdf``), so the same bundle always gives the same names."""
    prefix = f"{request_id}-{n:02d}"
    own = ascii_name(name, "")
    stem, dot, suffix = own.rpartition(".") if "." in own else (own, "", "")
    if not stem:  # nothing ASCII before the extension: ".pdf", or nothing at all
        return f"{prefix}{dot}{suffix}"
    return ascii_name(f"{prefix}-{own}", prefix)


@dataclass(frozen=True)
class Upload:
    """What goes on the website for one request: ``files`` under ``folder`` (both ASCII
    names), each an archived file to copy or, for ``info.txt``, its content."""

    request_id: str
    folder: str
    files: tuple[tuple[str, Path | bytes], ...]


def collect(config: Config, dest: Path, since: date | None = None) -> list[Collected]:
    """Copy every approved, not yet published bundle (approved on or after ``since``) into
    ``dest/<request id>/`` for upload: the signed form, the attachments under ASCII names
    prefixed with the request ID, and ``info.txt`` with the Thai title, category, detail and
    the original names. A bundle whose files do not match its manifest is skipped, with the
    reason. Copying again overwrites the same files."""
    outbox = config.workspace.outbox
    found: list[Collected] = []
    if not outbox.is_dir():
        return found
    for folder in sorted(p for p in outbox.iterdir()
                         if not p.name.startswith(".") and bundle.is_bundle(p)):
        try:
            upload = _to_upload(folder, since)
        except PublishError as exc:
            found.append(Collected(folder.name, None, problem=str(exc)))
            continue
        if upload is not None:
            found.append(_copy_for_upload(upload, dest))
    return found


def upload_of(config: Config, request_id: str) -> Upload:
    """What ``collect`` copies for one request (the desk's download of it), after the same
    checks: approved, not yet published, its files matching its manifest."""
    try:
        folder = inputs.bundle_folder(request_id, config.workspace, config.id_prefix)
    except inputs.InputError as exc:
        raise PublishError(str(exc)) from None
    upload = _to_upload(folder, None)
    if upload is None:
        raise PublishError(f"{folder.name} ไม่ได้รอเผยแพร่ / {folder.name} is not waiting to "
                           f"be published (already published, or not approved)")
    return upload


def _to_upload(folder: Path, since: date | None) -> Upload | None:
    """The bundle's upload when it is approved, unpublished and approved on or after
    ``since``; None when it is not one to upload; PublishError when it is damaged."""
    bundle.recover(folder)
    try:
        manifest = bundle.read_manifest(folder)
        if publications(manifest) or manifest.get("status") != "approved":
            return None
    except bundle.ManifestError as exc:
        raise PublishError(str(exc)) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PublishError(f"manifest.json unreadable: {type(exc).__name__}: {exc}") from None
    approved = _approved_on(manifest)
    if since is not None and (approved is None or approved < since):
        return None
    problems = bundle.check_bundle(folder)
    if problems:
        raise PublishError("; ".join(problems))
    return _upload(folder, manifest)


def _upload(folder: Path, manifest: dict) -> Upload:
    request_id = manifest["request_id"]
    form = ascii_name(manifest["signed_pdf"], request_id)
    files: list[tuple[str, Path | bytes]] = [(form, folder / manifest["signed_pdf"])]
    request = from_dict(manifest["request"])
    names = []
    for n, name in enumerate(request.attachments, start=1):
        safe = upload_name(request_id, n, name)
        files.append((safe, folder / bundle.ATTACHMENTS / name))
        names.append(f"  {safe}  <-  {name}")
    lines = [
        f"เลขที่คำขอ / request ID: {request_id}",
        f"หัวข้อ / title: {request.title}",
        f"ประเภทข้อมูล / category: {request.category}",
        f"กลุ่มงาน / work group: {request.work_group}",
        f"Link ภายนอก / link: {request.link or '-'}",
        "",
        "รายละเอียด / detail:",
        request.detail,
        "",
        "ไฟล์ / files:",
        f"  {form}  (แบบฟอร์มที่ลงนามแล้ว / the signed form)",
        *names,
        "",
        f"เมื่อเผยแพร่แล้ว / when published: pipeline published {request_id} --url URL",
        "",
    ]
    files.append((INFO_NAME, b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8")))
    return Upload(request_id, ascii_name(request_id, "request"), tuple(files))


def _copy_for_upload(upload: Upload, dest: Path) -> Collected:
    target = dest / upload.folder
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for name, source in upload.files:
        if isinstance(source, bytes):
            fsutil.write_bytes(target / name, source)
        else:
            fsutil.copy_file(source, target / name)
        copied.append(target / name)
    return Collected(upload.request_id, target, tuple(copied))
