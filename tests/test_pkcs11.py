"""Keys on a PKCS#11 token: SoftHSM2 stands in for a USB token holding the test PKI's director
key and certificate. Real python-pkcs11, pyHanko and poppler's pdfsig; the only stand-in is a
token with its PIN nearly locked, which SoftHSM2 never is."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from pipeline import demo
from pipeline.audit.signature import verify_pdf
from pipeline.core import folders
from pipeline.flow.processing import Processor
from pipeline.intake import blank_sheet
from pipeline.records.journal import State
from pipeline.settings import config
from pipeline.settings.config import DEFAULT_FONT, ConfigError, SignerConfig, TokenSource
from pipeline.signatures import keys
from pipeline.signatures.fields import add_signature_fields
from pipeline.signatures.keys import load_signer
from pipeline.signatures.model import SigningError
from pipeline.signatures.signing import sign

DIRECTOR = demo.PEOPLE["director"]
BATCH = 20


@pytest.fixture(scope="module")
def fields_pdf(make_form, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("token-form")
    add_signature_fields(make_form(d / "form.pdf"), d / "fields.pdf")
    return d / "fields.pdf"


@pytest.fixture
def logins(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The labels of the tokens logged in to during the test, one entry per login."""
    labels: list[str] = []
    log_in = keys._open_session

    def counted(source: TokenSource) -> pkcs11.Session:
        labels.append(source.token_label)
        return log_in(source)

    monkeypatch.setattr(keys, "_open_session", counted)
    return labels


def test_a_batch_of_20_signs_with_one_login(softhsm_token: TokenSource, fields_pdf: Path, pki,
                                            nss_db: Path, logins: list[str], tmp_path: Path
                                            ) -> None:
    signer = load_signer(softhsm_token)
    session = signer.backend.pkcs11_session
    try:
        infos = [sign(fields_pdf, tmp_path / f"{i:02}.pdf", role="director", signer=signer,
                      person=DIRECTOR, font=DEFAULT_FONT) for i in range(BATCH)]
        assert signer.backend.pkcs11_session is session
    finally:
        signer.close()
    assert logins == ["pipeline-test"]
    # the certificate came from the token: the director's, as in their PKCS#12 file
    assert signer.cert_sha256 == load_signer(pki.key_source("director")).cert_sha256
    assert [_sha256(c) for c in signer.chain] == [_sha256(_pem(pki.intermediate_pem)),
                                                  _sha256(_pem(pki.root_pem))]
    for i, info in enumerate(infos):
        (status,) = verify_pdf(tmp_path / f"{i:02}.pdf", [pki.root_pem])
        assert (status.intact, status.trusted, status.ok) == (True, True, True), status.message
        assert (status.signer, status.cert_sha256) == (DIRECTOR.name, signer.cert_sha256)
        assert status.signed_at == info.signed_at
    out = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss_db}", str(tmp_path / "07.pdf")],
                         check=True, capture_output=True, text=True, errors="replace").stdout
    assert "Signature Validation: Signature is Valid." in out
    assert "Certificate Validation: Certificate is Trusted." in out


def test_without_chain_files_the_chain_comes_from_the_token(
    softhsm_token: TokenSource, fields_pdf: Path, pki, tmp_path: Path
) -> None:
    signer = load_signer(dataclasses.replace(softhsm_token, chain=()))
    try:
        sign(fields_pdf, tmp_path / "out.pdf", role="director", signer=signer, person=DIRECTOR,
             font=DEFAULT_FONT)
    finally:
        signer.close()
    assert {_sha256(c) for c in signer.chain} == {_sha256(_pem(pki.intermediate_pem)),
                                                   _sha256(_pem(pki.root_pem))}
    (status,) = verify_pdf(tmp_path / "out.pdf", [pki.root_pem])
    assert (status.intact, status.trusted) == (True, True)  # the intermediate is embedded


def test_the_pipeline_logs_in_once_and_out_when_closed(
    demo_ws, converter, softhsm_token: TokenSource, logins: list[str], tmp_path: Path
) -> None:
    cfg = dataclasses.replace(demo_ws, director=SignerConfig(DIRECTOR, softhsm_token))
    with Processor(cfg, converter=converter) as processor:
        outcomes = []
        for i in range(2):
            path = tmp_path / f"request-{i}.xlsx"
            blank_sheet.new_request(path, cfg)
            blank_sheet.fill(path, {**demo.sample_values(date.today()), "title": f"ข่าวที่ {i + 1}"})
            outcomes.append(processor.process(path))
    assert [o.state for o in outcomes] == [State.ARCHIVED] * 2, outcomes
    assert logins == ["pipeline-test"]
    load_signer(softhsm_token).close()  # logged out: the token opens again
    for outcome in outcomes:
        statuses = verify_pdf(outcome.bundle / f"{outcome.request_id}.pdf", cfg.trust_roots)
        assert [(s.role, s.intact, s.trusted) for s in statuses] == [
            ("provider", True, True), ("director", True, True)]


def test_wrong_pin_is_refused_without_revealing_it(
    softhsm_token: TokenSource, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    right = os.environ[softhsm_token.pin_env]
    monkeypatch.setenv(softhsm_token.pin_env, "97531-wrong")
    caplog.set_level("DEBUG")
    with pytest.raises(SigningError, match="refused the PIN in .* wrong PIN") as caught:
        load_signer(softhsm_token)
    told = "".join(str(e) for e in (caught.value, caught.value.__cause__,
                                    caught.value.__context__) if e) + caplog.text
    assert "97531-wrong" not in told
    assert right not in told
    monkeypatch.setenv(softhsm_token.pin_env, right)
    load_signer(softhsm_token).close()  # nothing was left logged in


@pytest.mark.parametrize(("change", "message"), [
    ({"token_label": "no-such-token"}, "no token labelled 'no-such-token' .* plugged in"),
    ({"key_label": "nobody", "key_id": None}, "token 'pipeline-test': Could not find .*'nobody'"),
    ({"key_label": None, "key_id": b"\x09"}, "token 'pipeline-test': Could not find .*'09'"),
    ({"key_label": None, "key_id": b"\x02"},  # the intermediate's certificate, without a key
     "Could not find private key with ID '02'"),
    ({"module": Path("/nonexistent/pkcs11.so")}, "cannot open shared object file"),
    ({"chain": (Path("/nonexistent/ca.pem"),)}, "cannot read certificate file"),
])
def test_what_is_missing_is_named(softhsm_token: TokenSource, change: dict, message: str) -> None:
    with pytest.raises(SigningError, match=message):
        load_signer(dataclasses.replace(softhsm_token, **change))
    load_signer(softhsm_token).close()  # a failed load leaves nothing logged in


def test_unset_pin_variable_is_a_config_error(softhsm_token: TokenSource,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(softhsm_token.pin_env)
    with pytest.raises(ConfigError, match=f"{softhsm_token.pin_env} is not set"):
        load_signer(softhsm_token)


def test_a_second_signer_on_the_same_token_is_refused(softhsm_token: TokenSource) -> None:
    first = load_signer(softhsm_token)
    try:
        with pytest.raises(SigningError, match="already logged in"):
            load_signer(softhsm_token)
    finally:
        first.close()


@pytest.mark.parametrize(("flag", "message"), [
    (pkcs11.TokenFlag.USER_PIN_FINAL_TRY, "one PIN try is left .* does not try"),
    (pkcs11.TokenFlag.USER_PIN_LOCKED, "the PIN is locked"),
])
def test_the_last_pin_try_is_never_used(softhsm_token: TokenSource, monkeypatch: pytest.MonkeyPatch,
                                        flag: pkcs11.TokenFlag, message: str) -> None:
    def open_token(**kwargs: object) -> None:
        pytest.fail("logged in to a token with its PIN nearly or already locked")

    token = SimpleNamespace(flags=pkcs11.TokenFlag.LOGIN_REQUIRED | flag, open=open_token)
    monkeypatch.setattr(pkcs11, "lib", lambda so: SimpleNamespace(get_token=lambda **_: token))
    with pytest.raises(SigningError, match=message):
        load_signer(softhsm_token)


def test_signing_after_close_fails_clearly(softhsm_token: TokenSource, fields_pdf: Path,
                                           tmp_path: Path) -> None:
    signer = load_signer(softhsm_token)
    signer.close()
    with pytest.raises(SigningError, match="the token failed .*SessionHandleInvalid"):
        sign(fields_pdf, tmp_path / "out.pdf", role="director", signer=signer, person=DIRECTOR,
             font=DEFAULT_FONT)
    assert not (tmp_path / "out.pdf").exists()


# -- pipeline.toml ---------------------------------------------------------------------------
def _load(root: Path, key: str) -> config.Config:
    (root / folders.CONFIG_NAME).write_text(f"""
[unit]
name = "สำนักงานสาธารณสุขอำเภอทดสอบ"
work_groups = ["กลุ่มงานทดสอบ"]

[director]
name = "{DIRECTOR.name}"
position = "{DIRECTOR.position}"
{key}

[publisher]
name = "นายทดสอบ ระบบ"
position = "นักวิชาการคอมพิวเตอร์"

[signing]
level = "B-B"
""", encoding="utf-8")
    return config.load(root)


def test_config_names_a_key_on_a_token(tmp_path: Path) -> None:
    cfg = _load(tmp_path, """
pkcs11_module = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
token_label = "DIRECTOR TOKEN"
key_id = "01:a2"
pin_env = "DIRECTOR_PIN"
chain = ["certs/ca.pem"]
""")
    assert cfg.director.key == TokenSource(
        module=Path("/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"), token_label="DIRECTOR TOKEN",
        pin_env="DIRECTOR_PIN", key_id=b"\x01\xa2",
        chain=(cfg.workspace.root / "certs" / "ca.pem",))


@pytest.mark.parametrize(("key", "message"), [
    ('passphrase_env = "X"', "director needs pkcs12 .* or pkcs11_module"),
    ('pkcs12 = "a.p12"\npkcs11_module = "/m.so"', "director has both pkcs12 and pkcs11_module"),
    ('pkcs11_module = "/m.so"\ntoken_label = "T"\npin_env = "P"', "needs key_label or key_id"),
    ('pkcs11_module = "/m.so"\ntoken_label = "T"\npin_env = "P"\nkey_id = "zz"',
     "director.key_id must be hexadecimal"),
    ('pkcs11_module = "/m.so"\ntoken_label = "T"\nkey_label = "K"', "director.pin_env is required"),
    ('pkcs11_module = "/m.so"\ntoken_label = "T"\npin_env = "P"\nkey_label = "K"\nchain = "c.pem"',
     "director.chain must be a list"),
])
def test_config_errors_name_the_key(tmp_path: Path, key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, key)


def _pem(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _sha256(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())
