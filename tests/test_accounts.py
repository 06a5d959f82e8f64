"""The desk's accounts: Argon2id hashes, one message for every wrong sign-in, the back-off
per login and per address, the second factor, and who must have one."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta

import pyotp
import pytest
from argon2 import PasswordHasher
from desk_helpers import NOW, PASSWORD, CountingHasher, accounts

from pipeline.desk import actions, throttle
from pipeline.desk.accounts import WRONG, AccountError, Role, SignInRefused
from pipeline.desk.audit_log import Action, AuditLog
from pipeline.desk.rules import MAX_PASSWORD
from pipeline.settings.web import WebSettings

ADDRESS = "192.0.2.10"


def _hash_of(config, login: str) -> str:
    with sqlite3.connect(config.workspace.journal_file) as db:
        return db.execute("SELECT password_hash FROM accounts WHERE login = ?",
                          (login,)).fetchone()[0]


def _refusal(accts, login: str, password: str, when=NOW, code=None,
             address=ADDRESS) -> SignInRefused:
    with pytest.raises(SignInRefused) as refused:
        accts.sign_in(login, password, code, address, when)
    return refused.value


def test_the_stored_hash_is_argon2id_with_the_library_defaults(demo_ws):
    with accounts(demo_ws, PasswordHasher()) as accts:
        accts.add("somchai", Role.STAFF, PASSWORD)
        stored = _hash_of(demo_ws, "somchai")
        assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert PASSWORD not in stored
        assert accts.sign_in("SomChai ", PASSWORD, None, ADDRESS, NOW).login == "somchai"


def test_a_hash_made_with_older_parameters_is_redone_at_the_next_sign_in(demo_ws):
    with accounts(demo_ws, CountingHasher(time_cost=1)) as old:
        old.add("somchai", Role.STAFF, PASSWORD)
    assert ",t=1," in _hash_of(demo_ws, "somchai")
    with accounts(demo_ws, CountingHasher(time_cost=2)) as new:
        new.sign_in("somchai", PASSWORD, None, ADDRESS, NOW)
        assert ",t=2," in _hash_of(demo_ws, "somchai")
        new.sign_in("somchai", PASSWORD, None, ADDRESS, NOW)  # the new hash verifies


def test_there_is_no_account_without_a_password_of_ten_characters(demo_ws):
    with accounts(demo_ws) as accts:
        for short in ("", "123456789"):
            with pytest.raises(AccountError, match="อย่างน้อย 10 .* at least 10"):
                accts.add("somchai", Role.STAFF, short)
        with pytest.raises(AccountError, match="not be the login"):
            accts.add("somchai12345", Role.STAFF, "SOMCHAI12345")
        with pytest.raises(AccountError, match="a-z"):
            accts.add("../admin", Role.STAFF, PASSWORD)
        assert accts.all() == []
        accts.add("somchai", "staff", PASSWORD)
        with pytest.raises(AccountError, match="already"):
            accts.add("SOMCHAI", Role.ADMIN, PASSWORD)
        with pytest.raises(AccountError, match="at least 10"):
            accts.set_password("somchai", "short")
        assert [a.role for a in accts.all()] == [Role.STAFF]


def test_a_person_is_one_of_pipeline_toml_and_a_director_is_a_signer(demo_ws):
    director = demo_ws.director.person.name
    provider = demo_ws.providers[0].person.name
    with accounts(demo_ws) as accts:
        with pytest.raises(AccountError, match="not a person of pipeline.toml"):
            accts.add("x", Role.STAFF, PASSWORD, person="นายใครก็ไม่รู้ ไม่มีชื่อ")
        with pytest.raises(AccountError, match="director's account needs --person"):
            accts.add("boss", Role.DIRECTOR, PASSWORD)
        with pytest.raises(AccountError, match="director's account needs --person"):
            accts.add("boss", Role.DIRECTOR, PASSWORD, person=provider)
        # titles and spacing aside, kept as pipeline.toml spells the name
        typed = director.replace("นาย", "", 1).replace(" ", "  ")
        assert accts.add("boss", Role.DIRECTOR, PASSWORD, person=typed).person == director
        assert accts.add("nurisan", Role.STAFF, PASSWORD, person=provider,
                         email="nurisan@example.go.th").email == "nurisan@example.go.th"
        with pytest.raises(AccountError, match="e-mail"):
            accts.add("y", Role.STAFF, PASSWORD, email="not an address")


def test_a_wrong_password_and_an_unknown_login_are_told_apart_by_nothing(demo_ws):
    hasher = CountingHasher()
    with accounts(demo_ws, hasher) as accts:
        accts.add("somchai", Role.STAFF, PASSWORD)
        stored = _hash_of(demo_ws, "somchai")
        hasher.verified.clear()
        wrong = _refusal(accts, "somchai", PASSWORD + "x")
        unknown = _refusal(accts, "nobody", PASSWORD)
        assert str(wrong) == str(unknown)
        assert "login or password" in str(wrong) and "ชื่อผู้ใช้หรือรหัสผ่าน" in str(wrong)
        for refused in (wrong, unknown):
            assert (refused.retry_at, refused.needs_code, refused.needs_totp_setup) == \
                (None, False, False)
        # the unknown login cost an Argon2id verification with the same parameters
        assert len(hasher.verified) == 2
        assert hasher.verified[0] == stored
        params = stored.rsplit("$", 2)[0]
        assert hasher.verified[1].rsplit("$", 2)[0] == params != ""


def test_five_failures_hold_off_even_the_right_password_then_it_works(demo_ws):
    with accounts(demo_ws) as accts:
        accts.add("somchai", Role.STAFF, PASSWORD)
        for i in range(4):
            assert _refusal(accts, "somchai", "wrong password", NOW + timedelta(seconds=i)
                            ).retry_at is None
        fifth = _refusal(accts, "somchai", "wrong password", NOW + timedelta(seconds=4))
        assert fifth.retry_at == NOW + timedelta(seconds=34)
        assert "09:00:34" in str(fifth) and "try again at" in str(fifth)
        held = _refusal(accts, "somchai", PASSWORD, NOW + timedelta(seconds=20))
        assert held.retry_at == fifth.retry_at
        # the back-off doubles with each further failure
        sixth = _refusal(accts, "somchai", "wrong password", NOW + timedelta(seconds=35))
        assert sixth.retry_at == NOW + timedelta(seconds=95)
        # the count is kept in the journal's file: another process (a restart) sees it
        with accounts(demo_ws) as restarted:
            assert _refusal(restarted, "somchai", PASSWORD,
                            NOW + timedelta(seconds=90)).retry_at == sixth.retry_at
            later = NOW + timedelta(seconds=96)
            assert restarted.sign_in("somchai", PASSWORD, None, ADDRESS, later).login == \
                "somchai"
            # a success cleared the login's count: four more failures hold nothing off
            for i in range(4):
                assert _refusal(restarted, "somchai", "wrong",
                                later + timedelta(seconds=i)).retry_at is None


def test_an_unknown_login_is_held_off_like_a_known_one(demo_ws):
    with accounts(demo_ws) as accts:
        for login in ("somchai", "nobody"):
            if login == "somchai":
                accts.add(login, Role.STAFF, PASSWORD)
            refusals = [_refusal(accts, login, "wrong password", address=f"192.0.2.{i}")
                        for i in range(6)]
            assert [r.retry_at is not None for r in refusals] == [False] * 4 + [True] * 2
            assert str(refusals[-1]) == str(refusals[-2])


def test_twenty_failures_from_one_address_hold_off_every_login_from_it(demo_ws):
    with accounts(demo_ws) as accts:
        accts.add("somchai", Role.STAFF, PASSWORD)
        for i in range(19):  # four each at five logins: no login's limit reached
            assert _refusal(accts, f"guess{i // 4}", "wrong password",
                            NOW + timedelta(seconds=i)).retry_at is None
        twentieth = _refusal(accts, "guess9", "wrong password", NOW + timedelta(seconds=19))
        assert twentieth.retry_at == NOW + timedelta(seconds=49)
        assert _refusal(accts, "somchai", PASSWORD, NOW + timedelta(seconds=30)).retry_at == \
            twentieth.retry_at
        # another address is not held off; a success there does not clear this address
        assert accts.sign_in("somchai", PASSWORD, None, "198.51.100.7",
                             NOW + timedelta(seconds=30)).login == "somchai"
        assert _refusal(accts, "somchai", PASSWORD, NOW + timedelta(seconds=31)).retry_at
        assert accts.sign_in("somchai", PASSWORD, None, ADDRESS, NOW + timedelta(seconds=50))


def test_the_back_off_doubles_up_to_an_hour_and_a_quiet_day_forgets():
    limit = throttle.LOGIN_LIMIT
    assert [throttle.backoff(n, limit).total_seconds() for n in range(limit - 1, limit + 3)] \
        == [0, 30, 60, 120]
    assert throttle.backoff(limit + 100, limit) == throttle.MAX_BACKOFF
    assert throttle.FORGET_AFTER > throttle.MAX_BACKOFF


def test_a_typed_login_that_is_no_account_is_not_kept(demo_ws):
    with accounts(demo_ws) as accts:
        _refusal(accts, "my-secret-password-typed-in-the-login", PASSWORD)
    with sqlite3.connect(demo_ws.workspace.journal_file) as db:
        keys = [r[0] for r in db.execute("SELECT key FROM sign_in_failures WHERE kind = ?",
                                          ("login",))]
    assert len(keys) == 1 and keys[0].startswith("?") and len(keys[0]) == 5


def test_a_password_as_long_as_the_rules_allow_signs_in_and_a_longer_one_is_refused(demo_ws):
    """rules.MAX_PASSWORD is the one limit: what may be set may be typed to sign in."""
    longest = "รหัส" * (MAX_PASSWORD // 4)
    assert len(longest) == MAX_PASSWORD
    with accounts(demo_ws) as accts:
        with pytest.raises(AccountError, match=f"longer than {MAX_PASSWORD}"):
            accts.add("somchai", Role.STAFF, longest + "x")
        accts.add("somchai", Role.STAFF, longest)
        assert accts.sign_in("somchai", longest, None, ADDRESS, NOW).login == "somchai"
        assert str(_refusal(accts, "somchai", longest + "x")) == WRONG


def test_a_disabled_account_cannot_sign_in_and_changes_generation(demo_ws):
    with accounts(demo_ws) as accts:
        first = accts.add("somchai", Role.STAFF, PASSWORD)
        accts.set_password("somchai", PASSWORD + "!")
        assert accts.get("somchai").generation == first.generation + 1
        accts.disable("somchai")
        account = accts.get("somchai")
        assert account.disabled and account.generation == first.generation + 2
        assert str(_refusal(accts, "somchai", PASSWORD)).startswith("ชื่อผู้ใช้หรือรหัสผ่าน")
        with pytest.raises(AccountError, match="no account"):
            accts.disable("nobody")


def test_a_disabled_account_with_its_right_password_is_told_only_wrong_login_or_password(
        demo_ws):
    """A departed user's old password is not confirmed, nor that the login exists: the same
    words as a wrong password and as an unknown login, after the same hash check, counted
    towards the same back-off; only the audit log says what it was."""
    hasher = CountingHasher()
    with accounts(demo_ws, hasher) as accts, AuditLog(demo_ws.workspace.journal_file) as log:
        accts.add("somchai", Role.STAFF, PASSWORD)
        accts.add("somsri", Role.STAFF, PASSWORD)
        accts.disable("somchai")
        hasher.verified.clear()
        answers = []
        for login, password in (("somchai", PASSWORD), ("somsri", PASSWORD + "x"),
                                ("nobody", PASSWORD)):
            with pytest.raises(SignInRefused) as refused:
                actions.sign_in(accts, log, login, password, None, ADDRESS, NOW)
            answers.append(refused.value)
        assert len(hasher.verified) == 3  # one hash check each, the disabled one included
        assert len({str(a) for a in answers}) == 1
        assert "disabled" not in str(answers[0]) and "ระงับ" not in str(answers[0])
        assert [(a.disabled, a.needs_code, a.retry_at) for a in answers] == [
            (True, False, None), (False, False, None), (False, False, None)]
        details = [e.detail for e in log.entries() if e.action == Action.SIGN_IN_FAILED]
        assert details == ["account disabled (the password was right)", "refused", "refused"]
        # and the right password of a disabled account is a failure like a wrong one
        backed_off = {}
        for login, password in (("somchai", PASSWORD), ("somsri", PASSWORD + "x")):
            tries = 1
            while _refusal(accts, login, password).retry_at is None:
                tries += 1
                assert tries <= throttle.LOGIN_LIMIT
            backed_off[login] = tries
        assert backed_off["somchai"] == backed_off["somsri"]


def _enrol(accts, login: str) -> pyotp.TOTP:
    uri = accts.start_totp(login)
    assert uri.startswith("otpauth://totp/") and f"{login}" in uri
    secret = pyotp.TOTP(pyotp.parse_uri(uri).secret)
    with pytest.raises(AccountError, match="not the app's current code"):
        accts.confirm_totp(login, "000000" if secret.at(NOW) != "000000" else "111111", NOW)
    assert not accts.get(login).has_totp
    accts.confirm_totp(login, secret.at(NOW), NOW)
    assert accts.get(login).has_totp
    return secret


def test_a_second_factor_is_asked_after_the_password_and_good_once(demo_ws):
    with accounts(demo_ws) as accts:
        accts.add("somchai", Role.STAFF, PASSWORD)
        with pytest.raises(AccountError, match="pipeline user totp"):
            accts.confirm_totp("somchai", "123456", NOW)
        app = _enrol(accts, "somchai")
        asked = _refusal(accts, "somchai", PASSWORD)
        assert asked.needs_code and "6-digit code" in str(asked)
        # a wrong password with a code is a wrong password, no more
        assert not _refusal(accts, "somchai", "wrong password", code=app.at(NOW)).needs_code
        later = NOW + timedelta(minutes=1)
        code = app.at(later)
        assert accts.sign_in("somchai", PASSWORD, f" {code[:3]} {code[3:]}", ADDRESS, later)
        replayed = _refusal(accts, "somchai", PASSWORD, later + timedelta(seconds=5), code)
        assert replayed.needs_code and "already used" in str(replayed)
        # a phone's clock half a minute off is fine
        step_later = later + timedelta(seconds=30)
        assert accts.sign_in("somchai", PASSWORD, app.at(step_later + timedelta(seconds=30)),
                             ADDRESS, step_later)
        # wrong codes count as failures
        for i in range(4):
            assert _refusal(accts, "somchai", PASSWORD, code="not-a-code",
                            when=later + timedelta(minutes=5, seconds=i)).retry_at is None
        assert _refusal(accts, "somchai", PASSWORD, code="999999x",
                        when=later + timedelta(minutes=6)).retry_at


def test_require_2fa_refuses_a_signer_without_one_and_says_what_to_do(demo_ws):
    config = replace(demo_ws, web=WebSettings(require_2fa_for_signing=True))
    with accounts(config) as accts:
        accts.add("boss", Role.DIRECTOR, PASSWORD, person=config.director.person.name)
        accts.add("web", Role.WEBMASTER, PASSWORD, person=config.publisher.name)
        accts.add("clerk", Role.STAFF, PASSWORD, person=config.providers[0].person.name)
        accts.add("look", Role.AUDITOR, PASSWORD)
        for login in ("boss", "web"):
            refused = _refusal(accts, login, PASSWORD)
            assert refused.needs_totp_setup and not refused.needs_code
            assert f"pipeline user totp {login}" in str(refused)
            assert "require_2fa_for_signing" in str(refused)
        assert accts.sign_in("clerk", PASSWORD, None, ADDRESS, NOW)
        assert accts.sign_in("look", PASSWORD, None, ADDRESS, NOW)
        app = _enrol(accts, "boss")
        later = NOW + timedelta(minutes=2)
        assert accts.sign_in("boss", PASSWORD, app.at(later), ADDRESS, later).role == \
            Role.DIRECTOR
    # without a key, the publisher signs nothing: no second factor needed
    with accounts(replace(demo_ws, web=config.web, publisher_key=None)) as accts:
        assert accts.sign_in("web", PASSWORD, None, ADDRESS, NOW).login == "web"
