"""What an account may be: a login, a password, an e-mail address, a person of
pipeline.toml. Pure checks, each returning the value as kept or raising AccountError with
one line, Thai then English, saying what to type instead.
"""

from __future__ import annotations

import re
import unicodedata

from pipeline.core import thai
from pipeline.core.errors import PipelineError
from pipeline.settings.config import Config

MIN_PASSWORD = 10  # characters
# The longest password an account may have, in characters (after NFC): hashing is linear in
# the length, and no one types more. Every form or prompt that reads a password must accept
# this many characters (the command line's prompt, the desk's sign-in page), or an account
# given a longer one than the form reads could never sign in there.
MAX_PASSWORD = 1024
MAX_EMAIL = 254
_LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class AccountError(PipelineError):
    """An account cannot be made or changed as asked; one line, Thai then English."""


def login_name(value: str) -> str:
    """A login as looked up: lower case, as typed otherwise."""
    return value.strip().lower()


def new_login(value: str) -> str:
    name = login_name(value)
    if not _LOGIN.fullmatch(name):
        raise AccountError("ชื่อผู้ใช้ต้องเป็นอักษรอังกฤษตัวเล็ก ตัวเลข . _ - ไม่เกิน 64 ตัว / a "
                           "login is 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a "
                           "letter or digit")
    return name


def password(value: str, login: str = "") -> str:
    """The password as hashed (NFC, so that one typed on another keyboard is the same), or
    AccountError when it is too short, too long or the login itself."""
    text = unicodedata.normalize("NFC", value)
    if len(text) < MIN_PASSWORD:
        raise AccountError(f"รหัสผ่านต้องยาวอย่างน้อย {MIN_PASSWORD} ตัวอักษร / the password must "
                           f"be at least {MIN_PASSWORD} characters long: choose a longer one")
    if len(text) > MAX_PASSWORD:
        raise AccountError(f"รหัสผ่านยาวเกิน {MAX_PASSWORD} ตัวอักษร / the password is longer "
                           f"than {MAX_PASSWORD} characters")
    if login and text.strip().lower() == login:
        raise AccountError("รหัสผ่านต้องไม่ใช่ชื่อผู้ใช้ / the password must not be the login")
    return text


def email(value: str) -> str:
    text = value.strip()
    if text and (len(text) > MAX_EMAIL or not _EMAIL.fullmatch(text)):
        raise AccountError(f"ที่อยู่อีเมลไม่ถูกต้อง / not an e-mail address: {text[:80]!r}")
    return text


def person(config: Config, typed: str, *, director: bool) -> str:
    """The person as pipeline.toml spells them, when ``typed`` names one (titles and
    spacing aside), or "" for none; a director's account must be the director's or an
    acting director's (whose key signs)."""
    signers = [config.director.person.name,
               *(a.person.name for a in config.sheet.acting_directors)]
    people = signers if director else [
        *signers, *(p.person.name for p in config.providers), config.publisher.name]
    if not typed.strip() and not director:
        return ""
    for name in people:
        if thai.name_key(name) == thai.name_key(typed):
            return name
    if director:
        raise AccountError(f"บัญชีผู้อนุมัติต้องระบุ --person เป็นผู้อำนวยการหรือผู้รักษาราชการแทน / a "
                           f"director's account needs --person: one of {', '.join(signers)}")
    raise AccountError(f"ไม่มี {typed!r} ใน pipeline.toml / {typed!r} is not a person of "
                       f"pipeline.toml: give a provider, the director, an acting director "
                       f"or the publisher ({', '.join(people)})")
