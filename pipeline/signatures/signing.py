"""PAdES signatures on the approval form: signature fields, Thai stamps, signers.

The form is signed twice, by incremental updates: the provider certifies it (DocMDP: filling
in forms and signing only), then the director signs the field made for them beforehand,
which the certification permits. A signing key is loaded once and kept for the life of the
process: parsing and validating an RSA key costs about as much as the whole signature. A key
on a PKCS#11 token is used through one logged-in session, kept open likewise: one PIN entry
signs a whole batch.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pkcs11
import requests
from asn1crypto import cms, tsp
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils import embed, generic, layout
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.timestamps import TimeStamper, TimestampRequestError
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import ValidationError
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from pipeline.core import fsutil, thai
from pipeline.core.request import Person
from pipeline.patches.timestamper import KeptKeyTimeStamper
from pipeline.settings.config import KeySource, TokenSource

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


log = logging.getLogger(__name__)

# Subsetting the stamp font warns at every signature about a table it drops (FFTM: FontForge's
# timestamps), which says nothing about the signature.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


class SigningError(Exception):
    """A document could not be signed; the message says why (never with a passphrase or PIN)."""


class TemplateError(SigningError):
    """The form PDF lacks what the template contract promises (a signature bookmark)."""


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


def demo_timestamper(tsa: KeySource) -> TimeStamper:
    """The demo PKI's time-stamping authority, answering in this process: no network."""
    try:
        key, cert, chain = pkcs12.load_key_and_certificates(tsa.pkcs12.read_bytes(),
                                                            tsa.passphrase())
    except (OSError, ValueError) as exc:
        raise SigningError(f"cannot open the demo timestamp authority {tsa.pkcs12}: "
                           f"{type(exc).__name__}") from None
    assert isinstance(key, rsa.RSAPrivateKey) and cert is not None
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return KeptKeyTimeStamper(
        key, tsa_cert=_to_asn1(cert), tsa_key=asn1_keys.PrivateKeyInfo.load(der),
        certs_to_embed=SimpleCertificateStore.from_certs([_to_asn1(c) for c in chain]))


def http_timestamper(url: str, timeout: float, auth: tuple[str, str] | None, *,
                     retries: int = 2, client_cert: tuple[Path, Path | None] | None = None
                     ) -> TimeStamper:
    """An RFC 3161 timestamp authority over HTTP(S), with HTTP basic ``auth`` (user,
    password) and/or a TLS ``client_cert`` (certificate PEM, key PEM or None when the key
    is in the certificate's file)."""
    return _HTTPTimeStamper(url, timeout, auth, retries=retries, client_cert=client_cert)


class _HTTPTimeStamper(RequestsHTTPTimeStamper):
    """pyHanko's requests-based client, plus what an unattended pipeline needs: a few
    retries with exponential backoff (a TSA that blinks should not hold a request for a
    whole retry period), a client certificate, and errors that say what happened (pyHanko
    reports a refused password as a "malformed response") without ever showing credentials."""

    BACKOFF = 0.5  # seconds before the first retry; doubled for each further one

    def __init__(self, url: str, timeout: float, auth: tuple[str, str] | None, *,
                 retries: int, client_cert: tuple[Path, Path | None] | None) -> None:
        super().__init__(url, timeout=timeout, auth=auth)
        self._retries = retries
        self._cert: str | tuple[str, str] | None = None  # as requests takes it
        if client_cert is not None:
            cert, key = client_cert
            self._cert = str(cert) if key is None else (str(cert), str(key))
        self._where = _without_credentials(url)

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return await asyncio.to_thread(self._post, req.dump())

    def _post(self, body: bytes) -> tsp.TimeStampResp:
        problem = ""
        for attempt in range(self._retries + 1):
            if attempt:
                time.sleep(self.BACKOFF * 2 ** (attempt - 1))
            try:
                response = requests.post(self.url, body, headers=self.request_headers(),
                                         auth=self.auth, timeout=self.timeout, cert=self._cert)
            except requests.RequestException as exc:  # refused, timed out, TLS: worth a retry
                problem = f"no answer from {self._where} ({type(exc).__name__})"
                continue
            status = response.status_code
            if status in (401, 403):
                raise TimestampRequestError(
                    f"{self._where} refused the credentials (HTTP {status}): check "
                    f"signing.tsa_username and the password in the environment variable named "
                    f"by signing.tsa_password_env, or signing.tsa_client_cert")
            if status >= 500 or status == 429:
                problem = f"{self._where} answered HTTP {status}"
                continue
            kind = response.headers.get("Content-Type", "")
            if status != 200 or kind != "application/timestamp-reply":
                raise TimestampRequestError(f"{self._where} is not a timestamp authority: HTTP "
                                            f"{status}, {kind or 'no content type'}")
            return tsp.TimeStampResp.load(response.content)
        raise TimestampRequestError(f"{problem}, {self._retries + 1} attempt(s)")


def _without_credentials(url: str) -> str:
    """The URL for messages and logs: a user name and password written into it are dropped."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def load_trust_roots(paths: tuple[Path, ...]) -> tuple[asn1_x509.Certificate, ...]:
    try:
        return tuple(load_certs_from_pemder([str(p) for p in paths]))
    except (OSError, ValueError) as exc:
        raise SigningError(f"cannot read the trust roots: {exc}") from None


def crls_from_der(crls: tuple[bytes, ...]) -> tuple[asn1_crl.CertificateList, ...]:
    return tuple(asn1_crl.CertificateList.load(c) for c in crls)


@dataclass(frozen=True)
class FieldBox:
    """Where a signature field is: page index (from 0) and rectangle in user space.

    The rectangle is in points, fractions kept: pyHanko writes it into /Rect as it is,
    although ``SigFieldSpec.box`` is annotated as four ints (hence the two narrow ignores
    where it is passed)."""

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
    in ``backend``: in memory for PKCS#12, on the token (a logged-in session) for PKCS#11."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    backend: signers.Signer = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return _common_name(self.certificate)

    @property
    def cert_sha256(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    def close(self) -> None:
        """Log out of the token and close the session, once the batch is signed (nothing to
        do for a PKCS#12 key)."""
        if isinstance(self.backend, PKCS11Signer):
            try:
                self.backend.pkcs11_session.close()
            except pkcs11.PKCS11Error as exc:  # e.g. the token was pulled out: nothing to close
                log.warning("closing the session of %s's token: %s", self.name, _reason(exc))


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


def load_signer(source: KeySource | TokenSource) -> LoadedSigner:
    """Open a key once, for as many signatures as the process makes: a PKCS#12 file is
    parsed; a token is logged in to (one PIN entry) until :meth:`LoadedSigner.close`."""
    if isinstance(source, TokenSource):
        return _load_token_signer(source)
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


def _load_token_signer(source: TokenSource) -> LoadedSigner:
    chain = tuple(cert for pem in source.chain for cert in _read_certificates(pem))
    session = _open_session(source)
    try:
        backend = PKCS11Signer(
            session,
            key_label=source.key_label,
            key_id=source.key_id,
            cert_id=source.key_id,  # by ID alone when there is one: labels often differ
            ca_chain=[_to_asn1(c) for c in chain],
            other_certs_to_pull=() if source.chain else None,  # None: every cert on the token
        )
        signing_cert = backend.signing_cert  # finds the certificate and the key, or fails
        if not source.chain:
            chain = tuple(_from_asn1(c) for c in backend.cert_registry
                          if c.sha256 != signing_cert.sha256)
    except pkcs11.PKCS11Error as exc:
        session.close()  # logged out: a later attempt can log in again
        raise SigningError(f"token {source.token_label!r}: {_reason(exc)}") from None
    except BaseException:
        session.close()
        raise
    return LoadedSigner(_from_asn1(signing_cert), chain, backend)


def _open_session(source: TokenSource) -> pkcs11.Session:
    """Log in to the token: the one PIN entry of a batch. A token locks its PIN after a few
    wrong tries, and an unattended pipeline would make them all: it never uses the last one."""
    where = f"token {source.token_label!r} ({source.module})"
    locked = f"{where}: the PIN is locked; unblock it with the token's SO PIN (PUK)"
    pin = source.pin()
    try:
        token = pkcs11.lib(str(source.module)).get_token(token_label=source.token_label)
        if token.flags & pkcs11.TokenFlag.USER_PIN_LOCKED:
            raise SigningError(locked)
        if token.flags & pkcs11.TokenFlag.USER_PIN_FINAL_TRY:
            raise SigningError(f"{where}: one PIN try is left before the token locks, so the "
                               f"pipeline does not try; check ${source.pin_env}, then log in "
                               f"once by hand (pkcs11-tool --module {source.module} --login "
                               f"--test) to reset the count")
        return token.open(user_pin=pin)
    except pkcs11.NoSuchToken:
        raise SigningError(f"no token labelled {source.token_label!r} in {source.module}: is "
                           f"it plugged in? `pkcs11-tool --module {source.module} "
                           f"--list-token-slots` lists the tokens") from None
    except (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange):
        raise SigningError(f"{where} refused the PIN in ${source.pin_env}: wrong PIN") from None
    except pkcs11.PinLocked:
        raise SigningError(locked) from None
    except pkcs11.UserAlreadyLoggedIn:
        raise SigningError(f"{where}: this process is already logged in to it (one signer "
                           f"per token)") from None
    except pkcs11.PKCS11Error as exc:
        raise SigningError(f"{where}: {_reason(exc)}") from None


def _read_certificates(pem: Path) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem.read_bytes())
    except OSError as exc:
        raise SigningError(f"cannot read certificate file {pem}: {exc.strerror}") from None
    except ValueError:
        raise SigningError(f"{pem} holds no PEM certificate") from None


def _reason(exc: pkcs11.PKCS11Error) -> str:
    """python-pkcs11's exceptions often carry no text: their class is the reason."""
    return str(exc) or type(exc).__name__


@dataclass(frozen=True)
class Attachment:
    """A file to carry inside the signed PDF (PDF/A-3 associated file)."""

    path: Path
    name: str  # as shown in a PDF reader's attachment pane
    mime_type: str
    description: str


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def add_signature_fields(src: Path, dst: Path, attachments: tuple[Attachment, ...] = ()
                         ) -> dict[str, FieldBox]:
    """Write ``src`` to ``dst`` with an empty signature field per role, where the template's
    bookmarks say, so that later signatures fill fields the certification permits; and with
    ``attachments`` embedded (the request sheet: one signed PDF is then the whole evidence).

    The structure tree LibreOffice writes for PDF/A is left out (PDF/A-3b does not need it):
    pyHanko's change analysis copies and walks the whole object graph once per signature,
    and the tree is 105 of the form's 244 objects, a third of an auditor's time per bundle
    (measured with ``bench/bench_verify.py``). The signature widgets would not be in it
    either, so it never made the signed form properly tagged."""
    writer = _open(src)
    _drop_structure_tree(writer)
    boxes = _field_boxes(writer, src)
    for role, where in boxes.items():
        fields.append_signature_field(writer, fields.SigFieldSpec(
            role, on_page=where.page, box=where.box))  # type: ignore[arg-type]  # see FieldBox
    for attachment in attachments:
        _embed(writer, attachment)
    out = BytesIO()
    writer.write(out)
    fsutil.write_bytes(dst, out.getvalue())
    return boxes


def _drop_structure_tree(writer: IncrementalPdfFileWriter) -> None:
    if "/StructTreeRoot" in writer.root or "/MarkInfo" in writer.root:
        writer.root.pop("/StructTreeRoot", None)
        writer.root.pop("/MarkInfo", None)
        writer.update_root()


def _embed(writer: IncrementalPdfFileWriter, attachment: Attachment) -> None:
    """Embed a file as PDF/A-3 wants it: MIME type, modification date, and an associated-file
    relationship (/AFRelationship /Source, listed in the catalog's /AF). pyHanko sets the
    relationship only together with a move to PDF 2.0, which PDF/A-3 (PDF 1.7) forbids, so
    the relationship is added here."""
    data = attachment.path.read_bytes()
    modified = datetime.fromtimestamp(attachment.path.stat().st_mtime, UTC)
    spec = embed.FileSpec(
        file_spec_string=attachment.name, file_name=attachment.name,
        description=attachment.description,
        embedded_data=embed.EmbeddedFileObject.from_file_data(
            writer, data, mime_type=attachment.mime_type,
            params=embed.EmbeddedFileParams(modification_date=modified)))
    embed.embed_file(writer, spec)
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    spec_ref = names[-1]
    spec_ref.get_object()["/AFRelationship"] = generic.pdf_name("/Source")
    if "/AF" in writer.root:
        associated = writer.root["/AF"]
        associated.append(spec_ref)
        writer.update_container(associated)
    else:
        writer.root["/AF"] = writer.add_object(generic.ArrayObject([spec_ref]))
        writer.update_root()


def sign(
    src: Path,
    dst: Path,
    *,
    role: str,
    signer: LoadedSigner,
    person: Person,
    font: Path,
    certify: bool = False,
    evidence: Evidence = B_B_ONLY,
    countersigned: bool = False,
) -> SignatureInfo:
    """Sign the field ``role`` of ``src`` into ``dst`` (PAdES at ``evidence.level``, SHA-256)
    with a visible Thai stamp. ``certify`` makes it the certifying signature (DocMDP: form
    filling and signing only), as the provider's is. From B-LT on, the signer's certificate
    is validated first, revocation included: a revoked certificate does not sign.

    ``countersigned``: another signature will follow (as the director's follows the
    provider's), so B-LTA stops short of the document timestamp. The one after the last
    signature covers this signature's validation data too; one here would add two revisions
    that every later verification analyses (a quarter of an auditor's time per bundle,
    measured with ``bench/bench_verify.py``)."""
    if role not in ROLE_TITLES:
        raise SigningError(f"unknown role {role!r}: expected one of {', '.join(ROLE_TITLES)}")
    level = (Level.B_LT if countersigned and evidence.level is Level.B_LTA
             else evidence.level)
    return _sign_field(_open(src), src, dst, field=role, title=ROLE_TITLES[role],
                       signer=signer, person=person, font=font, certify=certify,
                       evidence=evidence, level=level)


def _sign_field(
    writer: IncrementalPdfFileWriter,
    src: Path,
    dst: Path,
    *,
    field: str,
    title: str,
    signer: LoadedSigner,
    person: Person,
    font: Path,
    certify: bool,
    evidence: Evidence,
    level: Level,
) -> SignatureInfo:
    _check_signer(signer, person)
    if not font.is_file():
        raise SigningError(f"stamp font {font} not found")
    pdf_signer = signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name=field,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            certify=certify,
            docmdp_permissions=fields.MDPPerm.FILL_FORMS,
            name=person.name,
            reason=f"ลงนามในฐานะ{title} ตำแหน่ง {person.position}",
            embed_validation_info=level.reaches(Level.B_LT),
            use_pades_lta=level.reaches(Level.B_LTA),
            validation_context=(evidence.validation_context if level.reaches(Level.B_LT)
                                else None),
        ),
        signer.backend,
        stamp_style=_stamp_style(font),
        timestamper=evidence.timestamper if level.reaches(Level.B_T) else None,
    )
    stamp = functools.partial(_stamp_text, person, title)
    try:
        data, signed_at = asyncio.run(_sign(pdf_signer, writer, stamp))
    except (PdfError, PyHankoSigningError, ValidationError) as exc:
        if (invalid := _certificate_problem(exc)) is not None:  # revoked, expired, untrusted
            raise SigningError(f"{signer.name}'s certificate cannot be used to sign: "
                               f"{invalid}") from exc
        raise SigningError(f"cannot sign {src.name} in field {field}: {exc}") from exc
    except TimestampRequestError as exc:
        raise SigningError(f"the timestamp authority did not answer ({exc}); "
                           f"the request waits and is tried again") from exc
    except pkcs11.PKCS11Error as exc:
        raise SigningError(f"cannot sign {src.name} in field {field}: the token failed "
                           f"({_reason(exc)}); is it still plugged in?") from exc
    fsutil.write_bytes(dst, data)
    return SignatureInfo(field, field, signer.name, signer.cert_sha256, signed_at)


def _certificate_problem(exc: BaseException) -> str | None:
    """What certificate validation found, when that is why pyHanko refused to sign."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ValidationError):
            return str(cause)
        cause = cause.__cause__ or cause.__context__
    return None


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
    assert isinstance(output, BytesIO)  # pyHanko's own buffer, given no output stream
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
    kind = None
    if isinstance(dest, generic.ArrayObject):
        try:
            page_ref, kind, left, top = dest.raw_get(0), dest[1], float(dest[2]), float(dest[3])
        except (IndexError, TypeError, ValueError):
            kind = None
    if kind != "/XYZ":
        raise TemplateError(f"named destination {name} is not [page /XYZ left top zoom]")
    for page in range(int(writer.root["/Pages"]["/Count"])):
        if writer.find_page_for_modification(page)[0].reference == page_ref.reference:
            box = (left - FIELD_WIDTH / 2, top - FIELD_HEIGHT, left + FIELD_WIDTH / 2, top)
            return FieldBox(page, box)
    raise TemplateError(f"named destination {name} points to no page of the document")


def _open(src: Path) -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter.from_reader(_reader(src))


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _from_asn1(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def sign_at_bookmark(
    src: Path,
    dst: Path,
    *,
    bookmark: str,
    field: str,
    title: str,
    signer: LoadedSigner,
    person: Person,
    font: Path,
    evidence: Evidence = B_B_ONLY,
) -> SignatureInfo:
    """Sign ``src`` into ``dst`` in a new visible field ``field`` placed below the template's
    bookmark ``bookmark`` (as the form's fields are), with a Thai stamp naming ``title``: for
    documents without pre-made fields, such as a report the director acknowledges."""
    writer = _open(src)
    dests = writer.root["/Dests"] if "/Dests" in writer.root else generic.DictionaryObject()
    if "/" + bookmark not in dests:
        raise TemplateError(f"{src.name} has no named destination {bookmark}: the template "
                            f"needs a bookmark of that name in the signature box")
    where = _field_box(writer, bookmark, dests["/" + bookmark])
    fields.append_signature_field(writer, fields.SigFieldSpec(
        field, on_page=where.page, box=where.box))  # type: ignore[arg-type]  # see FieldBox
    return _sign_field(writer, src, dst, field=field, title=title, signer=signer,
                       person=person, font=font, certify=False, evidence=evidence,
                       level=evidence.level)


# -- the archive: document timestamps that carry B-LTA signatures through the years ----------
@dataclass(frozen=True)
class DocumentTimestamp:
    """A document timestamp in a PDF: when, by which authority, and when that authority's
    certificate expires, the day after which the timestamp no longer proves anything (the
    date an archive must add a newer one by)."""

    at: datetime
    tsa: str  # the authority certificate's common name
    tsa_cert_sha256: str  # hex
    expires: datetime


def document_timestamps(pdf: Path) -> list[DocumentTimestamp]:
    """The document timestamps of ``pdf``, oldest first."""
    try:
        stamps = _reader(pdf).embedded_timestamp_signatures
        return [_document_timestamp(ts.signed_data, ts.signer_cert) for ts in stamps]
    except (PdfError, ValueError, KeyError) as exc:
        raise SigningError(f"cannot read the document timestamps of {pdf.name}: {exc}") from None


def _document_timestamp(signed_data: cms.SignedData, cert: asn1_x509.Certificate
                        ) -> DocumentTimestamp:
    tst_info = signed_data["encap_content_info"]["content"].parsed
    return DocumentTimestamp(
        at=tst_info["gen_time"].native,
        tsa=cert.subject.native.get("common_name", cert.subject.human_friendly),
        tsa_cert_sha256=cert.sha256.hex(),
        expires=cert["tbs_certificate"]["validity"]["not_after"].native,
    )


def add_document_timestamp(src: Path, dst: Path, evidence: Evidence) -> DocumentTimestamp:
    """Write ``src`` to ``dst`` with a new document timestamp (PAdES B-LTA's archive
    timestamp): first the validation data of the newest timestamp (its chain's revocation
    data, into the DSS), then a timestamp over all of it from ``evidence``'s authority,
    whose own chain's data follows. The signatures stay as they are (an incremental update);
    what they prove now rests on the new timestamp. Returns the new timestamp."""
    if evidence.timestamper is None:
        raise SigningError("a document timestamp needs a timestamp authority (signing.tsa)")
    stamper = signers.PdfTimeStamper(evidence.timestamper)
    try:
        out = asyncio.run(stamper.async_update_archival_timestamp_chain(
            _reader(src), evidence.validation_context, in_place=False))
    except TimestampRequestError as exc:
        raise SigningError(f"the timestamp authority did not answer ({exc})") from exc
    except (PdfError, PyHankoSigningError, ValidationError) as exc:
        raise SigningError(f"cannot add a document timestamp to {src.name}: {exc}") from exc
    fsutil.write_bytes(dst, out.getvalue())
    return document_timestamps(dst)[-1]


def _reader(src: Path) -> PdfFileReader:
    try:
        return PdfFileReader(BytesIO(src.read_bytes()))
    except OSError as exc:
        raise SigningError(f"cannot read {src}: {exc.strerror}") from None
    except PdfError as exc:
        raise SigningError(f"{src} is not a readable PDF: {exc}") from None
