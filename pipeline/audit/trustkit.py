"""The trust kit: what an auditor on another machine needs to verify as this office does.

Trust roots, the timestamp authorities' certificates, current CRLs and the instructions, in
one folder (``pipeline trust-kit DIR``, then ``pipeline verify --trust-kit DIR``). The demo
PKI makes its CRLs; anywhere else they are fetched from the distribution points named by the
certificates in the newest archived forms, since those are the chains an auditor will check.
Only certificates whose signatures chain to the office's roots are asked (the certificate bag
of a PDF is not signed, so anyone with the archive could add one pointing anywhere), and a
CRL is kept only if one of those CAs signed it and it is current.
"""

from __future__ import annotations

import re
import threading
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests
from asn1crypto import cms, pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko.pdf_utils.reader import PdfFileReader

from pipeline.audit import kit_readme
from pipeline.audit.model import Trust, VerificationError
from pipeline.audit.trust import crl_der, load_roots
from pipeline.bundles import bundle
from pipeline.core import fsutil
from pipeline.settings.config import Config

ROOTS, TSA, CRLS, README = "roots", "tsa", "crls", "README.txt"
NEWEST_BUNDLES = 10  # whose certificates say which CRLs to fetch
FETCH_TIMEOUT = 15.0  # seconds without an answer, per CRL
FETCH_LIMIT = 60.0  # seconds in all, per CRL
MAX_CRL_BYTES = 50 * 2**20

Fetch = Callable[[str], bytes]


@dataclass(frozen=True)
class TrustKit:
    directory: Path
    roots: tuple[Path, ...]
    tsa: tuple[Path, ...]
    crls: tuple[Path, ...]
    left_out: tuple[str, ...] = ()  # "URL: why" for CRLs not included, "PDF: why" for forms

    def trust(self, *, online: bool = False) -> Trust:
        return Trust(self.roots, tuple(crl_der(p.read_bytes(), str(p)) for p in self.crls),
                     online)


def write(config: Config, directory: Path, *, sources: Sequence[Path] | None = None,
          fetch: Fetch | None = None) -> TrustKit:
    """Export the kit of ``config``'s office into ``directory``. Certificates (and so the
    CRLs to fetch) come from the signed PDFs ``sources``, by default the newest bundles'.
    Everything is gathered before anything is written; writing again over a kit replaces
    the files it wrote, and touches no others."""
    trusted = load_roots(config.trust_roots)
    left_out: list[str] = []
    if "demo" in (config.signing.tsa, config.signing.revocation):  # as evidence.gather
        from pipeline.demo import pki  # only for an office that names the demo's services

        try:
            the_pki = pki.load_pki(config.signing.demo_pki or Path())
        except pki.PKIError as exc:
            raise VerificationError(str(exc)) from None
        tsa_pems = [pki.tsa_certificate_pem(the_pki)]
        crls = [c.public_bytes(serialization.Encoding.DER) for c in pki.current_crls(the_pki)]
    else:
        if sources is None:
            sources = _newest_forms(config, left_out)
        found = _certificates(sources, left_out)
        root_certs = [_to_x509(r) for r in trusted]
        chained = _chained(found, root_certs)
        tsa_pems = [c.public_bytes(serialization.Encoding.PEM) for c in chained
                    if _for_timestamping(c)]
        crls = _fetch_crls(chained, root_certs, fetch or _http_get, left_out)
    try:
        return _write(config, directory, trusted, tsa_pems, crls, left_out)
    except OSError as exc:
        raise VerificationError(f"cannot write the trust kit in {directory}: "
                                f"{exc.strerror or exc}") from None


def _write(config: Config, directory: Path, roots: Sequence[asn1_x509.Certificate],
           tsa_pems: list[bytes], crls: list[bytes], left_out: list[str]) -> TrustKit:
    written: dict[str, list[Path]] = {}
    pems = [pem.armor("CERTIFICATE", c.dump()) for c in roots]
    ders = [c.dump() for c in roots]  # the same, as .cer for Adobe Reader and Windows
    for sub, stem, suffix, items in ((ROOTS, "root", ".pem", pems), (ROOTS, "root", ".cer", ders),
                                     (TSA, "tsa", ".pem", tsa_pems), (CRLS, "crl", ".crl", crls)):
        folder = directory / sub
        folder.mkdir(parents=True, exist_ok=True)
        if (directory / README).is_file():  # an earlier kit: its own files only
            for old in folder.glob(f"{stem}-*{suffix}"):
                if re.fullmatch(rf"{stem}-\d+{re.escape(suffix)}", old.name):
                    old.unlink()
        written[sub + suffix] = [_put(folder / f"{stem}-{i + 1}{suffix}", data)
                                 for i, data in enumerate(items)]
    made = datetime.now(UTC)
    missing = "".join(f"\nไม่ได้รวม (not included) {line}" for line in left_out)
    described = [kit_readme.Root(p.name, c.name, r.subject.human_friendly, r.dump())
                 for p, c, r in zip(written[ROOTS + ".pem"], written[ROOTS + ".cer"], roots,
                                    strict=True)]
    fsutil.write_bytes(directory / README, kit_readme.text(
        unit=config.unit, made=f"{made:%Y-%m-%d %H:%M} UTC", crls=len(written[CRLS + ".crl"]),
        missing=missing, roots=described).encode("utf-8"))
    return TrustKit(directory, tuple(written[ROOTS + ".pem"]), tuple(written[TSA + ".pem"]),
                    tuple(written[CRLS + ".crl"]), tuple(left_out))


def load(directory: Path) -> TrustKit:
    roots = tuple(sorted((directory / ROOTS).glob("*.pem")))
    if not roots:
        raise VerificationError(f"{directory} is not a trust kit: no {ROOTS}/*.pem")
    return TrustKit(directory, roots, tuple(sorted((directory / TSA).glob("*.pem"))),
                    tuple(sorted((directory / CRLS).glob("*.crl"))))


def _put(path: Path, data: bytes) -> Path:
    fsutil.write_bytes(path, data)
    return path


def _newest_forms(config: Config, unreadable: list[str]) -> list[Path]:
    forms = []
    for folder in bundle.listed(config.workspace.outbox)[-NEWEST_BUNDLES:]:
        try:
            forms.append(folder / bundle.read_manifest(folder)["signed_pdf"])
        except (OSError, ValueError, KeyError, TypeError):
            unreadable.append(f"{folder}: its manifest.json cannot be read")
    return forms


def _certificates(pdfs: Iterable[Path], unreadable: list[str]) -> list[asn1_x509.Certificate]:
    """Every certificate the signatures and timestamps of ``pdfs`` carry, once each; the
    forms that cannot be read are added to ``unreadable`` (the others still count)."""
    found: dict[bytes, asn1_x509.Certificate] = {}
    for pdf in pdfs:
        try:
            with pdf.open("rb") as f:
                for sig in PdfFileReader(f).embedded_signatures:
                    for signed in (sig.signed_data, *_timestamp_tokens(sig.signer_info)):
                        for choice in signed["certificates"] or ():
                            if choice.name == "certificate":
                                found.setdefault(choice.chosen.sha256, choice.chosen)
        except Exception as exc:  # noqa: BLE001 - any parser's error: a damaged form
            unreadable.append(f"{pdf}: its certificates cannot be read ({type(exc).__name__})")
    return list(found.values())


def _timestamp_tokens(signer_info: cms.SignerInfo) -> list[cms.SignedData]:
    return [value["content"] for attr in signer_info["unsigned_attrs"] or ()
            if attr["type"].native == "signature_time_stamp_token"
            for value in attr["values"]]


def _to_x509(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def _chained(found: Iterable[asn1_x509.Certificate], roots: list[x509.Certificate]
             ) -> list[x509.Certificate]:
    """The certificates of ``found`` whose signatures lead to one of ``roots`` through CAs
    (a staff member's signing key cannot vouch for a certificate of its own making)."""
    authorities = list(roots)
    pending = []
    for cert in found:
        try:
            pending.append(_to_x509(cert))
        except ValueError:  # not even a certificate cryptography can read
            continue
    chained = []
    grew = True
    while grew:
        grew = False
        for cert in list(pending):
            if any(_issued_by(cert, ca) for ca in authorities):
                chained.append(cert)
                pending.remove(cert)
                if _is_ca(cert, "key_cert_sign"):
                    authorities.append(cert)
                grew = True
    return [c for c in chained if c not in roots]


def _is_ca(cert: x509.Certificate, usage: str) -> bool:
    """A CA certificate, allowed ``usage`` ("key_cert_sign", "crl_sign") if it limits them."""
    try:
        if not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return False
    except (x509.ExtensionNotFound, ValueError):
        return False
    try:
        return bool(getattr(cert.extensions.get_extension_for_class(x509.KeyUsage).value,
                            usage))
    except x509.ExtensionNotFound:
        return True
    except ValueError:
        return False


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _for_timestamping(cert: x509.Certificate) -> bool:
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    return ExtendedKeyUsageOID.TIME_STAMPING in usage


def _crl_urls(cert: x509.Certificate) -> list[str]:
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except (x509.ExtensionNotFound, ValueError):  # none, or one that cannot be read
        return []
    urls = []
    for point in points:
        for name in point.full_name or ():
            if isinstance(name, x509.UniformResourceIdentifier):
                try:
                    scheme = urlsplit(name.value).scheme
                except ValueError:
                    continue
                if scheme in ("http", "https"):
                    urls.append(name.value)
    return urls


def _fetch_crls(chained: list[x509.Certificate], roots: list[x509.Certificate], fetch: Fetch,
                left_out: list[str]) -> list[bytes]:
    """The CRLs ``chained`` certificates name, fetched, each signed by one of their CAs (or
    ``roots``) and current; for those that are not, why goes into ``left_out``."""
    urls = dict.fromkeys(url for cert in chained for url in _crl_urls(cert))
    issuers = [*roots, *(c for c in chained if _is_ca(c, "crl_sign"))]
    crls = []
    for url in urls:
        try:
            der = crl_der(_within(FETCH_LIMIT, fetch, url), url)
            problem = _crl_problem(x509.load_der_x509_crl(der), issuers)
        except (requests.RequestException, VerificationError, ValueError, TypeError) as exc:
            problem = str(exc)
        if problem:
            left_out.append(f"{url}: {problem}")
        else:
            crls.append(der)
    return crls


def _within(seconds: float, fetch: Fetch, url: str) -> bytes:
    """``fetch(url)``, given up after ``seconds`` whatever it waits for (a name lookup, a
    server sending a byte at a time): in a thread of its own, left behind to die with the
    program."""
    outcome: list[bytes | BaseException] = []

    def run() -> None:
        try:
            outcome.append(fetch(url))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome.append(exc)

    worker = threading.Thread(target=run, name=f"fetch {url}", daemon=True)
    worker.start()
    worker.join(seconds)
    if not outcome:
        raise requests.RequestException(f"no complete answer within {seconds:.0f} s")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _signed_by(crl: x509.CertificateRevocationList, ca: x509.Certificate) -> bool:
    """Whether ``ca``'s key signed ``crl``; a key that cannot sign (X25519, ML-KEM...) never
    did."""
    key = ca.public_key()
    if not isinstance(key, typing.get_args(CertificateIssuerPublicKeyTypes)):
        return False
    return crl.is_signature_valid(typing.cast(CertificateIssuerPublicKeyTypes, key))


def _crl_problem(crl: x509.CertificateRevocationList, cas: list[x509.Certificate]) -> str:
    """Why a fetched CRL is of no use, or "" when one of the CAs ``cas`` signed it and it
    is current."""
    if not any(ca.subject == crl.issuer and _signed_by(crl, ca) for ca in cas):
        return f"not signed by a CA of the office's chains ({crl.issuer.rfc4514_string()})"
    now = datetime.now(UTC)
    if crl.next_update_utc is not None and crl.next_update_utc < now:
        return f"out of date (next update was {crl.next_update_utc:%Y-%m-%d %H:%M} UTC)"
    if crl.last_update_utc > now:
        return f"issued in the future ({crl.last_update_utc:%Y-%m-%d %H:%M} UTC)"
    return ""


def _http_get(url: str) -> bytes:
    """The body at ``url``, at most MAX_CRL_BYTES (``_within`` bounds the time)."""
    with requests.Session() as session:
        session.max_redirects = 5
        with session.get(url, timeout=FETCH_TIMEOUT, stream=True) as response:
            response.raise_for_status()
            body = bytearray()
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > MAX_CRL_BYTES:
                    raise requests.RequestException(f"larger than {MAX_CRL_BYTES >> 20} MB")
            return bytes(body)
