"""PAdES signatures, timestamps and the revocation data that keep them verifiable."""
