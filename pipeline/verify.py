"""Auditor verification of signed forms: is each signature intact, by a trusted signer, and
were the changes made after it allowed?

Verification is offline and trusts only the roots the auditor names, never the operating
system's list: a signature is as good as the root the office handed out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.ades import ades_lta_validation, ades_with_time_validation
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer

from pipeline import bundle
from pipeline.signing import ROLE_TITLES


class VerificationError(Exception):
    """The file or the trust roots cannot be read at all; the message says which."""


@dataclass(frozen=True)
class SignatureStatus:
    """One signature as an auditor needs to see it."""

    field: str
    role: str  # "provider", "director", "publisher"; "" for a field of another name
    signer: str  # the certificate's common name
    cert_sha256: str  # hex
    signed_at: datetime | None  # as the signer claims it (no timestamp at level B-B)
    intact: bool  # the signed bytes are unchanged and the signature matches them
    trusted: bool  # the certificate chains to one of the given roots and is valid
    modification: str  # what was changed after signing: none, form_filling, annotations, other
    docmdp_ok: bool  # those changes are allowed by the certification
    message: str

    @property
    def ok(self) -> bool:
        return self.intact and self.trusted and self.docmdp_ok


def verify_pdf(pdf: Path, trust_roots: Sequence[Path]) -> list[SignatureStatus]:
    """Every signature in ``pdf``, in signing order, checked against ``trust_roots`` only."""
    roots = _load_roots(trust_roots)
    try:
        data = pdf.read_bytes()
    except OSError as exc:
        raise VerificationError(f"cannot read {pdf}: {exc.strerror}") from None
    try:
        signatures = PdfFileReader(BytesIO(data)).embedded_regular_signatures
    except Exception as exc:
        # A damaged or forged file fails anywhere in the parsers under pyHanko (PDF reader,
        # zlib, asn1crypto) with whatever they raise; fuzzing found zlib.error, KeyError,
        # NotImplementedError, UnicodeDecodeError. For an auditor that is a finding about the
        # file, to report: never a traceback.
        raise VerificationError(f"{pdf} is not a readable PDF ({_describe(exc)})") from None
    return [_verify(sig, roots) for sig in signatures]


def _verify(sig: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate]) -> SignatureStatus:
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    try:
        status = validate_pdf_signature(sig, context)
    except Exception as exc:  # a damaged signature, as in verify_pdf
        return _unreadable(sig, f"the signature cannot be checked ({_describe(exc)})")
    level = status.modification_level
    return SignatureStatus(
        field=sig.field_name,
        role=sig.field_name if sig.field_name in ROLE_TITLES else "",
        signer=_common_name(status.signing_cert),
        cert_sha256=status.signing_cert.sha256.hex(),
        signed_at=status.signer_reported_dt,
        intact=status.intact and status.valid,
        trusted=status.trusted,
        modification=level.name.lower() if level else "unknown",
        docmdp_ok=bool(status.docmdp_ok),
        message=_message(status),
    )


def _message(status: PdfSignatureStatus) -> str:
    problems = []
    if not (status.intact and status.valid):
        problems.append("the document was altered after this signature (or it is forged)")
    elif not status.trusted:
        reason = status.trust_problem_indic
        problems.append("the signer's certificate is not trusted"
                        + (f" ({reason.name.lower().replace('_', ' ')})" if reason else ""))
    if not status.docmdp_ok:
        level = status.modification_level
        problems.append("changes after signing are not permitted by the certification"
                        + (f" ({level.name.lower().replace('_', ' ')})" if level else ""))
    return "; ".join(problems) or "valid"


def _unreadable(sig: EmbeddedPdfSignature, message: str) -> SignatureStatus:
    try:
        cert = sig.signer_cert
        signer, fingerprint = _common_name(cert), cert.sha256.hex()
    except Exception:  # damaged like the rest of the signature
        signer, fingerprint = "", ""
    return SignatureStatus(
        field=sig.field_name,
        role=sig.field_name if sig.field_name in ROLE_TITLES else "",
        signer=signer,
        cert_sha256=fingerprint,
        signed_at=None,
        intact=False,
        trusted=False,
        modification="unknown",
        docmdp_ok=False,
        message=message,
    )


def _load_roots(paths: Sequence[Path]) -> list[asn1_x509.Certificate]:
    try:
        return list(load_certs_from_pemder([str(p) for p in paths]))
    except OSError as exc:
        raise VerificationError(f"cannot read trust root {exc.filename}: {exc.strerror}"
                                ) from None
    except ValueError as exc:
        raise VerificationError(f"a trust root is not a PEM or DER certificate: {exc}") from None


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _common_name(cert: asn1_x509.Certificate) -> str:
    return cert.subject.native.get("common_name", cert.subject.human_friendly)


@dataclass(frozen=True)
class Report:
    """What was checked at one path: a signed PDF, or a bundle folder and its signed PDF."""

    path: Path
    signatures: tuple[SignatureStatus, ...]
    bundle_problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return (bool(self.signatures) and all(s.ok for s in self.signatures)
                and not self.bundle_problems)


def verify_path(path: Path, trust_roots: Sequence[Path]) -> Report:
    """Verify a signed PDF, or a bundle: its files against the manifest, then its PDF."""
    if not path.is_dir():
        return Report(path, tuple(verify_pdf(path, trust_roots)))
    if not bundle.is_bundle(path):
        raise VerificationError(f"{path} is a folder but not a bundle (no {bundle.MANIFEST})")
    problems = tuple(bundle.check_bundle(path))
    try:
        pdf = path / bundle.read_manifest(path)["signed_pdf"]
    except (OSError, ValueError, KeyError, TypeError):
        return Report(path, (), problems)
    if not pdf.is_file():
        return Report(path, (), problems)
    return Report(path, tuple(verify_pdf(pdf, trust_roots)), problems)


@dataclass(frozen=True)
class AdESResult:
    """ETSI EN 319 102-1 validation of one signature: an indication and its sub-indication."""

    field: str
    indication: str  # PASSED (TOTAL-PASSED), INDETERMINATE or FAILED (TOTAL-FAILED)
    subindication: str
    message: str


def ades_validate(pdf: Path, trust_roots: Sequence[Path],
                  crls: Sequence[bytes] = ()) -> list[AdESResult]:
    """Validate every signature the way ETSI EN 319 102-1 does for long-term signatures,
    offline: from what the PDF holds (its DSS and timestamps) and ``crls`` (DER) brought by
    the auditor, with revocation information required for every certificate."""
    roots = _load_roots(trust_roots)
    known = LocalKnowledge(known_crls=[CRLContainer(asn1_crl.CertificateList.load(c))
                                       for c in crls])
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=roots),
        revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO))
    spec = PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=policy,
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY),
        local_knowledge=known))
    try:
        reader = PdfFileReader(BytesIO(pdf.read_bytes()))
        signatures = reader.embedded_regular_signatures
        doc_timestamps = reader.embedded_timestamp_signatures
    except Exception as exc:  # as in verify_pdf: a damaged file is a finding, not a crash
        raise VerificationError(f"{pdf} is not a readable PDF ({_describe(exc)})") from None
    results = []
    for sig in signatures:
        if any(ts.signed_revision > sig.signed_revision for ts in doc_timestamps):
            outcome = asyncio.run(ades_lta_validation(sig, spec))  # § 5.6: with archival data
        else:  # § 5.5: a signature with time (B-T, B-LT) is judged at the current time
            sig.compute_integrity_info()
            outcome = asyncio.run(ades_with_time_validation(
                sig.signed_data, spec.signature_validation_spec, status_cls=PdfSignatureStatus,
                raw_digest=sig.compute_digest(),
                extra_status_kwargs=sig.summarise_integrity_info()))
        subindication = outcome.ades_subindic
        results.append(AdESResult(sig.field_name, subindication.status.name,
                                  getattr(subindication, "name", str(subindication)),
                                  outcome.failure_msg or ""))
    return results
