"""Gathering what signatures above PAdES B-B need: a timestamp authority and revocation data.

It is gathered once for a batch and reused while fresh: the demo's CRLs are valid for a
week, and an online validation context keeps what it fetched for every document after the
first.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re

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


def probe_tsa(config: Config) -> str:
    """Whether the timestamp authority answers now: "" when it does (or the level needs
    none), else what is wrong, in one line for the desk's status page. It asks for a real
    token over a fixed digest, so a TSA that answers but refuses (an expired certificate, a
    login that no longer works) is found too."""
    if Level(config.signing.level) == Level.B_B:
        return ""
    try:
        found = gather(config)
        assert found.timestamper is not None
        asyncio.run(found.timestamper.async_timestamp(
            hashlib.sha256(b"pipeline: is the timestamp authority up?").digest(), "sha256"))
    except Exception as exc:  # noqa: BLE001 - any failure of the service is its answer
        # no user name or password of a URL in the answer, whatever raised it
        return re.sub(r"//[^/@\s]*@", "//", f"{type(exc).__name__}: {exc}")[:300]
    return ""
