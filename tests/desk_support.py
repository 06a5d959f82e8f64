"""The web desk as a user meets it: ``pipeline serve`` started as its own process on a test
workspace, accounts made with ``pipeline user add``, and one real Chromium (Debian's
``chromium`` + ``chromium-driver``, through Selenium) for the whole test session."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

PIPELINE = [sys.executable, "-m", "pipeline"]
PASSWORD = "correct horse battery staple"  # test accounts only


def add_user(root: Path, login: str, role: str, person: str = "",
             password: str = PASSWORD) -> None:
    extra = ["--person", person] if person else []
    run = subprocess.run([*PIPELINE, "--workspace", str(root), "user", "add", login,
                          "--role", role, *extra], input=password + "\n", text=True,
                         capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr


@dataclass
class Desk:
    url: str
    process: subprocess.Popen
    root: Path

    def session(self, login: str, password: str = PASSWORD) -> requests.Session:
        """A signed-in HTTP client (what a browser does, without the browser)."""
        http = requests.Session()
        page = http.get(f"{self.url}signin")
        token = csrf_of(page.text)
        answer = http.post(f"{self.url}signin", data={"csrf": token, "login": login,
                                                      "password": password, "next": "/"},
                           allow_redirects=False)
        assert answer.status_code == 303, answer.text
        return http


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def start_desk(root: Path, *extra: str) -> Desk:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([*PIPELINE, "--workspace", str(root), "serve", "--port", "0",
                                *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    assert process.stdout is not None
    line = process.stdout.readline()  # the desk says where it listens, then serves
    found = re.search(r"(https?://\S+/)", line)
    if not found:
        process.kill()
        raise AssertionError(f"no address printed: {line!r} {process.stderr.read()}")
    return Desk(found.group(1), process, root)


def stop_desk(desk: Desk) -> None:
    desk.process.send_signal(signal.SIGTERM)
    assert desk.process.wait(timeout=60) == 0  # SIGTERM is a normal end


@pytest.fixture(scope="session")
def desk_template(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace with the director's signature not automatic, and one account per
    role tied to the demo's people, made once (Argon2id hashing is slow on purpose);
    tests take copies. ``pipeline user add`` itself is tested in test_desk_cli.py."""
    from pipeline.desk import actions
    from pipeline.desk.accounts import Accounts
    from pipeline.desk.audit_log import AuditLog
    from pipeline.settings import config

    root = tmp_path_factory.mktemp("desk-template") / "ws"
    shutil.copytree(demo_template, root)
    path = root / "pipeline.toml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "auto_approve = true", "auto_approve = false"), encoding="utf-8")
    cfg = config.load(root)
    with Accounts(cfg.workspace.journal_file, cfg) as accounts, \
            AuditLog(cfg.workspace.journal_file) as log:
        for login, role, person in (
                ("director", "director", cfg.director.person.name),
                ("webmaster", "webmaster", cfg.publisher.name),
                ("clerk", "staff", cfg.providers[0].person.name),
                ("auditor", "auditor", ""), ("admin", "admin", "")):
            actions.add(accounts, log, actions.Actor("tests", "local"), datetime.now(UTC),
                        login, role, PASSWORD, person)
    return root


@pytest.fixture
def desk_ws(desk_template: Path, tmp_path: Path):
    """A private copy of the desk's test workspace for one test."""
    from pipeline.settings import config

    root = tmp_path / "ws"
    shutil.copytree(desk_template, root)
    return config.load(root)


@pytest.fixture
def desk(desk_ws) -> Iterator[Desk]:
    served = start_desk(desk_ws.workspace.root)
    try:
        yield served
    finally:
        stop_desk(served)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory):
    """One headless Chromium for the session (Debian's, never a downloaded one)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    assert chromium and driver_path, "install chromium and chromium-driver (scripts/setup.sh)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,1600",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(browser, desk: Desk, login: str, password: str = PASSWORD) -> None:
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(f"{desk.url}signin")
    browser.find_element(By.NAME, "login").send_keys(login)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
