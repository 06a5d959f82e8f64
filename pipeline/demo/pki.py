"""A demo and test PKI: root CA -> intermediate CA -> one signing certificate per person.

Everything here is for demonstrations and tests only: the CA names say ``DEMO ONLY`` and the
CA keys sit next to the certificates (encrypted with the demo passphrase) so that later steps
can issue more from them (expired or revoked signers, CRLs, OCSP responses, a timestamp
authority directly under the root). Files in the PKI folder:

``root.pem``, ``intermediate.pem``            CA certificates (PEM), the trust anchors to hand out
``root-key.pem``, ``intermediate-key.pem``    CA keys (PKCS#8, encrypted)
``<who>.p12``                                 a person's key, certificate and chain (PKCS#12)
``tsa.p12``                                   the demo time-stamping authority, under the root
``revoked.txt``                               serial numbers revoked (one hex serial a line)
``passphrase.txt``                            the passphrase of all of the above

Certificates name CRL distribution points under ``http://pki.demo.invalid/``, a host that
never resolves: the demo hands its CRLs to validation directly (:func:`current_crls`), fresh
each time, so nothing ever depends on the network. (Tests of fetching give another base, a
local server's.)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pipeline.core.request import Person
from pipeline.settings.config import KeySource

KEY_SIZE = 2048
# id-kp-documentSigning (RFC 9336); emailProtection is added beside it because NSS (poppler's
# pdfsig, Firefox) checks signing certificates for the e-mail signer usage.
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")

ROOT_CERT, ROOT_KEY = "root.pem", "root-key.pem"
INTERMEDIATE_CERT, INTERMEDIATE_KEY = "intermediate.pem", "intermediate-key.pem"
PASSPHRASE_FILE = "passphrase.txt"
REVOKED_FILE = "revoked.txt"
TSA = "tsa"
CRL_BASE = "http://pki.demo.invalid"
_CRL_LIFETIME = timedelta(days=7)
_CA_FILES = {"root": (ROOT_CERT, ROOT_KEY), "intermediate": (INTERMEDIATE_CERT, INTERMEDIATE_KEY)}

# CAs start well in the past so that back-dated end-entity certificates (an expired signer,
# a signature made last year) still nest inside their issuer's validity.
_CA_BACKDATE = timedelta(days=3 * 365)
_ROOT_LIFETIME = timedelta(days=20 * 365)
_INTERMEDIATE_LIFETIME = timedelta(days=10 * 365)
_SIGNER_LIFETIME = timedelta(days=2 * 365)
_CLOCK_SKEW = timedelta(minutes=5)
_CN_MAX_BYTES = 64  # as `cryptography` counts the RFC 5280 upper bound
_WHO = re.compile(r"[a-z0-9][a-z0-9_-]*")


class PKIError(Exception):
    """The PKI folder is incomplete or a request to it is malformed."""


@dataclass(frozen=True)
class Authority:
    """A certification authority able to issue: its certificate and private key."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class DemoPKI:
    """Where the files of a demo PKI are."""

    directory: Path
    root_pem: Path
    intermediate_pem: Path
    pkcs12: dict[str, Path]
    passphrase_file: Path

    def key_source(self, who: str) -> KeySource:
        """The key of ``who`` as the pipeline's configuration would name it."""
        try:
            return KeySource(pkcs12=self.pkcs12[who], passphrase_file=self.passphrase_file)
        except KeyError:
            raise PKIError(f"no key for {who!r} in {self.directory}") from None

    @property
    def crl_base(self) -> str:
        return _base_of(x509.load_pem_x509_certificate(self.intermediate_pem.read_bytes()))

    def authority(self, which: str) -> Authority:
        """The ``"root"`` or ``"intermediate"`` CA with its key, to issue more from it."""
        if which not in _CA_FILES:
            raise PKIError(f"unknown authority {which!r}: use 'root' or 'intermediate'")
        cert_name, key_name = _CA_FILES[which]
        passphrase = self.passphrase_file.read_bytes().rstrip(b"\r\n")
        key = serialization.load_pem_private_key(
            (self.directory / key_name).read_bytes(), passphrase
        )
        assert isinstance(key, rsa.RSAPrivateKey)
        cert = x509.load_pem_x509_certificate((self.directory / cert_name).read_bytes())
        return Authority(cert, key)


def create_pki(
    directory: Path, unit: str, people: Mapping[str, Person], passphrase: bytes,
    crl_base: str = CRL_BASE,
) -> DemoPKI:
    """Create a root CA, an intermediate CA and a PKCS#12 signing key for each of ``people``
    (keyed by a short file-safe name such as ``"director"``) in ``directory``; certificates
    point to CRLs at ``crl_base``/root.crl and /intermediate.crl."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_from = now - _CA_BACKDATE
    root_key, root_name = _new_key(), _ca_subject("Root CA", unit)
    root = Authority(
        _issue(root_name, root_key, root_name, root_key.public_key(),
               _ca_extensions(path_length=1), ca_from, ca_from + _ROOT_LIFETIME),
        root_key,
    )
    intermediate_key = _new_key()
    intermediate = Authority(
        _issue(root_name, root_key, _ca_subject("Intermediate CA", unit),
               intermediate_key.public_key(),
               [*_ca_extensions(path_length=0), _crl_distribution(crl_base, "root")],
               ca_from, ca_from + _INTERMEDIATE_LIFETIME),
        intermediate_key,
    )
    encryption = serialization.BestAvailableEncryption(passphrase)
    for which, authority in (("root", root), ("intermediate", intermediate)):
        cert_name, key_name = _CA_FILES[which]
        pem = serialization.Encoding.PEM
        _write(directory / cert_name, authority.certificate.public_bytes(pem))
        _write(directory / key_name, authority.key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, encryption
        ), private=True)
    _write(directory / PASSPHRASE_FILE, passphrase + b"\n", private=True)
    for who, person in people.items():
        _write_signer(directory, intermediate, root.certificate, who, person, passphrase,
                      now - _CLOCK_SKEW, now + _SIGNER_LIFETIME)
    _write_tsa(directory, root, passphrase, now - _CLOCK_SKEW, now + _SIGNER_LIFETIME,
               crl_base=crl_base)
    return load_pki(directory)


def revoke(pki: DemoPKI, who: str) -> None:
    """Revoke ``who``'s certificate: the next CRLs of the intermediate CA list it."""
    data = pki.pkcs12[who].read_bytes()
    passphrase = pki.passphrase_file.read_bytes().rstrip(b"\r\n")
    _key, cert, _chain = pkcs12.load_key_and_certificates(data, passphrase)
    assert cert is not None
    with (pki.directory / REVOKED_FILE).open("a", encoding="ascii") as f:
        f.write(f"{cert.serial_number:x}\n")


def current_crls(pki: DemoPKI, now: datetime | None = None
                 ) -> tuple[x509.CertificateRevocationList, ...]:
    """Fresh CRLs of both CAs (valid a week from ``now``), as a CA publishes them."""
    now = now or datetime.now(UTC)
    revoked_file = pki.directory / REVOKED_FILE
    revoked = ({int(line, 16) for line in revoked_file.read_text().split()}
               if revoked_file.is_file() else set())
    crls = []
    for which in ("root", "intermediate"):
        authority = pki.authority(which)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(authority.certificate.subject)
            .last_update(now)
            .next_update(now + _CRL_LIFETIME)
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                authority.key.public_key()), critical=False)
        )
        if which == "intermediate":
            for serial in sorted(revoked):
                builder = builder.add_revoked_certificate(
                    x509.RevokedCertificateBuilder().serial_number(serial)
                    .revocation_date(now - _CLOCK_SKEW).build())
        crls.append(builder.sign(authority.key, hashes.SHA256()))
    return tuple(crls)


def add_signer(
    pki: DemoPKI,
    who: str,
    person: Person,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    encipherment_only: bool = False,
) -> DemoPKI:
    """Issue one more signing certificate from the intermediate CA, e.g. an expired one
    (``not_after`` in the past), or one whose key usage is for encryption only (a
    certificate that must not sign); returns the PKI with ``who`` added."""
    now = datetime.now(UTC)
    passphrase = pki.passphrase_file.read_bytes().rstrip(b"\r\n")
    _write_signer(pki.directory, pki.authority("intermediate"), pki.authority("root").certificate,
                  who, person, passphrase,
                  not_before or now - _CLOCK_SKEW, not_after or now + _SIGNER_LIFETIME,
                  usage=_key_usage(key_encipherment=True) if encipherment_only else None)
    return load_pki(pki.directory)


def add_untrusted_tsa(pki: DemoPKI, who: str) -> KeySource:
    """A time-stamping authority under a root of its own, which nobody trusts: ``who.p12``
    beside the PKI's keys (for tests of a timestamp from an unknown authority)."""
    now = datetime.now(UTC)
    key, name = _new_key(), _ca_subject(f"Rogue Root {who}", "nobody")
    rogue = Authority(_issue(name, key, name, key.public_key(), _ca_extensions(path_length=0),
                             now - _CA_BACKDATE, now + _ROOT_LIFETIME), key)
    passphrase = pki.passphrase_file.read_bytes().rstrip(b"\r\n")
    _write_tsa(pki.directory, rogue, passphrase, now - _CLOCK_SKEW, now + _SIGNER_LIFETIME,
               crl_base=pki.crl_base, name=who)
    return KeySource(pkcs12=pki.directory / f"{who}.p12", passphrase_file=pki.passphrase_file)


def tsa_certificate_pem(pki: DemoPKI) -> bytes:
    """The demo time-stamping authority's certificate (PEM), to hand to auditors."""
    passphrase = pki.passphrase_file.read_bytes().rstrip(b"\r\n")
    _key, cert, _chain = pkcs12.load_key_and_certificates(
        (pki.directory / f"{TSA}.p12").read_bytes(), passphrase)
    assert cert is not None
    return cert.public_bytes(serialization.Encoding.PEM)


def issue_tsa(pki: DemoPKI, *, not_before: datetime | None = None,
              not_after: datetime | None = None) -> DemoPKI:
    """Replace the time-stamping authority's key and certificate with new ones valid from
    ``not_before`` to ``not_after`` (e.g. one about to expire, for the archive's refresh)."""
    now = datetime.now(UTC)
    passphrase = pki.passphrase_file.read_bytes().rstrip(b"\r\n")
    _write_tsa(pki.directory, pki.authority("root"), passphrase,
               not_before or now - _CLOCK_SKEW, not_after or now + _SIGNER_LIFETIME,
               crl_base=pki.crl_base)
    return load_pki(pki.directory)


def load_pki(directory: Path) -> DemoPKI:
    """Find the files of a PKI made by :func:`create_pki` again."""
    pki = DemoPKI(
        directory=directory,
        root_pem=directory / ROOT_CERT,
        intermediate_pem=directory / INTERMEDIATE_CERT,
        pkcs12={p.stem: p for p in sorted(directory.glob("*.p12"))},
        passphrase_file=directory / PASSPHRASE_FILE,
    )
    missing = [p.name for p in (pki.root_pem, pki.intermediate_pem, pki.passphrase_file)
               if not p.is_file()]
    if missing:
        raise PKIError(f"{directory} is not a demo PKI: {', '.join(missing)} missing")
    return pki


def _write_signer(
    directory: Path,
    issuer: Authority,
    root: x509.Certificate,
    who: str,
    person: Person,
    passphrase: bytes,
    not_before: datetime,
    not_after: datetime,
    usage: x509.KeyUsage | None = None,
) -> None:
    if not _WHO.fullmatch(who):
        raise PKIError(f"{who!r} cannot name a key file: use lower-case letters, digits, - and _")
    unit = issuer.certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    key = _new_key()
    crls = _crl_distribution(_base_of(issuer.certificate), "intermediate")
    cert = _issue(issuer.certificate.subject, issuer.key, _signer_subject(person, str(unit)),
                  key.public_key(), [*_signer_extensions(usage), crls], not_before, not_after)
    data = pkcs12.serialize_key_and_certificates(
        person.name.encode(), key, cert, [issuer.certificate, root],
        serialization.BestAvailableEncryption(passphrase),
    )
    _write(directory / f"{who}.p12", data, private=True)


def _write_tsa(directory: Path, root: Authority, passphrase: bytes, not_before: datetime,
               not_after: datetime, *, crl_base: str, name: str = TSA) -> None:
    """The demo time-stamping authority, issued directly by the root: current revocation
    status for it then says nothing about the signers' (expired, one day) certificates."""
    key = _new_key()
    unit = root.certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    cert = _issue(root.certificate.subject, root.key,
                  _ca_subject("Time-Stamping Authority", str(unit)), key.public_key(),
                  [(x509.BasicConstraints(ca=False, path_length=None), True),
                   (_key_usage(digital_signature=True, content_commitment=True), True),
                   (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True),
                   _crl_distribution(crl_base, "root")],
                  not_before, not_after)
    data = pkcs12.serialize_key_and_certificates(
        b"tsa", key, cert, [root.certificate], serialization.BestAvailableEncryption(passphrase))
    _write(directory / f"{name}.p12", data, private=True)


def _base_of(intermediate: x509.Certificate) -> str:
    """The CRL base a PKI was made with: where its intermediate CA finds the root's CRL."""
    points = intermediate.extensions.get_extension_for_class(
        x509.CRLDistributionPoints).value
    return str(points[0].full_name[0].value).rsplit("/", 1)[0]


def _crl_distribution(base: str, issuer: str) -> tuple[x509.ExtensionType, bool]:
    url = f"{base}/{issuer}.crl"
    point = x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)
    return x509.CRLDistributionPoints([point]), False


def _issue(
    issuer_name: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    subject: x509.Name,
    public_key: rsa.RSAPublicKey,
    extensions: Iterable[tuple[x509.ExtensionType, bool]],
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _ca_extensions(path_length: int) -> list[tuple[x509.ExtensionType, bool]]:
    return [
        (x509.BasicConstraints(ca=True, path_length=path_length), True),
        (_key_usage(key_cert_sign=True, crl_sign=True), True),
    ]


def _signer_extensions(usage: x509.KeyUsage | None = None
                       ) -> list[tuple[x509.ExtensionType, bool]]:
    return [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (usage or _key_usage(digital_signature=True, content_commitment=True), True),
        (x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]), False),
    ]


def _key_usage(**usages: bool) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{name: usages.get(name, False) for name in names})


def _ca_subject(kind: str, unit: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, f"DEMO ONLY {kind}"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, unit),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"),
    ])


def _signer_subject(person: Person, unit: str) -> x509.Name:
    if len(person.name.encode()) > _CN_MAX_BYTES:
        raise PKIError(f"{person.name}: a certificate's common name holds at most "
                       f"{_CN_MAX_BYTES} UTF-8 bytes (about 21 Thai characters)")
    return x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, person.name),
        x509.NameAttribute(NameOID.TITLE, person.position),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, unit),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"),
    ])


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
