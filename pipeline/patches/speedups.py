"""Faster drop-ins for the hot spots of an auditor's verify inside pyHanko (0.38) and
asn1crypto (1.5.1), found with py-spy and measured with ``bench/bench_verify.py``; each
returns exactly what the code it replaces returns (``tests/test_patches.py`` compares them).
``install()`` puts them in place; :func:`pipeline.patches.install` calls it.

Hex strings: pyHanko reads a hex string one byte at a time through a generator. A
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

Document timestamps: pyHanko's B-LTA validation of each signature starts by validating every
document timestamp of the file (the proofs of existence) and reading the DSS, work that
depends on the file and the validation settings, not on the signature: for a form with two
signatures it was done twice. It is kept per file (per reader, forgotten with it) and reused
only when the settings and the validation data are the very same objects.
"""

from __future__ import annotations

import binascii
import copy
import dataclasses
import functools
import re
from collections.abc import Hashable
from typing import Any, BinaryIO
from weakref import WeakKeyDictionary

from asn1crypto.x509 import Name, NameTypeAndValue, RDNSequence
from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DiffPolicy
from pyhanko.sign.validation import ades
from pyhanko.sign.validation.policy_decl import LocalKnowledge, SignatureValidationSpec
from pyhanko_certvalidator.ltv.poe import POEManager
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo

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
    except Exception:  # noqa: BLE001 - an odd name (an INTEGER value, an unknown type...):
        # asn1crypto's own comparison, which may stop before the part that fails here
        return _asn1crypto_name_eq(self, other)


_ades_poe_index = ades._build_prima_facie_poe_index_from_pdf_timestamps
_ades_dss_knowledge = ades._dss_to_local_knowledge
_ades_validate_poe = ades._validate_prima_facie_poe
_per_file: WeakKeyDictionary[PdfFileReader, dict[Hashable, Any]] = WeakKeyDictionary()
_validated: list[tuple[list, SignatureValidationSpec, POEManager]] = []  # newest last
_KEEP_VALIDATED = 8


def poe_index(r: PdfFileReader, include_content_ts: bool, diff_policy: DiffPolicy | None
              ) -> list:
    memo = _per_file.setdefault(r, {})
    key = ("poe index", include_content_ts, diff_policy)
    if key not in memo:
        memo[key] = _ades_poe_index(r, include_content_ts, diff_policy)
    return memo[key]


def dss_knowledge(reader: PdfFileReader) -> LocalKnowledge:
    memo = _per_file.setdefault(reader, {})
    if "dss" not in memo:
        memo["dss"] = _ades_dss_knowledge(reader)
    return memo["dss"]


async def validate_poe(prima_facie_poe_sets: list, validation_spec: SignatureValidationSpec,
                       cur_timing_info: ValidationTimingInfo | None = None) -> POEManager:
    for sets, spec, result in _validated:
        if sets is prima_facie_poe_sets and _same_settings(spec, validation_spec):
            return copy.copy(result)  # the caller adds to it
    result = await _ades_validate_poe(prima_facie_poe_sets, validation_spec=validation_spec,
                                      cur_timing_info=cur_timing_info)
    _validated.append((prima_facie_poe_sets, validation_spec, result))
    del _validated[:-_KEEP_VALIDATED]
    return copy.copy(result)


def _same_settings(a: SignatureValidationSpec, b: SignatureValidationSpec) -> bool:
    """The very same policies and validation data; only the fetcher, which each validation
    makes its own, may differ."""
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "revinfo_gathering_policy":
            same = all(getattr(x, g.name) == getattr(y, g.name)
                       for g in dataclasses.fields(x) if g.name != "fetcher_backend")
        elif f.name == "local_knowledge":
            same = all(_same_items(getattr(x, g.name), getattr(y, g.name))
                       for g in dataclasses.fields(x))
        else:
            same = x is y
        if not same:
            return False
    return True


def _same_items(x: list, y: list) -> bool:
    return len(x) == len(y) and all(p is q for p, q in zip(x, y, strict=True))


def install() -> None:
    """Use these in this process (only through :func:`pipeline.patches.install`, which
    checks the versions first)."""
    generic.read_hex_string_from_stream = read_hex_string_from_stream
    misc._read_until_class = read_until_class
    NameTypeAndValue._ldap_string_prep = lambda _self, string: ldap_string_prep(string)
    Name.__eq__ = name_eq
    ades._build_prima_facie_poe_index_from_pdf_timestamps = poe_index
    ades._dss_to_local_knowledge = dss_knowledge
    ades._validate_prima_facie_poe = validate_poe
