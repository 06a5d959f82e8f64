"""The work of each step in a request's work folder (``.pipeline/work/<ID>/``): validate the
sheet, render the form, the provider's and the approver's signatures, the form shown to the
director, the bundle, or the clerk's files given back; and the problems these find, worded
for the clerk. Each reads what the previous one left there and writes its own result
atomically; the journal, the outcomes and the retries are :mod:`pipeline.flow.processing`'s."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pipeline.bundles import bundle
from pipeline.core import fsutil, thai, workfolder
from pipeline.core.folders import Workspace
from pipeline.core.request import Person, Problem, Request, from_dict, to_dict
from pipeline.core.workfolder import (
    ATTACHMENTS,
    FIELDS_PDF,
    FORM_PDF,
    PROVIDER_PDF,
    REQUEST_JSON,
    SIGNED_PDF,
    SOURCE,
    signature_file,
)
from pipeline.external.office import ConversionError, Converter
from pipeline.flow import attachments
from pipeline.form import render
from pipeline.intake import sheet, validate
from pipeline.intake.rejection import Rejection, reject
from pipeline.records.journal import Entry, Journal
from pipeline.settings.config import Config, ConfigError, KeySource, SignerConfig, TokenSource
from pipeline.signatures import evidence, fields, keys, model, signing
from pipeline.signatures.signing import SigningError

EVIDENCE_LIFETIME = 3600.0  # seconds before revocation data is gathered again


class Signers:
    """What signing costs to set up, kept for many requests: the loaded keys (a token's
    session stays open) and the timestamp authority and revocation data."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._gathered: tuple[float, model.Evidence] | None = None
        self._signers: dict[KeySource | TokenSource, keys.LoadedSigner] = {}

    def close(self) -> None:
        for signer in self._signers.values():
            signer.close()  # logs out of tokens
        self._signers.clear()

    def signer(self, who: SignerConfig) -> keys.LoadedSigner:
        if who.key not in self._signers:
            self._signers[who.key] = keys.load_signer(who.key)
        return self._signers[who.key]

    def evidence(self) -> model.Evidence:
        """Timestamp authority and revocation data, gathered once and renewed hourly."""
        now = time.monotonic()
        if self._gathered is None or now - self._gathered[0] > EVIDENCE_LIFETIME:
            self._gathered = (now, evidence.gather(self.config))
        return self._gathered[1]


def record_signature(work: Path, info: signing.SignatureInfo) -> None:
    """Keep who signed and when for the manifest, written before the step is recorded."""
    record = bundle.SignatureRecord(info.role, info.signer, info.cert_sha256, info.signed_at)
    fsutil.write_bytes(work / signature_file(info.role),
                       json.dumps(record.to_dict(), ensure_ascii=False).encode("utf-8"))


def read_request(work: Path) -> Request:
    """The validated request the RECEIVED step left in the work folder."""
    return from_dict(json.loads((work / REQUEST_JSON).read_text(encoding="utf-8")))


def duplicate(journal: Journal, entry: Entry) -> tuple[Problem, ...]:
    """The same bytes already make an earlier request: signing them again would publish
    the same thing twice."""
    earlier = journal.find_live(entry.source_sha256, before=entry.id)
    if earlier is None:
        return ()
    return (Problem("", "", f"ไฟล์นี้ส่งมาแล้ว เป็นคำขอเลขที่ {earlier.id}",
                    f"this exact file was already received as request {earlier.id}"),)


def vanished_problem() -> Problem:
    """The sheet was removed from the inbox after the claim, before the pipeline took it."""
    return Problem("", "", "ไฟล์ถูกลบออกจาก inbox ก่อนระบบจะรับไป",
                   "the sheet was removed from the inbox before it could be taken")


def being_decided_problem() -> Problem:
    """A signed request left to the approver who holds the decision lock."""
    return Problem("", "", "ผู้อนุมัติกำลังจัดเก็บคำขอนี้ ระบบจะตรวจอีกครั้งในรอบถัดไป",
                   "the approver is archiving this request; it is looked at again on the "
                   "next pass")


def validate_sheet(entry: Entry, work: Path, config: Config,
                   signers: Signers) -> tuple[Problem, ...]:
    """Every problem of the sheet at once (``sheet.read_sheet``, which also checks that
    the provider's registered key is in their name), then the attachments: present
    beside the sheet (or awaited), plain files, within the size limits."""
    key_errors: list[Exception] = []

    def certificate_name(provider: SignerConfig) -> str | None:
        """The name in the provider's certificate. A PKCS#12 key is checked as it is now
        (its file or passphrase may change before signing); a token's session is kept for
        signing."""
        try:
            if isinstance(provider.key, KeySource):
                return keys.holder_name(provider.key)
            return signers.signer(provider).name
        except (SigningError, ConfigError) as exc:
            key_errors.append(exc)
            return None

    result = sheet.read_sheet(work / SOURCE, config, certificate_name=certificate_name)
    if key_errors and result.ok:
        raise key_errors[0]  # the set-up's fault, not the clerk's: held and retried
    if not result.ok:
        return result.problems
    request = result.request
    assert request is not None
    problems = attachments.check(entry, work, request, result.cells.get("attachments", ""),
                                 config)
    if problems:
        return problems
    fsutil.write_bytes(work / REQUEST_JSON,
                       json.dumps(to_dict(request), ensure_ascii=False).encode("utf-8"))
    return ()


def attachment_files(work: Path, request: Request) -> tuple[Path, ...]:
    """The request's attachments in its work folder, in the sheet's order."""
    return tuple(work / ATTACHMENTS / name for name in request.attachments)


def render_form(entry: Entry, request: Request, work: Path, config: Config,
                converter: Converter) -> None:
    """The form as PDF, listing the attachments (name, size, SHA-256), with the signature
    fields, and with the original sheet and every attachment inside it: both signatures
    then cover what is published."""
    files = attachment_files(work, request)
    render.render_pdf(request, entry.id, config.template, work / FORM_PDF, converter,
                      tuple(render.Attached.of(f) for f in files))
    sheet_inside = fields.Attachment(
        work / SOURCE, entry.source_name, fields.XLSX_MIME,
        "แบบคำขอเผยแพร่ข้อมูลต้นฉบับ / the original request sheet")
    fields.add_signature_fields(work / FORM_PDF, work / FIELDS_PDF,
                                (sheet_inside, *(fields.attachment(f) for f in files)))


def conversion_problem(exc: ConversionError) -> Problem:
    """A form LibreOffice could not convert: the request goes back, for the administrator."""
    return Problem("", "", "ระบบแปลงแบบฟอร์มเป็น PDF ไม่ได้ กรุณาแจ้งผู้ดูแลระบบ",
                   f"the form could not be converted to PDF ({exc}); "
                   f"tell the administrator")


def sign_provider(request: Request, work: Path, config: Config, signers: Signers) -> None:
    """The provider's signature, certifying the form."""
    # the registered provider named on the sheet (titles and spacing aside, or paired in
    # [sheet.certificate_names]): the same lookup validation used
    provider = validate.provider_for(request.provider.name, config)
    assert provider is not None  # checked in validation
    signer = signers.signer(provider)
    # the stamp names the certificate's holder, whom validation matched to the sheet
    # (directly, or through [sheet.certificate_names])
    stamped = Person(signer.name, request.provider.position)
    info = signing.sign(work / FIELDS_PDF, work / PROVIDER_PDF, role="provider",
                        signer=signer, person=stamped,
                        font=config.font, certify=True,
                        evidence=signers.evidence(), countersigned=True)
    record_signature(work, info)


def sign_director(work: Path, config: Config, signers: Signers) -> None:
    """The approver's signature on a provider-signed request: the director's, or that of
    the acting director the sheet names, whose stamp then says so (รักษาราชการแทน…)."""
    request = read_request(work)
    approver, person = config.director, config.director.person
    acting = validate.acting_director(request.approver.name, config)
    if acting is not None:
        if acting.key is None:
            raise ConfigError(f"acting director {acting.person.name} has no signing key "
                              f"in [[sheet.acting_directors]]")
        approver = SignerConfig(acting.person, acting.key)
        person = Person(acting.person.name, f"{acting.person.position} {acting.title}"
                                            f"{config.director.person.position}")
    info = signing.sign(work / PROVIDER_PDF, work / SIGNED_PDF, role="director",
                        signer=signers.signer(approver), person=person,
                        font=config.font, evidence=signers.evidence())
    record_signature(work, info)


def pending_attachments(pending: Path, request_id: str) -> Path:
    """Where the director finds a waiting request's attachments: ``pending/<ID>/``, beside
    its form ``pending/<ID>.pdf``."""
    return pending / request_id


def show_director(entry: Entry, request: Request, work: Path, pending: Path) -> None:
    """The provider-signed form in ``pending/``, and its attachments in ``pending/<ID>/``
    (the same bytes the form lists and embeds), for the director to read before signing.
    The form comes last: a crash in between shows no form without its files."""
    pending.mkdir(exist_ok=True)
    files = attachment_files(work, request)
    if files:
        folder = pending_attachments(pending, entry.id)
        folder.mkdir(exist_ok=True)
        for path in files:
            fsutil.copy_file(path, folder / path.name)
    fsutil.copy_file(work / PROVIDER_PDF, pending / f"{entry.id}.pdf")


def refusal_problem(reason: str) -> Problem:
    """The director does not approve: the reason, as the provider reads it."""
    return Problem("", "", f"ผู้อนุมัติไม่อนุมัติ เหตุผล: {reason}",
                   f"the director did not approve it; reason: {reason}")


def write_bundle(entry: Entry, request: Request, work: Path, outbox: Path) -> Path:
    """The signed request as a bundle in the outbox (its folder)."""
    content = bundle.BundleContent(
        request_id=entry.id,
        request=request,
        signed_pdf=work / SIGNED_PDF,
        sheet=work / SOURCE,
        sheet_name=entry.source_name,
        attachments=attachment_files(work, request),
        signatures=tuple(bundle.SignatureRecord.from_dict(json.loads(
            (work / signature_file(role)).read_text(encoding="utf-8")))
            for role in ("provider", "director")),
        received_at=entry.received_at,
        archived_at=datetime.now(UTC),
        status="approved",
    )
    return bundle.write_bundle(outbox, content)


def give_back(entry: Entry, work: Path, held: Path, rejected: Path,
              problems: tuple[Problem, ...], *, refused: bool = False) -> Rejection:
    """The clerk's files back: a sheet (``held``: in the work folder when the pipeline took
    it) and any attachments the pipeline took go to inbox/rejected/ beside the report."""
    rejection = reject(held, entry.source_name, rejected, problems, datetime.now(UTC),
                       request_id=entry.id, give_back=entry.taken, refused=refused)
    taken = work / ATTACHMENTS
    if entry.taken and taken.is_dir():
        for attachment in sorted(taken.iterdir()):
            fsutil.copy_unique(attachment, rejected, attachment.name)
    return rejection


def discard(ws: Workspace, request_id: str) -> None:
    """A decided request's form and attachments in pending/ and its work folder go."""
    (ws.pending / f"{request_id}.pdf").unlink(missing_ok=True)
    shutil.rmtree(pending_attachments(ws.pending, request_id), ignore_errors=True)
    shutil.rmtree(ws.work / request_id, ignore_errors=True)


def clear_done(ws: Workspace, done: Callable[[str], bool]) -> None:
    """The work folders, and the forms and attachments in pending/, of the requests
    ``done`` says are done."""
    for folder in _entries(ws.work):
        if done(folder.name):
            shutil.rmtree(folder, ignore_errors=True)
    for shown in _entries(ws.pending):
        if shown.is_dir() and not shown.is_symlink() and done(shown.name):
            shutil.rmtree(shown, ignore_errors=True)
        elif shown.suffix == ".pdf" and done(shown.stem):
            shown.unlink(missing_ok=True)


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.is_dir() else []


def said(work: Path, held: Path) -> dict[str, str]:
    """What the request says, for the index and the reports: from the validated request
    when there is one (a refusal by the director), else from the sheet's cells."""
    request = workfolder.read_request(work)
    if request is None:
        return sheet.summary(held) if held.is_file() else {}
    return {"title": request.title, "work_group": request.work_group,
            "category": request.category,
            "request_date": thai.short_date(request.request_date),
            "provider_name": request.provider.name, "approver_name": request.approver.name}
