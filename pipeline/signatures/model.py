"""What the signing modules share: the error they raise, the PAdES levels, the evidence that
signatures above B-B need (gathered by ``evidence.py``), and reading a PDF to sign or stamp.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from io import BytesIO
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator import ValidationContext

from pipeline.core.errors import PipelineError

# The signature fields, named after the roles, and what a role is called on the form (here,
# where verify finds them without loading the signing code).
ROLE_TITLES = {
    "provider": "ผู้รับผิดชอบการให้ข้อมูล",
    "director": "ผู้อนุมัติรับรอง",
    "publisher": "ผู้รับผิดชอบการนำข้อมูลขึ้นเผยแพร่",
}


class SigningError(PipelineError):
    """A document could not be signed; the message says why (never with a passphrase or PIN)."""


class Level(StrEnum):
    """PAdES baseline level: B-B signs; B-T adds a timestamp from a timestamp authority;
    B-LT embeds the revocation data of every certificate involved (DSS); B-LTA adds a
    document timestamp over all of it, which is what keeps a signature verifiable for years."""

    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"

    def reaches(self, other: Level) -> bool:
        order = list(Level)
        return order.index(self) >= order.index(other)


@dataclass(frozen=True)
class Evidence:
    """What signatures above B-B need, gathered once for a batch of documents: a timestamp
    authority, the trust anchors, and revocation data (``crls`` handed in, and with
    ``online`` also OCSP responses and CRLs fetched as the certificates point to them).
    The validation context is made once, so that what it fetches serves the whole batch."""

    level: Level
    timestamper: TimeStamper | None
    trust_roots: tuple[asn1_x509.Certificate, ...]
    crls: tuple[asn1_crl.CertificateList, ...] = ()
    online: bool = False

    def __post_init__(self) -> None:
        if self.level.reaches(Level.B_T) and self.timestamper is None:
            raise SigningError(f"level {self.level} needs a timestamp authority (signing.tsa)")

    @functools.cached_property
    def validation_context(self) -> ValidationContext:
        return ValidationContext(trust_roots=list(self.trust_roots), crls=list(self.crls),
                                 allow_fetching=self.online, revocation_mode="hard-fail")


B_B_ONLY = Evidence(Level.B_B, None, ())


def load_trust_roots(paths: tuple[Path, ...]) -> tuple[asn1_x509.Certificate, ...]:
    try:
        return tuple(load_certs_from_pemder([str(p) for p in paths]))
    except (OSError, ValueError) as exc:
        raise SigningError(f"cannot read the trust roots: {exc}") from None


def crls_from_der(crls: tuple[bytes, ...]) -> tuple[asn1_crl.CertificateList, ...]:
    return tuple(asn1_crl.CertificateList.load(c) for c in crls)


def read_pdf(src: Path) -> PdfFileReader:
    try:
        return PdfFileReader(BytesIO(src.read_bytes()))
    except OSError as exc:
        raise SigningError(f"cannot read {src}: {exc.strerror}") from None
    except PdfError as exc:
        raise SigningError(f"{src} is not a readable PDF: {exc}") from None


def open_incremental(src: Path) -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter.from_reader(read_pdf(src))
