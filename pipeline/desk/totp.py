"""The optional second factor: time-based one-time codes (RFC 6238, pyotp), as every
authenticator app makes them: 6 digits, a new one every 30 s.

A code is accepted for the 30 s step it belongs to and one step either side (a phone's
clock a little off), and only once: the step of the last code used is kept with the account,
and a code of that step or an earlier one is refused, so that a code read over someone's
shoulder cannot be replayed within its minute.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

ISSUER = "pipeline"  # what the authenticator app shows above the login
DRIFT_STEPS = 1  # steps of 30 s either side accepted
MAX_CODE = 16  # characters of a typed code looked at


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, login: str) -> str:
    """The ``otpauth://`` address an authenticator app reads (as a QR code or typed)."""
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=ISSUER)


def matching_step(secret: str, code: str, now: datetime, after: int = 0) -> int | None:
    """The time step ``code`` belongs to, when it is the code of a step near ``now`` later
    than ``after`` (the step of the last code used); None otherwise. Spaces typed within the
    code are ignored; the comparison takes the same time whatever the code."""
    typed = "".join(code[:MAX_CODE].split())
    if not typed.isascii() or not typed.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    found = None
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        expected = totp.generate_otp(candidate)
        if hmac.compare_digest(expected.encode(), typed.encode()) and candidate > after:
            found = candidate
    return found
