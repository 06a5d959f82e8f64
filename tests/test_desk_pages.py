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
