"""PAdES levels B-T, B-LT and B-LTA with the demo timestamp authority and CRLs, offline, as
ETSI EN 319 102-1 validation (pyHanko's AdES) judges them."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from freezegun import freeze_time

from pipeline import demo
from pipeline.audit import model, signature
from pipeline.demo.pki import TSA, DemoPKI, current_crls, load_pki, revoke
from pipeline.settings.config import DEFAULT_FONT
from pipeline.signatures import fields, keys, signing, timestamps
from pipeline.signatures.model import (
    B_B_ONLY,
    Evidence,
    Level,
    SigningError,
    crls_from_der,
    load_trust_roots,
)


def _evidence(the_pki: DemoPKI, level: Level) -> Evidence:
    crls = tuple(c.public_bytes(serialization.Encoding.DER) for c in current_crls(the_pki))
    return Evidence(level, timestamps.demo_timestamper(the_pki.key_source(TSA)),
                    load_trust_roots((the_pki.root_pem,)), crls_from_der(crls))


def _sign_both(the_pki: DemoPKI, form: Path, out: Path, evidence: Evidence) -> Path:
    provider = keys.load_signer(the_pki.key_source("provider"))
    director = keys.load_signer(the_pki.key_source("director"))
    signing.sign(form, out / "p.pdf", role="provider", signer=provider,
                 person=demo.PEOPLE["provider"], font=DEFAULT_FONT, certify=True,
                 evidence=evidence)
    signing.sign(out / "p.pdf", out / "signed.pdf", role="director", signer=director,
                 person=demo.PEOPLE["director"], font=DEFAULT_FONT, evidence=evidence)
    return out / "signed.pdf"


@pytest.fixture(scope="module")
def form(make_form, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("levels") / "form.pdf"
    signable = path.with_name("fields.pdf")
    make_form(path)
    fields.add_signature_fields(path, signable)
    return signable


@pytest.mark.parametrize("level", [Level.B_T, Level.B_LT, Level.B_LTA])
def test_each_level_passes_etsi_validation_offline(pki, form, tmp_path, level):
    signed = _sign_both(pki, form, tmp_path, _evidence(pki, level))
    statuses = signature.verify_pdf(signed, [pki.root_pem])
    assert [(s.role, s.ok) for s in statuses] == [("provider", True), ("director", True)]
    # B-LTA must pass from what the PDF holds alone; B-T and B-LT get the CA's CRLs, as an
    # auditor fetching them online would
    crls = () if level == Level.B_LTA else tuple(
        c.public_bytes(serialization.Encoding.DER) for c in current_crls(pki))
    results = signature.verify_pdf(signed, [pki.root_pem], crls)
    assert [(r.field, r.indication) for r in results] == [
        ("provider", model.Indication.PASSED), ("director", model.Indication.PASSED)], results


def test_b_lta_still_passes_an_hour_later_offline(pki, form, tmp_path):
    signed = _sign_both(pki, form, tmp_path, _evidence(pki, Level.B_LTA))
    with freeze_time(datetime.now(UTC) + timedelta(hours=1)):
        results = signature.verify_pdf(signed, [pki.root_pem])
    assert {r.indication for r in results} == {model.Indication.PASSED}, results


def test_b_b_is_indeterminate_for_etsi_validation(pki, form, tmp_path):
    signed = _sign_both(pki, form, tmp_path, B_B_ONLY)
    results = signature.verify_pdf(signed, [pki.root_pem])
    assert {r.indication for r in results} == {model.Indication.INDETERMINATE}


def test_a_revoked_certificate_does_not_sign(pki, form, tmp_path):
    own = load_pki(shutil.copytree(pki.directory, tmp_path / "pki"))
    revoke(own, "provider")
    with pytest.raises(SigningError, match="revoked"):
        _sign_both(own, form, tmp_path, _evidence(own, Level.B_LT))


def test_b_t_needs_a_timestamp_authority():
    with pytest.raises(SigningError, match="timestamp authority"):
        Evidence(Level.B_T, None, ())
