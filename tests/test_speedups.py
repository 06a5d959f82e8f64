"""The faster hex-string reader must accept, reject and return exactly what pyHanko's does."""

from __future__ import annotations

from io import BytesIO

from asn1crypto import core, x509
from hypothesis import given
from hypothesis import strategies as st
from pyhanko.pdf_utils import misc
from pyhanko.pdf_utils.misc import PdfStreamError

from pipeline import speedups

_pyhanko = speedups._pyhanko_reader


def _outcome(reader, data: bytes) -> tuple[object, int]:  # noqa: ANN001 - either reader
    stream = BytesIO(data)
    try:
        value = reader(stream)
    except PdfStreamError as exc:
        return f"error {exc}", -1
    return (type(value), bytes(value) if isinstance(value, bytes) else value), stream.tell()


_BYTES = st.sampled_from([b"0", b"7", b"a", b"F", b"g", b" ", b"\n", b"\x00", b">", b"%",
                          b"%c\n", b"<", b")"])


@given(st.lists(_BYTES, max_size=40), st.binary(max_size=8))
def test_same_result_and_position_as_pyhanko(body: list[bytes], after: bytes) -> None:
    data = b"<" + b"".join(body) + after
    assert _outcome(speedups.read_hex_string_from_stream, data) == _outcome(_pyhanko,
                                                                                   data)


def test_reads_a_signature_sized_string_and_stops_after_it() -> None:
    payload = bytes(range(256)) * 64
    hexed = payload.hex().encode()
    data = b"<" + b"\n".join(hexed[i:i + 64] for i in range(0, len(hexed), 64)) + b">/Next"
    stream = BytesIO(data)
    assert bytes(speedups.read_hex_string_from_stream(stream)) == payload
    assert stream.read() == b"/Next"


@given(st.text(alphabet=st.sampled_from(["a", "B", " ", "\t", "\u00ad", "\u200c", "ก", "ำ",
                                         "\ufeff", "İ", "ß", "\x07"]), max_size=20))
def test_name_preparation_is_asn1crypto_s(string: str) -> None:
    assert speedups.ldap_string_prep(string) == speedups._asn1crypto_prep(None, string)


def test_thai_names_still_compare_as_rfc_5280_says() -> None:
    speedups.install()
    spaced = x509.Name.build({"common_name": "นาย  สมชาย ใจดี "})
    plain = x509.Name.build({"common_name": "นาย สมชาย ใจดี"})
    other = x509.Name.build({"common_name": "นาย สมชาย ใจดีมาก"})
    assert spaced == plain and spaced != other


_VALUES = st.sampled_from(["สมชาย", "สมชาย ", "  สมชาย", "SOMCHAI", "somchai", "a\u00adb", "ab"])
_TYPES = st.sampled_from(["common_name", "organization_name", "locality_name"])


def _rdn(pairs: list[tuple[str, str]]) -> x509.RelativeDistinguishedName:
    return x509.RelativeDistinguishedName([
        x509.NameTypeAndValue({"type": kind, "value": x509.DirectoryString(
            name="utf8_string", value=value)}) for kind, value in pairs])


_NAMES = st.lists(st.lists(st.tuples(_TYPES, _VALUES), min_size=1, max_size=3),
                  max_size=3).map(lambda rdns: x509.Name(
                      name="", value=x509.RDNSequence([_rdn(r) for r in rdns])))


@given(_NAMES, _NAMES)
def test_name_equality_is_asn1crypto_s(a: x509.Name, b: x509.Name) -> None:
    a = x509.Name.load(a.dump())  # as parsed from a certificate
    # as parsed from an IssuerSerial: explicitly tagged inside a GeneralName
    b = x509.GeneralName.load(x509.GeneralName(name="directory_name", value=b).dump()).chosen
    assert speedups.name_eq(a, b) == speedups._asn1crypto_name_eq(a, b)
    assert speedups.name_eq(a, a)


_CLASSES = st.sampled_from([misc.PDF_WHITESPACE, misc.PDF_WHITESPACE + misc.PDF_DELIMITERS])


@given(st.binary(max_size=200) | st.lists(st.sampled_from(
           [b"a", b"1", b".", b" ", b"\n", b"/", b"(", b"<", b"%", b"\x00", b"x" * 70]),
           max_size=30).map(b"".join),
       _CLASSES, st.none() | st.integers(min_value=1, max_value=150),  # 0 crashes pyHanko
       st.integers(min_value=0, max_value=10))
def test_tokens_end_where_pyhanko_ends_them(data: bytes, class_chars: bytes,
                                            maxchars: int | None, skip: int) -> None:
    def outcome(reader) -> tuple[tuple[bytes, bool], int]:  # noqa: ANN001 - either reader
        stream = BytesIO(data)
        stream.seek(min(skip, len(data)))
        return reader(class_chars, stream, maxchars=maxchars), stream.tell()

    assert outcome(speedups.read_until_class) == outcome(speedups._pyhanko_until_class)


def test_a_name_asn1crypto_cannot_prepare_compares_as_asn1crypto_does() -> None:
    # an attribute of an unknown type holding an INTEGER: asn1crypto's comparison stops at
    # the first RDN that differs and never prepares it; preparing it raises TypeError
    odd = x509.Name(name="", value=x509.RDNSequence([
        x509.RelativeDistinguishedName([x509.NameTypeAndValue(
            {"type": "common_name", "value": x509.DirectoryString(name="utf8_string",
                                                                  value="Other CA")})]),
        x509.RelativeDistinguishedName([x509.NameTypeAndValue(
            {"type": "1.2.3.4.5", "value": core.Integer(7)})]),
    ]))
    odd = x509.Name.load(odd.dump())
    plain = x509.Name.load(x509.Name.build({"common_name": "DEMO ONLY CA"}).dump())
    assert speedups.name_eq(odd, plain) is speedups._asn1crypto_name_eq(odd, plain) is False
