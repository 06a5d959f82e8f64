"""pyHanko's in-process timestamper (``DummyTimeStamper``, pyHanko 0.38) over a key parsed
once. It overrides a private method, ``_sign_tst_info``, hence its place here.

The stock one keeps its key as an asn1crypto ``PrivateKeyInfo`` and has cryptography parse
(and validate) the RSA key again for every token: about 29 ms each, twice per B-LTA
signature (the signature timestamp and the document timestamp), in the demo workspace and in
the tests, which use it as their timestamp authority. ``tests/test_patches.py`` checks that
its tokens are what the stock one makes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from asn1crypto import cms, core
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pyhanko.sign.general import as_signing_certificate, simple_cms_attribute
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.util import get_pyca_cryptography_hash


class KeptKeyTimeStamper(DummyTimeStamper):
    """``DummyTimeStamper`` that signs with ``key``, already parsed; the other arguments are
    ``DummyTimeStamper``'s (``tsa_cert``, ``tsa_key``, ...)."""

    def __init__(self, key: rsa.RSAPrivateKey, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._key = key

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime
                       ) -> tuple[bytes, cms.CMSAttributes]:
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
            simple_cms_attribute("signing_certificate", as_signing_certificate(self.tsa_cert)),
            simple_cms_attribute("message_digest", digest.finalize()),
        ])
        signature = self._key.sign(signed_attrs.dump(), padding.PKCS1v15(),
                                   get_pyca_cryptography_hash(md_algorithm.upper()))
        return signature, signed_attrs
