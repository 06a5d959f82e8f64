"""The webmaster's and the auditor's pages: in a real browser as each uses them, and over
real HTTP as an attacker would try them, each attack checking that nothing changed."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests
from desk_helpers import state_bytes
from desk_support import PIPELINE, csrf_of, sign_in, start_desk, stop_desk
from seeding import archived, archived_sample, request, without_webmaster_key
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from test_desk_browser import submit, wait_for
from test_desk_security import _state

from pipeline import demo
from pipeline.bundles import bundle, publish
from pipeline.core import thai
from pipeline.flow.processing import Processor
from pipeline.records.journal import State
from pipeline.settings import config as config_mod

SCRIPT_TITLE = "<script>alert(1)</script> ข่าวทดสอบการหลบอักขระ"


def _sample(cfg, converter, tmp: Path) -> str:
    """The demo's sample request processed for real: rendered, signed twice, archived."""
    approving = replace(cfg, auto_approve=True)
    with Processor(approving, converter=converter) as processor:
        outcome = archived_sample(processor, approving, tmp)
    assert outcome.request_id
    return outcome.request_id


def _configure(cfg, old: str, new: str):
    text = cfg.workspace.config_file.read_text(encoding="utf-8")
    assert old in text
    cfg.workspace.config_file.write_text(text.replace(old, new, 1), encoding="utf-8")
    return config_mod.load(cfg.workspace.root)


@pytest.fixture
def webmaster_desk(desk_ws, converter, tmp_path):
    """One real archived request; the webmaster's key in [publisher] without a passphrase
    source, so that the page must ask for it."""
    sample = _sample(desk_ws, converter, tmp_path / "seed")
    cfg = _configure(without_webmaster_key(desk_ws), "[publisher]\n",
                     f'[publisher]\npkcs12 = "{demo.PKI_DIR}/webmaster.p12"\n')
    assert cfg.publisher_key is not None and cfg.publisher_key.secret_needed()
    served = start_desk(cfg.workspace.root)
    try:
        yield served, cfg, sample
    finally:
        stop_desk(served)


@pytest.fixture
def archive_desk(desk_ws, converter, tmp_path):
    """A real archived request, seeded ones (one published, one titled with markup), and
    ``[verify] max_mb = 1`` for the upload limit."""
    sample = _sample(desk_ws, converter, tmp_path / "seed")
    start = datetime(2026, 10, 5, 9, tzinfo=UTC)
    seeded = {
        "dengue": archived(desk_ws, tmp_path / "s", request(desk_ws, "รณรงค์ป้องกันไข้เลือดออก",
                                                            day=date(2026, 10, 5)), start),
        "script": archived(desk_ws, tmp_path / "s", request(desk_ws, SCRIPT_TITLE,
                                                            day=date(2026, 10, 6)),
                           start + timedelta(days=1)),
        "published": archived(desk_ws, tmp_path / "s",
                              request(desk_ws, "ไข้เลือดออกในโรงเรียน", day=date(2026, 10, 7)),
                              start + timedelta(days=2),
                              published=(date(2026, 10, 9), "https://example.go.th/n/1")),
    }
    text = desk_ws.workspace.config_file.read_text(encoding="utf-8")
    desk_ws.workspace.config_file.write_text(text + "\n[verify]\nmax_mb = 1\n", encoding="utf-8")
    cfg = config_mod.load(desk_ws.workspace.root)
    assert cfg.verify_max_mb == 1
    served = start_desk(cfg.workspace.root)
    try:
        yield served, cfg, sample, seeded
    finally:
        stop_desk(served)


def _verify(cfg, path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*PIPELINE, "--workspace", str(cfg.workspace.root), "verify",
                           str(path)], capture_output=True, text=True, timeout=180)


def _audit(cfg) -> str:
    return subprocess.run([*PIPELINE, "--workspace", str(cfg.workspace.root), "audit-log"],
                          capture_output=True, text=True, timeout=60).stdout


def _scratch_left(cfg) -> list[Path]:
    root = cfg.workspace.scratch
    return [p for p in root.iterdir() if p.name != ".lock"] if root.is_dir() else []


# -- the webmaster -----------------------------------------------------------------------------
def test_the_webmaster_downloads_the_files_and_records_a_signed_publication(
        webmaster_desk, browser, tmp_path):
    desk, cfg, rid = webmaster_desk
    http = desk.session("webmaster")
    listed = http.get(f"{desk.url}webmaster")
    assert listed.status_code == 200 and rid in listed.text

    # the zip holds exactly what `pipeline collect` copies, under the same ASCII names
    answer = http.get(f"{desk.url}webmaster/upload.zip", params={"id": rid})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    collected = publish.collect(cfg, tmp_path / "collected")
    assert [c.request_id for c in collected] == [rid] and not collected[0].problem
    folder = collected[0].folder
    assert folder is not None
    with zipfile.ZipFile(io.BytesIO(answer.content)) as zf:
        got = {name: zf.read(name) for name in zf.namelist()}
    expected = {f"{folder.name}/{p.name}": p.read_bytes() for p in folder.iterdir()}
    assert got == expected
    assert all(name.isascii() and " " not in name for name in got)
    pdf = cfg.workspace.outbox / rid / json.loads(
        (cfg.workspace.outbox / rid / bundle.MANIFEST).read_text("utf-8"))["signed_pdf"]
    assert got[f"{folder.name}/{publish.ascii_name(pdf.name, rid)}"] == pdf.read_bytes()

    # recorded in the browser, with a Buddhist-Era date and the key's passphrase typed
    passphrase = (cfg.workspace.root / demo.PKI_DIR / "passphrase.txt").read_text().strip()
    day = thai.today()
    sign_in(browser, desk, "webmaster")
    wait_for(browser, "table.list")
    browser.find_element(By.LINK_TEXT, rid).click()
    wait_for(browser, "#publish")
    browser.find_element(By.NAME, "url").send_keys("https://pattani.example.go.th/news/42")
    browser.find_element(By.NAME, "date").send_keys(f"{day.day}/{day.month}/{day.year + 543}")
    browser.find_element(By.NAME, "secret").send_keys(passphrase)
    browser.find_element(By.ID, "publish").click()
    wait_for(browser, "#published", timeout=180)
    assert browser.find_element(By.ID, "signed-by").text  # the third signature's signer

    manifest = json.loads((cfg.workspace.outbox / rid / bundle.MANIFEST).read_text("utf-8"))
    (event,) = publish.publications(manifest)
    assert event.url == "https://pattani.example.go.th/news/42" and event.published_on == day
    assert event.signature is not None and event.signature.role == publish.ROLE
    verified = _verify(cfg, cfg.workspace.outbox / rid)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "publisher" in verified.stdout

    # no longer to publish; the passphrase is nowhere; both actions are in the audit log
    browser.get(f"{desk.url}webmaster")
    wait_for(browser, "#empty")
    assert passphrase.encode() not in state_bytes(cfg)
    log = _audit(cfg)
    assert "publish" in log and rid in log and "download" in log
    assert passphrase not in log


# -- the auditor -------------------------------------------------------------------------------
def test_an_auditor_searches_reads_a_report_verifies_a_pdf_and_takes_the_trust_kit(
        archive_desk, browser):
    desk, cfg, rid, seeded = archive_desk
    sign_in(browser, desk, "auditor")
    wait_for(browser, "#search")
    assert browser.current_url.endswith("/auditor")
    browser.find_element(By.NAME, "q").send_keys("ไข้เลือดออก")
    browser.find_element(By.ID, "search-button").click()
    wait_for(browser, "#found")
    ids = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#found tbody tr td:first-child")]
    assert ids == [seeded["published"], seeded["dengue"], rid]  # newest first
    browser.get(f"{desk.url}auditor?status=เผยแพร่แล้ว&since=1/10/2569&until=31/10/2569")
    wait_for(browser, "#found")
    ids = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#found tbody tr td:first-child")]
    assert ids == [seeded["published"]]
    browser.get(f"{desk.url}auditor?q=alert")
    wait_for(browser, "#found")
    assert SCRIPT_TITLE in browser.find_element(By.ID, "found").text  # text, not markup

    # the real bundle's report, as `pipeline verify --html` writes it
    browser.get(f"{desk.url}auditor?id={rid}")
    browser.find_element(By.LINK_TEXT, rid).click()
    WebDriverWait(browser, 120).until(lambda b: "TOTAL_PASSED" in b.page_source)
    assert f"outbox/{rid}" in browser.page_source

    # a PDF uploaded and verified: its signatures shown, the file kept nowhere
    manifest = json.loads((cfg.workspace.outbox / rid / bundle.MANIFEST).read_text("utf-8"))
    pdf = cfg.workspace.outbox / rid / manifest["signed_pdf"]
    browser.get(f"{desk.url}auditor")
    browser.find_element(By.NAME, "pdf").send_keys(str(pdf))
    browser.find_element(By.ID, "verify").click()
    verdict = wait_for(browser, "#verdict", timeout=120)
    assert "TOTAL_PASSED" in verdict.text
    assert cfg.director.person.name.split()[-1] in verdict.text or "director" in verdict.text
    assert not _scratch_left(cfg)

    # the trust kit, as `pipeline trust-kit` makes it
    http = desk.session("auditor")
    kit = http.get(f"{desk.url}auditor/trust-kit.zip")
    assert kit.status_code == 200
    with zipfile.ZipFile(io.BytesIO(kit.content)) as zf:
        names = zf.namelist()
    assert "trust-kit/README.txt" in names and any(n.startswith("trust-kit/roots/") for n in names)

    # the audit log, on its page and as CSV
    page = http.get(f"{desk.url}auditor/audit-log")
    assert "verify-upload" in page.text and pdf.name in page.text
    csv_text = http.get(f"{desk.url}auditor/audit-log.csv").content.decode("utf-8-sig")
    assert csv_text.startswith("number,time,account") and "verify-upload" in csv_text


# -- attacks, over HTTP ------------------------------------------------------------------------
def test_the_auditor_can_change_nothing_and_the_webmaster_cannot_approve(
        archive_desk, converter):
    desk, cfg, rid, _ = archive_desk
    (waiting,) = submit(cfg, converter, ["เรื่องรออนุมัติ"])
    manifest = (cfg.workspace.outbox / rid / bundle.MANIFEST).read_bytes()
    auditor = desk.session("auditor")
    token = csrf_of(auditor.get(f"{desk.url}auditor").text)
    for path, data in ((f"webmaster/{rid}/published", {"url": "https://evil.example/"}),
                       ("director/approve", {"id": waiting}),
                       (f"requests/{waiting}/reject", {"reason": "no"}),
                       ("admin/accounts/add", {"login": "mallory", "role": "admin"})):
        answer = auditor.post(f"{desk.url}{path}", data={**data, "csrf": token},
                              allow_redirects=False)
        assert answer.status_code == 403, path
    for path in ("webmaster", f"webmaster/{rid}", f"webmaster/upload.zip?id={rid}"):
        assert auditor.get(f"{desk.url}{path}", allow_redirects=False).status_code == 403

    webmaster = desk.session("webmaster")
    token = csrf_of(webmaster.get(f"{desk.url}webmaster").text)
    answer = webmaster.post(f"{desk.url}director/approve", data={"id": waiting, "csrf": token},
                            allow_redirects=False)
    assert answer.status_code == 403
    for path in ("auditor", f"auditor/reports/{rid}", "auditor/audit-log.csv"):
        assert webmaster.get(f"{desk.url}{path}", allow_redirects=False).status_code == 403
    # and a publication without the form's token records nothing
    answer = webmaster.post(f"{desk.url}webmaster/{rid}/published",
                            data={"url": "https://example.go.th/x"}, allow_redirects=False)
    assert answer.status_code == 403

    assert _state(cfg, waiting) == State.AWAITING_DIRECTOR
    assert (cfg.workspace.outbox / rid / bundle.MANIFEST).read_bytes() == manifest
    assert "mallory" not in _audit(cfg)


def test_uploads_to_verify_are_bounded_checked_and_kept_nowhere(archive_desk):
    desk, cfg, _, _ = archive_desk
    http = desk.session("auditor")
    token = csrf_of(http.get(f"{desk.url}auditor").text)
    big = b"%PDF-1.7\n" + b"0" * (cfg.verify_max_mb * (1 << 20) + 10)
    answer = http.post(f"{desk.url}auditor/verify", data={"csrf": token},
                       files={"pdf": ("big.pdf", big, "application/pdf")})
    assert answer.status_code == 413
    assert not _scratch_left(cfg)

    answer = http.post(f"{desk.url}auditor/verify", data={"csrf": token},
                       files={"pdf": ("../../notes\x1b[31m.txt", b"just some text\n",
                                      "text/plain")})
    assert answer.status_code == 200
    assert "UNREADABLE" in answer.text and str(cfg.workspace.scratch) not in answer.text
    assert "\x1b" not in answer.text and "../" not in answer.text
    assert not _scratch_left(cfg)

    answer = http.post(f"{desk.url}auditor/verify",  # without the session's token
                       files={"pdf": ("a.pdf", b"%PDF-1.7\n", "application/pdf")})
    assert answer.status_code == 403
    assert not _scratch_left(cfg)
    log = _audit(cfg)
    assert log.count("verify-upload") == 1


def _multipart(token: str, headers: list[str], data: bytes) -> tuple[bytes, dict[str, str]]:
    """A form with the CSRF token and one file part with ``headers``, as sent by hand."""
    bound = "b0undary"
    body = (f"--{bound}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n"
            f"--{bound}\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n").encode()
    body += data + f"\r\n--{bound}--\r\n".encode()
    return body, {"content-type": f"multipart/form-data; boundary={bound}"}


def test_an_upload_to_verify_with_endless_part_headers_is_refused(archive_desk):
    """A part's headers are bounded (a few KB), not read up to the body's limit."""
    desk, cfg, _, _ = archive_desk
    http = desk.session("auditor")
    token = csrf_of(http.get(f"{desk.url}auditor").text)
    disposition = 'Content-Disposition: form-data; name="pdf"; filename="C:\\docs\\a.pdf"'
    body, headers = _multipart(token, [disposition, "Content-Type: application/pdf"],
                               b"%PDF-1.7\n")
    answer = http.post(f"{desk.url}auditor/verify", data=body, headers=headers)
    assert answer.status_code == 200 and "UNREADABLE" in answer.text
    assert "C:" not in answer.text and "docs" not in answer.text  # the plain name only
    # each line under python-multipart's own bounds (4 KB a line, 8 lines), together not
    lines = [f"X-Pad{n}: {'p' * 3000}" for n in range(3)]
    for endless in ([disposition, *lines], [f"X-{'a' * 20_000}: 1", disposition],
                    [disposition + "; x=" + "b" * 20_000],
                    [disposition, *(f"X-H{n}: {'c' * 100}" for n in range(100))]):
        body, headers = _multipart(token, endless, b"%PDF-1.7\n")
        answer = http.post(f"{desk.url}auditor/verify", data=body, headers=headers)
        assert answer.status_code == 400, endless[-1][:20]
    assert not _scratch_left(cfg)
    assert _audit(cfg).count("verify-upload") == 1


def test_ids_that_are_paths_find_nothing_and_titles_stay_text(archive_desk):
    desk, cfg, _, seeded = archive_desk
    outside = cfg.workspace.root / "secret.txt"
    outside.write_text("not for the desk", encoding="utf-8")
    auditor, webmaster = desk.session("auditor"), desk.session("webmaster")
    for value in ("..%2Fsecret.txt", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fpipeline.toml",
                  "REQ-2569-00001%2F..%2F..%2Fpipeline.toml", "..\\..\\pipeline.toml"):
        for http, path in ((auditor, f"auditor/reports/{value}"),
                           (webmaster, f"webmaster/{value}"),
                           (webmaster, f"webmaster/upload.zip?id={value}")):
            answer = http.get(f"{desk.url}{path}", allow_redirects=False)
            assert answer.status_code == 404, (path, answer.status_code)
            assert "not for the desk" not in answer.text

    page = auditor.get(f"{desk.url}auditor", params={"q": "alert"})
    assert seeded["script"] in page.text
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    listed = webmaster.get(f"{desk.url}webmaster")
    assert "<script>" not in listed.text and "&lt;script&gt;" in listed.text


def test_the_report_page_allows_its_own_styles_and_still_no_script(archive_desk):
    desk, _, rid, _ = archive_desk
    answer = desk.session("auditor").get(f"{desk.url}auditor/reports/{rid}")
    assert answer.status_code == 200
    csp = answer.headers["content-security-policy"]
    assert "style-src 'unsafe-inline'" in csp and "default-src 'none'" in csp
    assert "script-src" not in csp  # so default-src 'none' forbids every script
    assert "<script" not in answer.text
    assert requests.get(f"{desk.url}auditor/reports/{rid}",
                        allow_redirects=False).status_code == 303
