"""The auditor's `pipeline verify`: ETSI indications per signature, bundles and the archive,
and the attacks and faults it must catch (none of them may ever be PASSED)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests
from asn1crypto import cms
from cryptography.hazmat.primitives import serialization
from freezegun import freeze_time
from openpyxl import load_workbook
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PageObject
from pyhanko.sign import signers

from pipeline import demo
from pipeline.audit import model, output, trustkit, verify
from pipeline.audit.model import Indication
from pipeline.bundles import publish
from pipeline.core import folders
from pipeline.demo import pki as pk
from pipeline.flow.processing import Processor
from pipeline.intake import blank_sheet
from pipeline.records import index_files
from pipeline.records.journal import State
from pipeline.settings import config
from pipeline.settings.config import DEFAULT_FONT
from pipeline.signatures import signing
from pipeline.signatures.fields import add_signature_fields
from pipeline.signatures.keys import load_signer
from pipeline.signatures.model import Evidence, Level, crls_from_der, load_trust_roots
from pipeline.signatures.timestamps import demo_timestamper

PIPELINE = [sys.executable, "-m", "pipeline"]


@dataclass(frozen=True)
class Archive:
    config: config.Config
    bundles: tuple[Path, ...]

    @property
    def pdf(self) -> Path:
        return self.bundles[0] / f"{self.bundles[0].name}.pdf"

    @property
    def trust(self) -> model.Trust:
        return model.Trust(self.config.trust_roots)


@pytest.fixture(scope="module")
def archive(demo_template: Path, converter, tmp_path_factory) -> Archive:
    """An outbox with two B-LTA bundles and its index, made once for the module."""
    root = tmp_path_factory.mktemp("verify") / "ws"
    shutil.copytree(demo_template, root)
    cfg = config.load(root)
    bundles = []
    with Processor(cfg, converter=converter) as proc:
        for i in range(2):
            path = root / f"r{i}.xlsx"
            blank_sheet.new_request(path, cfg)
            blank_sheet.fill(path, {**demo.sample_values(date.today()),
                                    "title": f"ข่าวสาร ฉบับที่ {i}"})
            outcome = proc.process(path)
            assert outcome.state == State.ARCHIVED, outcome.problems
            bundles.append(outcome.bundle)
        proc.rebuild_index()
    return Archive(cfg, tuple(bundles))


def _run(*args: str, ws: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*PIPELINE, "--workspace", str(ws), *args], capture_output=True,
                          text=True)


def _pdfsig_intact(pdf: Path) -> dict[str, bool]:
    """poppler's own verdict on each signature's integrity, by field name."""
    out = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True,
                         errors="replace").stdout
    verdicts = {}
    for block in re.split(r"\nSignature #\d+:", out)[1:]:
        name = re.search(r"Signature Field Name: (\S+)", block)
        valid = re.search(r"Signature Validation: (.+)", block)
        if name and valid:
            verdicts[name.group(1)] = valid.group(1).strip() == "Signature is Valid."
    return verdicts


def _judged(pdf: Path, trust: model.Trust) -> model.Report:
    """Verify, and check that pdfsig agrees on integrity wherever it gives a verdict."""
    report = verify.verify_path(pdf, trust)
    poppler = _pdfsig_intact(pdf)
    for s in report.signatures:
        if s.field in poppler:
            assert poppler[s.field] == s.intact, (s.field, poppler, s.messages)
    return report


def _never_passed(report: model.Report) -> None:
    assert report.error or report.indication is not Indication.PASSED, report
    assert not report.ok


def test_a_fresh_bundle_passes_with_every_detail(archive):
    report = _judged(archive.bundles[0], archive.trust)
    assert report.indication is Indication.PASSED and report.bundle_problems == ()
    provider, director = report.signatures
    assert (provider.role, director.role) == ("provider", "director")
    assert provider.signer == demo.PEOPLE["provider"].name
    assert provider.printed_name == demo.PEOPLE["provider"].name and provider.name_matches
    assert director.name_matches
    for s in report.signatures:
        assert (s.subindication, s.level, s.revocation) == ("", "B-LTA", "good")
        assert s.intact and s.trusted and s.changes_permitted
        assert s.timestamp_at and s.signed_at
        assert len(s.certificate.sha256) == 64 and "Intermediate" in s.certificate.issuer
    assert provider.modification == "form_filling"  # the director's signature, permitted


def _copy(archive: Archive, tmp_path: Path, data: bytes | None = None) -> Path:
    out = tmp_path / "attacked.pdf"
    out.write_bytes(archive.pdf.read_bytes() if data is None else data)
    return out


def test_one_byte_in_the_signed_content_fails(archive, tmp_path):
    data = bytearray(archive.pdf.read_bytes())
    at = data.index(b"/M (D") + 12  # a digit of the provider's signing date, signed
    data[at] = ord("9") if data[at] != ord("9") else ord("8")
    report = _judged(_copy(archive, tmp_path, bytes(data)), archive.trust)
    assert report.signatures[0].indication is Indication.FAILED
    assert not report.signatures[0].intact
    _never_passed(report)


def test_one_byte_in_a_signature_value_fails(archive, tmp_path):
    data = bytearray(archive.pdf.read_bytes())
    start = data.index(b"/Contents <") + len(b"/Contents <")
    der = bytes.fromhex(data[start:data.index(b">", start)].decode())
    signed_data = cms.ContentInfo.load(der.rstrip(b"\0"))["content"]
    value = signed_data["signer_infos"][0]["signature"].native
    at = start + 2 * der.index(value) + len(value)  # a hex digit in the middle of the value
    data[at] = ord("0") if data[at] != ord("0") else ord("1")
    report = _judged(_copy(archive, tmp_path, bytes(data)), archive.trust)
    assert report.signatures[0].indication is Indication.FAILED
    _never_passed(report)


def _byte_ranges(data: bytes) -> list[re.Match]:
    return list(re.finditer(rb"/ByteRange\s*\[\s*(\d+) (\d+) (\d+) (\d+)\s*\]", data))


def test_a_changed_byte_range_fails(archive, tmp_path):
    data = archive.pdf.read_bytes()
    first = _byte_ranges(data)[0]
    start, length = int(first.group(3)), int(first.group(4))
    forged = f"/ByteRange [0 {first.group(2).decode()} {start} {length - 1}]".encode()
    data = data[:first.start()] + forged.ljust(len(first.group(0))) + data[first.end():]
    _never_passed(_judged(_copy(archive, tmp_path, data), archive.trust))


def test_signature_wrapping_moving_the_signed_revision_fails(archive, tmp_path):
    """The last signature's signed range is moved behind injected content: the /ByteRange is
    rewritten so the original bytes still line up, hiding new objects in the gap."""
    data = archive.pdf.read_bytes()
    last = _byte_ranges(data)[1]
    a, b, c = (int(last.group(i)) for i in (2, 3, 4))
    injected = b"\n9999 0 obj (forged content) endobj\n"
    forged = f"/ByteRange [0 {a} {b + len(injected)} {c}]".encode()
    head = data[:last.start()] + forged.ljust(len(last.group(0))) + data[last.end():b]
    _never_passed(_judged(_copy(archive, tmp_path, head + injected + data[b:]), archive.trust))


def _update(archive: Archive, tmp_path: Path, change) -> Path:  # noqa: ANN001
    """Append an incremental update made by ``change(writer, page)`` after the last
    signature and timestamp, as an attacker with a PDF library would."""
    writer = IncrementalPdfFileWriter(archive.pdf.open("rb"))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    change(writer, page)
    out = tmp_path / "updated.pdf"
    with out.open("wb") as f:
        writer.write(f)
    return out


def _stream(writer: IncrementalPdfFileWriter, content: bytes) -> generic.IndirectObject:
    return writer.add_object(generic.StreamObject(stream_data=content))


def _new_page(writer, page) -> None:  # noqa: ANN001
    writer.insert_page(PageObject(_stream(writer, b"BT /F1 24 Tf 72 700 Td (forged) Tj ET"),
                                  (0, 0, 595, 842)))


def _changed_text(writer, page) -> None:  # noqa: ANN001
    page[pdf_name("/Contents")] = _stream(writer, b"BT /F1 24 Tf 72 700 Td (forged) Tj ET")
    writer.update_container(page)


def _free_text(writer, page) -> None:  # noqa: ANN001
    annot = writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/FreeText"),
        pdf_name("/Rect"): generic.ArrayObject(map(generic.FloatObject, (40, 600, 560, 700))),
        pdf_name("/Contents"): generic.TextStringObject("หัวข้อใหม่"),
        pdf_name("/DA"): generic.TextStringObject("/Helv 18 Tf 0 g"),
        pdf_name("/C"): generic.ArrayObject([generic.FloatObject(1)] * 3),
    }))
    annots = page.get("/Annots", generic.ArrayObject())
    page[pdf_name("/Annots")] = generic.ArrayObject([*annots, annot])
    writer.update_container(page)


def _field_value(writer, page) -> None:  # noqa: ANN001
    fields = writer.root["/AcroForm"]["/Fields"]
    provider = next(f.get_object() for f in fields if f.get_object()["/T"] == "provider")
    provider[pdf_name("/TU")] = generic.TextStringObject("forged")
    provider[pdf_name("/V")] = generic.NullObject()
    writer.update_container(provider)


@pytest.mark.parametrize("change", [_new_page, _changed_text, _free_text, _field_value],
                         ids=["new-page", "changed-text", "freetext-annotation", "field-value"])
def test_content_added_after_the_last_signature_fails(archive, tmp_path, change):
    report = _judged(_update(archive, tmp_path, change), archive.trust)
    _never_passed(report)
    assert report.indication is Indication.FAILED
    assert all(s.intact for s in report.signatures)  # the signed bytes are untouched...
    # ...but each signature's analysis sees the changes (after the document timestamp too)
    assert not any(s.changes_permitted for s in report.signatures)


@pytest.fixture(scope="module")
def shadow_form(pki, make_form, tmp_path_factory) -> Path:
    """A form prepared for shadow attacks before it is signed (B-LTA, both signatures): a
    white cover over the text (/Cover), an unused alternative XObject (/Alt) and an unused
    alternative page content (object number in /PreparedContents)."""
    d = tmp_path_factory.mktemp("shadow")
    base = make_form(d / "base.pdf", text=b"Approved budget 1,000 THB")
    w = IncrementalPdfFileWriter(base.open("rb"))
    page = w.root["/Pages"]["/Kids"][0].get_object()

    def xobject(content: bytes) -> generic.IndirectObject:
        return w.add_object(generic.StreamObject({
            pdf_name("/Type"): pdf_name("/XObject"), pdf_name("/Subtype"): pdf_name("/Form"),
            pdf_name("/BBox"): generic.ArrayObject(map(generic.FloatObject, (0, 0, 595, 842)))},
            stream_data=content))

    cover = xobject(b"1 g 60 750 400 40 re f")
    alt = xobject(b"BT /F1 14 Tf 72 700 Td (Approved budget 9,000,000 THB) Tj ET")
    page["/Resources"][pdf_name("/XObject")] = generic.DictionaryObject(
        {pdf_name("/Cover"): cover, pdf_name("/Alt"): alt})
    contents = page["/Contents"].data + b"\nq /Cover Do Q"
    page[pdf_name("/Contents")] = _stream(w, contents)
    w.root[pdf_name("/PreparedContents")] = _stream(w, contents.replace(b"1,000", b"9,000,000"))
    w.update_container(page)
    w.update_root()
    with (d / "prepared.pdf").open("wb") as f:
        w.write(f)
    fields = add_signature_fields(d / "prepared.pdf", d / "fields.pdf")
    assert fields
    return _sign_both(pki, d / "fields.pdf", d, _evidence(pki, Level.B_LTA))


def _crls(the_pki: pk.DemoPKI) -> tuple[bytes, ...]:
    return tuple(c.public_bytes(serialization.Encoding.DER) for c in pk.current_crls(the_pki))


def _evidence(the_pki: pk.DemoPKI, level: Level, tsa: config.KeySource | None = None
              ) -> Evidence:
    return Evidence(level, demo_timestamper(tsa or the_pki.key_source(pk.TSA)),
                    load_trust_roots((the_pki.root_pem,)),
                    crls_from_der(_crls(the_pki)))


def _sign_both(the_pki: pk.DemoPKI, form: Path, out: Path, evidence: Evidence,
               provider: str = "provider") -> Path:
    key = load_signer(the_pki.key_source(provider))
    person = demo.PEOPLE["provider"]
    signing.sign(form, out / "p.pdf", role="provider", signer=key,
                 person=type(person)(key.name, person.position), font=DEFAULT_FONT,
                 certify=True, evidence=evidence)
    signing.sign(out / "p.pdf", out / "signed.pdf", role="director",
                 signer=load_signer(the_pki.key_source("director")),
                 person=demo.PEOPLE["director"], font=DEFAULT_FONT, evidence=evidence)
    return out / "signed.pdf"


def _shadow(signed: Path, tmp_path: Path, attack: str) -> Path:
    w = IncrementalPdfFileWriter(signed.open("rb"))
    page = w.root["/Pages"]["/Kids"][0].get_object()
    xobjects = page["/Resources"]["/XObject"]
    if attack == "hide":  # the cover is emptied: what it hid shows
        cover = xobjects.raw_get("/Cover")
        w.mark_update(cover)
        cover.get_object()._data = b""  # noqa: SLF001 - rewriting the stream in place
        cover.get_object()._encoded_data = None  # noqa: SLF001
    elif attack == "replace":  # the cover's name now draws the alternative text
        xobjects[pdf_name("/Cover")] = xobjects.raw_get("/Alt")
        w.update_container(xobjects)
    else:  # hide-and-replace: the page shows the content prepared before signing
        page[pdf_name("/Contents")] = w.root.raw_get("/PreparedContents")
        w.update_container(page)
    out = tmp_path / f"shadow-{attack}.pdf"
    with out.open("wb") as f:
        w.write(f)
    return out


@pytest.mark.parametrize("attack", ["hide", "replace", "hide-and-replace"])
def test_shadow_attacks_fail(pki, shadow_form, tmp_path, attack):
    trust = model.Trust((pki.root_pem,))
    assert verify.verify_path(shadow_form, trust).indication is Indication.PASSED
    report = _judged(_shadow(shadow_form, tmp_path, attack), trust)
    assert report.indication is Indication.FAILED
    assert not all(s.changes_permitted for s in report.signatures)


def test_a_root_nobody_named_is_not_trusted(archive, tmp_path):
    stranger = pk.create_pki(tmp_path / "other", demo.UNIT, {}, b"another passphrase")
    report = _judged(archive.bundles[0], model.Trust((stranger.root_pem,)))
    _never_passed(report)
    assert not any(s.trusted for s in report.signatures)


@pytest.fixture(scope="module")
def own_pki(pki, tmp_path_factory) -> pk.DemoPKI:
    return pk.load_pki(shutil.copytree(pki.directory, tmp_path_factory.mktemp("own") / "p"))


@pytest.fixture(scope="module")
def form(make_form, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("form")
    add_signature_fields(make_form(d / "form.pdf"), d / "fields.pdf")
    return d / "fields.pdf"


def _sign_provider_raw(the_pki: pk.DemoPKI, who: str, form: Path, out: Path,
                       tsa: config.KeySource | None = None) -> Path:
    """Sign at B-T with pyHanko itself, as a forger would: the pipeline refuses such keys."""
    signer = signers.SimpleSigner.load_pkcs12(
        str(the_pki.pkcs12[who]), passphrase=the_pki.passphrase_file.read_bytes().strip())
    w = IncrementalPdfFileWriter(form.open("rb"))
    data = signers.sign_pdf(w, signers.PdfSignatureMetadata(field_name="provider"), signer,
                            timestamper=demo_timestamper(
                                tsa or the_pki.key_source(pk.TSA)))
    out.write_bytes(data.getvalue())
    return out


def test_certificate_faults_are_never_passed(own_pki, form, tmp_path):
    now = datetime.now(UTC)
    person = demo.PEOPLE["provider"]
    the_pki = pk.add_signer(own_pki, "expired", person, not_before=now - timedelta(days=60),
                             not_after=now - timedelta(days=1))
    the_pki = pk.add_signer(the_pki, "encipherer", person, encipherment_only=True)
    the_pki = pk.add_signer(the_pki, "revoked", person)
    pk.revoke(the_pki, "revoked")
    rogue = pk.add_untrusted_tsa(the_pki, "rogue-tsa")
    cases = {
        "expired": _sign_provider_raw(the_pki, "expired", form, tmp_path / "expired.pdf"),
        "usage": _sign_provider_raw(the_pki, "encipherer", form, tmp_path / "usage.pdf"),
        "revoked": _sign_provider_raw(the_pki, "revoked", form, tmp_path / "revoked.pdf"),
        "tsa": _sign_provider_raw(the_pki, "provider", form, tmp_path / "tsa.pdf", rogue),
    }
    trust = model.Trust((the_pki.root_pem,), _crls(the_pki))
    found = {name: _judged(pdf, trust).signatures[0] for name, pdf in cases.items()}
    for name, status in found.items():
        assert status.indication is not Indication.PASSED, name
        assert status.intact, name
    assert "expired" in " ".join(found["expired"].messages).lower() or \
        found["expired"].subindication in ("EXPIRED", "OUT_OF_BOUNDS_NO_POE",
                                           "OUT_OF_BOUNDS_NOT_REVOKED")
    assert found["revoked"].revocation == "revoked"


def test_a_year_later_needs_current_status_for_the_timestamp_authority_only(archive):
    bundle = archive.bundles[0]
    with freeze_time(datetime.now(UTC) + timedelta(days=365)):
        alone = verify.verify_path(bundle, archive.trust)
        root_crl, intermediate_crl = _crls(pk.load_pki(archive.config.signing.demo_pki))
        signers_ca = verify.verify_path(bundle, model.Trust(archive.config.trust_roots,
                                                            (intermediate_crl,)))
        # the TSA is certified by the root: the root's CRL is its chain's current status,
        # and the signers' own chain is judged from what the PDF kept (the pyHanko fix in
        # pipeline/patches/certvalidator_path.py)
        supplied = verify.verify_path(bundle, model.Trust(archive.config.trust_roots,
                                                          (root_crl,)))
    for report in (alone, signers_ca):
        assert report.indication is Indication.INDETERMINATE, report
        text = " ".join(report.signatures[-1].messages)
        assert "current revocation status is missing" in text
        assert "Time-Stamping Authority" in text and "--crl" in text and "--online" in text
    assert supplied.indication is Indication.PASSED, supplied


def test_a_signer_revoked_after_signing_is_never_failed_a_year_later(archive, tmp_path):
    # a copy of the demo PKI, so that the revocation stays in this test
    the_pki = pk.load_pki(shutil.copytree(archive.config.signing.demo_pki, tmp_path / "pki"))
    pk.revoke(the_pki, "provider")
    with freeze_time(datetime.now(UTC) + timedelta(days=365)):
        root_crl, intermediate_crl = _crls(the_pki)
        standard = verify.verify_path(archive.bundles[0],
                                      model.Trust(archive.config.trust_roots, (root_crl,)))
        told = verify.verify_path(archive.bundles[0], model.Trust(
            archive.config.trust_roots, (root_crl, intermediate_crl)))
    # what ETSI asks for (the timestamp authority's status) proves both signatures
    assert standard.indication is Indication.PASSED, standard
    # told of the revocation, pyHanko wants status at the revocation time, which no one
    # kept: not proven, but not failed, and the report says why the signature still stands
    provider, director = told.signatures
    assert provider.indication is Indication.INDETERMINATE and provider.revocation == "revoked"
    assert re.search(r"signer's certificate was revoked on \d{4}-\d\d-\d\d .*after the "
                     r"signature, which a timestamp proves existed", " ".join(provider.messages))
    assert director.indication is Indication.PASSED


def test_online_fetches_current_status_a_year_later(form, tmp_path, crl_server):
    crl_server.pki = pk.create_pki(tmp_path / "pki", demo.UNIT, {
        "provider": demo.PEOPLE["provider"], "director": demo.PEOPLE["director"]},
        b"online", crl_base=crl_server.base)
    signed = _sign_both(crl_server.pki, form, tmp_path, _evidence(crl_server.pki, Level.B_LTA))
    roots = (crl_server.pki.root_pem,)
    with freeze_time(datetime.now(UTC) + timedelta(days=365)):
        offline = verify.verify_path(signed, model.Trust(roots))
        assert crl_server.served == []  # offline means offline
        online = verify.verify_path(signed, model.Trust(roots, online=True))
    assert offline.indication is Indication.INDETERMINATE, offline
    assert online.indication is Indication.PASSED, online
    assert "root" in crl_server.served  # the timestamp authority's CA, from its CRL DP


def _bundle_copy(archive: Archive, tmp_path: Path) -> Path:
    outbox = tmp_path / "outbox"
    shutil.copytree(archive.bundles[0].parent, outbox)
    return outbox / archive.bundles[0].name


def test_a_replaced_file_fails_the_bundle(archive, tmp_path):
    folder = _bundle_copy(archive, tmp_path)
    (folder / "request.xlsx").write_bytes(b"another sheet")
    report = verify.verify_path(folder, archive.trust)
    assert report.indication is Indication.FAILED
    assert any("request.xlsx: SHA-256 differs" in p for p in report.bundle_problems)


def test_an_edited_manifest_fails_the_bundle(archive, tmp_path):
    folder = _bundle_copy(archive, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["request"]["title"] = "หัวข้อที่แก้ไข"
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False),
                                          encoding="utf-8")
    report = verify.verify_path(folder, archive.trust)
    assert report.indication is Indication.FAILED
    assert any("does not show the title" in p for p in report.bundle_problems)
    # the index predates the edit: the edit is judged by the PDF, not by the index row
    assert any("index not yet updated" in n for n in report.notes)


def test_an_index_older_than_its_bundle_is_a_note_not_a_failure(archive, tmp_path):
    """The finding: verify on a live outbox called a bundle archived or published seconds
    before the index was rebuilt TOTAL_FAILED ("SHA-256 of the signed PDF differs")."""
    folder = _bundle_copy(archive, tmp_path)
    publish.record(replace(archive.config, workspace=folders.Workspace(tmp_path)),
                   folder.name, "https://example.go.th/news/1", None, sign=False)
    report = verify.verify_path(folder, archive.trust)
    assert report.indication is Indication.PASSED, report.bundle_problems
    assert report.bundle_problems == ()
    note, = (n for n in report.notes if "index not yet updated" in n)
    assert note.startswith(f"index not yet updated for {folder.name} (index written ")
    assert note.endswith("/ ดัชนียังไม่ปรับปรุง")


def test_an_index_row_that_claims_another_manifest_fails(archive, tmp_path):
    """A row built after the manifest that names another manifest is not lag: it is false."""
    folder = _bundle_copy(archive, tmp_path)
    an_hour_ago = time.time() - 3600
    os.utime(folder / "manifest.json", (an_hour_ago, an_hour_ago))
    index_files.refresh(folders.Workspace(tmp_path), retry_after=None)
    xlsx = folder.parent / "index.xlsx"
    wb = load_workbook(xlsx)
    column = [c.english for c in index_files.COLUMNS].index(index_files.MANIFEST_COLUMN)
    row = next(r for r in wb.active.iter_rows(min_row=3) if r[0].value == folder.name)
    row[column].value = "0" * 64
    row[5].value = "หัวข้ออื่น"
    wb.save(xlsx)
    report = verify.verify_path(folder, archive.trust)
    assert report.indication is Indication.FAILED
    assert report.bundle_problems == (f"index.xlsx, {folder.name}: the row comes from another "
                                      f"manifest.json than the bundle's",)


def test_an_empty_outbox_has_no_bundles_yet(archive, tmp_path):
    """The finding: a new office's outbox was "UNREADABLE", exit 2."""
    outbox = tmp_path / "outbox"
    (outbox / "reports").mkdir(parents=True)
    run = _run("verify", str(outbox), ws=archive.config.workspace.root)
    assert (run.returncode, run.stdout.strip()) == (0, "0 bundles / ยังไม่มีรายการ"), run.stderr
    as_json = _run("verify", "--json", str(outbox), ws=archive.config.workspace.root)
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["items"] == []


def test_an_edited_index_row_fails_the_bundle(archive, tmp_path):
    folder = _bundle_copy(archive, tmp_path)
    xlsx = folder.parent / "index.xlsx"
    wb = load_workbook(xlsx)
    row = next(r for r in wb.active.iter_rows(min_row=3) if r[0].value == folder.name)
    row[5].value = "หัวข้ออื่น"
    wb.save(xlsx)
    report = verify.verify_path(folder, archive.trust)
    assert report.indication is Indication.FAILED
    assert report.bundle_problems == (f"index.xlsx, {folder.name}: Title differs from "
                                      f"manifest.json",)


def test_broken_inputs_exit_2_with_a_message(archive, make_form, tmp_path):
    root = archive.config.workspace.root
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(archive.pdf.read_bytes()[:5000])
    encrypted = tmp_path / "encrypted.pdf"
    subprocess.run(["qpdf", "--encrypt", "u", "o", "256", "--", str(archive.pdf),
                    str(encrypted)], check=True)
    unsigned = make_form(tmp_path / "unsigned.pdf")
    text = tmp_path / "notes.pdf"
    text.write_text("not a PDF at all")
    for path, expected in ((truncated, "not a readable PDF"), (encrypted, "encrypted"),
                           (unsigned, "no signature"), (text, "not a PDF")):
        run = _run("verify", str(path), ws=root)
        assert run.returncode == 2, (path, run.stdout, run.stderr)
        assert expected in run.stdout + run.stderr
        assert "Traceback" not in run.stdout + run.stderr


def test_cli_outbox_json_html_and_exit_codes(archive, tmp_path):
    root = archive.config.workspace.root
    page = tmp_path / "report.html"
    run = _run("verify", "--json", "--html", str(page), str(root / "outbox"), ws=root)
    assert run.returncode == 0, run.stdout + run.stderr
    document = json.loads(run.stdout)
    assert document["schema"] == "pipeline.verify/1"
    assert document["summary"]["counts"]["TOTAL_PASSED"] == 2
    item = document["items"][0]
    assert item["kind"] == "bundle" and item["indication"] == "TOTAL_PASSED"
    s = item["signatures"][0]
    assert {"indication", "subindication", "role", "certificate", "signed_at", "timestamp_at",
            "intact", "trusted", "revocation", "level", "modification", "changes_permitted",
            "printed_name", "name_matches", "messages", "signer"} <= set(s)
    html_text = page.read_text(encoding="utf-8")
    assert demo.PEOPLE["director"].name in html_text and "TOTAL_PASSED" in html_text
    assert "<link" not in html_text and "<script" not in html_text  # self-contained
    table = _run("verify", str(archive.bundles[0]), ws=root)
    assert demo.PEOPLE["provider"].name in table.stdout and table.stdout.count("[OK]") == 2
    assert table.stdout.splitlines()[-1].startswith("สรุป (summary): 1 รายการ (items), 2 ")
    mixed = _run("verify", str(archive.bundles[0]), str(tmp_path), ws=root)  # not a bundle
    assert mixed.returncode == 2
    assert mixed.stdout.splitlines()[-1] == f"  UNREADABLE / อ่านไม่ได้: {tmp_path}"
    assert _run("verify", "--trust", str(tmp_path / "missing.pem"), str(archive.pdf),
                ws=root).returncode == 2


def test_trust_kit_round_trip_and_a_year_later_with_its_crls(archive, tmp_path):
    root = archive.config.workspace.root
    kit = tmp_path / "kit"
    made = _run("trust-kit", str(kit), ws=root)
    assert made.returncode == 0, made.stderr
    assert (kit / "README.txt").is_file() and list((kit / "crls").glob("*.crl"))
    elsewhere = tmp_path / "auditor"  # no workspace there: the kit alone
    elsewhere.mkdir()
    run = subprocess.run([*PIPELINE, "verify", "--trust-kit", str(kit), str(archive.bundles[1])],
                         capture_output=True, text=True, cwd=elsewhere)
    assert run.returncode == 0, run.stdout + run.stderr
    loaded = trustkit.load(kit)
    with freeze_time(datetime.now(UTC) + timedelta(days=365)):
        late = verify.verify_path(archive.bundles[1], loaded.trust())
    assert late.exit_code == 3  # the kit's CRLs are a year old: INDETERMINATE, not FAILED


def _office_pki(crl_server, form: Path, tmp_path: Path) -> Path:
    """A PKI publishing its CRLs on ``crl_server``, and a form both its people signed."""
    crl_server.pki = pk.create_pki(tmp_path / "pki", demo.UNIT, {
        "provider": demo.PEOPLE["provider"], "director": demo.PEOPLE["director"]},
        b"office", crl_base=crl_server.base)
    return _sign_both(crl_server.pki, form, tmp_path, _evidence(crl_server.pki, Level.B_LTA))


def _office_config(archive: Archive, crl_server) -> config.Config:
    """The archive's workspace as an office with its own CA and TSA would configure it (the
    demo PKI's folder still there: the settings decide, not the folder)."""
    return replace(archive.config, trust_roots=(crl_server.pki.root_pem,),
                   signing=replace(archive.config.signing, tsa="http://127.0.0.1:9/",
                                   revocation="online"))


def test_a_kit_fetches_current_crls_from_the_forms_distribution_points(
        archive, form, tmp_path, crl_server):
    signed = _office_pki(crl_server, form, tmp_path)
    office = _office_config(archive, crl_server)
    with freeze_time(datetime.now(UTC) + timedelta(days=365)):  # an audit a year on
        kit = trustkit.write(office, tmp_path / "kit", sources=[signed])
        late = verify.verify_path(signed, trustkit.load(kit.directory).trust())
    assert sorted(crl_server.served) == ["intermediate", "root"] and kit.left_out == ()
    assert len(kit.crls) == 2 and len(kit.roots) == 1
    [tsa] = kit.tsa
    assert b"BEGIN CERTIFICATE" in tsa.read_bytes()
    assert late.indication is Indication.PASSED, late


def test_a_kit_asks_only_the_office_chains_and_keeps_only_their_crls(
        archive, form, tmp_path, crl_server):
    signed = _office_pki(crl_server, form, tmp_path / "office")
    # a form from another PKI whose certificates point at the same server: not the office's
    stranger = pk.create_pki(tmp_path / "stranger", demo.UNIT, {
        "provider": demo.PEOPLE["provider"], "director": demo.PEOPLE["director"]},
        b"stranger", crl_base=crl_server.base + "/stranger")
    (tmp_path / "foreign").mkdir()
    foreign = _sign_both(stranger, form, tmp_path / "foreign", _evidence(stranger, Level.B_LTA))
    # and the office's intermediate CRL replaced by one the stranger's CA signed
    crl_server.substitute["intermediate"] = _crls(stranger)[1]
    office = _office_config(archive, crl_server)
    kit = trustkit.write(office, tmp_path / "kit", sources=[signed, foreign])
    assert not any(path.startswith("/stranger") for path in crl_server.requested)
    assert len(kit.crls) == 1  # the root's
    assert any("intermediate.crl" in line and "not signed by a CA" in line
               for line in kit.left_out)
    [tsa] = kit.tsa  # the office's authority only
    assert b"BEGIN CERTIFICATE" in tsa.read_bytes()


def test_a_kit_says_which_crls_it_could_not_fetch(archive, form, tmp_path, crl_server):
    signed = _office_pki(crl_server, form, tmp_path)
    crl_server.missing.add("intermediate")
    office = _office_config(archive, crl_server)
    kit = trustkit.write(office, tmp_path / "kit", sources=[signed, tmp_path / "gone.pdf"])
    assert len(kit.crls) == 1
    assert any("intermediate.crl" in line and "404" in line for line in kit.left_out)
    assert any("gone.pdf" in line for line in kit.left_out)
    readme = (kit.directory / trustkit.README).read_text(encoding="utf-8")
    assert "intermediate.crl" in readme and "not included" in readme


def test_html_escapes_what_the_pdf_says(archive):
    report = verify.verify_path(archive.bundles[0], archive.trust)
    forged = replace(report.signatures[0], certificate=replace(
        report.signatures[0].certificate, subject="<script>alert(1)</script>",
        issuer="<img src=x onerror=alert(2)>"),
        messages=("<b>bold</b>",), printed_name="<i>name</i>")
    page = output.to_html([replace(report, signatures=(forged,))], archive.trust)
    assert "<script>alert" not in page and "<img" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;i&gt;name" in page


def test_a_key_given_as_trust_root_is_a_usage_error(archive, tmp_path):
    key = archive.config.signing.demo_pki / "root-key.pem"
    run = _run("verify", "--trust", str(key), str(archive.pdf), ws=archive.config.workspace.root)
    assert run.returncode == 2 and "holds no certificate" in run.stderr


def test_document_timestamps_are_validated_once_per_file_and_settings(archive, monkeypatch):
    from pipeline.patches import speedups

    calls = []
    original = speedups._ades_validate_poe

    async def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return await original(*args, **kwargs)

    monkeypatch.setattr(speedups, "_ades_validate_poe", counted)
    report = verify.verify_path(archive.pdf, archive.trust)
    assert len(report.signatures) == 2 and len(calls) == 1  # two signatures, one validation
    root_crl, _ = _crls(pk.load_pki(archive.config.signing.demo_pki))
    other = verify.verify_path(archive.pdf, model.Trust(archive.config.trust_roots, (root_crl,)))
    assert len(calls) == 2  # other validation data: validated again
    assert report.indication is other.indication is Indication.PASSED


def test_the_terminal_table_carries_no_control_characters(archive):
    report = verify.verify_path(archive.bundles[0], archive.trust)
    forged = replace(report.signatures[0], certificate=replace(
        report.signatures[0].certificate, subject="Common Name: \x1b]0;owned\x07\x1b[2J"),
        messages=("line\rover", "\x9b31m"))
    lines = list(output.to_text([replace(report, signatures=(forged,))]))
    assert not any(re.search("[\x00-\x1f\x7f-\x9f]", line) for line in lines)
    assert any("line\\x0dover" in line for line in lines)  # escaped, still readable
    assert any("\\x1b]0;owned" in line for line in lines)  # the signer's name


def test_a_kit_exported_again_holds_only_what_is_current(archive, tmp_path):
    kit = tmp_path / "kit"
    trustkit.write(archive.config, kit)
    (kit / trustkit.CRLS / "crl-9.crl").write_bytes(b"an old kit's CRL")
    (kit / trustkit.ROOTS / "mine.pem").write_bytes(b"not the kit's")
    made = trustkit.write(archive.config, kit)
    assert sorted(p.name for p in (kit / trustkit.CRLS).iterdir()) == sorted(
        p.name for p in made.crls)
    assert (kit / trustkit.ROOTS / "mine.pem").read_bytes() == b"not the kit's"


def test_a_kit_written_into_a_folder_that_is_not_one_deletes_nothing(archive, tmp_path):
    # the office keeps its root in certs/roots/: exporting into certs/ must leave it alone
    certs = tmp_path / "certs"
    (certs / trustkit.ROOTS).mkdir(parents=True)
    root = certs / trustkit.ROOTS / "root-1.pem"
    shutil.copy(archive.config.trust_roots[0], root)
    office = replace(archive.config, trust_roots=(root,))
    made = trustkit.write(office, certs)
    assert root.is_file() and made.roots == (root,)


def test_only_cas_vouch_for_certificates_in_a_kit(pki):
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    key, provider, _chain = pkcs12.load_key_and_certificates(
        pki.pkcs12["provider"].read_bytes(), pki.passphrase_file.read_bytes().strip())
    now = datetime.now(UTC)
    # a certificate a staff member made with their own signing key, claiming anything
    forged = (cx509.CertificateBuilder().subject_name(cx509.Name.from_rfc4514_string("CN=x"))
              .issuer_name(provider.subject).public_key(rsa.generate_private_key(65537, 2048)
                                                        .public_key())
              .serial_number(7).not_valid_before(now).not_valid_after(now + timedelta(days=1))
              .sign(key, hashes.SHA256()))
    der = serialization.Encoding.DER
    found = [asn1_x509.Certificate.load(c.public_bytes(der)) for c in (
        cx509.load_pem_x509_certificate(pki.intermediate_pem.read_bytes()), provider, forged)]
    root = cx509.load_pem_x509_certificate(pki.root_pem.read_bytes())
    chained = trustkit._chained(found, [root])
    assert provider in chained and forged not in chained and len(chained) == 2


def test_a_fetch_that_never_finishes_is_given_up():
    never = threading.Event()
    started = time.monotonic()
    with pytest.raises(requests.RequestException, match="within"):
        trustkit._within(0.2, lambda _url: never.wait(30) and b"", "http://slow.invalid/x.crl")
    assert time.monotonic() - started < 5


def test_outside_a_workspace_without_a_trust_kit_is_a_usage_error(tmp_path):
    """Exit 1 means TOTAL_FAILED to an auditor's script: "pipeline.toml not found" with exit 1
    read as a forged file. Nothing to trust is a usage error, and says what to give."""
    pdf = tmp_path / "form.pdf"
    pdf.write_bytes(b"%PDF-1.7\n")
    run = _run("verify", str(pdf), ws=tmp_path)
    assert run.returncode == 2, run.stderr
    assert "--trust-kit" in run.stderr and "ใบรับรอง" in run.stderr
    assert "Traceback" not in run.stderr
