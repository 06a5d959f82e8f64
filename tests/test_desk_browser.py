"""The desk in a real browser, as each person uses it (headless Chromium via Selenium)."""

from __future__ import annotations

import os
import subprocess
from datetime import date
from pathlib import Path

from desk_support import PIPELINE, sign_in
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from pipeline import demo
from pipeline.flow.processing import Processor
from pipeline.intake import blank_sheet
from pipeline.records.journal import State

SCREENSHOTS = os.environ.get("DESK_SCREENSHOTS")  # a folder: keep the README's pictures


def submit(cfg, converter, titles: list[str]) -> list[str]:
    """Requests signed by their provider, waiting for the director."""
    ids = []
    with Processor(cfg, converter) as processor:
        for i, title in enumerate(titles):
            path = cfg.workspace.root / f"คำขอ {i}.xlsx"
            blank_sheet.new_request(path, cfg)
            blank_sheet.fill(path, {**demo.sample_values(date.today()), "title": title})
            outcome = processor.process(path)
            assert outcome.state == State.AWAITING_DIRECTOR, outcome.problems
            ids.append(outcome.request_id)
    return ids


def wait_for(browser, css: str, timeout: float = 120):
    return WebDriverWait(browser, timeout).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, css) or False)[0]


def shot(browser, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(SCREENSHOTS) / name))


def test_the_director_approves_one_and_refuses_another(desk, desk_ws, converter, browser):
    first, second = submit(desk_ws, converter, [
        "ประชาสัมพันธ์การรณรงค์ป้องกันโรคไข้เลือดออก", "<script>alert(1)</script> รายงานผล"])
    sign_in(browser, desk, "director")
    wait_for(browser, "table.list")
    assert browser.current_url.endswith("/director")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.list tbody tr")
    assert [r.find_element(By.CSS_SELECTOR, "a").text for r in rows] == [first, second]
    # a title from a sheet is text on the page, never markup
    assert "<script>alert(1)</script> รายงานผล" in rows[1].text
    shot(browser, "desk-queue.png")

    browser.find_element(By.LINK_TEXT, first).click()
    wait_for(browser, "#verdict")
    assert "TOTAL_PASSED" in browser.find_element(By.ID, "verdict").text
    pages = browser.find_elements(By.CSS_SELECTOR, "img.page")
    assert pages
    WebDriverWait(browser, 60).until(lambda b: all(
        b.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img)
        for img in pages))  # the form as pictures: loaded, not broken
    shot(browser, "desk-request.png")
    browser.find_element(By.ID, "approve").click()
    wait_for(browser, "#outcomes", timeout=180)
    assert f"{first}:" in browser.find_element(By.ID, "outcomes").text
    bundle = desk_ws.workspace.outbox / first
    assert (bundle / "manifest.json").is_file()
    verified = subprocess.run([*PIPELINE, "--workspace", str(desk_ws.workspace.root),
                               "verify", str(bundle)], capture_output=True, text=True,
                              timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    browser.get(f"{desk.url}requests/{second}")
    reason = "ภาพประกอบยังไม่ครบ ขอเพิ่มภาพกิจกรรม"
    browser.find_element(By.NAME, "reason").send_keys(reason)
    browser.find_element(By.ID, "reject").click()
    wait_for(browser, "#decided")
    reports = list(desk_ws.workspace.rejected.glob("*.error.txt"))
    assert len(reports) == 1 and reason in reports[0].read_text(encoding="utf-8-sig")
    browser.get(f"{desk.url}director")
    wait_for(browser, "#empty")


def test_the_director_reads_the_months_obligations_in_thai_then_in_english(desk, browser):
    sign_in(browser, desk, "director")
    wait_for(browser, "#empty")
    browser.find_element(By.LINK_TEXT, "ภาระการเผยแพร่ตามกำหนด").click()
    wait_for(browser, "table.obligations")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "กลุ่มงานบริหารทั่วไป" in page and "สขร" in page
    assert "เลยกำหนด" in page or "ถึงกำหนด" in page or "เผยแพร่แล้ว" in page
    browser.find_element(By.LINK_TEXT, "English").click()  # the switch on every page
    wait_for(browser, "table.obligations")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Publication obligations")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    browser.find_element(By.LINK_TEXT, "ภาษาไทย").click()
    wait_for(browser, "table.obligations")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("ภาระการเผยแพร่")
