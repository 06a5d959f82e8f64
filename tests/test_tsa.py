"""A timestamp authority over HTTP (a real RFC 3161 server on 127.0.0.1): signing through it,
basic authentication, and requests held (never rejected) while it does not answer."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline import demo
from pipeline.audit import model, signature
from pipeline.bundles import bundle
from pipeline.core import thai
from pipeline.flow.processing import Processor
from pipeline.flow.watch import drain
from pipeline.records.journal import State
from pipeline.settings import config
from pipeline.signatures import timestamps

PASSWORD_ENV = "PIPELINE_TEST_TSA_PASSWORD"
PASSWORD = "s3cret-tsa-pass"


def _with_tsa(ws: config.Config, url: str, extra: str = "") -> config.Config:
    """The workspace's pipeline.toml pointed at ``url`` instead of the in-process demo TSA
    (revocation data still from the demo PKI)."""
    toml = ws.workspace.config_file
    text, found = re.subn(r'^tsa = .*?(?=^# Revocation data)',
                          f'tsa = "{url}"\ntsa_retries = 1\n{extra}',
                          toml.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    assert found == 1
    toml.write_text(text, encoding="utf-8")
    loaded = config.load(ws.workspace.root)
    assert loaded.signing.tsa == url and loaded.signing.revocation == "demo"
    return loaded


def _sample(ws: config.Config) -> demo.Demo:
    return demo.create(ws.workspace.root)


def test_b_lta_through_an_http_timestamp_authority(demo_ws, converter, tsa_server, pki):
    ws = _with_tsa(demo_ws, tsa_server.url)
    with Processor(ws, converter) as proc:
        outcome = proc.process(_sample(ws).sample)
    assert outcome.state == State.ARCHIVED, outcome.problems
    # two signature timestamps, one document timestamp, and the validation paths' dummies
    assert tsa_server.answered >= 3
    pdf = outcome.bundle / bundle.pdf_name(outcome.request_id)
    statuses = signature.verify_pdf(pdf, [pki.root_pem])  # offline, from the PDF alone
    assert [(s.role, s.ok, s.indication) for s in statuses] == [
        ("provider", True, model.Indication.PASSED),
        ("director", True, model.Indication.PASSED)], statuses
    assert len(timestamps.document_timestamps(pdf)) == 1  # after the director's signature
    assert bundle.check_bundle(outcome.bundle) == []


@pytest.fixture
def locked_tsa(tsa_server):
    tsa_server.credentials = ("pipeline", PASSWORD)
    return tsa_server


def _auth(user: str = "pipeline") -> str:
    return f'tsa_username = "{user}"\ntsa_password_env = "{PASSWORD_ENV}"\n'


@pytest.mark.parametrize("given", [None, "wrong-password"], ids=["no-credentials", "wrong"])
def test_a_refused_password_holds_the_request_without_showing_it(
        demo_ws, converter, locked_tsa, monkeypatch, caplog, given):
    if given is None:
        ws = _with_tsa(demo_ws, locked_tsa.url)
    else:
        monkeypatch.setenv(PASSWORD_ENV, given)
        ws = _with_tsa(demo_ws, locked_tsa.url, _auth())
    caplog.set_level(logging.DEBUG)
    with Processor(ws, converter) as proc:
        outcome = proc.process(_sample(ws).sample)
        entry = proc.journal.get(outcome.request_id)
    assert outcome.state == State.RENDERED  # held before the provider's signature
    assert entry.state == State.RENDERED
    assert "refused the credentials (HTTP 401)" in entry.message
    assert "tsa_username" in entry.message
    assert not list(ws.workspace.outbox.glob("REQ-*"))
    assert not ws.workspace.rejected.exists() or not any(ws.workspace.rejected.iterdir())
    everything = entry.message + " ".join(str(p) for p in outcome.problems) + caplog.text
    assert "refused the credentials" in caplog.text
    assert PASSWORD not in everything and "wrong-password" not in everything
    assert locked_tsa.answered == 0


def test_the_right_password_signs(demo_ws, converter, locked_tsa, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    ws = _with_tsa(demo_ws, locked_tsa.url, _auth())
    with Processor(ws, converter) as proc:
        outcome = proc.process(_sample(ws).sample)
    assert outcome.state == State.ARCHIVED, outcome.problems
    assert locked_tsa.answered >= 4


def test_credentials_in_the_url_never_reach_a_message(demo_ws, converter, tsa_server):
    tsa_server.stop()
    ws = _with_tsa(demo_ws, tsa_server.url.replace("//", f"//someone:{PASSWORD}@"))
    with Processor(ws, converter) as proc:
        outcome = proc.process(_sample(ws).sample)
        entry = proc.journal.get(outcome.request_id)
    assert outcome.state == State.RENDERED
    assert f"no answer from {tsa_server.url}" in entry.message
    assert PASSWORD not in entry.message and "someone" not in entry.message


def test_requests_wait_while_the_tsa_is_down_and_go_through_once_it_is_up(
        demo_ws, converter, tsa_server):
    ws = _with_tsa(demo_ws, tsa_server.url)
    made = _sample(ws)
    for second in range(3):  # three different requests (each drop notes its own time)
        demo.drop_sample(made, datetime(2026, 11, 25, 9, 0, second, tzinfo=thai.BANGKOK))
    tsa_server.stop()
    with Processor(ws, converter) as proc:
        down = drain(proc)
        assert len(down) == 3 and {o.state for o in down} == {State.RENDERED}
        for o in down:
            message = proc.journal.get(o.request_id).message
            assert "the timestamp authority did not answer" in message
            assert f"no answer from {tsa_server.url}" in message
            assert "the request waits and is tried again" in message
        assert not list(ws.workspace.outbox.glob("REQ-*"))
        assert not ws.workspace.rejected.exists() or not any(ws.workspace.rejected.iterdir())

        tsa_server.start()  # the same port
        up = drain(proc)  # the watcher first resumes the held requests
    assert sorted(o.request_id for o in up) == sorted(o.request_id for o in down)
    assert {o.state for o in up} == {State.ARCHIVED}
    archived = sorted(p.name for p in ws.workspace.outbox.glob("REQ-*"))
    assert archived == sorted(o.request_id for o in down)  # each exactly once
    assert all(bundle.check_bundle(ws.workspace.outbox / i) == [] for i in archived)
    assert not any(p.is_file() for p in ws.workspace.inbox.iterdir())
    assert not ws.workspace.rejected.exists() or not any(ws.workspace.rejected.iterdir())


def _issue(authority, name: str, usage, *, ip: str | None = None):
    """A TLS certificate from the test PKI's intermediate CA, with its key."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(authority.certificate.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(minutes=5))
               .not_valid_after(now + timedelta(days=1))
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
            critical=False)
    return builder.sign(authority.key, hashes.SHA256()), key


def _pem(path: Path, *items) -> Path:
    from cryptography.hazmat.primitives import serialization

    out = b""
    for item in items:
        if hasattr(item, "public_bytes"):
            out += item.public_bytes(serialization.Encoding.PEM)
        else:
            out += item.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
    path.write_bytes(out)
    return path


@pytest.fixture
def tls_tsa(pki, start_tsa_server, tmp_path, monkeypatch):
    """The timestamp server over HTTPS, requiring a client certificate from the test CA;
    yields the server and the client's certificate and key files."""
    import ssl

    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca = pki.authority("intermediate")
    server_cert, server_key = _issue(ca, "127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH,
                                     ip="127.0.0.1")
    client_cert, client_key = _issue(ca, "pipeline", ExtendedKeyUsageOID.CLIENT_AUTH)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.root_pem))
    context.load_verify_locations(str(pki.intermediate_pem))
    context.load_cert_chain(_pem(tmp_path / "server.pem", server_cert, ca.certificate,
                                 server_key))
    context.verify_mode = ssl.CERT_REQUIRED
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.root_pem))  # trust the test root
    return (start_tsa_server(tls=context), _pem(tmp_path / "client.pem", client_cert),
            _pem(tmp_path / "client-key.pem", client_key))


def test_a_client_certificate_opens_an_https_authority(demo_ws, converter, tls_tsa):
    server, cert, key = tls_tsa
    without = _with_tsa(demo_ws, server.url)
    with Processor(without, converter) as proc:
        refused = proc.process(_sample(without).sample)
    assert refused.state == State.RENDERED  # held, not rejected
    assert server.answered == 0
    ws = _with_tsa(demo_ws, server.url,
                   f'tsa_client_cert = "{cert}"\ntsa_client_key = "{key}"\n')
    with Processor(ws, converter) as proc:
        outcome = proc.resume()
    assert [o.state for o in outcome] == [State.ARCHIVED], outcome
    assert server.answered >= 4
