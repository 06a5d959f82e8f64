"""Real servers on loopback for the notice tests: an SMTP server (aiosmtpd) that keeps what
it receives and can be taken down, held at DATA, or made to require STARTTLS and a login;
an HTTP server that records webhook and LINE calls; the workspace's [notify] set up."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from conftest import LocalHTTPServer, QuietHandler

from pipeline import demo
from pipeline.settings import config as config_mod
from pipeline.settings.config import Config

PROVIDER_EMAIL = "nureesan@example.go.th"
DIRECTOR_EMAIL = "director@example.go.th"
WEBMASTER_EMAIL = "webmaster@example.go.th"
ADMIN_EMAIL = "admin@example.go.th"
SMTP_USER = "pipeline"
SMTP_PASSWORD = "s3cret-Pa55word"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class Mailbox:
    """An aiosmtpd server on 127.0.0.1 that keeps every message. ``stop()``/``start()`` take
    it down and up on the same port; ``hold`` makes DATA wait (the message kept, the 250 not
    yet given) until ``release()``."""

    def __init__(self, **smtp_parameters: object) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self._params = smtp_parameters
        self._controller: Controller | None = None
        self._gate = threading.Event()
        self._gate.set()
        self._arrived = threading.Condition()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        with self._arrived:
            self.received.append(Received(envelope.mail_from,  # type: ignore[attr-defined]
                                          tuple(envelope.rcpt_tos),  # type: ignore[attr-defined]
                                          envelope.original_content))  # type: ignore[attr-defined]
            self._arrived.notify_all()
        while not self._gate.is_set():
            await asyncio.sleep(0.02)
        return "250 OK"

    def start(self) -> Mailbox:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                      **self._params)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def hold(self) -> None:
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def clear(self) -> None:
        self.received.clear()

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.received)} message(s) arrived, {count} expected"
                self._arrived.wait(left)
        return list(self.received)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM), made with cryptography."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem, key_pem = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return cert_pem, key_pem


def tls_mailbox(folder: Path) -> tuple[Mailbox, Path]:
    """A mailbox that requires STARTTLS and a login (SMTP_USER, SMTP_PASSWORD)."""
    cert, key = self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(server: object, session: object, envelope: object, mechanism: str,
                     auth_data: object) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode()
              and auth_data.password == SMTP_PASSWORD.encode())
        return AuthResult(success=ok, handled=False)  # a failure answered 535

    box = Mailbox(tls_context=context, require_starttls=True, auth_required=True,
                  authenticator=authenticate, auth_exclude_mechanism=["LOGIN"])
    return box, cert


class Recorder(LocalHTTPServer):
    """Records each POST (path, headers, body) and answers ``status``."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 200

    def _handler(self) -> type:
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.calls.append((self.path, dict(self.headers.items()), data))
                self.send_response(server.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        return Handler

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _path, _headers, body in self.calls]


def with_notify(cfg: Config, notify: str, *, auto_approve: bool | None = None,
                obligations: bool = False) -> Config:
    """The demo office with e-mail addresses for its people and ``notify`` (TOML lines of
    the [notify] table, and any sub-tables after them) appended. The demo's obligations
    are left out unless asked for: their reminders are not what these tests count."""
    original = cfg.workspace.config_file.with_name("pipeline.toml.orig")  # again: from scratch
    if not original.exists():
        original.write_bytes(cfg.workspace.config_file.read_bytes())
    text = original.read_text(encoding="utf-8")
    text = text.replace("[director]\n", f'[director]\nemail = "{DIRECTOR_EMAIL}"\n', 1)
    text = text.replace("[publisher]\n", f'[publisher]\nemail = "{WEBMASTER_EMAIL}"\n', 1)
    text = text.replace("[[providers]]\n", f'[[providers]]\nemail = "{PROVIDER_EMAIL}"\n', 1)
    if auto_approve is not None:
        text = text.replace("auto_approve = true", f"auto_approve = {str(auto_approve).lower()}")
    if not obligations:
        text = re.sub(r"^\[\[obligations\]\]\n(?:[^\[\n].*\n|\n)*", "", text, flags=re.M)
    text += f'\n[notify]\nadmin = ["{ADMIN_EMAIL}"]\n{notify}\n'
    cfg.workspace.config_file.write_text(text, encoding="utf-8")
    loaded = config_mod.load(cfg.workspace.root)
    assert loaded.notify.provider_emails == ((demo.PEOPLE["provider"].name, PROVIDER_EMAIL),)
    return loaded


def smtp_lines(box: Mailbox, extra: str = "") -> str:
    return (f'smtp_host = "127.0.0.1"\nsmtp_port = {box.port}\nsecurity = "none"\n'
            f'from = "pipeline@example.go.th"\nsmtp_timeout = 5\n{extra}')
