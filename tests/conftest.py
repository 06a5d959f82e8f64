"""Shared fixtures: one LibreOffice converter and one test PKI for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

pytest_plugins = ["desk_support"]  # the web desk's server, accounts and browser


def pytest_sessionstart(session: pytest.Session) -> None:
    """The patches the CLI and every worker install, so that tests that drive the library
    directly run the same code as production."""
    from pipeline import patches

    patches.install()


@pytest.fixture(scope="session")
def converter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One long-lived LibreOffice for every test that converts."""
    from pipeline.external.office import Converter

    with Converter(profile_dir=tmp_path_factory.mktemp("lo-profile")) as conv:
        yield conv


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo workspace (PKI, config, sample request) made once; tests take copies."""
    from pipeline import demo

    return demo.create(tmp_path_factory.mktemp("demo-template") / "ws").config.workspace.root


@pytest.fixture
def demo_ws(demo_template: Path, tmp_path: Path):
    """A private copy of the demo workspace for one test."""
    import shutil

    from pipeline.settings import config

    root = tmp_path / "ws"
    shutil.copytree(demo_template, root)
    return config.load(root)


@pytest.fixture
def processor(demo_ws, converter):
    """A processor on the test's workspace, sharing the session's LibreOffice."""
    from pipeline.flow.processing import Processor

    with Processor(demo_ws, converter=converter) as proc:
        yield proc


@pytest.fixture(scope="session")
def pki(demo_template: Path):
    """The session's one test PKI (root, intermediate, a PKCS#12 key per demo person): the
    demo workspace's."""
    from pipeline import demo
    from pipeline.demo.pki import load_pki

    return load_pki(demo_template / demo.PKI_DIR)


@pytest.fixture(scope="session")
def nss_db(pki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An NSS database trusting only the test root, for poppler's pdfsig. NSS checks
    document signers as e-mail signers, hence the root's trust flags "C,C,"."""
    import subprocess

    db = tmp_path_factory.mktemp("nss")
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{db}", "-n", "test-root", "-t", "C,C,",
                    "-i", str(pki.root_pem)], check=True)
    return db


# Where the template's bookmarks put the signature boxes: (left, top) of [page /XYZ left top].
FORM_BOOKMARKS = {"SigProvider": (160, 330), "SigDirector": (430, 330), "SigPublisher": (160, 220)}


def _make_form(path: Path, bookmarks: dict[str, tuple[float, float]] = FORM_BOOKMARKS,
               text: bytes = b"Approval form") -> Path:
    """A one-page PDF saying ``text`` with named destinations in the catalog's /Dests, as
    LibreOffice exports Word bookmarks."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name
    from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

    w = PdfFileWriter()
    font = w.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Font"),
        pdf_name("/Subtype"): pdf_name("/Type1"),
        pdf_name("/BaseFont"): pdf_name("/Helvetica"),
    }))
    content = generic.StreamObject(stream_data=b"BT /F1 14 Tf 72 770 Td (" + text + b") Tj ET")
    resources = generic.DictionaryObject({
        pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font})
    })
    page = w.insert_page(PageObject(w.add_object(content), (0, 0, 595, 842), resources))
    w.root[pdf_name("/Dests")] = w.add_object(generic.DictionaryObject({
        pdf_name("/" + name): generic.ArrayObject([
            page, pdf_name("/XYZ"), generic.FloatObject(left), generic.FloatObject(top),
            generic.NullObject(),
        ])
        for name, (left, top) in bookmarks.items()
    }))
    with path.open("wb") as f:
        w.write(f)
    return path


@pytest.fixture(scope="session")
def make_form():
    """``make_form(path, bookmarks=FORM_BOOKMARKS, text=...)``: a form PDF for signing tests,
    without LibreOffice (see ``_make_form``)."""
    return _make_form


SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN_PIN_ENV = "PIPELINE_TEST_TOKEN_PIN"


@pytest.fixture(scope="session")
def softhsm_token(pki, tmp_path_factory: pytest.TempPathFactory):
    """A SoftHSM2 token, "pipeline-test", standing in for a USB token: the demo director's
    key and certificate (ID 01, label "director") and the test CA certificates, imported with
    OpenSC's pkcs11-tool as an administrator would. Yields the TokenSource naming it, with the
    CA certificates as chain files; its PIN is in $PIPELINE_TEST_TOKEN_PIN for the session."""
    import os
    import subprocess

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    from pipeline.settings.config import TokenSource

    pin, label = "246810", "pipeline-test"
    d = tmp_path_factory.mktemp("softhsm")
    (d / "tokens").mkdir()
    conf = d / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {d / 'tokens'}\nobjectstore.backend = file\n"
                    f"log.level = ERROR\n")
    saved = {name: os.environ.get(name) for name in ("SOFTHSM2_CONF", TOKEN_PIN_ENV)}
    os.environ.update({"SOFTHSM2_CONF": str(conf), TOKEN_PIN_ENV: pin})
    try:
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label,
                        "--pin", pin, "--so-pin", "13579135"], check=True, capture_output=True)
        key, cert, _ = pkcs12.load_key_and_certificates(
            pki.pkcs12["director"].read_bytes(), pki.passphrase_file.read_bytes().rstrip(b"\r\n"))
        der = serialization.Encoding.DER
        objects = [
            ("privkey", "01", "director", key.private_bytes(
                der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
            ("cert", "01", "director", cert.public_bytes(der)),
            ("cert", "02", "intermediate", _pem_to_der(pki.intermediate_pem)),
            ("cert", "03", "root", _pem_to_der(pki.root_pem)),
        ]
        for kind, object_id, object_label, data in objects:
            file = d / f"{object_label}-{kind}.der"
            file.touch(mode=0o600)
            file.write_bytes(data)
            subprocess.run(["pkcs11-tool", "--module", str(SOFTHSM_MODULE), "--token-label",
                            label, "--login", "--pin", pin, "--write-object", str(file),
                            "--type", kind, "--id", object_id, "--label", object_label],
                           check=True, capture_output=True)
            file.unlink()
        yield TokenSource(module=SOFTHSM_MODULE, token_label=label, pin_env=TOKEN_PIN_ENV,
                          key_label="director", key_id=bytes.fromhex("01"),
                          chain=(pki.intermediate_pem, pki.root_pem))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _pem_to_der(pem: Path) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    return x509.load_pem_x509_certificate(pem.read_bytes()).public_bytes(
        serialization.Encoding.DER)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that answers with ``reply`` and logs nothing."""

    def reply(self, content_type: str, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:  # quiet
        pass


class LocalHTTPServer:
    """A real HTTP server on 127.0.0.1, in a thread, for a service the pipeline calls;
    ``stop()`` and ``start()`` take it down and up again on the same port. Subclasses give
    the request handler (``_handler``)."""

    tls = None  # a server-side SSLContext makes it HTTPS

    def __init__(self) -> None:
        self.port = 0  # a free one, chosen at the first start
        self._server = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"

    def start(self) -> None:
        import threading
        from http.server import ThreadingHTTPServer

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.port = self._server.server_address[1]
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handler(self) -> type:
        raise NotImplementedError


class TimestampServer(LocalHTTPServer):
    """A real RFC 3161 timestamp authority over HTTP: the demo PKI's authority
    (``timestamps.demo_timestamper``) answering POSTed TimeStampReqs, as a TSA's web front
    does. ``credentials`` (user, password) makes it require HTTP basic auth; ``tls`` (a
    server-side SSLContext) makes it HTTPS."""

    def __init__(self, timestamper, credentials: tuple[str, str] | None = None,
                 tls=None) -> None:
        super().__init__()
        self.timestamper = timestamper
        self.credentials = credentials
        self.tls = tls
        self.answered = 0

    def _handler(self) -> type:
        import base64

        from asn1crypto import tsp

        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if server.credentials is not None:
                    expected = "Basic " + base64.b64encode(
                        ":".join(server.credentials).encode()).decode()
                    if self.headers.get("Authorization") != expected:
                        self.send_response(401)
                        self.send_header("WWW-Authenticate", 'Basic realm="tsa"')
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                reply = server.timestamper.request_tsa_response(tsp.TimeStampReq.load(body))
                server.answered += 1
                self.reply("application/timestamp-reply", reply.dump())

        return Handler


@pytest.fixture
def start_tsa_server(pki):
    """``start_tsa_server(credentials=None, tls=None)``: a running local timestamp server
    (see TimestampServer) over the test PKI's authority; all are stopped after the test."""
    from pipeline.demo.pki import TSA
    from pipeline.signatures import timestamps

    timestamper = timestamps.demo_timestamper(pki.key_source(TSA))
    started: list[TimestampServer] = []

    def start(**options: object) -> TimestampServer:
        server = TimestampServer(timestamper, **options)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def tsa_server(start_tsa_server) -> TimestampServer:
    """A running local HTTP timestamp authority (see TimestampServer)."""
    return start_tsa_server()


class CRLServer(LocalHTTPServer):
    """A CA publishing over HTTP: fresh CRLs of ``pki`` (made when asked, so a frozen clock
    gets CRLs current then) at /root.crl and /intermediate.crl; a name in ``missing`` is
    404, one in ``substitute`` gets those bytes instead. ``served`` lists the CRLs fetched,
    ``requested`` every path asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.pki = None
        self.missing: set[str] = set()
        self.substitute: dict[str, bytes] = {}
        self.served: list[str] = []
        self.requested: list[str] = []

    @property
    def base(self) -> str:
        return self.url.rstrip("/")

    def _handler(self) -> type:
        from cryptography.hazmat.primitives import serialization

        from pipeline.demo.pki import current_crls

        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.requested.append(self.path)
                which = self.path.strip("/").removesuffix(".crl")
                crls = dict(zip(("root", "intermediate"), current_crls(server.pki),
                                strict=True))
                if which not in crls or which in server.missing:
                    self.send_error(404)
                    return
                server.served.append(which)
                self.reply("application/pkix-crl", server.substitute.get(
                    which, crls[which].public_bytes(serialization.Encoding.DER)))

        return Handler


@pytest.fixture
def crl_server() -> Iterator[CRLServer]:
    """A running CRLServer; give it a PKI (``crl_server.pki``) made with
    ``crl_base=crl_server.base`` before anything fetches."""
    server = CRLServer()
    server.start()
    yield server
    server.stop()
