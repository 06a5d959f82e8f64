"""Signing at the desk where it needs more than a password: the key's passphrase typed on
the page (used for that action only, found nowhere afterwards) and the second factor."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pyotp
import requests
from desk_support import PASSWORD, csrf_of, start_desk, stop_desk
from test_desk_browser import submit

from pipeline.desk.accounts import Accounts
from pipeline.records.journal import Journal, State
from pipeline.settings import config as config_mod


def _follow_job(http: requests.Session, answer: requests.Response) -> str:
    page = answer
    while 'id="outcomes"' not in page.text:  # the progress page, refreshed by the browser
        page = http.get(page.url)
    return page.text


def test_a_passphrase_not_in_the_configuration_is_asked_on_the_page_and_kept_nowhere(
        desk_ws, converter):
    (rid,) = submit(desk_ws, converter, ["เรื่องลงนามด้วยรหัสผ่านที่พิมพ์"])
    text = desk_ws.workspace.config_file.read_text(encoding="utf-8")
    secret_file = desk_ws.director.key.passphrase_file
    passphrase = secret_file.read_text(encoding="utf-8").strip()
    desk_ws.workspace.config_file.write_text(text.replace(
        'passphrase_file = "demo-pki/passphrase.txt"\nauto_approve', "auto_approve", 1),
        encoding="utf-8")
    cfg = config_mod.load(desk_ws.workspace.root)
    assert cfg.director.secret_needed()
    served = start_desk(cfg.workspace.root)
    try:
        http = served.session("director")
        queue = http.get(f"{served.url}director").text
        assert 'name="secret"' in queue and passphrase not in queue
        token = csrf_of(queue)
        wrong = _follow_job(http, http.post(f"{served.url}director/approve", data={
            "csrf": token, "id": rid, "secret": "not the passphrase"}))
        assert "พักไว้" in wrong  # held: the key would not open
        journal = Journal(cfg.workspace.journal_file, cfg.id_prefix)
        assert journal.get(rid).state == State.AWAITING_DIRECTOR
        journal.close()
        right = _follow_job(http, http.post(f"{served.url}director/approve", data={
            "csrf": token, "id": rid, "secret": passphrase}))
        assert f"{rid}: จัดเก็บแล้ว" in right
    finally:
        stop_desk(served)
    assert (cfg.workspace.outbox / rid / "manifest.json").is_file()
    state = cfg.workspace.state
    for path in [*state.rglob("*"), cfg.workspace.config_file]:
        if path.is_file():
            assert passphrase.encode() not in path.read_bytes(), path
            assert b"not the passphrase" not in path.read_bytes(), path


def test_a_second_factor_is_asked_when_the_account_has_one(desk_ws):
    accounts = Accounts(desk_ws.workspace.journal_file, desk_ws)
    uri = accounts.start_totp("director")
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    accounts.confirm_totp("director", pyotp.TOTP(secret).now())
    accounts.disconnect()
    served = start_desk(desk_ws.workspace.root)
    try:
        def attempt(code: str) -> requests.Response:
            http = requests.Session()
            token = csrf_of(http.get(f"{served.url}signin").text)
            return http.post(f"{served.url}signin", data={
                "csrf": token, "login": "director", "password": PASSWORD, "code": code},
                allow_redirects=False)

        assert attempt("").status_code == 403
        assert attempt("000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
                       ).status_code == 403
        later = pyotp.TOTP(secret).at(datetime.now(UTC).timestamp() + 30)  # a fresh step
        ok = attempt(later)
        assert ok.status_code == 303 and ok.headers["location"] == "/director"
    finally:
        stop_desk(served)
