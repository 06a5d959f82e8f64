"""What the auditor trusts and brings, read and checked: trust roots, CRLs, any input within
bounds, and pyHanko's validation settings made from them (once per process).

Verification trusts only the roots the auditor names, never the operating system's list, and
is offline by default: it uses what the PDF holds (its DSS and timestamps) and the revocation
data the auditor brings (``--crl``, a trust kit), fetching only when asked (``--online``).
"""

from __future__ import annotations

import functools
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer

from pipeline.audit.model import Trust, VerificationError
from pipeline.core import guard
from pipeline.settings.config import MB

MAX_CERT_BYTES = 50 * MB  # a trust root or a CRL given on the command line


# -- validation settings, made once per process ---------------------------------------------
@functools.cache
def validation_spec(trust: Trust) -> PdfSignatureValidationSpec:
    roots = load_roots(trust.roots)
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=roots),
        revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO))
    rule = (RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH if trust.online
            else RevinfoOnlineFetchingRule.LOCAL_ONLY)
    return PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=policy,
        revinfo_gathering_policy=RevocationInfoGatheringSpec(online_fetching_rule=rule),
        local_knowledge=LocalKnowledge(
            known_crls=[CRLContainer(c) for c in parse_crls(trust.crls)])))


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
def parse_crls(crls: tuple[bytes, ...]) -> tuple[asn1_crl.CertificateList, ...]:
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

