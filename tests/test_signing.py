"""Signature fields, PAdES signatures with Thai stamps, and their verification: real pyHanko,
real certificates from the session's test PKI and poppler's pdfsig, no mocks."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PageObject

from pipeline import demo
from pipeline.audit.model import VerificationError
from pipeline.audit.signature import verify_pdf
from pipeline.core import thai
from pipeline.core.request import Person
from pipeline.demo.pki import DemoPKI, add_signer, create_pki
from pipeline.settings.config import DEFAULT_FONT, KeySource
from pipeline.signatures.fields import FieldBox, TemplateError, add_signature_fields
from pipeline.signatures.keys import LoadedSigner, holder_name, load_signer
from pipeline.signatures.model import SigningError
from pipeline.signatures.signing import ROLE_TITLES, SignatureInfo, sign

PROVIDER, DIRECTOR = demo.PEOPLE["provider"], demo.PEOPLE["director"]
MARKER = b"Approval form"  # the form's text


@dataclass(frozen=True)
class Signed:
    form: Path
    fields: Path
    boxes: dict[str, FieldBox]
    provider: Path  # certified by the provider
    director: Path  # then signed by the director
    provider_info: SignatureInfo
    director_info: SignatureInfo


@pytest.fixture(scope="session")
def signers(pki: DemoPKI) -> dict[str, LoadedSigner]:
    """Keys parsed once for the session, as the pipeline keeps them for its lifetime."""
    return {role: load_signer(pki.key_source(role)) for role in ("provider", "director")}


@pytest.fixture(scope="session")
def signed(tmp_path_factory: pytest.TempPathFactory, signers: dict[str, LoadedSigner],
           make_form) -> Signed:
    d = tmp_path_factory.mktemp("signed")
    form = make_form(d / "form.pdf", text=MARKER)
    boxes = add_signature_fields(form, d / "fields.pdf")
    provider_info = sign(d / "fields.pdf", d / "provider.pdf", role="provider",
                         signer=signers["provider"], person=PROVIDER, font=DEFAULT_FONT,
                         certify=True)
    director_info = sign(d / "provider.pdf", d / "director.pdf", role="director",
                         signer=signers["director"], person=DIRECTOR, font=DEFAULT_FONT)
    return Signed(form, d / "fields.pdf", boxes, d / "provider.pdf", d / "director.pdf",
                  provider_info, director_info)


def test_fields_hang_below_the_bookmarks(signed: Signed) -> None:
    assert signed.boxes == {  # FIELD_WIDTH x FIELD_HEIGHT, centred below each bookmark
        "provider": FieldBox(0, (47, 264, 273, 330)),
        "director": FieldBox(0, (317, 264, 543, 330)),
        "publisher": FieldBox(0, (47, 154, 273, 220)),
    }
    out = _run("pdfsig", str(signed.fields))
    for role in ("provider", "director", "publisher"):
        assert f"Signature Field Name: {role}" in out
    assert out.count("The signature form field is not signed.") == 3


def test_missing_bookmark_is_named(make_form, tmp_path: Path) -> None:
    form = make_form(tmp_path / "form.pdf", {"SigProvider": (160, 330)})
    with pytest.raises(TemplateError, match="SigDirector, SigPublisher"):
        add_signature_fields(form, tmp_path / "fields.pdf")
    assert not (tmp_path / "fields.pdf").exists()


def test_signature_info(signed: Signed, signers: dict[str, LoadedSigner]) -> None:
    info = signed.provider_info
    assert (info.role, info.field, info.signer) == ("provider", "provider", PROVIDER.name)
    assert info.cert_sha256 == signers["provider"].cert_sha256
    assert info.signed_at.utcoffset() == timedelta(hours=7)
    assert abs(datetime.now(UTC) - info.signed_at) < timedelta(minutes=5)
    assert signed.director_info.signer == DIRECTOR.name


def test_both_signatures_intact_and_trusted(signed: Signed, pki: DemoPKI) -> None:
    provider, director = verify_pdf(signed.director, [pki.root_pem])
    assert (provider.role, provider.signer) == ("provider", PROVIDER.name)
    assert (director.role, director.signer) == ("director", DIRECTOR.name)
    for status, info in ((provider, signed.provider_info), (director, signed.director_info)):
        assert status.ok, status.message
        assert (status.intact, status.trusted, status.docmdp_ok) == (True, True, True)
        assert status.message == "valid"
        assert status.cert_sha256 == info.cert_sha256
        assert status.signed_at == info.signed_at  # the stamp's time is the signature's
    # the director's signature filled a field the provider's certification allows
    assert provider.modification == "form_filling"
    assert director.modification == "none"


def test_pdfsig_validates_both(signed: Signed, nss_db: Path) -> None:
    out = _run("pdfsig", "-nssdir", f"sql:{nss_db}", str(signed.director))
    assert out.count("Signature Validation: Signature is Valid.") == 2
    assert out.count("Certificate Validation: Certificate is Trusted.") == 2
    assert "Signature Type: ETSI.CAdES.detached" in out


def test_stamps_carry_the_thai_text(signed: Signed) -> None:
    text = _run("pdftotext", "-raw", str(signed.director), "-").splitlines()
    for person, role, info in ((PROVIDER, "provider", signed.provider_info),
                               (DIRECTOR, "director", signed.director_info)):
        lines = [f"ลงนามโดย {person.name}", ROLE_TITLES[role], f"ตำแหน่ง {person.position}",
                 f"วันที่ {thai.long_datetime(info.signed_at)}"]
        start = text.index(lines[0])
        assert text[start:start + 4] == lines


def test_changed_byte_breaks_integrity(signed: Signed, pki: DemoPKI, tmp_path: Path) -> None:
    data = signed.director.read_bytes()
    assert data.count(MARKER) == 1
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(data.replace(MARKER, b"Approval farm"))
    statuses = verify_pdf(tampered, [pki.root_pem])
    assert [s.intact for s in statuses] == [False, False]
    assert not any(s.ok for s in statuses)
    assert "altered" in statuses[0].message


def test_other_root_is_not_trusted(signed: Signed, tmp_path: Path) -> None:
    # same CA names, different keys
    stranger = create_pki(tmp_path / "other", demo.UNIT, {}, b"another passphrase")
    statuses = verify_pdf(signed.director, [stranger.root_pem])
    assert [(s.intact, s.trusted) for s in statuses] == [(True, False), (True, False)]
    assert "not trusted" in statuses[0].message


def test_wrong_passphrase_is_refused_without_revealing_it(
    pki: DemoPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SIGNING_PASSPHRASE", "hunter2-wrong")
    source = KeySource(pki.pkcs12["provider"], passphrase_env="TEST_SIGNING_PASSPHRASE")
    with pytest.raises(SigningError, match="wrong passphrase") as caught:
        load_signer(source)
    told = "".join(str(e) for e in (caught.value, caught.value.__cause__,
                                    caught.value.__context__) if e)
    assert "hunter2-wrong" not in told
    assert pki.passphrase_file.read_text().strip() not in told


def test_holder_name_follows_the_key_file_and_passphrase_as_they_are_now(
    pki: DemoPKI, tmp_path: Path
) -> None:
    """Kept per exact input (file bytes and passphrase), never past a change of either: a
    passphrase broken after a good check is refused, a key file swapped for another
    gives the other holder's name."""
    passphrase = tmp_path / "passphrase"
    passphrase.write_bytes(pki.passphrase_file.read_bytes())
    key = tmp_path / "key.p12"
    key.write_bytes(pki.pkcs12["provider"].read_bytes())
    source = KeySource(key, passphrase_file=passphrase)
    assert holder_name(source) == PROVIDER.name == load_signer(source).name
    assert holder_name(source) == PROVIDER.name  # kept
    passphrase.write_bytes(b"not-the-passphrase")
    for _ in range(2):  # a failure is never kept
        with pytest.raises(SigningError, match="wrong passphrase"):
            holder_name(source)
    passphrase.write_bytes(pki.passphrase_file.read_bytes())
    key.write_bytes(pki.pkcs12["director"].read_bytes())
    assert holder_name(source) == DIRECTOR.name
    key.write_bytes(b"not a key file")
    with pytest.raises(SigningError, match="wrong passphrase, or not a PKCS#12"):
        holder_name(source)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(SigningError, match="cannot read key file"):
        load_signer(KeySource(tmp_path / "nobody.p12", passphrase_env="UNSET"))


def test_expired_certificate_refuses_to_sign(pki: DemoPKI, signed: Signed, tmp_path: Path
                                             ) -> None:
    now = datetime.now(UTC)
    person = Person("นายหมดอายุ ทดสอบ", "นักวิชาการสาธารณสุข")
    expired = add_signer(pki, "expired", person, not_before=now - timedelta(days=400),
                         not_after=now - timedelta(days=1))
    with pytest.raises(SigningError, match="valid from .* not now"):
        sign(signed.fields, tmp_path / "out.pdf", role="provider",
             signer=load_signer(expired.key_source("expired")), person=person,
             font=DEFAULT_FONT, certify=True)
    assert not (tmp_path / "out.pdf").exists()


def test_stamp_must_name_the_key_holder(signed: Signed, signers: dict[str, LoadedSigner],
                                        tmp_path: Path) -> None:
    with pytest.raises(SigningError, match="belongs to"):
        sign(signed.fields, tmp_path / "out.pdf", role="provider", signer=signers["provider"],
             person=DIRECTOR, font=DEFAULT_FONT, certify=True)


def test_signing_needs_the_field(signed: Signed, signers: dict[str, LoadedSigner],
                                 tmp_path: Path) -> None:
    with pytest.raises(SigningError, match="cannot sign form.pdf in field provider"):
        sign(signed.form, tmp_path / "out.pdf", role="provider", signer=signers["provider"],
             person=PROVIDER, font=DEFAULT_FONT, certify=True)


def _add_annotation(w: IncrementalPdfFileWriter) -> None:
    page_ref = w.find_page_for_modification(0)[0]
    w.register_annotation(page_ref, w.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"),
        pdf_name("/Subtype"): pdf_name("/Text"),
        pdf_name("/Rect"): generic.ArrayObject(map(generic.FloatObject, (50, 50, 70, 70))),
        pdf_name("/Contents"): generic.TextStringObject("แก้ไขหลังลงนาม"),
    })))


def _add_page(w: IncrementalPdfFileWriter) -> None:
    w.insert_page(PageObject(w.add_object(generic.StreamObject(stream_data=b"")),
                             (0, 0, 595, 842)))


@pytest.mark.parametrize("change", [_add_annotation, _add_page])
def test_changes_after_certification_are_flagged(
    change, signed: Signed, pki: DemoPKI, tmp_path: Path
) -> None:
    with signed.provider.open("rb") as f:
        w = IncrementalPdfFileWriter(f)
        change(w)
        out = tmp_path / "changed.pdf"
        with out.open("wb") as g:
            w.write(g)
    (status,) = verify_pdf(out, [pki.root_pem])
    assert (status.intact, status.trusted) == (True, True)
    assert (status.docmdp_ok, status.ok) == (False, False)
    # pyHanko's default diff policy has no rule for a new annotation either: the changed page
    # object is unexplained, so both come out as "other", beyond form filling in any case.
    assert status.modification == "other"
    assert "not permitted" in status.message


@pytest.mark.parametrize("content", [b"", b"not a pdf at all", None])
def test_unreadable_file_is_a_verification_error(
    content: bytes | None, signed: Signed, pki: DemoPKI, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.pdf"
    data = signed.director.read_bytes()
    bad.write_bytes(data[: len(data) // 2] if content is None else content)  # None: truncated
    with pytest.raises(VerificationError, match="bad.pdf"):
        verify_pdf(bad, [pki.root_pem])


def _run(*args: str) -> str:
    # errors="replace": pdfsig cuts long distinguished names in the middle of a Thai character
    return subprocess.run(args, check=True, capture_output=True, text=True,
                          errors="replace").stdout
