"""Timestamps: the authorities (the demo PKI's, in this process; an RFC 3161 one over
HTTP(S)) and the document timestamps that carry B-LTA signatures through the years.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from asn1crypto import cms, tsp
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.timestamps import TimeStamper, TimestampRequestError
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko_certvalidator.errors import ValidationError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from pipeline.core import fsutil
from pipeline.patches.timestamper import KeptKeyTimeStamper
from pipeline.settings.config import KeySource
from pipeline.signatures.keys import to_asn1
from pipeline.signatures.model import Evidence, SigningError, read_pdf


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
        key, tsa_cert=to_asn1(cert), tsa_key=asn1_keys.PrivateKeyInfo.load(der),
        certs_to_embed=SimpleCertificateStore.from_certs([to_asn1(c) for c in chain]))


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
        stamps = read_pdf(pdf).embedded_timestamp_signatures
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
            read_pdf(src), evidence.validation_context, in_place=False))
    except TimestampRequestError as exc:
        raise SigningError(f"the timestamp authority did not answer ({exc})") from exc
    except (PdfError, PyHankoSigningError, ValidationError) as exc:
        raise SigningError(f"cannot add a document timestamp to {src.name}: {exc}") from exc
    fsutil.write_bytes(dst, out.getvalue())
    return document_timestamps(dst)[-1]
