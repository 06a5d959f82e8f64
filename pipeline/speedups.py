"""Faster drop-ins for two hot spots an auditor's verify spends its time in, measured with
``bench/bench_verify.py``; each returns exactly what the code it replaces returns.

Hex strings: pyHanko (0.38) reads a hex string one byte at a time through a generator. A
signature's /Contents is a hex string of 10-24 KB, so verify spent an eighth of its time
there. This reader takes the whole string at once and hands anything unusual (a comment, a
stray byte, a missing ``>``) back to pyHanko's own code, so that what is accepted, rejected
and returned stays exactly pyHanko's.

Tokens: pyHanko reads every name and number one byte at a time too (``_read_until_class``);
this reader looks for the delimiter in a block and steps back to just after it.

Names: asn1crypto compares certificate names (RFC 5280) after RFC 4518 string preparation,
which it redoes for every freshly parsed certificate: every signature, timestamp and CRL
brings its copies of the same few names, and path building compares them again and again.
The preparation is a pure function of the string, so it is kept per string, and what a
comparison needs of a whole name is kept per encoded name.
"""

from __future__ import annotations

import binascii
import functools
import re
from typing import BinaryIO

from asn1crypto.x509 import Name, NameTypeAndValue, RDNSequence
from pyhanko.pdf_utils import generic, misc

_pyhanko_reader = generic.read_hex_string_from_stream
_PLAIN = re.compile(rb"<([0-9A-Fa-f\x00\t\n\x0c\r ]*)>")
_WHITESPACE = b"\x00\t\n\x0c\r "


def read_hex_string_from_stream(stream: BinaryIO
                                ) -> generic.ByteStringObject | generic.TextStringObject:
    start = stream.tell()
    data = stream.read(1)
    while (end := data.find(b">")) < 0:
        more = stream.read(max(len(data), 4096))
        if not more:
            break
        data += more
    found = _PLAIN.fullmatch(data, 0, end + 1) if end >= 0 else None
    if found is None:
        stream.seek(start)
        return _pyhanko_reader(stream)
    stream.seek(start + end + 1)
    digits = found.group(1).translate(None, _WHITESPACE)
    return generic.pdf_string(binascii.unhexlify(digits + b"0" * (len(digits) % 2)))


_pyhanko_until_class = misc._read_until_class
_BLOCK = 64  # bytes: longer than nearly every PDF name or number


@functools.cache
def _class_pattern(class_chars: bytes) -> re.Pattern[bytes]:
    return re.compile(b"[" + b"".join(re.escape(bytes([c])) for c in class_chars) + b"]")


def read_until_class(class_chars: bytes, stream: BinaryIO, maxchars: int | None = None
                     ) -> tuple[bytes, bool]:
    """The bytes before the first one in ``class_chars`` (which is consumed), and whether
    the stream ended first; at most ``maxchars`` bytes when given, as pyHanko's."""
    pattern = _class_pattern(class_chars)
    start, read = stream.tell(), b""
    while True:
        want = _BLOCK if not maxchars else min(_BLOCK, maxchars - len(read))
        block = stream.read(want) if want > 0 else b""
        found = pattern.search(block)
        if found is not None:
            stream.seek(start + len(read) + found.start() + 1)
            return read + block[:found.start()], False
        read += block
        if maxchars and len(read) >= maxchars:
            return read, False
        if len(block) < want or want == 0:
            return read, True


_asn1crypto_prep = NameTypeAndValue._ldap_string_prep


@functools.lru_cache(maxsize=4096)
def ldap_string_prep(string: str) -> str:
    return _asn1crypto_prep(None, string)


_asn1crypto_name_eq = Name.__eq__


@functools.lru_cache(maxsize=1024)
def _compared(der: bytes) -> tuple[tuple[int, str], ...]:
    """What asn1crypto's equality looks at, RDN by RDN: its size and its prepared values."""
    return tuple((len(rdn), rdn.hashable) for rdn in RDNSequence.load(der))


def name_eq(self: Name, other: object) -> bool:
    if not isinstance(other, Name):
        return False
    try:  # the sequence itself: a name inside a GeneralName carries an explicit tag
        return _compared(self.chosen.dump()) == _compared(other.chosen.dump())
    except ValueError:  # whatever asn1crypto makes of a malformed name
        return _asn1crypto_name_eq(self, other)


def install() -> None:
    """Use these in this process."""
    generic.read_hex_string_from_stream = read_hex_string_from_stream
    misc._read_until_class = read_until_class
    NameTypeAndValue._ldap_string_prep = lambda _self, string: ldap_string_prep(string)
    Name.__eq__ = name_eq  # type: ignore[method-assign]
