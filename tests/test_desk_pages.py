"""Every page of every role, in both languages, answers (no label missing, no template
error), carries the security headers, and is refused to every other role: a table of
(route, roles allowed) checked over HTTP against `pipeline serve`."""

from __future__ import annotations

import pytest

ROLES = ("director", "webmaster", "clerk", "auditor", "admin")
PAGES = {  # path: the accounts that may open it
    "/director": {"director"},
    "/obligations": {"director", "admin"},
    "/webmaster": {"webmaster"},
    "/staff": {"clerk"},
    "/staff/blank.xlsx": {"clerk"},
    "/auditor": {"auditor"},
    "/auditor?q=ข่าว&status=อนุมัติแล้ว": {"auditor"},
    "/auditor/trust-kit.zip": {"auditor"},
    "/auditor/audit-log": {"auditor", "admin"},
    "/auditor/audit-log.csv": {"auditor", "admin"},
    "/admin": {"admin"},
    "/admin/accounts": {"admin"},
}


@pytest.mark.parametrize("language", ["th", "en"])
def test_every_page_answers_its_roles_only(desk, language):
    for login in ROLES:
        http = desk.session(login)
        http.cookies.set("desk_lang", language)
        for path, allowed in PAGES.items():
            answer = http.get(f"{desk.url}{path.lstrip('/')}", allow_redirects=False)
            if login in allowed:
                assert answer.status_code == 200, (login, path, answer.text[:300])
            else:
                assert answer.status_code == 403, (login, path, answer.status_code)
            assert "default-src 'none'" in answer.headers["content-security-policy"]
            assert answer.headers["x-content-type-options"] == "nosniff"
            if answer.headers["content-type"].startswith("text/html"):
                assert f'<html lang="{language}">' in answer.text
                assert "<script" not in answer.text


def test_the_webmaster_sees_published_pages_that_are_gone(desk, desk_ws, tmp_path):
    """`pipeline check-published` finds the address gone; the webmaster's page says so."""
    import subprocess
    from datetime import UTC, datetime, timedelta

    from desk_support import PIPELINE
    from seeding import archived, request

    gone = "http://127.0.0.1:9/gone"  # the discard port: nothing answers
    when = datetime.now(UTC) - timedelta(days=3)
    rid = archived(desk_ws, tmp_path, request(desk_ws, "ประกาศที่หายไป <b>"), when,
                   published=((when + timedelta(days=1)).date(), gone))
    run = subprocess.run([*PIPELINE, "--workspace", str(desk.root), "check-published",
                          "--timeout", "5"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    page = desk.session("webmaster").get(f"{desk.url}webmaster").text
    assert 'id="broken"' in page and rid in page and gone in page
    assert "ประกาศที่หายไป &lt;b&gt;" in page and "เข้าเว็บไม่ได้" in page
