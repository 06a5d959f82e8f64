"""Auditor verification of signed forms, bundles and whole archives, as ETSI EN 319 102-1
judges signatures (the indications of EU DSS's reports), plus what ETSI leaves to PDF: what
changed after each signature and whether it was allowed, and who the form says signed.

Verification trusts only the roots the auditor names, never the operating system's list, and
is offline by default: it uses what the PDF holds (its DSS and timestamps) and the revocation
data the auditor brings (``--crl``, a trust kit), fetching only when asked (``--online``).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import html
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from io import BytesIO
from multiprocessing import get_context
from pathlib import Path
from typing import TypedDict

from asn1crypto import crl as asn1_crl
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
from pyhanko.sign.validation.ades import (
    AdESWithTimeValidationResult,
    ades_lta_validation,
    ades_with_time_validation,
)
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import (
    PdfSignatureStatus,
    RevocationDetails,
    SignatureCoverageLevel,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer

from pipeline import patches
from pipeline.audit import printed
from pipeline.bundles import bundle
from pipeline.core import guard, inputs, logs, thai
from pipeline.patches import integrity
from pipeline.records import freshness, index_files
from pipeline.settings.config import MB
from pipeline.signatures.signing import ROLE_TITLES

# pyHanko logs every failed path or revocation check with a traceback; the report carries the
# finding, and an auditor's terminal must not fill with stack traces.
for _name in ("pyhanko.sign.validation", "pyhanko_certvalidator", "pyhanko.pdf_utils"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)

SCHEMA = "pipeline.audit.verify/1"


class VerificationError(Exception):
    """The input or the trust roots cannot be read at all; the message says which."""


class Indication(StrEnum):
    """ETSI EN 319 102-1 main indications."""

    PASSED = "TOTAL_PASSED"
    INDETERMINATE = "INDETERMINATE"
    FAILED = "TOTAL_FAILED"

    @property
    def rank(self) -> int:
        return list(Indication).index(self)

    @property
    def exit_code(self) -> int:
        return {Indication.PASSED: 0, Indication.FAILED: 1, Indication.INDETERMINATE: 3}[self]


EXIT_UNREADABLE = 2
DEFAULT_MAX_MB = 100  # [verify] max_mb: the largest PDF read (a signed form is ~1 MB)
MAX_CERT_BYTES = 50 * MB  # a trust root or a CRL given on the command line


def worst(indications: Iterable[Indication]) -> Indication:
    return max(indications, key=lambda i: i.rank, default=Indication.PASSED)


@dataclass(frozen=True)
class Trust:
    """What the auditor trusts and brings: root certificates, current CRLs (DER), and whether
    to fetch current revocation data online."""

    roots: tuple[Path, ...]
    crls: tuple[bytes, ...] = ()
    online: bool = False
    max_bytes: int = DEFAULT_MAX_MB * MB  # a PDF (or manifest) larger is not read


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    serial: str  # hex
    not_before: datetime
    not_after: datetime
    sha256: str  # hex

    @classmethod
    def of(cls, cert: asn1_x509.Certificate) -> CertificateInfo:
        validity = cert["tbs_certificate"]["validity"]
        return cls(cert.subject.human_friendly, cert.issuer.human_friendly,
                   format(cert.serial_number, "x"), validity["not_before"].native,
                   validity["not_after"].native, cert.sha256.hex())


@dataclass(frozen=True)
class SignatureStatus:
    """One signature as an auditor needs to see it (one block of DSS's detailed report)."""

    field: str
    role: str  # "provider", "director", "publisher"; "" for a field of another name
    indication: Indication
    subindication: str  # ETSI sub-indication; "" when PASSED
    certificate: CertificateInfo | None
    signed_at: datetime | None  # as the signer claims it
    timestamp_at: datetime | None  # the signature timestamp's time (B-T and up)
    intact: bool  # the signed bytes are unchanged and the signature value matches them
    trusted: bool  # the certificate chains to one of the given roots and was valid
    revocation: str  # at signing time: "good", "revoked", "unknown"
    level: str  # PAdES level the PDF's structure reaches: B-B, B-T, B-LT, B-LTA
    modification: str  # after signing: none, lta_updates, form_filling, annotations, other
    changes_permitted: bool  # those changes are permitted (DocMDP) and cover what was signed
    printed_name: str | None  # the name printed in the form's block for this role
    name_matches: bool | None  # None: the form prints no name there
    messages: tuple[str, ...] = ()

    @property
    def signer(self) -> str:
        return _common_name(self.certificate.subject) if self.certificate else ""

    @property
    def cert_sha256(self) -> str:
        return self.certificate.sha256 if self.certificate else ""

    @property
    def docmdp_ok(self) -> bool:
        return self.changes_permitted

    @property
    def ok(self) -> bool:
        """Intact, trusted, no forbidden change: the checks that hold at every PAdES level
        (ETSI's indication also wants a timestamp and revocation data, which B-B lacks)."""
        return self.intact and self.trusted and self.changes_permitted

    @property
    def message(self) -> str:
        """``valid`` when :attr:`ok`, else what is wrong (ETSI's findings are in messages)."""
        return "valid" if self.ok else "; ".join(self.messages) or "not valid"


@dataclass(frozen=True)
class Report:
    """What was checked at one path: a signed PDF, or a bundle folder and its signed PDF."""

    path: Path
    signatures: tuple[SignatureStatus, ...]
    bundle_problems: tuple[str, ...] = ()
    is_bundle: bool = False
    error: str = ""  # the input could not be read at all
    notes: tuple[str, ...] = ()  # what could not be checked, without being wrong

    @property
    def indication(self) -> Indication:
        if self.bundle_problems:
            return Indication.FAILED
        return worst(s.indication for s in self.signatures)

    @property
    def exit_code(self) -> int:
        return EXIT_UNREADABLE if self.error else self.indication.exit_code

    @property
    def ok(self) -> bool:
        return (not self.error and bool(self.signatures) and all(s.ok for s in self.signatures)
                and not self.bundle_problems)


def exit_code(reports: Sequence[Report]) -> int:
    """2 when any input is unreadable, else 1 for any FAILED, 3 for any INDETERMINATE, 0."""
    if not reports or any(r.error for r in reports):
        return EXIT_UNREADABLE
    return worst(r.indication for r in reports).exit_code


# -- one PDF ---------------------------------------------------------------------------------
def verify_pdf(pdf: Path, trust_roots: Sequence[Path], crls: Sequence[bytes] = (),
               online: bool = False) -> list[SignatureStatus]:
    """Every signature in ``pdf``, in signing order, validated against ``trust_roots`` only,
    with ``crls`` (DER) as current revocation data."""
    return _verify_pdf(pdf, Trust(tuple(trust_roots), tuple(crls), online))[0]


def _verify_pdf(pdf: Path, trust: Trust) -> tuple[list[SignatureStatus], printed.PrintedText]:
    """The signatures' statuses, and what the PDF shows (read once, for the bundle too)."""
    spec = _spec(trust)
    data = read_input(pdf, trust.max_bytes, head=b"%PDF-", what="PDF")
    try:
        reader = PdfFileReader(BytesIO(data))
        if reader.encrypted:
            raise VerificationError(f"{pdf} is encrypted: its signatures cannot be checked "
                                    f"without decrypting it, which changes the signed bytes")
        signatures = reader.embedded_regular_signatures
        timestamps = reader.embedded_timestamp_signatures
        integrity.compute_once(reader.embedded_signatures)
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
            for sig in signatures], text


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
    except Exception as exc:  # a damaged signature: a finding, as in _verify_pdf
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
                    else thai.name_key(printed_name) == thai.name_key(_common_name(cert.subject)))
    if name_matches is False and cert is not None:
        messages.append(f"the certificate names {_common_name(cert.subject)} but the form "
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
    current = {c["tbs_cert_list"]["issuer"].human_friendly for c in _crls(trust.crls)
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
        wanted[issuer] = (f"{_common_name(cert.subject)} (a current CRL of "
                          f"{_common_name(cert.issuer)}{': ' + urls[0] if urls else ''})")
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


# -- validation settings, made once per process ---------------------------------------------
@functools.cache
def _spec(trust: Trust) -> PdfSignatureValidationSpec:
    roots = load_roots(trust.roots)
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=roots),
        revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO))
    rule = (RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH if trust.online
            else RevinfoOnlineFetchingRule.LOCAL_ONLY)
    return PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=policy,
        revinfo_gathering_policy=RevocationInfoGatheringSpec(online_fetching_rule=rule),
        local_knowledge=LocalKnowledge(known_crls=[CRLContainer(c) for c in _crls(trust.crls)])))


@functools.cache
def read_input(path: Path, limit: int, *, head: bytes = b"", what: str = "file") -> bytes:
    """What an auditor names, read within bounds (guard.read_file): a regular file of at most
    ``limit`` bytes starting with ``head``; else VerificationError, one line, Thai then
    English, before more than ``len(head)`` bytes are read."""
    try:
        return guard.read_file(path, limit, head=head)
    except guard.NotAFile as exc:
        raise VerificationError(f"ไม่ใช่ไฟล์ ({exc.kind.thai}) / {path} is {exc.kind.english}, "
                                f"not a {what} file") from None
    except guard.TooLarge as exc:
        raise VerificationError(
            f"ไฟล์ใหญ่เกิน {limit // MB:,} MB / {path} is larger than {limit // MB:,} MB "
            f"({exc.size / MB:,.0f} MB or more): not read (raise [verify] max_mb in "
            f"pipeline.toml to read it)") from None
    except ValueError:
        raise VerificationError(f"ไม่ใช่ไฟล์ {what} / {path} is not a {what} (it does not start "
                                f"with {head.decode('ascii', 'replace')})") from None
    except OSError as exc:
        raise VerificationError(f"cannot read {path}: {exc.strerror or exc}") from None


def load_roots(paths: tuple[Path, ...]) -> tuple[asn1_x509.Certificate, ...]:
    """The certificates in ``paths`` (PEM, several each, or DER); a file without one is an
    error, not a root fewer (a private key passed as a root, say)."""
    roots: list[asn1_x509.Certificate] = []
    for path in paths:
        data = read_input(path, MAX_CERT_BYTES, what="certificate")
        try:
            found = tuple(load_certs_from_pemder_data(data))
        except ValueError as exc:
            raise VerificationError(f"trust root {path} is not a PEM or DER certificate: "
                                    f"{exc}") from None
        if not found:
            raise VerificationError(f"trust root {path} holds no certificate")
        roots.extend(found)
    return tuple(roots)


@functools.cache
def _crls(crls: tuple[bytes, ...]) -> tuple[asn1_crl.CertificateList, ...]:
    return tuple(asn1_crl.CertificateList.load(c) for c in crls)


def read_crl(path: Path) -> bytes:
    """A CRL file (PEM or DER) as DER, checked to parse."""
    return crl_der(read_input(path, MAX_CERT_BYTES, what="CRL"), str(path))


def crl_der(data: bytes, where: str) -> bytes:
    """A CRL (PEM or DER) as DER, checked to parse; ``where`` it came from, for the error."""
    try:
        der = pem.unarmor(data)[2] if pem.detect(data) else data
        asn1_crl.CertificateList.load(der).native  # noqa: B018 - parse it all now
    except ValueError as exc:
        raise VerificationError(f"{where} is not a CRL (PEM or DER): {exc}") from None
    return der


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _common_name(name: asn1_x509.Name | str) -> str:
    if isinstance(name, str):
        match = re.search(r"Common Name: ([^,]+)", name)
        return match.group(1) if match else name
    return name.native.get("common_name", name.human_friendly)


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


# -- bundles and archives -------------------------------------------------------------------
def verify_path(path: Path, trust_roots: Sequence[Path] | Trust, crls: Sequence[bytes] = (),
                online: bool = False) -> Report:
    """Verify a signed PDF, or a bundle: its files against the manifest, the manifest
    against its PDF and the outbox's index, then its PDF. An unreadable input is reported
    (``Report.error``), never raised."""
    trust = (trust_roots if isinstance(trust_roots, Trust)
             else Trust(tuple(trust_roots), tuple(crls), online))
    load_roots(trust.roots)  # a broken trust root is the auditor's error: raised
    if not path.is_dir():
        try:
            signatures = tuple(_verify_pdf(path, trust)[0])
        except VerificationError as exc:
            return Report(path, (), error=str(exc))
        if not signatures:
            return Report(path, (), error=f"{path} holds no signature")
        return Report(path, signatures)
    if not bundle.is_bundle(path):
        return Report(path, (), error=f"{path} is a folder but neither a bundle (no "
                                      f"{bundle.MANIFEST}) nor an outbox of bundles")
    bundle.recover(path)
    problems = list(bundle.check_bundle(path))
    try:
        # read once (hashed as parsed), within bounds
        raw = read_input(path / bundle.MANIFEST, trust.max_bytes, what="manifest")
        written = (path / bundle.MANIFEST).stat().st_mtime
        manifest = json.loads(raw)
        pdf = path / manifest["signed_pdf"]
    except VerificationError as exc:
        return Report(path, (), tuple(problems), True, error=str(exc))
    except (OSError, ValueError, KeyError, TypeError):
        return Report(path, (), tuple(problems), True)
    if not pdf.is_file():
        return Report(path, (), tuple(problems), True)
    try:
        statuses, text = _verify_pdf(pdf, trust)
    except VerificationError as exc:
        return Report(path, (), tuple(problems), True, error=str(exc))
    signatures = tuple(statuses)
    problems += _manifest_agrees(path, manifest, pdf, signatures, text)
    row_problems, notes = freshness.row_agrees(path, manifest, raw, written)
    return Report(path, signatures, tuple(problems + row_problems), True, notes=notes)


def _manifest_agrees(folder: Path, manifest: dict, pdf: Path,
                     signatures: Sequence[SignatureStatus], shown: printed.PrintedText
                     ) -> list[str]:
    problems = []
    request_id = manifest.get("request_id", "")
    if request_id != folder.name or pdf.name != bundle.pdf_name(request_id):
        problems.append(f"manifest.json names request {request_id}, not {folder.name}")
    text = shown.compact()
    title = manifest.get("request", {}).get("title", "")
    if "".join(request_id.split()) not in text:
        problems.append(f"the signed PDF does not show request ID {request_id}")
    if "".join(title.split()) not in text:
        problems.append("the signed PDF does not show the title in manifest.json")
    signed = {s.role: s.cert_sha256 for s in signatures if s.role}
    for record in manifest.get("signatures", ()):
        if signed.get(record.get("role")) != record.get("cert_sha256"):
            problems.append(f"manifest.json's {record.get('role')} certificate is not the one "
                            f"that signed the PDF")
    return problems


def expand(paths: Iterable[Path]) -> list[Path]:
    """PDFs and bundles as given; an outbox (a folder of bundles) becomes its bundles, and
    an outbox with none yet (a new office's: nothing but the index, the reports folder and
    hidden files) becomes nothing."""
    out = []
    for path in paths:
        if path.is_dir() and not bundle.is_bundle(path):
            found = sorted(p for p in path.iterdir() if p.is_dir() and bundle.is_bundle(p))
            out.extend(found or ([] if _empty_outbox(path) else [path]))
        else:
            out.append(path)
    return out


_OUTBOX_OWN = {index_files.INDEX_NAME, index_files.CSV_NAME, "reports"}  # report_files.REPORTS_DIR


def _empty_outbox(folder: Path) -> bool:
    return all(p.name.startswith(".") or p.name in _OUTBOX_OWN for p in folder.iterdir())


def verify_all(paths: Sequence[Path], trust: Trust, *, workers: int | None = None,
               progress: Callable[[int], None] | None = None) -> list[Report]:
    """Verify every path (in order), whole bundles per worker process: pyHanko validation is
    CPU-bound Python, so only processes use more than one core."""
    load_roots(trust.roots)
    workers = min(workers or os.cpu_count() or 1, len(paths))
    if workers <= 1:
        return [_step(verify_path(p, trust), progress) for p in paths]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                             initializer=_worker_start, initargs=(logs.state_dir(),)) as pool:
        return [_step(r, progress)
                for r in pool.map(verify_path, paths, [trust] * len(paths), chunksize=4)]


def _worker_start(log_dir: Path | None) -> None:
    """Patch as the parent did (a spawned process starts with pristine pyHanko) and log as
    it does (pyHanko's warnings to the log file, not to stderr). Then leave what the
    imports made out of garbage collection: pyHanko's objects make cycles by the hundred
    thousand, and each full collection would walk the modules too (8 % of a worker's time,
    measured with ``bench/bench_verify.py``)."""
    patches.install()
    logs.configure(log_dir)
    gc.collect()
    gc.freeze()


def _step(report: Report, progress: Callable[[int], None] | None) -> Report:
    if progress:
        progress(1)
    return report


# -- output ---------------------------------------------------------------------------------
def to_json(reports: Sequence[Report], trust: Trust) -> str:
    """The documented ``pipeline.audit.verify/1`` schema (README, "Verifying")."""
    def signature(s: SignatureStatus) -> dict:
        data = asdict(s)
        data.update(indication=str(s.indication), signer=s.signer, messages=list(s.messages))
        return data

    document = {
        "schema": SCHEMA,
        "verified_at": datetime.now(UTC),
        "trust": {"roots": [str(p) for p in trust.roots], "crls": len(trust.crls),
                  "online": trust.online},
        "summary": summary(reports),
        "items": [{
            "path": str(r.path),
            "kind": "bundle" if r.is_bundle else "pdf",
            "indication": None if r.error else str(r.indication),
            "exit_code": r.exit_code,
            "error": r.error or None,
            "bundle_problems": list(r.bundle_problems),
            "notes": list(r.notes),
            "signatures": [signature(s) for s in r.signatures],
        } for r in reports],
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=_json_default)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)


class Summary(TypedDict):
    """The counts at the end of a verification (and in its JSON)."""

    exit_code: int
    items: int
    counts: dict[str, int]
    signatures: int


def summary(reports: Sequence[Report]) -> Summary:
    counts = {str(i): 0 for i in Indication} | {"UNREADABLE": 0}
    for r in reports:
        counts["UNREADABLE" if r.error else str(r.indication)] += 1
    return Summary(exit_code=exit_code(reports), items=len(reports), counts=counts,
                   signatures=sum(len(r.signatures) for r in reports))


_THAI = {
    Indication.PASSED: "ผ่าน", Indication.INDETERMINATE: "ยังสรุปไม่ได้",
    Indication.FAILED: "ไม่ผ่าน",
}


def _when(moment: datetime | None) -> str:
    return thai.long_datetime(moment, digits=False) if moment else "-"


def to_text(reports: Sequence[Report]) -> Iterator[str]:
    """A table per item for the terminal, with the control characters a PDF's names or a
    file name could carry written as ``\\xNN`` (escape sequences would drive the auditor's
    terminal, a newline in a file name would split its line): one item's line stays one
    line, and the name can still be found."""
    return (inputs.ascii_escaped(line) for line in _text_lines(reports))


def _text_lines(reports: Sequence[Report]) -> Iterator[str]:
    for r in reports:
        head = ("UNREADABLE / อ่านไม่ได้" if r.error
                else f"{r.indication} / {_THAI[r.indication]}")
        yield f"{r.path}: {head}"
        if r.error:
            yield f"  {r.error}"
        for problem in r.bundle_problems:
            yield f"  bundle: {problem}"
        for note in r.notes:
            yield f"  note: {note}"
        for s in r.signatures:
            mark = "[OK]" if s.indication is Indication.PASSED else "[NOT OK]"
            sub = f" / {s.subindication}" if s.subindication else ""
            yield f"  {mark} {s.role or s.field}: {s.signer}  {s.indication}{sub}  {s.level}"
            yield (f"      intact={_yes(s.intact)} trusted={_yes(s.trusted)} "
                   f"revocation={s.revocation} changes={s.modification}"
                   f"({'permitted' if s.changes_permitted else 'NOT permitted'}) "
                   f"name-on-form={_match(s)}")
            yield (f"      signed {_when(s.signed_at)}; timestamp {_when(s.timestamp_at)}"
                   + (f"; serial {s.certificate.serial}, SHA-256 {s.certificate.sha256[:16]}…"
                      if s.certificate else ""))
            for message in s.messages:
                yield f"      - {message}"
    info = summary(reports)
    counts = ", ".join(f"{k} {v}" for k, v in info["counts"].items())
    yield (f"สรุป (summary): {info['items']} รายการ (items), {info['signatures']} ลายมือชื่อ "
           f"(signatures): {counts}; exit code {info['exit_code']}")
    for r in reports:  # what needs a look, again at the end of a long listing
        if r.error or r.indication is not Indication.PASSED:
            yield f"  {_verdict(r)}: {r.path}"


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _match(s: SignatureStatus) -> str:
    return {None: "not printed", True: "matches", False: "DIFFERS"}[s.name_matches]


def to_html(reports: Sequence[Report], trust: Trust) -> str:
    """One self-contained page (no external resources) to open, print or attach."""
    info = summary(reports)
    e = html.escape
    rows = "".join(
        f"<tr class='{_css(r)}'><td>{e(str(r.path))}</td><td>{e(_verdict(r))}</td>"
        f"<td>{len(r.signatures)}</td><td>{e('; '.join(r.bundle_problems) or r.error)}</td></tr>"
        for r in reports)
    details = []
    for r in reports:
        blocks = "".join(_html_signature(s) for s in r.signatures)
        extra = "".join(f"<li>{e(p)}</li>" for p in (*r.bundle_problems, *r.notes))
        details.append(f"<section><h2>{e(str(r.path))} — {e(_verdict(r))}</h2>"
                       + (f"<p class='bad'>{e(r.error)}</p>" if r.error else "")
                       + (f"<ul>{extra}</ul>" if extra else "") + blocks + "</section>")
    counts = ", ".join(f"{k}: {v}" for k, v in info["counts"].items())
    return f"""<!DOCTYPE html>
<html lang="th"><head><meta charset="utf-8">
<title>รายงานการตรวจสอบลายมือชื่อ (Validation report)</title>
<style>body{{font-family:"TH Sarabun New",Laksaman,Garuda,sans-serif;font-size:15px;margin:2em}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #999;padding:3px 6px;
text-align:left;vertical-align:top}}.TOTAL_PASSED{{background:#e6f4e6}}
.INDETERMINATE{{background:#fff4d6}}.TOTAL_FAILED,.UNREADABLE{{background:#fbe3e3}}
.bad{{color:#a00}}section{{margin-top:1.5em}}tr{{page-break-inside:avoid}}
h2,h3{{page-break-after:avoid}}section th{{width:28%}}</style></head><body>
<h1>รายงานการตรวจสอบลายมือชื่ออิเล็กทรอนิกส์ (Signature validation report)</h1>
<p>ตรวจเมื่อ (verified at): {e(_when(datetime.now(UTC)))} ·
ใบรับรองหลักที่เชื่อถือ (trust roots): {e(', '.join(p.name for p in trust.roots))} ·
CRL ที่นำมา (CRLs supplied): {len(trust.crls)} · ออนไลน์ (online): {_yes(trust.online)}</p>
<h2>สรุป (Summary): {e(counts)} · exit code {info['exit_code']}</h2>
<table><tr><th>รายการ (item)</th><th>ผล (indication)</th><th>ลายมือชื่อ (signatures)</th>
<th>ปัญหา (problems)</th></tr>{rows}</table>
{''.join(details)}
<p>TOTAL_PASSED = ผ่าน · INDETERMINATE = ยังสรุปไม่ได้ (ข้อมูลไม่พอ) · TOTAL_FAILED = ไม่ผ่าน
(ETSI EN 319 102-1)</p></body></html>
"""


def _verdict(r: Report) -> str:
    return "UNREADABLE / อ่านไม่ได้" if r.error else f"{r.indication} / {_THAI[r.indication]}"


def _css(r: Report) -> str:
    return "UNREADABLE" if r.error else str(r.indication)


def _html_signature(s: SignatureStatus) -> str:
    e = html.escape
    c = s.certificate
    rows = [
        ("ผล (indication)", f"{s.indication} / {_THAI[s.indication]} {s.subindication}".strip()),
        ("บทบาท (role)", f"{s.role} {ROLE_TITLES.get(s.role, '')}".strip()),
        ("ผู้ลงนาม (signer)", s.signer),
        ("ชื่อบนแบบฟอร์ม (name on the form)", f"{s.printed_name or '-'} ({_match(s)})"),
        ("ใบรับรอง (certificate)",  # every part comes from the PDF: escaped
         "<br>".join(e(part) for part in (
             c.subject, f"issuer: {c.issuer}", f"serial: {c.serial}",
             f"valid {_when(c.not_before)} – {_when(c.not_after)}", f"SHA-256: {c.sha256}"))
         if c else "-"),
        ("เวลาลงนาม (signing time)", _when(s.signed_at)),
        ("เวลาประทับ (timestamp)", _when(s.timestamp_at)),
        ("ความครบถ้วน (integrity)", _yes(s.intact)),
        ("ความน่าเชื่อถือ (trust)", _yes(s.trusted)),
        ("สถานะการเพิกถอน (revocation at signing)", s.revocation),
        ("ระดับ (PAdES level)", s.level),
        ("การแก้ไขภายหลัง (changes after signing)",
         f"{s.modification} ({'permitted' if s.changes_permitted else 'NOT permitted'})"),
        ("หมายเหตุ (messages)", "<br>".join(e(m) for m in s.messages) or "-"),
    ]
    body = "".join(f"<tr><th>{e(k)}</th><td>{v if k.startswith(('ใบรับรอง', 'หมายเหตุ')) else e(v)}"
                   f"</td></tr>" for k, v in rows)
    return f"<h3 class='{s.indication}'>{e(s.field)}</h3><table>{body}</table>"
