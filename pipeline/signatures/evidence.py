"""Gathering what signatures above PAdES B-B need: a timestamp authority and revocation data.

It is gathered once for a batch and reused while fresh: the demo's CRLs are valid for a
week, and an online validation context keeps what it fetched for every document after the
first.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import serialization

from pipeline.settings.config import Config, ConfigError, KeySource
from pipeline.signatures import timestamps
from pipeline.signatures.model import B_B_ONLY, Evidence, Level, crls_from_der, load_trust_roots


def gather(config: Config) -> Evidence:
    policy = config.signing
    level = Level(policy.level)
    if level == Level.B_B:
        return B_B_ONLY
    demo = policy.demo_pki
    if "demo" in (policy.tsa, policy.revocation) and (demo is None or not demo.is_dir()):
        raise ConfigError(f"signing uses the demo PKI, but {demo} is not there")
    if "demo" in (policy.tsa, policy.revocation):
        from pipeline.demo import pki  # only for an office that names the demo's services
    if policy.tsa == "demo":
        assert demo is not None
        timestamper = timestamps.demo_timestamper(KeySource(
            demo / f"{pki.TSA}.p12", passphrase_file=demo / pki.PASSPHRASE_FILE))
    else:
        auth = None
        if policy.tsa_username:
            variable = policy.tsa_password_env or ""
            if variable not in os.environ:
                raise ConfigError(f"signing.tsa_password_env: environment variable "
                                  f"{variable or '(not named)'} is not set")
            auth = (policy.tsa_username, os.environ[variable])
        client_cert = ((policy.tsa_client_cert, policy.tsa_client_key)
                       if policy.tsa_client_cert else None)
        timestamper = timestamps.http_timestamper(policy.tsa, policy.tsa_timeout, auth,
                                                  retries=policy.tsa_retries,
                                                  client_cert=client_cert)
    crls: tuple[bytes, ...] = ()
    if policy.revocation == "demo":
        assert demo is not None
        crls = tuple(c.public_bytes(serialization.Encoding.DER)
                     for c in pki.current_crls(pki.load_pki(demo)))
    return Evidence(level, timestamper, load_trust_roots(config.trust_roots),
                    crls_from_der(crls), online=policy.revocation == "online")
