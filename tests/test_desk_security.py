"""Every point of the desk's security, over real HTTP against `pipeline serve`, each checking
that nothing changed: CSRF, roles, cookies, headers, sign-in throttling, redirects."""

from __future__ import annotations

import subprocess

from desk_support import PASSWORD, PIPELINE, csrf_of
from test_desk_browser import submit

from pipeline.records.journal import Journal, State


def _state(cfg, request_id: str) -> State:
    journal = Journal(cfg.workspace.journal_file, cfg.id_prefix)
    try:
        entry = journal.get(request_id)
        assert entry is not None
        return entry.state
    finally:
        journal.close()


def test_a_post_without_the_right_csrf_token_changes_nothing(desk, desk_ws, converter):
    (rid,) = submit(desk_ws, converter, ["เรื่องทดสอบ CSRF"])
    http = desk.session("director")
    for data in ({"id": rid}, {"id": rid, "csrf": "forged"}, {"id": rid, "csrf": ""}):
        answer = http.post(f"{desk.url}director/approve", data=data, allow_redirects=False)
        assert answer.status_code == 403
        answer = http.post(f"{desk.url}requests/{rid}/reject",
                           data={**data, "reason": "ไม่อนุมัติ"}, allow_redirects=False)
        assert answer.status_code == 403
    assert _state(desk_ws, rid) == State.AWAITING_DIRECTOR
    assert not list(desk_ws.workspace.rejected.glob("*.error.txt"))


def test_roles_are_checked_on_the_server(desk, desk_ws, converter):
    (rid,) = submit(desk_ws, converter, ["เรื่องทดสอบสิทธิ์"])
    for login in ("clerk", "auditor", "webmaster", "admin"):
        http = desk.session(login)
        token = csrf_of(http.get(f"{desk.url}").text)  # its own valid token
        answer = http.post(f"{desk.url}director/approve", data={"id": rid, "csrf": token},
                           allow_redirects=False)
        assert answer.status_code == 403, login
        answer = http.post(f"{desk.url}requests/{rid}/reject",
                           data={"csrf": token, "reason": "ไม่อนุมัติ"}, allow_redirects=False)
        assert answer.status_code == 403, login
        assert http.get(f"{desk.url}requests/{rid}", allow_redirects=False).status_code == 403
        assert http.get(f"{desk.url}requests/{rid}/form.pdf",
                        allow_redirects=False).status_code == 403
    assert _state(desk_ws, rid) == State.AWAITING_DIRECTOR
    # and nobody at all without signing in
    import requests
    answer = requests.get(f"{desk.url}director", allow_redirects=False)
    assert answer.status_code == 303 and "/signin" in answer.headers["location"]


def test_cookies_and_headers(desk):
    http = desk.session("director")
    cookie = next(c for c in http.cookies if c.name == "desk_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert (cookie.get_nonstandard_attr("SameSite") or "").lower() == "strict"
    assert not cookie.secure  # plain HTTP here; --certfile makes it Secure
    page = http.get(f"{desk.url}director")
    csp = page.headers["content-security-policy"]
    assert "script-src" not in csp or "'unsafe-inline'" not in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "<script" not in page.text
    assert page.headers["x-content-type-options"] == "nosniff"


def test_sign_out_and_a_password_change_end_the_session(desk):
    http = desk.session("director")
    assert http.get(f"{desk.url}director", allow_redirects=False).status_code == 200
    token = csrf_of(http.get(f"{desk.url}director").text)
    old = http.cookies.get("desk_session")
    http.post(f"{desk.url}signout", data={"csrf": token})
    replay = __import__("requests").get(f"{desk.url}director", cookies={"desk_session": old},
                                        allow_redirects=False)
    assert replay.status_code == 303  # the old cookie opens nothing

    http = desk.session("clerk")
    assert http.get(f"{desk.url}staff", allow_redirects=False).status_code == 200
    run = subprocess.run([*PIPELINE, "--workspace", str(desk.root), "user", "passwd", "clerk"],
                         input="another long passphrase\n", text=True, capture_output=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert http.get(f"{desk.url}staff", allow_redirects=False).status_code == 303


def test_failed_sign_ins_are_throttled_and_never_say_which_part_was_wrong(desk):
    import requests

    def attempt(login: str, password: str) -> requests.Response:
        http = requests.Session()
        token = csrf_of(http.get(f"{desk.url}signin").text)
        return http.post(f"{desk.url}signin", data={"csrf": token, "login": login,
                                                     "password": password},
                         allow_redirects=False)

    unknown = attempt("nobody", "whatever password")
    wrong = attempt("director", "wrong password!!")
    assert unknown.status_code == wrong.status_code == 403
    assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in wrong.text
    assert unknown.text.count("ไม่ถูกต้อง") == wrong.text.count("ไม่ถูกต้อง")
    for _ in range(4):
        attempt("director", "wrong password!!")
    locked = attempt("director", PASSWORD)  # the right password, too late
    assert locked.status_code == 403 and "ลองใหม่ได้เมื่อ" in locked.text
    assert "desk_session" not in locked.cookies


def test_no_open_redirect_and_no_forged_client_address(desk):
    import requests

    http = requests.Session()
    token = csrf_of(http.get(f"{desk.url}signin").text)
    answer = http.post(f"{desk.url}signin", data={
        "csrf": token, "login": "auditor", "password": PASSWORD, "next": "//evil.example/"},
        headers={"X-Forwarded-For": "203.0.113.9"}, allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/auditor"
    log = subprocess.run([*PIPELINE, "--workspace", str(desk.root), "audit-log"],
                         capture_output=True, text=True, timeout=60)
    assert "127.0.0.1" in log.stdout and "203.0.113.9" not in log.stdout


def test_a_body_beyond_the_bound_is_refused_unread(desk):
    """A Content-Length above the desk's bound is answered 413 before a byte is read."""
    import http.client
    from urllib.parse import urlsplit

    signed_in = desk.session("clerk")
    token = csrf_of(signed_in.get(f"{desk.url}staff").text)
    where = urlsplit(desk.url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    connection.putrequest("POST", "/staff/hand-in")
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(1 << 40))
    connection.putheader("Cookie", f"desk_session={signed_in.cookies['desk_session']}")
    connection.endheaders(f"--x\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n"
                          f"{token}\r\n".encode())
    assert connection.getresponse().status == 413
    assert not any(desk.root.joinpath("inbox").glob("*.xlsx"))


def test_over_tls_the_session_cookie_is_secure(desk_ws):
    """`serve --certfile --keyfile` with the demo's self-signed certificate: HTTPS, and the
    session cookie is sent only over it."""
    import requests
    from desk_support import start_desk, stop_desk

    from pipeline.desk import demo_tls

    cert, key = demo_tls.create(desk_ws)
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    served = start_desk(desk_ws.workspace.root, "--certfile", str(cert), "--keyfile", str(key))
    try:
        assert served.url.startswith("https://")
        http = requests.Session()  # verify= on each call: REQUESTS_CA_BUNDLE beats a session's
        token = csrf_of(http.get(f"{served.url}signin", verify=str(cert)).text)
        answer = http.post(f"{served.url}signin", data={"csrf": token, "login": "director",
                                                         "password": PASSWORD},
                           allow_redirects=False, verify=str(cert))
        assert answer.status_code == 303
        cookie = next(c for c in http.cookies if c.name == "desk_session")
        assert cookie.secure and cookie.has_nonstandard_attr("HttpOnly")
    finally:
        stop_desk(served)


def test_an_acting_directors_account_cannot_approve_what_the_director_was_asked(
        desk_ws, converter):
    """The sheet names the director: an acting director's account neither sees it nor gets
    it signed with the director's key by crafting the POST."""
    text = desk_ws.workspace.config_file.read_text(encoding="utf-8")
    desk_ws.workspace.config_file.write_text(text + (
        '\n[[sheet.acting_directors]]\nname = "นายสมชาย ใจดี"\nposition = "นักวิชาการ"\n'
        'title = "รักษาราชการแทน"\n'), encoding="utf-8")
    from desk_support import add_user, start_desk, stop_desk

    (rid,) = submit(desk_ws, converter, ["เรื่องถึงสาธารณสุขอำเภอ"])
    add_user(desk_ws.workspace.root, "acting", "director", "นายสมชาย ใจดี")
    served = start_desk(desk_ws.workspace.root)
    try:
        http = served.session("acting")
        queue = http.get(f"{served.url}director").text
        assert rid not in queue
        assert http.get(f"{served.url}requests/{rid}", allow_redirects=False).status_code == 404
        page = http.post(f"{served.url}director/approve",
                         data={"csrf": csrf_of(queue), "id": rid})
        while 'id="outcomes"' not in page.text:
            page = http.get(page.url)
        assert 'id="job-error"' in page.text
        answer = http.post(f"{served.url}requests/{rid}/reject",
                           data={"csrf": csrf_of(queue), "reason": "ไม่อนุมัติ"})
        assert answer.status_code == 409
    finally:
        stop_desk(served)
    assert _state(desk_ws, rid) == State.AWAITING_DIRECTOR


def test_a_follow_link_is_the_uploaders_only_and_small_forms_stay_small(desk, desk_ws):
    import hashlib

    from pipeline.intake import blank_sheet

    sheet = desk_ws.workspace.root / "ส่ง.xlsx"
    blank_sheet.new_request(sheet, desk_ws)
    clerk = desk.session("clerk")
    token = csrf_of(clerk.get(f"{desk.url}staff").text)
    answer = clerk.post(f"{desk.url}staff/hand-in", data={"csrf": token},
                        files=[("sheet", (sheet.name, sheet.read_bytes()))],
                        allow_redirects=False)
    assert answer.status_code == 303
    link = answer.headers["location"]
    assert hashlib.sha256(sheet.read_bytes()).hexdigest() in link
    assert clerk.get(f"{desk.url}{link.lstrip('/')}").status_code == 200
    from desk_support import add_user
    add_user(desk.root, "otherclerk", "staff")
    other = desk.session("otherclerk").get(f"{desk.url}{link.lstrip('/')}")
    assert other.status_code == 404
    log = subprocess.run([*PIPELINE, "--workspace", str(desk.root), "audit-log"],
                         capture_output=True, text=True, timeout=60).stdout
    assert "upload" in log and "sha256=" in log
    # a form that takes no file takes no megabytes either, signed in or not
    big = clerk.post(f"{desk.url}signout", data={"csrf": token, "x": "y" * (300 * 1024)},
                     allow_redirects=False)
    assert big.status_code == 413


def test_an_unforeseen_failure_is_a_page_with_the_headers(desk, desk_ws, converter):
    """A form in pending/ that poppler cannot draw: 500, said in words, headers on."""
    (rid,) = submit(desk_ws, converter, ["เรื่องที่ไฟล์เสีย"])
    pdf = desk_ws.workspace.pending / f"{rid}.pdf"
    pdf.write_bytes(pdf.read_bytes()[:2000])  # cut short
    http = desk.session("director")
    answer = http.get(f"{desk.url}requests/{rid}/page/1.png")
    assert answer.status_code in (404, 500)
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert "Traceback" not in answer.text


def test_the_admin_cannot_become_a_signer(desk):
    """Setting the director's password, or adding a director, would let the admin sign in
    as the one who signs: refused at the desk (it is done at the server)."""
    http = desk.session("admin")
    token = csrf_of(http.get(f"{desk.url}admin/accounts").text)
    answer = http.post(f"{desk.url}admin/accounts/password", data={
        "csrf": token, "login": "director", "password": "taken over by the admin"})
    assert answer.status_code == 400 and "pipeline user" in answer.text
    answer = http.post(f"{desk.url}admin/accounts/add", data={
        "csrf": token, "login": "boss2", "role": "director", "password": "another one here",
        "person": ""})
    assert answer.status_code == 400
    desk.session("director")  # the director's own password still opens it
    import requests
    tried = requests.Session()
    page = tried.get(f"{desk.url}signin")
    refused = tried.post(f"{desk.url}signin", data={
        "csrf": csrf_of(page.text), "login": "boss2", "password": "another one here"},
        allow_redirects=False)
    assert refused.status_code == 403
