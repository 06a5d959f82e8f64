"""Signing keys: a PKCS#12 file or a key on a PKCS#11 token, loaded for many signatures.

A signing key is loaded once and kept for the life of the process: parsing and validating an
RSA key costs about as much as the whole signature. A key on a PKCS#11 token is used through
one logged-in session, kept open likewise: one PIN entry signs a whole batch.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pkcs11
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.sign import signers
from pyhanko.sign.pkcs11 import PKCS11Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from pipeline.settings.config import KeySource, TokenSource
from pipeline.signatures.model import SigningError

log = logging.getLogger(__name__)


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
                log.warning("closing the session of %s's token: %s", self.name, pkcs11_reason(exc))


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
            signing_cert=to_asn1(certificate),
            cert_registry=SimpleCertificateStore.from_certs([to_asn1(c) for c in chain]),
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
    return _load_pkcs12(source, _read_key_file(source), source.passphrase())


_KEPT_NAMES = 64
_names: dict[bytes, str] = {}  # SHA-256 of (passphrase, key file) -> certificate holder


def holder_name(source: KeySource) -> str:
    """The name in a PKCS#12 key file's certificate, checked as :func:`load_signer` checks
    it, on the file and passphrase as they are now (either may change between requests).
    Opening the file costs ~45 ms (the PKCS#12 decryption and RSA key validation), so the
    name is kept per exact input: the same bytes with the same passphrase open the same
    way. A wrong passphrase or a damaged file is never kept: it raises every time."""
    data, passphrase = _read_key_file(source), source.passphrase()
    digest = hashlib.sha256(len(passphrase or b"").to_bytes(8, "big") + (passphrase or b"")
                            + (b"\1" if passphrase is None else b"\0") + data).digest()
    if digest not in _names:
        name = _load_pkcs12(source, data, passphrase).name
        if len(_names) >= _KEPT_NAMES:
            _names.clear()
        _names[digest] = name
    return _names[digest]


def _read_key_file(source: KeySource) -> bytes:
    try:
        return source.pkcs12.read_bytes()
    except OSError as exc:
        raise SigningError(f"cannot read key file {source.pkcs12}: {exc.strerror}") from None


def _load_pkcs12(source: KeySource, data: bytes, passphrase: bytes | None) -> LoadedSigner:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase)
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
            ca_chain=[to_asn1(c) for c in chain],
            other_certs_to_pull=() if source.chain else None,  # None: every cert on the token
        )
        signing_cert = backend.signing_cert  # finds the certificate and the key, or fails
        if not source.chain:
            chain = tuple(_from_asn1(c) for c in backend.cert_registry
                          if c.sha256 != signing_cert.sha256)
    except pkcs11.PKCS11Error as exc:
        session.close()  # logged out: a later attempt can log in again
        raise SigningError(f"token {source.token_label!r}: {pkcs11_reason(exc)}") from None
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
        raise SigningError(f"{where}: {pkcs11_reason(exc)}") from None


def _read_certificates(pem: Path) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem.read_bytes())
    except OSError as exc:
        raise SigningError(f"cannot read certificate file {pem}: {exc.strerror}") from None
    except ValueError:
        raise SigningError(f"{pem} holds no PEM certificate") from None


def pkcs11_reason(exc: pkcs11.PKCS11Error) -> str:
    """python-pkcs11's exceptions often carry no text: their class is the reason."""
    return str(exc) or type(exc).__name__


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _from_asn1(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())
