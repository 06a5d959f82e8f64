"""Proof of publication against a real local web server: the exact PDF, a changed PDF, a
page with and without the request's title, a 404, a redirect loop, a redirect to a local
file, a body that never ends, a server that never answers and one that drips; the verdicts
recorded in the bundles' events, shown in the index, and the command's exit code."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import LocalHTTPServer, QuietHandler
from seeding import FAKE_PDF, archived, request

from pipeline.bundles import bundle, proof, publish
from pipeline.core import thai
from pipeline.external import web
from pipeline.records import index, index_files

PIPELINE = [sys.executable, "-m", "pipeline"]
TITLE = "ประชาสัมพันธ์การรณรงค์ป้องกันโรคไข้เลือดออก"
LIMITS = web.Limits(timeout=1.0, max_bytes=1 << 20, max_redirects=5)
RECEIVED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class Site(LocalHTTPServer):
    """The office's web site as the tests need it: ``pages`` maps a path to (content type,
    bytes); a few paths misbehave on purpose."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, tuple[str, bytes]] = {}
        self.release = threading.Event()  # set at the end: the hung handlers return

    def _handler(self) -> type:
        site = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path in site.pages:
                    self.reply(*site.pages[self.path])
                elif self.path in ("/loop", "/to-file"):
                    self.send_response(302)
                    self.send_header("Location", "/loop" if self.path == "/loop"
                                     else "file:///etc/passwd")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/endless":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/pdf")
                    self.end_headers()
                    chunk = b"%PDF-1.7\n" + b"0" * 65536
                    try:
                        while not site.release.is_set():
                            self.wfile.write(chunk)
                    except OSError:  # the client stopped reading: as it should
                        return
                elif self.path == "/silent":
                    site.release.wait(30)  # accepts, never answers
                elif self.path == "/drip":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.end_headers()
                    try:
                        while not site.release.wait(0.1):  # a byte every 0.1 s, forever
                            self.wfile.write(b"x")
                            self.wfile.flush()
                    except OSError:
                        return
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

        return Handler


@pytest.fixture
def site():
    server = Site()
    server.start()
    yield server
    server.release.set()
    server.stop()


def _published(cfg, tmp_path, url: str, title: str = TITLE) -> str:
    return archived(cfg, tmp_path, request(cfg, title), RECEIVED,
                    published=(date(2026, 11, 5), url))


def _signed_pdf(cfg, request_id: str) -> bytes:
    return (cfg.workspace.outbox / request_id / bundle.pdf_name(request_id)).read_bytes()


def test_each_kind_of_answer_gets_its_verdict_recorded_in_the_bundle(demo_ws, tmp_path, site):
    base = site.url.rstrip("/")
    names = ("exact", "changed", "with", "without", "gone", "loop", "to-file", "endless")
    paths = {"exact": "/f/exact.pdf", "changed": "/f/changed.pdf", "with": "/news/with.html",
             "without": "/news/without.html", "gone": "/missing", "loop": "/loop",
             "to-file": "/to-file", "endless": "/endless"}
    ids = {name: _published(demo_ws, tmp_path, base + paths[name]) for name in names}
    site.pages[paths["exact"]] = ("application/pdf", _signed_pdf(demo_ws, ids["exact"]))
    site.pages[paths["changed"]] = ("application/pdf", FAKE_PDF + b"changed")
    # the title in TIS-620 (the charset only in the page's <meta>), split by markup, with an
    # entity: found as a reader sees it
    with_title = ("<html><head><meta http-equiv='Content-Type' content='text/html; "
                  "charset=windows-874'><title>ข่าว</title></head><body><h1>ประชาสัมพันธ์<b>"
                  "การรณรงค์</b>ป้องกันโรค&#3652;ข้เลือดออก</h1></body></html>")
    site.pages[paths["with"]] = ("text/html", with_title.encode("cp874"))
    site.pages[paths["without"]] = ("text/html; charset=utf-8",
                                    "<html><body><p>หน้าแรก</p><script>var t = "
                                    f"'{TITLE}';</script></body></html>".encode())

    checks = {c.request_id: c for c in proof.check_published(demo_ws, limits=LIMITS)}
    verdicts = {name: checks[ids[name]].verdict for name in names}
    assert verdicts == {
        "exact": proof.Verdict.SAME_PDF, "changed": proof.Verdict.OTHER_PDF,
        "with": proof.Verdict.PAGE_OK, "without": proof.Verdict.PAGE_WITHOUT,
        "gone": proof.Verdict.GONE, "loop": proof.Verdict.NO_ANSWER,
        "to-file": proof.Verdict.NO_ANSWER, "endless": proof.Verdict.TOO_LARGE}
    assert checks[ids["gone"]].detail == "HTTP 404"
    assert checks[ids["loop"]].detail == "more than 5 redirects"
    assert "only http and https" in checks[ids["to-file"]].detail
    assert checks[ids["exact"]].sha256 == hashlib.sha256(
        _signed_pdf(demo_ws, ids["exact"])).hexdigest()
    assert [c.request_id for c in proof.problems(checks.values())] == sorted(
        ids[n] for n in ("changed", "without", "gone", "loop", "to-file", "endless"))

    for name, request_id in ids.items():  # recorded, and the bundle still whole
        folder = demo_ws.workspace.outbox / request_id
        events = bundle.read_manifest(folder)["events"]
        assert [e["type"] for e in events] == ["published", proof.EVENT_CHECKED], name
        assert events[-1]["verdict"] == str(verdicts[name])
        assert events[-1]["answered"] == (name not in ("loop", "to-file")), name
        assert bundle.check_bundle(folder) == []
    rows = {r.request_id: r for r in index.gather(demo_ws.workspace)}
    today = datetime.now(UTC).astimezone(thai.BANGKOK).date()
    assert index_files.publication_check(rows[ids["gone"]]) == (
        f"ไม่พบหน้า (ตรวจ {thai.short_date(today)})")
    assert index_files.publication_check(rows[ids["exact"]]).startswith("ตรงกับไฟล์ที่ลงนาม")


def test_a_check_is_recorded_again_only_when_it_changes_or_a_month_has_passed(
        demo_ws, tmp_path, site):
    url = site.url + "page.html"
    request_id = _published(demo_ws, tmp_path, url)
    folder = demo_ws.workspace.outbox / request_id
    site.pages["/page.html"] = ("text/html", f"<p>{request_id}</p>".encode())
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)

    def recorded(when: datetime) -> tuple[bool, list[str]]:
        (check,) = proof.check_published(demo_ws, limits=LIMITS, now=when)
        events = bundle.read_manifest(folder)["events"]
        return check.recorded, [e["verdict"] for e in events if e["type"] == proof.EVENT_CHECKED]

    assert recorded(now) == (True, ["page-names-request"])
    assert recorded(now + timedelta(days=1)) == (False, ["page-names-request"])
    del site.pages["/page.html"]  # the page is taken down
    assert recorded(now + timedelta(days=2)) == (True, ["page-names-request", "http-error"])
    assert recorded(now + timedelta(days=3))[0] is False
    assert recorded(now + timedelta(days=33))[0] is True  # a month on: confirmed again


def test_an_earlier_revision_of_the_signed_pdf_is_accepted(demo_ws, tmp_path, site):
    request_id = archived(demo_ws, tmp_path, request(demo_ws, TITLE), RECEIVED)
    folder = demo_ws.workspace.outbox / request_id
    uploaded = _signed_pdf(demo_ws, request_id)  # uploaded, then the webmaster signed
    event = publish.Publication(site.url + "form.pdf", date(2026, 11, 5), RECEIVED, "webmaster",
                                previous_pdf=publish.FileStamp(
                                    hashlib.sha256(uploaded).hexdigest(), len(uploaded)))
    newer = tmp_path / "signed-again.pdf"
    newer.write_bytes(uploaded + b"% the webmaster's signature\n")
    bundle.append_event(folder, event.to_event(), status="published",
                        replace={bundle.pdf_name(request_id): newer})
    site.pages["/form.pdf"] = ("application/octet-stream", uploaded)
    (check,) = proof.check_published(demo_ws, limits=LIMITS)
    assert check.verdict == proof.Verdict.EARLIER_PDF and check.verdict.ok


def test_time_is_bounded_for_a_server_that_never_answers_or_drips(site):
    for path in ("/silent", "/drip"):
        started = time.monotonic()
        fetched = web.fetch(site.url + path.lstrip("/"), web.Limits(timeout=0.5))
        elapsed = time.monotonic() - started
        assert fetched.error == "no answer within 0.5 s", path
        assert elapsed < 2.0, (path, elapsed)


def test_only_http_and_https_are_fetched():
    for url in ("file:///etc/passwd", "ftp://example.org/x", "gopher://x/", "http:///nohost"):
        fetched = web.fetch(url, LIMITS)
        assert not fetched.answered and fetched.error.startswith("refused"), url


def test_the_page_charset_and_thai_normalisation():
    title = "ประกาศผลการจัดซื้อจัดจ้าง"
    assert title in proof.page_text(f"<title>{title}</title>".encode("tis-620"), "tis-620")
    meta = f"<meta charset='TIS-620'><p>{title}</p>".encode("tis-620")
    assert title in proof.page_text(meta)
    # sara am typed as nikhahit + sara aa: the same text once normalised
    typed = title.replace("\u0e33", "\u0e4d\u0e32")
    assert thai.compact_key(title) in thai.compact_key(
        proof.page_text(f"<p>{typed}</p>".encode()))


def test_the_command_checks_since_a_day_and_exits_1_on_a_problem(demo_ws, tmp_path, site):
    good = _published(demo_ws, tmp_path, site.url + "good.pdf")
    site.pages["/good.pdf"] = ("application/pdf", _signed_pdf(demo_ws, good))
    gone = archived(demo_ws, tmp_path, request(demo_ws, "เรื่องเก่า"), RECEIVED,
                    published=(date(2026, 10, 1), site.url + "old.pdf"))
    ws = str(demo_ws.workspace.root)
    run = subprocess.run([*PIPELINE, "-w", ws, "check-published", "--since", "1/11/2569",
                          "--timeout", "2"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert good in run.stdout and gone not in run.stdout
    assert "ตรวจ 1 รายการ มีปัญหา 0 / 1 checked, 0 gone or changed" in run.stdout
    run = subprocess.run([*PIPELINE, "-w", ws, "check-published", "--timeout", "2"],
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert f"{gone}  ไม่พบหน้า / HTTP 404  {site.url}old.pdf" in run.stdout
    rows = {r[0]: r for r in index_files.read_xlsx(demo_ws.workspace.outbox / "index.xlsx")}
    column = [c.english for c in index_files.COLUMNS].index("Publication check")
    assert rows[gone][column].startswith("ไม่พบหน้า")


def test_the_daily_check_runs_once_a_day(demo_ws, tmp_path, site):
    request_id = _published(demo_ws, tmp_path, site.url + "x.pdf")
    site.pages["/x.pdf"] = ("application/pdf", _signed_pdf(demo_ws, request_id))
    morning = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 08:00 in Bangkok
    assert [c.verdict for c in proof.check_daily(demo_ws, now=morning, limits=LIMITS)] == [
        proof.Verdict.SAME_PDF]
    assert proof.check_daily(demo_ws, now=morning + timedelta(hours=10), limits=LIMITS) is None
    (again,) = proof.check_daily(demo_ws, now=morning + timedelta(days=1), limits=LIMITS)
    assert (again.verdict, again.recorded) == (proof.Verdict.SAME_PDF, False)
