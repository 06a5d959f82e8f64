"""PAdES signatures on the approval form: signature fields, Thai stamps, signers.

The form is signed twice, by incremental updates: the provider certifies it (DocMDP: filling
in forms and signing only), then the director signs the field made for them beforehand,
which the certification permits. A signing key is loaded once and kept for the life of the
process: parsing and validating an RSA key costs about as much as the whole signature.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from io import BytesIO
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from pipeline import fsutil, thai
from pipeline.config import KeySource
from pipeline.request import Person

# The signature fields, named after the roles, and what a role is called on the form.
ROLE_TITLES = {
    "provider": "ผู้รับผิดชอบการให้ข้อมูล",
    "director": "ผู้อนุมัติรับรอง",
    "publisher": "ผู้รับผิดชอบการนำข้อมูลขึ้นเผยแพร่",
}
# Template contract: a Word bookmark per role, exported by LibreOffice as a named destination
# [page /XYZ left top zoom] in the catalog's /Dests; the field hangs below it, centred on left.
BOOKMARKS = {"provider": "SigProvider", "director": "SigDirector", "publisher": "SigPublisher"}
FIELD_WIDTH, FIELD_HEIGHT = 210, 62

# 9 pt Laksaman (TH Sarabun metrics) is the smallest size legible at 100 %; a leading of about
# 1.5 x keeps the marks stacked above one line off the marks below the previous one. pyHanko
# writes both with %d, so both are integers; 4 lines x 14 pt + margins fill the 62 pt box.
STAMP_FONT_SIZE, STAMP_LEADING = 9, 14
_STAMP_MARGINS = layout.Margins(left=5, right=5, top=0, bottom=6)


# Subsetting the stamp font warns at every signature about a table it drops (FFTM: FontForge's
# timestamps), which says nothing about the signature.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


class SigningError(Exception):
    """A document could not be signed; the message says why (never with a passphrase)."""


class TemplateError(SigningError):
    """The form PDF lacks what the template contract promises (a signature bookmark)."""


class Level(StrEnum):
    """PAdES baseline level. B-T, B-LT and B-LTA come with the timestamp authority."""

    B_B = "B-B"


@dataclass(frozen=True)
class FieldBox:
    """Where a signature field is: page index (from 0) and rectangle in user space."""

    page: int
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class SignatureInfo:
    role: str
    field: str
    signer: str  # the certificate's common name
    cert_sha256: str  # hex
    signed_at: datetime  # as in the signature (whole seconds), Bangkok time


@dataclass(frozen=True)
class LoadedSigner:
    """A key ready for many signatures, with its certificate and chain. The key itself lives
    in ``backend`` (in memory for PKCS#12; a PKCS#11 token can stand behind it as well)."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    backend: signers.Signer = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return _common_name(self.certificate)

    @property
    def cert_sha256(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()


class _KeptKeySigner(signers.Signer):
    """pyHanko signer over a key parsed once: ``SimpleSigner`` re-parses (and re-validates)
    its key at every signature, ~30 ms for RSA 2048."""

    def __init__(
        self,
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        chain: tuple[x509.Certificate, ...],
    ):
        super().__init__(
            signing_cert=_to_asn1(certificate),
            cert_registry=SimpleCertificateStore.from_certs([_to_asn1(c) for c in chain]),
        )
        self._key = key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False
                             ) -> bytes:
        algorithm = get_pyca_cryptography_hash(digest_algorithm)
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), algorithm)
        return self._key.sign(data, ec.ECDSA(algorithm))


def load_signer(source: KeySource) -> LoadedSigner:
    """Open a PKCS#12 key once, for as many signatures as the process makes."""
    try:
        data = source.pkcs12.read_bytes()
    except OSError as exc:
        raise SigningError(f"cannot read key file {source.pkcs12}: {exc.strerror}") from None
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, source.passphrase())
    except ValueError:
        raise SigningError(f"cannot open key file {source.pkcs12}: wrong passphrase, "
                           f"or not a PKCS#12 file") from None
    if cert is None or not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SigningError(f"key file {source.pkcs12} must hold an RSA or EC key "
                           f"and its certificate")
    chain = tuple(extra)
    return LoadedSigner(cert, chain, _KeptKeySigner(key, cert, chain))


def add_signature_fields(src: Path, dst: Path) -> dict[str, FieldBox]:
    """Write ``src`` to ``dst`` with an empty signature field per role, where the template's
    bookmarks say, so that later signatures fill fields the certification permits."""
    writer = _open(src)
    boxes = _field_boxes(writer, src)
    for role, where in boxes.items():
        fields.append_signature_field(
            writer, fields.SigFieldSpec(role, on_page=where.page, box=where.box)
        )
    out = BytesIO()
    writer.write(out)
    fsutil.write_bytes(dst, out.getvalue())
    return boxes


def sign(
    src: Path,
    dst: Path,
    *,
    role: str,
    signer: LoadedSigner,
    person: Person,
    font: Path,
    certify: bool = False,
    level: Level = Level.B_B,
) -> SignatureInfo:
    """Sign the field ``role`` of ``src`` into ``dst`` (PAdES ``level``, SHA-256) with a
    visible Thai stamp. ``certify`` makes it the certifying signature (DocMDP: form filling
    and signing only), as the provider's is."""
    if role not in ROLE_TITLES:
        raise SigningError(f"unknown role {role!r}: expected one of {', '.join(ROLE_TITLES)}")
    _check_signer(signer, person)
    if not font.is_file():
        raise SigningError(f"stamp font {font} not found")
    title = ROLE_TITLES[role]
    pdf_signer = signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name=role,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            certify=certify,
            docmdp_permissions=fields.MDPPerm.FILL_FORMS,
            name=person.name,
            reason=f"ลงนามในฐานะ{title} ตำแหน่ง {person.position}",
        ),
        signer.backend,
        stamp_style=_stamp_style(font),
    )

    stamp = functools.partial(_stamp_text, person, title)
    try:
        data, signed_at = asyncio.run(_sign(pdf_signer, _open(src), stamp))
    except (PdfError, PyHankoSigningError) as exc:
        raise SigningError(f"cannot sign {src.name} as {role}: {exc}") from exc
    fsutil.write_bytes(dst, data)
    return SignatureInfo(role, role, signer.name, signer.cert_sha256, signed_at)


async def _sign(
    pdf_signer: signers.PdfSigner,
    writer: IncrementalPdfFileWriter,
    stamp: Callable[[datetime], str],
) -> tuple[bytes, datetime]:
    """pyHanko's signing steps (``PdfSigner.async_sign_pdf``) spelt out, to put the session's
    signing time on the stamp: the stamp and the signature's /M are the same instant."""
    session = pdf_signer.init_signing_session(writer, existing_fields_only=True)
    signed_at = session.system_time.replace(microsecond=0)  # /M keeps whole seconds
    validation = await session.perform_presign_validation(writer)
    tbs = session.prepare_tbs_document(
        validation_info=validation,
        bytes_reserved=await session.estimate_signature_container_size(validation),
        appearance_text_params={"stamp": stamp(signed_at)},
    )
    prepared, output = tbs.digest_tbs_document()
    signed = await tbs.perform_signature(
        prepared.document_digest,
        PdfCMSSignedAttributes(
            signing_time=session.system_time,
            cades_signed_attrs=pdf_signer.signature_meta.cades_signed_attr_spec,
        ),
    )
    await signed.post_signature_processing(output)
    return output.getvalue(), signed_at.astimezone(thai.BANGKOK)


def _stamp_text(person: Person, title: str, signed_at: datetime) -> str:
    return "\n".join((
        f"ลงนามโดย {person.name}",
        title,
        f"ตำแหน่ง {person.position}",
        f"วันที่ {thai.long_datetime(signed_at)}",
    ))


def _check_signer(signer: LoadedSigner, person: Person) -> None:
    cert = signer.certificate
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise SigningError(
            f"the certificate of {signer.name} is valid from {cert.not_valid_before_utc:%Y-%m-%d} "
            f"to {cert.not_valid_after_utc:%Y-%m-%d}, not now ({now:%Y-%m-%d}): "
            f"renew it before signing"
        )
    if thai.name_key(person.name) != thai.name_key(signer.name):
        raise SigningError(f"the stamp would name {person.name} but the key belongs to "
                           f"{signer.name}: check the signer's name or key in the configuration")


@functools.cache
def _stamp_style(font: Path) -> TextStampStyle:
    thai_font = GlyphAccumulatorFactory(
        str(font), ot_script_tag="thai", ot_language_tag="THA ", bcp47_lang_code="th"
    )
    return TextStampStyle(
        stamp_text="%(stamp)s",
        border_width=1,
        text_box_style=TextBoxStyle(
            font=thai_font,
            font_size=STAMP_FONT_SIZE,
            leading=STAMP_LEADING,
            box_layout_rule=layout.SimpleBoxLayoutRule(
                x_align=layout.AxisAlignment.ALIGN_MIN,
                y_align=layout.AxisAlignment.ALIGN_MID,
                margins=_STAMP_MARGINS,
            ),
        ),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN, y_align=layout.AxisAlignment.ALIGN_MID
        ),
    )


def _field_boxes(writer: IncrementalPdfFileWriter, src: Path) -> dict[str, FieldBox]:
    dests = writer.root["/Dests"] if "/Dests" in writer.root else generic.DictionaryObject()
    missing = [name for name in BOOKMARKS.values() if "/" + name not in dests]
    if missing:
        raise TemplateError(
            f"{src.name} has no named destination {', '.join(missing)}: the template needs a "
            f"bookmark of that name in each signature box, exported with "
            f"ExportBookmarksToPDFDestination"
        )
    return {role: _field_box(writer, name, dests["/" + name]) for role, name in BOOKMARKS.items()}


def _field_box(writer: IncrementalPdfFileWriter, name: str, dest: generic.PdfObject) -> FieldBox:
    if isinstance(dest, generic.DictionaryObject):  # the other form the PDF spec allows
        dest = dest["/D"]
    try:
        page_ref, kind, left, top = dest.raw_get(0), dest[1], float(dest[2]), float(dest[3])
    except (AttributeError, IndexError, TypeError, ValueError):
        kind = None
    if kind != "/XYZ":
        raise TemplateError(f"named destination {name} is not [page /XYZ left top zoom]")
    for page in range(int(writer.root["/Pages"]["/Count"])):
        if writer.find_page_for_modification(page)[0].reference == page_ref.reference:
            box = (left - FIELD_WIDTH / 2, top - FIELD_HEIGHT, left + FIELD_WIDTH / 2, top)
            return FieldBox(page, box)
    raise TemplateError(f"named destination {name} points to no page of the document")


def _open(src: Path) -> IncrementalPdfFileWriter:
    try:
        return IncrementalPdfFileWriter(BytesIO(src.read_bytes()))
    except OSError as exc:
        raise SigningError(f"cannot read {src}: {exc.strerror}") from None
    except PdfError as exc:
        raise SigningError(f"{src} is not a readable PDF: {exc}") from None


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
