"""pipeline/patches: each replacement must accept, reject and return exactly what the code it
replaces does; install() runs once and only on the releases it was written for."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import core, x509
from freezegun import freeze_time
from hypothesis import given
from hypothesis import strategies as st
from pyhanko.pdf_utils import misc
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.misc import PdfStreamError
from pyhanko.pdf_utils.writer import PdfFileWriter

from pipeline import patches
from pipeline.patches import font_subsets, speedups
from pipeline.settings.config import DEFAULT_FONT

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
    patches.install()
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


def test_install_is_idempotent() -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko_certvalidator.path import ValidationPath

    patches.install()
    patches.install()
    assert generic.read_hex_string_from_stream is speedups.read_hex_string_from_stream
    assert x509.Name.__eq__ is speedups.name_eq
    assert (ValidationPath.truncate_to_issuer_and_append
            is patches.certvalidator_path.truncate_to_issuer_and_append)
    signer_log = logging.getLogger(patches.log_filters.LOGGER)
    assert signer_log.filters.count(patches.log_filters.without_fetching_warning) == 1


def test_install_refuses_other_releases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patches, "_installed", False)
    real = patches.metadata.version
    monkeypatch.setattr(patches.metadata, "version",
                        lambda name: "0.39.0" if name == "pyhanko" else real(name))
    with pytest.raises(patches.UnsupportedVersion, match=r"pyhanko 0\.39\.0 \(patched for 0\.38"):
        patches.install()


def test_the_installed_releases_are_the_ones_patched() -> None:
    patches.check_versions()


def test_the_fetching_warning_alone_is_filtered() -> None:
    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord(patches.log_filters.LOGGER, logging.WARNING, __file__, 1,
                                 message, None, None)

    keep = patches.log_filters.without_fetching_warning
    assert not keep(record("Revocation info for X could not be fetched, but fetching is "
                           "not allowed. This may give rise to unexpected results."))
    assert keep(record("the signer's certificate is revoked"))


def test_the_kept_key_timestamper_signs_as_pyhanko_s(pki) -> None:  # noqa: ANN001 - fixture
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    from pipeline.signatures import timestamps

    kept = timestamps.demo_timestamper(pki.key_source("tsa"))
    assert isinstance(kept, patches.timestamper.KeptKeyTimeStamper)
    stock = DummyTimeStamper(tsa_cert=kept.tsa_cert, tsa_key=kept.tsa_key)
    when = datetime(2026, 11, 5, 3, 4, 5, tzinfo=UTC)
    for algorithm in ("sha256", "sha512"):
        ours = kept._sign_tst_info(b"tst info", algorithm, when)
        theirs = stock._sign_tst_info(b"tst info", algorithm, when)
        assert (ours[0], ours[1].dump()) == (theirs[0], theirs[1].dump())  # PKCS#1 v1.5


def test_the_path_fix_changes_only_a_path_to_a_non_self_signed_anchor(pki) -> None:  # noqa: ANN001
    from pyhanko_certvalidator.authority import CertTrustAnchor
    from pyhanko_certvalidator.path import ValidationPath

    fixed = patches.certvalidator_path.truncate_to_issuer_and_append
    original = patches.certvalidator_path._truncate_to_issuer_and_append
    root = x509.Certificate.load(_der(pki.root_pem))
    intermediate = x509.Certificate.load(_der(pki.intermediate_pem))
    # a self-signed anchor: the fix and pyHanko agree
    from_root = ValidationPath(CertTrustAnchor(root), interm=[], leaf=intermediate)
    for cert in (root, intermediate):
        assert _shape(fixed(from_root, cert)) == _shape(original(from_root, cert))
    # the signer's issuer as the anchor (past signature validation): its own CRLs' issuer
    # is reached by the anchor alone; pyHanko's finds no issuer for it (the bug)
    at_issuer = ValidationPath(CertTrustAnchor(intermediate), interm=[], leaf=None)
    with pytest.raises(LookupError):
        original(at_issuer, intermediate)
    assert _shape(fixed(at_issuer, intermediate)) == (intermediate.dump(),)


def _der(pem: Path) -> bytes:
    from asn1crypto import pem as asn1_pem

    return asn1_pem.unarmor(pem.read_bytes())[2]


def _shape(path) -> tuple[bytes, ...]:  # noqa: ANN001 - a validation path
    """A validation path's certificates from its anchor to its leaf, comparable."""
    return tuple(cert.dump() for cert in path)


def test_the_cli_installs_the_patches_and_importing_does_not(tmp_path: Path) -> None:
    """In a fresh process: importing the CLI (and so verify, signing...) patches nothing;
    running a command does."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from pyhanko.pdf_utils import generic\n"
        "from pipeline import cli\n"
        "from pipeline.patches import speedups\n"
        "patched = lambda: generic.read_hex_string_from_stream is "
        "speedups.read_hex_string_from_stream\n"
        "before = patched()\n"
        "cli.main(['init', sys.argv[1]], standalone_mode=False)\n"
        "print(before, patched())\n")
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path / "ws")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[-2:] == ["False", "True"]


def _embedded_font(text: str, subset: Callable[[Any], None] | None = None) -> bytes:
    """The font program pyHanko embeds for a stamp showing ``text``, the subset made by
    ``subset`` (pyHanko's own) or, when None, by the installed code."""
    writer = PdfFileWriter()
    factory = GlyphAccumulatorFactory(str(DEFAULT_FONT), ot_script_tag="thai",
                                      ot_language_tag="THA ", bcp47_lang_code="th")
    accumulator = factory.create_font_engine(writer)
    accumulator.shape(text)
    if subset is not None:
        subset(accumulator)
        accumulator._subset_created = True
    accumulator.prepare_write()
    return accumulator.cidfont_obj._font_descriptor["/FontFile2"].get_object().data


@freeze_time("2026-12-08 04:30:00")
def test_a_kept_font_subset_is_byte_for_byte_pyhankos() -> None:
    """Made (kept), then served from what was kept, the embedded font is the one pyHanko's
    subsetter writes; another glyph set is never served another's subset."""
    from pyhanko.pdf_utils.font import opentype

    # installed at the session's start, put in place when pyHanko's module was imported
    assert opentype.GlyphAccumulator._extract_subset is font_subsets.extract_subset
    pyhanko = font_subsets.pyhanko_extract_subset()
    for text in ("นายอับดุลรอแม สาและ ผู้อนุมัติรับรอง ๘ ธันวาคม ๒๕๖๙ เวลา ๑๑:๐๘ น.",
                 "นางสาวนูรีซัน หะยีมะ ผู้รับผิดชอบการให้ข้อมูล ๙ ธันวาคม ๒๕๖๙"):
        expected = _embedded_font(text, pyhanko)
        assert _embedded_font(text) == expected  # made now, and kept
        assert _embedded_font(text) == expected  # served from what was kept
    assert _embedded_font("ก") == _embedded_font("ก", pyhanko) != _embedded_font("ข", pyhanko)
