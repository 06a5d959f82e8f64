"""A self-signed certificate for the demo's desk, so that ``pipeline serve --certfile
--keyfile`` can be tried over HTTPS at once (``desk-tls/`` in the demo folder; the key
readable by its owner only). An office uses its own certificate, or a reverse proxy."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pipeline.core import fsutil
from pipeline.settings.config import Config

FOLDER = "desk-tls"
VALID = timedelta(days=365)


def create(config: Config) -> tuple[Path, Path]:
    """(certificate, key) of the demo's desk, made once."""
    folder = config.workspace.root / FOLDER
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    folder.mkdir(exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost (DEMO ONLY)")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + VALID)
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1"))]), critical=False)
            # no basicConstraints: OpenSSL 3 takes a self-signed CA:FALSE certificate as
            # no trust anchor ("self-signed certificate"), so the browser could not pin it
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fsutil.write_bytes(key_path, pem, mode=0o600)  # private before a byte is written
    fsutil.write_bytes(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path
