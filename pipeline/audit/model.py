"""What an audit finds, as ETSI EN 319 102-1 indications (the main indications of EU DSS's
reports): one signature's status, one path's report, the exit codes, and what the auditor
trusts. Plain data, shared by the checks and the outputs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from asn1crypto import x509 as asn1_x509

from pipeline.core.errors import PipelineError
from pipeline.settings.config import MB


class VerificationError(PipelineError):
    """The input or the trust roots cannot be read at all; the message says which."""

    exit_code = 2  # EXIT_UNREADABLE: not a verdict


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
        return common_name(self.certificate.subject) if self.certificate else ""

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


def common_name(name: asn1_x509.Name | str) -> str:
    if isinstance(name, str):
        match = re.search(r"Common Name: ([^,]+)", name)
        return match.group(1) if match else name
    return name.native.get("common_name", name.human_friendly)

