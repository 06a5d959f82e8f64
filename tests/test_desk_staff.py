"""The clerk and the admin at the desk, in a real browser, with the watcher running beside
it as it does in an office: a sheet handed in becomes a request the director sees; a wrong
one comes back with its reasons and the highlighted sheet."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
from desk_support import PIPELINE, add_user, csrf_of, sign_in
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from test_desk_browser import wait_for

from pipeline import demo
from pipeline.intake import blank_sheet


@pytest.fixture
def watcher(desk_ws) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen([*PIPELINE, "--workspace", str(desk_ws.workspace.root),
                                "watch"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)


def _sheet(cfg, folder: Path, name: str, **values: object) -> Path:
    path = folder / name
    blank_sheet.new_request(path, cfg)
    blank_sheet.fill(path, {**demo.sample_values(date.today()), **values})
    return path


def _hand_in(browser, desk, sheet: Path, *attachments: Path) -> str:
    """The clerk signs in, hands the sheet in (with its attachments) and follows it until
    it settles: its state then."""
    sign_in(browser, desk, "clerk")
    wait_for(browser, "#hand-in")
    browser.find_element(By.NAME, "sheet").send_keys(str(sheet))
    for attachment in attachments:
        browser.find_element(By.NAME, "attachments").send_keys(str(attachment))
    browser.find_element(By.ID, "hand-in").click()
    return _follow(browser)


def _follow(browser) -> str:
    WebDriverWait(browser, 180).until(
        lambda b: b.find_elements(By.ID, "mine-link"))  # the page stops refreshing
    return browser.find_element(By.ID, "state").get_attribute("data-state")


def test_a_clerk_hands_in_a_sheet_with_an_attachment_and_follows_it(
        desk, desk_ws, watcher, browser, tmp_path):
    poster = tmp_path / "โปสเตอร์ รณรงค์.pdf"
    poster.write_bytes(b"%PDF-1.4\n% a poster\n")
    sheet = _sheet(desk_ws, tmp_path, "ขอเผยแพร่ข่าว.xlsx", attachments=poster.name)
    assert _hand_in(browser, desk, sheet, poster) == "awaiting-director"
    request_id = browser.find_element(By.ID, "state").text.split(":")[0]
    pending = desk_ws.workspace.pending
    assert (pending / f"{request_id}.pdf").is_file()
    assert (pending / request_id / poster.name).read_bytes() == poster.read_bytes()
    browser.find_element(By.ID, "mine-link").click()
    mine = wait_for(browser, "#mine")
    assert request_id in mine.text and "รอลงนาม" in mine.text


def test_a_returned_sheet_shows_its_reasons_and_the_highlighted_copy(
        desk, desk_ws, watcher, browser, tmp_path):
    sheet = _sheet(desk_ws, tmp_path, "ผิด.xlsx", category="หมวดที่ไม่มีจริง")
    assert _hand_in(browser, desk, sheet) == "rejected"
    browser.find_element(By.ID, "mine-link").click()
    mine = wait_for(browser, "#mine")
    assert "ส่งกลับแก้ไข" in mine.text and "หมวด" in mine.text
    link = mine.find_element(By.PARTIAL_LINK_TEXT, "แก้")
    http = desk.session("clerk")
    corrected = http.get(link.get_attribute("href"))
    assert corrected.status_code == 200 and corrected.content[:2] == b"PK"
    # nobody else can fetch it: not without signing in, not another clerk
    assert requests.get(link.get_attribute("href"), allow_redirects=False).status_code == 303
    add_user(desk.root, "otherclerk", "staff")
    other = desk.session("otherclerk").get(link.get_attribute("href"), allow_redirects=False)
    assert other.status_code == 404


def test_hand_in_refuses_names_and_types_that_could_harm(desk, desk_ws):
    http = desk.session("clerk")
    token = csrf_of(http.get(f"{desk.url}staff").text)
    sheet = b"PK\x03\x04 not really a workbook"
    for name in ("../../evil.xlsx", ".hidden.xlsx", "report.xlsm", "a\x1b[2J.xlsx"):
        answer = http.post(f"{desk.url}staff/hand-in", data={"csrf": token},
                           files=[("sheet", (name, sheet))], allow_redirects=False)
        assert answer.status_code in (303, 400), name
    inbox = desk_ws.workspace.inbox
    # the first is reduced to its own name, inside the inbox; the others are refused
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == ["evil.xlsx"]
    assert not (desk_ws.workspace.root.parent / "evil.xlsx").exists()
    answer = http.post(f"{desk.url}staff/hand-in", data={"csrf": token}, files=[
        ("sheet", ("ok.xlsx", sheet)), ("attachments", ("คำขอ.xlsx", b"x"))])
    assert answer.status_code == 400 and "Excel" in answer.text
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == ["evil.xlsx"]


def test_the_admin_sees_the_status_and_manages_accounts(desk, desk_ws, browser):
    sign_in(browser, desk, "admin")
    wait_for(browser, "#counts")
    assert "ใช้งานได้" in browser.find_element(By.ID, "office").text
    assert "ใช้งานได้" in browser.find_element(By.ID, "tsa").text  # the demo's TSA answers
    browser.get(f"{desk.url}admin/accounts")
    wait_for(browser, "#accounts")
    form = browser.find_element(By.CSS_SELECTOR, "form[action='/admin/accounts/add']")
    form.find_element(By.NAME, "login").send_keys("newclerk")
    form.find_element(By.NAME, "password").send_keys("a long enough password")
    form.find_element(By.CSS_SELECTOR, "option[value='staff']").click()
    form.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(browser, "#accounts")
    assert "newclerk" in browser.find_element(By.ID, "accounts").text
    desk.session("newclerk", "a long enough password")  # signs in
    log = subprocess.run([*PIPELINE, "--workspace", str(desk.root), "audit-log"],
                         capture_output=True, text=True, timeout=60).stdout
    assert "account-add" in log and "a long enough password" not in log


def test_a_sheet_planted_in_the_shared_folder_is_not_handed_out(desk, desk_ws, watcher,
                                                                browser, tmp_path):
    """Another clerk writes a report naming this request's ID, and a workbook beside it,
    into inbox/rejected/ (a shared folder): the desk hands out only the file the pipeline
    wrote, found by the name, size and SHA-256 the journal recorded."""
    sheet = _sheet(desk_ws, tmp_path, "ผิดอีก.xlsx", category="หมวดที่ไม่มีจริง")
    assert _hand_in(browser, desk, sheet) == "rejected"
    request_id = browser.find_element(By.ID, "state").text.split(":")[0]
    rejected = desk_ws.workspace.rejected
    (rejected / "aaa.xlsx.error.txt").write_text(
        f"เลขที่คำขอ / request ID: {request_id}\r\n", encoding="utf-8")
    (rejected / "aaa.corrected.xlsx").write_bytes(b"PK planted")
    http = desk.session("clerk")
    link = f"{desk.url}staff/requests/{request_id}/corrected"
    got = http.get(link)
    assert got.status_code == 200 and got.content == (
        rejected / "ผิดอีก.corrected.xlsx").read_bytes()
    (rejected / "ผิดอีก.corrected.xlsx").write_bytes(b"PK changed behind the desk")
    assert http.get(link).content != b"PK changed behind the desk"  # the report, not that
