"""A fix for a bug in pyhanko-certvalidator (0.33, with pyHanko 0.38) that verify depends on,
to be reported upstream; remove it once a release has it.

Past signature validation (ETSI EN 319 102-1 § 5.6.2.4, the part of B-LTA validation that
judges a signature at the time its document timestamp proves) looks for the signer's
revocation data on a path cut short at the signer's issuer, which it makes that path's trust
anchor. A CRL the issuer signed itself then needs a path from the anchor to the CRL's issuer
(the anchor itself), and ``ValidationPath.truncate_to_issuer_and_append`` only finds one when
the anchor is self-signed. With an intermediate CA, as every real signing PKI has, the CRL
embedded at signing time was never used: a year later a signature was INDETERMINATE
(REVOCATION_OUT_OF_BOUNDS_NO_POE) unless current status for the signer's own chain was
supplied too, where the standard asks only for the timestamp authority's.
"""

from __future__ import annotations

from asn1crypto import x509
from pyhanko_certvalidator.authority import CertTrustAnchor
from pyhanko_certvalidator.path import ValidationPath

_truncate_to_issuer_and_append = ValidationPath.truncate_to_issuer_and_append


def truncate_to_issuer_and_append(self: ValidationPath, cert: x509.Certificate
                                  ) -> ValidationPath:
    """pyHanko's, except that the anchor's own certificate is reached by the anchor alone
    (as pyHanko already does for a self-signed anchor)."""
    anchor = self.trust_anchor
    if isinstance(anchor, CertTrustAnchor) and anchor.certificate.dump() == cert.dump():
        return ValidationPath(anchor, interm=[], leaf=None)
    return _truncate_to_issuer_and_append(self, cert)


def install() -> None:
    """Use the fix in this process (only through :func:`pipeline.patches.install`, which
    checks the versions first)."""
    ValidationPath.truncate_to_issuer_and_append = (  # type: ignore[method-assign]
        truncate_to_issuer_and_append)
