"""One signed PDF judged as ETSI EN 319 102-1 judges signatures, plus what ETSI leaves to
PDF: what changed after each signature and whether it was allowed, and who the form says
signed (the name printed under each signature's box).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
from pyhanko.sign.validation.ades import (
    AdESWithTimeValidationResult,
    ades_lta_validation,
    ades_with_time_validation,
)
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import PdfSignatureValidationSpec
from pyhanko.sign.validation.status import (
    PdfSignatureStatus,
    RevocationDetails,
    SignatureCoverageLevel,
)

from pipeline.audit import embedded, printed
from pipeline.audit.model import (
    CertificateInfo,
    Indication,
    SignatureStatus,
    Trust,
    VerificationError,
    common_name,
)
from pipeline.audit.trust import parse_crls, read_input, validation_spec
from pipeline.core import thai
from pipeline.patches import integrity
from pipeline.signatures.model import ROLE_TITLES

# pyHanko logs every failed path or revocation check with a traceback; the report carries the
# finding, and an auditor's terminal must not fill with stack traces.
for _name in ("pyhanko.sign.validation", "pyhanko_certvalidator", "pyhanko.pdf_utils"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


# -- one PDF ---------------------------------------------------------------------------------
def verify_pdf(pdf: Path, trust_roots: Sequence[Path], crls: Sequence[bytes] = (),
               online: bool = False) -> list[SignatureStatus]:
    """Every signature in ``pdf``, in signing order, validated against ``trust_roots`` only,
    with ``crls`` (DER) as current revocation data."""
    return verify_pdf_with_text(pdf, Trust(tuple(trust_roots), tuple(crls), online))[0]


def verify_pdf_with_text(pdf: Path, trust: Trust) -> tuple[
        list[SignatureStatus], printed.PrintedText, dict[str, str]]:
    """The signatures' statuses, what the PDF shows, and the SHA-256 of each file embedded
    where the first signature covers it (read once, for the bundle too)."""
    spec = validation_spec(trust)
    data = read_input(pdf, trust.max_bytes, head=b"%PDF-", what="PDF")
    try:
        reader = PdfFileReader(BytesIO(data))
        if reader.encrypted:
            raise VerificationError(f"{pdf} is encrypted: its signatures cannot be checked "
                                    f"without decrypting it, which changes the signed bytes")
        signatures = reader.embedded_regular_signatures
        timestamps = reader.embedded_timestamp_signatures
        integrity.compute_once(reader.embedded_signatures)
        files = embedded.signed_files(reader, signatures)
    except VerificationError:
        raise
    except Exception as exc:
        # A damaged or forged file fails anywhere in the parsers under pyHanko (PDF reader,
        # zlib, asn1crypto) with whatever they raise; fuzzing found zlib.error, KeyError,
        # NotImplementedError, UnicodeDecodeError. For an auditor that is a finding about the
        # file, to report: never a traceback.
        raise VerificationError(f"{pdf} is not a readable PDF ({_describe(exc)})") from None
    try:
        text = printed.read(data, _catalog_offset(reader))
    except printed.UnreadableText as exc:
        raise VerificationError(f"{pdf}: {exc}") from None
    names = _printed_names(text, reader, signatures)
    return [_validate(sig, reader, timestamps, spec, trust, names.get(sig.field_name))
            for sig in signatures], text, files


def _catalog_offset(reader: PdfFileReader) -> int | None:
    """Where the document catalog starts in the file, when it is not in an object stream."""
    try:
        where = reader.xrefs[reader.trailer.raw_get("/Root").reference]
    except Exception:  # noqa: BLE001 - a damaged file: printed.read then takes it as it is
        return None
    return where if isinstance(where, int) else None


def _validate(sig: EmbeddedPdfSignature, reader: PdfFileReader,
              timestamps: Sequence[EmbeddedPdfSignature], spec: PdfSignatureValidationSpec,
              trust: Trust, printed_name: str | None) -> SignatureStatus:
    later_timestamps = [ts for ts in timestamps if ts.signed_revision > sig.signed_revision]
    outcome: AdESWithTimeValidationResult  # an LTA result is one too
    try:
        if later_timestamps:  # § 5.6: with the archival data that follows the signature
            outcome = asyncio.run(ades_lta_validation(sig, spec))
        else:  # § 5.5: a signature with time (B-T, B-LT) is judged at the current time
            outcome = asyncio.run(ades_with_time_validation(
                sig.signed_data, spec.signature_validation_spec, status_cls=PdfSignatureStatus,
                raw_digest=sig.compute_digest(),
                extra_status_kwargs=sig.summarise_integrity_info()))
        status: PdfSignatureStatus | None = outcome.api_status
        sub = outcome.ades_subindic
        indication = Indication[sub.status.name]
        subindication = "" if indication is Indication.PASSED else sub.standard_name
        messages = [] if indication is Indication.PASSED else [_plain(outcome.failure_msg)]
    except Exception as exc:  # a damaged signature: a finding, as in verify_pdf_with_text
        status = None
        indication, subindication = Indication.FAILED, "FORMAT_FAILURE"
        messages = [f"the signature cannot be checked ({_describe(exc)})"]
    cert = _signer_cert(sig, status)
    level = _level(sig, reader, later_timestamps)
    intact = bool(status and status.intact and status.valid)
    coverage_ok = bool(status and status.coverage is not None
                       and status.coverage >= SignatureCoverageLevel.ENTIRE_REVISION)
    modification = _modification(status)
    permitted = bool(status and status.docmdp_ok and coverage_ok
                     and not isinstance(status.diff_result, SuspiciousModification)
                     and status.modification_level != ModificationLevel.OTHER)
    if status is not None and not intact:
        messages.append("the signed bytes were altered after this signature (or it is forged)")
        if indication is not Indication.FAILED:
            indication, subindication = Indication.FAILED, "HASH_FAILURE"
    elif status is not None and not permitted:
        # ETSI does not judge later revisions of a PDF; a change the certification forbids
        # (or a signature that does not cover its whole revision) makes what an auditor sees
        # differ from what was signed, so it fails whatever the cryptography says.
        messages.append(_change_message(status, coverage_ok))
        if indication is not Indication.FAILED:
            indication, subindication = Indication.FAILED, "SIG_CONSTRAINTS_FAILURE"
    ts = status.timestamp_validity if status else None
    signed_at = (status.signer_reported_dt if status and status.signer_reported_dt
                 else sig.self_reported_timestamp)
    if cert is not None and (outside := _outside_validity(cert, ts.timestamp if ts else signed_at)):
        messages.append(outside)
        if indication is not Indication.FAILED:  # proven by a timestamp, or only claimed
            indication, subindication = ((Indication.FAILED, "EXPIRED") if ts
                                         else (Indication.INDETERMINATE, "OUT_OF_BOUNDS_NO_POE"))
    usage = cert.key_usage_value.native if cert is not None and cert.key_usage_value else None
    if usage is not None and not {"digital_signature", "non_repudiation"} & set(usage):
        # not checked by pyHanko's AdES validation either; DSS fails its key-usage constraint
        messages.append(f"the signer's certificate is not for signing (key usage: "
                        f"{', '.join(usage)})")
        if indication is Indication.PASSED:
            indication, subindication = Indication.INDETERMINATE, "SIG_CONSTRAINTS_FAILURE"
    # chains to a root: validated, or short only of revocation data (a B-T signature without
    # CRLs); the indication says whether that suffices
    trusted = bool(status and (status.trusted or (
        status.trust_problem_indic is not None
        and status.trust_problem_indic.standard_name in _REVINFO_GAPS)))
    if status is not None and not trusted:
        reason = status.trust_problem_indic
        messages.append("the signer's certificate is not trusted"
                        + (f" ({reason.standard_name.lower().replace('_', ' ')})"
                           if reason else ""))
    name_matches = (None if printed_name is None or cert is None
                    else thai.name_key(printed_name) == thai.name_key(common_name(cert.subject)))
    if name_matches is False and cert is not None:
        messages.append(f"the certificate names {common_name(cert.subject)} but the form "
                        f"prints {printed_name} in this block")
        if indication is Indication.PASSED:
            indication, subindication = Indication.INDETERMINATE, "SIG_CONSTRAINTS_FAILURE"
    if subindication in _REVINFO_GAPS and not trust.online:
        missing = _missing_current_status(sig, later_timestamps, trust)
        if missing:
            messages.append(missing)
    if status is not None and status.revocation_details is not None:
        proven = ts.timestamp if ts is not None and ts.trusted else None  # a valid token only
        messages.append(_revoked_when(status.revocation_details, proven))
    return SignatureStatus(
        field=str(sig.field_name),
        role=str(sig.field_name) if sig.field_name in ROLE_TITLES else "",
        indication=indication,
        subindication=subindication,
        certificate=CertificateInfo.of(cert) if cert else None,
        signed_at=signed_at,
        timestamp_at=ts.timestamp if ts else None,
        intact=intact,
        trusted=trusted,
        revocation=_revocation(status, indication, subindication),
        level=level,
        modification=modification,
        changes_permitted=permitted,
        printed_name=printed_name,
        name_matches=name_matches,
        messages=tuple(dict.fromkeys(m for m in messages if m)),
    )


# What ETSI says when revocation data is missing or too old (as opposed to a forged part).
_REVINFO_GAPS = {"CERTIFICATE_CHAIN_GENERAL_FAILURE", "TRY_LATER", "OUT_OF_BOUNDS_NO_POE",
                 "REVOCATION_OUT_OF_BOUNDS_NO_POE", "OUT_OF_BOUNDS_NOT_REVOKED"}


def _signer_cert(sig: EmbeddedPdfSignature, status: PdfSignatureStatus | None
                 ) -> asn1_x509.Certificate | None:
    if status is not None:
        return status.signing_cert
    try:
        return sig.signer_cert
    except Exception:  # damaged like the rest of the signature
        return None


def _outside_validity(cert: asn1_x509.Certificate, moment: datetime | None) -> str:
    """pyHanko's time-stamped validation (§ 5.5) lets a certificate that expired before the
    signature's timestamp pass; ETSI does not."""
    validity = cert["tbs_certificate"]["validity"]
    start, end = validity["not_before"].native, validity["not_after"].native
    if moment is None or start <= moment <= end:
        return ""
    return (f"the signer's certificate was not valid at signing time ({moment:%Y-%m-%d %H:%M} "
            f"UTC; valid {start:%Y-%m-%d} to {end:%Y-%m-%d})")


def _level(sig: EmbeddedPdfSignature, reader: PdfFileReader,
           later_timestamps: Sequence[EmbeddedPdfSignature]) -> str:
    """The PAdES baseline level the file's structure reaches for this signature (whether it
    is valid is the indication's business)."""
    unsigned = sig.signer_info["unsigned_attrs"]
    if not any(a["type"].native == "signature_time_stamp_token" for a in unsigned or ()):
        return "B-B"
    if "/DSS" not in reader.root:
        return "B-T"
    return "B-LTA" if later_timestamps else "B-LT"


def _modification(status: PdfSignatureStatus | None) -> str:
    if status is None or status.modification_level is None:
        return "unknown"
    return status.modification_level.name.lower()


def _change_message(status: PdfSignatureStatus, coverage_ok: bool) -> str:
    if not coverage_ok:
        return ("the signature does not cover its whole revision (/ByteRange manipulated: "
                "signature wrapping?)")
    detail = (f": {status.diff_result}" if isinstance(status.diff_result, SuspiciousModification)
              else "")
    return (f"changes made after this signature are not permitted "
            f"({_modification(status).replace('_', ' ')}){detail}")


def _revocation(status: PdfSignatureStatus | None, indication: Indication,
                subindication: str) -> str:
    if (status is not None and status.revocation_details is not None) or "REVOKED" in subindication:
        return "revoked"
    if status is not None and status.trusted and indication is not Indication.INDETERMINATE:
        return "good"
    return "good" if indication is Indication.PASSED else "unknown"


def _missing_current_status(sig: EmbeddedPdfSignature,
                            later_timestamps: Sequence[EmbeddedPdfSignature],
                            trust: Trust) -> str:
    """Say exactly which current revocation data is missing: ETSI checks the newest
    timestamp (and a signer without one) at the time of the audit, and what the PDF holds
    only proves the past."""
    newest = later_timestamps[-1] if later_timestamps else sig
    now = datetime.now(UTC)
    current = {c["tbs_cert_list"]["issuer"].human_friendly for c in parse_crls(trust.crls)
               if c["tbs_cert_list"]["this_update"].native <= now
               <= c["tbs_cert_list"]["next_update"].native}
    try:
        chain = [newest.signer_cert, *(c.chosen for c in newest.signed_data["certificates"])]
    except Exception:  # nothing to name: the indication's own message stands
        return ""
    wanted: dict[str, str] = {}
    for cert in chain:
        issuer = cert.issuer.human_friendly
        if cert.self_signed != "no" or issuer in current:
            continue
        urls = [u for point in cert.crl_distribution_points for u in [point.url] if u]
        wanted[issuer] = (f"{common_name(cert.subject)} (a current CRL of "
                          f"{common_name(cert.issuer)}{': ' + urls[0] if urls else ''})")
    if not wanted:
        return ""
    who = "the timestamp authority's chain" if later_timestamps else "the signer's chain"
    return (f"current revocation status is missing for {who}: "
            f"{'; '.join(wanted.values())}. Supply it with --online, --crl FILE, or "
            f"--trust-kit DIR (a kit exported recently with `pipeline trust-kit`)")


def _revoked_when(revoked: RevocationDetails, timestamped: datetime | None) -> str:
    """When a revocation came, against when the signature is proven to exist: revoked after
    a timestamped signature is no reason to fail it (ETSI), though pyHanko can then ask for
    status at the revocation time that no archive keeps (INDETERMINATE, TRY_LATER)."""
    whose = "a CA certificate in the signer's chain" if revoked.ca_revoked else \
        "the signer's certificate"
    reason = revoked.revocation_reason.native if revoked.revocation_reason else "unspecified"
    told = (f"{whose} was revoked on {revoked.revocation_date:%Y-%m-%d %H:%M} UTC "
            f"(reason: {str(reason).replace('_', ' ')})")
    if timestamped is not None and timestamped < revoked.revocation_date:
        return (f"{told}, after the signature, which a timestamp proves existed on "
                f"{timestamped:%Y-%m-%d %H:%M} UTC")
    return told


def _plain(message: str | None) -> str:
    return re.sub(r"\s*\[AdES\w+\.\w+\]$", "", (message or "").strip("(),' ")).strip()


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__



# -- the names printed on the form ----------------------------------------------------------
def _printed_names(text: printed.PrintedText, reader: PdfFileReader,
                   signatures: Sequence[EmbeddedPdfSignature]) -> dict[str, str]:
    """The name the form prints under each signature's box."""
    names = {}
    for sig in signatures:
        if (box := _field_box(reader, sig)) and (name := text.name_under(*box)):
            names[sig.field_name] = name
    return names


def _field_box(reader: PdfFileReader, sig: EmbeddedPdfSignature
               ) -> tuple[int, tuple[float, ...]] | None:
    try:
        widget = sig.sig_field
        if "/Rect" not in widget:
            widget = widget["/Kids"][0].get_object()
        box = tuple(float(v) for v in widget["/Rect"])
        page_ref = widget.raw_get("/P")
        pages = _page_refs(reader.root["/Pages"])
        return next(i for i, ref in enumerate(pages) if ref == page_ref.reference), box
    except (KeyError, IndexError, AttributeError, StopIteration, TypeError, ValueError):
        return None


def _page_refs(node) -> list:  # noqa: ANN001 - a pyHanko dictionary
    refs = []
    for kid in node["/Kids"]:
        obj = kid.get_object()
        refs.extend(_page_refs(obj) if "/Kids" in obj else [kid.reference])
    return refs
