"""Notices by e-mail, webhook and LINE, sent to real servers on loopback: who gets what, the
Thai words decoded exactly, the files attached byte for byte; queued in the transaction of
the state change; SMTP down then up delivers each once; no secret anywhere."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from mailservers import (
    ADMIN_EMAIL,
    DIRECTOR_EMAIL,
    PROVIDER_EMAIL,
    SMTP_PASSWORD,
    SMTP_USER,
    Mailbox,
    Recorder,
    smtp_lines,
    tls_mailbox,
    with_notify,
)

from pipeline import demo
from pipeline.cli import main
from pipeline.core.request import Rejected
from pipeline.flow import health
from pipeline.flow.processing import Processor
from pipeline.intake import blank_sheet
from pipeline.notify import build, events, mail, queue, sender
from pipeline.records import notices as notices_mod
from pipeline.records.journal import Journal, State
from pipeline.settings import config as config_mod


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def box(mailbox: Mailbox) -> Mailbox:
    mailbox.clear()
    return mailbox


def _journal(cfg: config_mod.Config) -> Journal:
    return Journal(cfg.workspace.journal_file, cfg.id_prefix)


def _sheet(tmp: Path, cfg: config_mod.Config, **values: object) -> Path:
    path = tmp / "คำขอ.xlsx"
    blank_sheet.new_request(path, cfg)
    blank_sheet.fill(path, {**demo.sample_values(date.today()), **values})
    return path


def _plain(received) -> str:
    return received.message.get_body(("plain",)).get_content()


# -- settings ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("lines", "key"), [
    ('security = "tls"', "notify.security"),
    ('director_digest = "8.30"', "notify.director_digest"),
    ('smtp_host = "mail"\n', "notify.from"),
    ('smtp_user = "u"\nsmtp_host = "m"\nfrom = "a@b.go.th"', "notify.smtp_password_env"),
    ('from = "a@b.go.th\\nBcc: x@evil.example"', "notify.from"),
    ('[notify.webhook]\nurl = "ftp://x"\nsecret_env = "S"', "notify.webhook.url"),
    ('[notify.line]\nto = "C1"', "notify.line"),
])
def test_every_notify_setting_error_names_its_key(demo_ws, lines: str, key: str) -> None:
    text = demo_ws.workspace.config_file.read_text(encoding="utf-8")
    demo_ws.workspace.config_file.write_text(f"{text}\n[notify]\n{lines}\n", encoding="utf-8")
    with pytest.raises(config_mod.ConfigError, match=key.replace(".", r"\.")):
        config_mod.load(demo_ws.workspace.root)


def test_a_provider_address_that_could_forge_a_header_is_refused(demo_ws) -> None:
    text = demo_ws.workspace.config_file.read_text(encoding="utf-8")
    text = text.replace("[[providers]]\n", '[[providers]]\nemail = "a@b.go.th, c@evil.example"\n')
    demo_ws.workspace.config_file.write_text(text, encoding="utf-8")
    with pytest.raises(config_mod.ConfigError, match=r"providers\[0\]\.email"):
        config_mod.load(demo_ws.workspace.root)


# -- in the transaction of the state change -------------------------------------------------
def test_the_notice_is_written_by_the_transaction_of_the_state_change(demo_ws, monkeypatch,
                                                                      box) -> None:
    cfg = with_notify(demo_ws, smtp_lines(box))
    journal = _journal(cfg)
    entry = journal.claim(Path("/inbox/a.xlsx"), "ab" * 32, datetime.now(UTC), taken=True)
    notice = build.refused_at_intake(cfg, entry.id, "a.xlsx", (), {
        "provider_name": demo.PEOPLE["provider"].name}, ())
    rows = events.rows(cfg, notice)

    def broken(*_args: object) -> int:
        raise OSError("disk gone while queueing")

    monkeypatch.setattr(notices_mod, "insert", broken)
    with pytest.raises(OSError):
        journal.reject(entry.id, datetime.now(UTC), Rejected(False, ()), notices=rows)
    assert journal.get(entry.id).state == State.RECEIVED  # neither the state nor the notice
    monkeypatch.undo()
    journal.reject(entry.id, datetime.now(UTC), Rejected(False, ()), notices=rows)
    journal.reject(entry.id, datetime.now(UTC), Rejected(False, ()), notices=rows)
    assert journal.get(entry.id).state == State.REJECTED
    assert [(q.kind, q.channel) for q in journal.notices.all()] == [
        ("refused-at-intake", "mail")]  # queued once, whatever repeats it
    journal.close()


# -- who gets what ----------------------------------------------------------------------------
def test_director_told_at_once_then_provider_gets_the_signed_pdf(demo_ws, converter, box,
                                                                 tmp_path) -> None:
    cfg = with_notify(demo_ws, smtp_lines(box), auto_approve=False)
    with Processor(cfg, converter=converter) as processor:
        outcome = processor.process(_sheet(tmp_path, cfg))
        assert outcome.state == State.AWAITING_DIRECTOR
        assert sender.send_due(cfg, processor.journal).sent == 1
        [waiting] = box.wait_for(1)
        assert waiting.rcpt_tos == (DIRECTOR_EMAIL,)
        title = demo.sample_values(date.today())["title"]
        assert waiting.message["Subject"] == (f"คำขอรออนุมัติ {outcome.request_id}: {title} / "
                                              f"waiting for your approval")
        assert f"คำขอเลขที่ {outcome.request_id} เรื่อง {title} รอท่านพิจารณาอนุมัติ" in (
            _plain(waiting).splitlines())
        html_body = waiting.message.get_body(("html",)).get_content()
        assert title in html_body

        approved = processor.approve(outcome.request_id)
        assert approved.state == State.ARCHIVED
        assert sender.send_due(cfg, processor.journal).sent == 1
    [_, got] = box.wait_for(2)
    assert got.rcpt_tos == (PROVIDER_EMAIL,)
    assert got.message["Subject"] == f"อนุมัติแล้ว {outcome.request_id}: {title} / approved"
    [pdf] = list(got.message.iter_attachments())
    assert pdf.get_filename() == f"{outcome.request_id}.pdf"
    signed = approved.bundle / f"{outcome.request_id}.pdf"
    assert pdf.get_payload(decode=True) == signed.read_bytes()
    assert got.message["Message-ID"].startswith("<") and "@example.go.th>" in got.message[
        "Message-ID"]


def test_provider_gets_the_directors_reason(demo_ws, converter, box, tmp_path) -> None:
    cfg = with_notify(demo_ws, smtp_lines(box), auto_approve=False)
    reason = "ขอให้แก้ไขวันที่ <b>ในรายละเอียด</b> ก่อน"
    with Processor(cfg, converter=converter) as processor:
        outcome = processor.process(_sheet(tmp_path, cfg))
        processor.refuse(outcome.request_id, reason)
        assert sender.send_due(cfg, processor.journal).sent == 2
    [to_director, to_provider] = box.wait_for(2)
    assert to_provider.rcpt_tos == (PROVIDER_EMAIL,)
    assert f"เหตุผล: {reason}" in _plain(to_provider).splitlines()
    html_body = to_provider.message.get_body(("html",)).get_content()
    assert "<b>" not in html_body and "&lt;b&gt;" in html_body  # a reason is text, escaped


def test_refused_at_intake_attaches_the_report_and_the_highlighted_copy(demo_ws, converter,
                                                                       box, tmp_path) -> None:
    cfg = with_notify(demo_ws, smtp_lines(box))
    with Processor(cfg, converter=converter) as processor:
        outcome = processor.process(_sheet(tmp_path, cfg, title=""))
        assert outcome.state == State.REJECTED
        assert sender.send_due(cfg, processor.journal).sent == 1
    [got] = box.wait_for(1)
    assert got.rcpt_tos == (PROVIDER_EMAIL,)
    assert got.message["Subject"] == (f"ส่งกลับแก้ไข {outcome.request_id}: คำขอ.xlsx / "
                                      f"returned for correction")
    attached = {a.get_filename(): a.get_payload(decode=True)
                for a in got.message.iter_attachments()}
    report, annotated = outcome.rejection.report, outcome.rejection.annotated
    assert attached == {report.name: report.read_bytes(), annotated.name: annotated.read_bytes()}


def test_a_file_name_with_a_line_break_forges_no_header(demo_ws, box) -> None:
    cfg = with_notify(demo_ws, smtp_lines(box))
    journal = _journal(cfg)
    forged = "a.xlsx\r\nBcc: victim@evil.example\r\nX-Evil: 1"
    queue.enqueue(journal, cfg, build.refused_at_intake(
        cfg, "REQ-2569-00009", forged, (), {"provider_name": demo.PEOPLE["provider"].name}, ()))
    assert sender.send_due(cfg, journal).sent == 1
    [got] = box.wait_for(1)
    assert got.rcpt_tos == (PROVIDER_EMAIL,)
    assert got.message["Bcc"] is None and got.message["X-Evil"] is None
    assert "victim@evil.example" in got.message["Subject"]  # shown, as text on one line
    journal.close()


# -- never lost, never doubled ----------------------------------------------------------------
def test_smtp_down_then_up_delivers_every_notice_once(demo_ws) -> None:
    down = Mailbox()  # not started: nothing listens on its port
    cfg = with_notify(demo_ws, smtp_lines(down))
    journal = _journal(cfg)
    now = datetime.now(UTC)
    for day in range(3):
        queue.enqueue(journal, cfg, build.disk_full(cfg, date(2026, 12, 1 + day), 95.0,
                                                     cfg.workspace.root), now)
    first = sender.send_due(cfg, journal, now)
    assert (first.sent, first.failed) == (0, 3)
    waiting = queue.status(journal)
    assert all(w.failing and "not reachable" in w.last_error and w.next_try > now
               for w in waiting)
    assert any("notice not sent: disk-full (mail)" in p.text
               for p in health.problems(cfg, journal))
    assert sender.send_due(cfg, journal, now).sent == 0  # not before the next try
    status = CliRunner().invoke(main, ["--workspace", str(cfg.workspace.root), "status"])
    assert "notice not sent: disk-full (mail)" in status.output
    assert "แจ้งเตือนรอส่ง / notices waiting: 3 (ส่งไม่สำเร็จ / failing: 3)" in status.output
    down.start()
    try:
        later = now + timedelta(minutes=1)
        assert sender.send_due(cfg, journal, later).sent == 3
        assert sender.send_due(cfg, journal, later + timedelta(hours=2)).sent == 0
        got = down.wait_for(3)
        assert len(got) == 3 and all(m.rcpt_tos == (ADMIN_EMAIL,) for m in got)
        assert len({m.message["Message-ID"] for m in got}) == 3
        assert queue.status(journal) == []
    finally:
        down.stop()
        journal.close()


# -- STARTTLS and a login ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def tls_box(tmp_path_factory) -> Iterator[tuple[Mailbox, Path]]:
    box, cert = tls_mailbox(tmp_path_factory.mktemp("smtp-tls"))
    box.start()
    yield box, cert
    box.stop()


def _tls_config(cfg, box: Mailbox, cert: Path | None) -> config_mod.Config:
    return with_notify(cfg, (
        f'smtp_host = "127.0.0.1"\nsmtp_port = {box.port}\nsecurity = "starttls"\n'
        f'smtp_user = "{SMTP_USER}"\nsmtp_password_env = "TEST_SMTP_PASSWORD"\n'
        f'from = "pipeline@example.go.th"\nsmtp_timeout = 5\n'
        + (f'smtp_cafile = "{cert}"\n' if cert else "")))


def test_starttls_and_login(demo_ws, tls_box, monkeypatch) -> None:
    box, cert = tls_box
    box.clear()
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    cfg = _tls_config(demo_ws, box, cert)
    mail.send(cfg.notify, build.test("someone@example.go.th", datetime.now(UTC)))
    [got] = box.wait_for(1)
    assert got.message["Subject"] == "ทดสอบการแจ้งเตือน / pipeline test message"


def test_notify_test_says_what_failed_and_never_the_password(demo_ws, tls_box, monkeypatch,
                                                            caplog) -> None:
    box, cert = tls_box
    wrong = "not-the-Pa55word-xyz"
    monkeypatch.setenv("TEST_SMTP_PASSWORD", wrong)
    cfg = _tls_config(demo_ws, box, cert)
    runner = CliRunner()
    ws = ["--workspace", str(cfg.workspace.root)]
    result = runner.invoke(main, [*ws, "notify", "test", "x@example.go.th"])
    assert result.exit_code == 1
    assert "เซิร์ฟเวอร์อีเมลไม่รับชื่อผู้ใช้หรือรหัสผ่าน / login refused" in result.output
    assert wrong not in result.output

    untrusted = _tls_config(demo_ws, box, None)  # the system's CAs do not know this one
    result = runner.invoke(main, [*ws, "notify", "test", "x@example.go.th"])
    assert result.exit_code == 1 and "TLS" in result.output, result.output
    assert untrusted.notify.smtp_cafile is None

    nobody = with_notify(demo_ws, smtp_lines(Mailbox()))  # nothing listens there
    result = runner.invoke(main, [*ws, "notify", "test", "x@example.go.th"])
    assert "ติดต่อเซิร์ฟเวอร์อีเมลไม่ได้ / mail server" in result.output, result.output
    assert nobody.notify.smtp_port

    # queued and failing: the error column and the log carry no password either
    cfg = _tls_config(demo_ws, box, cert)
    journal = _journal(cfg)
    with caplog.at_level(logging.DEBUG):
        queue.enqueue(journal, cfg, build.disk_full(cfg, date(2026, 12, 1), 95.0, Path("/")))
        assert sender.send_due(cfg, journal).failed == 1
    [row] = journal.notices.all()
    assert "login refused" in row.last_error and wrong not in row.last_error
    assert wrong not in caplog.text and wrong not in row.payload
    journal.close()
    log_file = cfg.workspace.state / "pipeline.log"
    assert not log_file.exists() or wrong not in log_file.read_text(encoding="utf-8")


def test_a_secret_a_server_echoes_is_scrubbed() -> None:
    assert sender.scrub("535 bad password hunter22 for user", ("hunter22",)) == (
        "535 bad password *** for user")


# -- webhook and LINE -------------------------------------------------------------------------
@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    server.start()
    yield server
    server.stop()


def test_webhook_and_line_reach_local_servers(demo_ws, recorder, monkeypatch) -> None:
    monkeypatch.setenv("TEST_HOOK_SECRET", "hook-key-123")
    monkeypatch.setenv("TEST_LINE_TOKEN", "line-token-456")
    cfg = with_notify(demo_ws, (
        '[notify.webhook]\n'
        f'url = "{recorder.url}hook"\nsecret_env = "TEST_HOOK_SECRET"\n'
        '[notify.line]\n'
        f'channel_token_env = "TEST_LINE_TOKEN"\nto = "C0123456789abcdef"\n'
        f'api_base = "{recorder.url.rstrip("/")}"\n'
        '[web]\nbase_url = "https://desk.example.go.th/"\n'))
    journal = _journal(cfg)
    request = demo.sample_values(date.today())
    notice = build.rejected_by_director(cfg, "REQ-2569-00007", {
        "title": str(request["title"]), "provider_name": demo.PEOPLE["provider"].name},
        "ขาดเอกสารแนบ")
    assert queue.enqueue(journal, cfg, notice) == 2  # mail is not set up: webhook, LINE
    recorder.status = 500
    assert sender.send_due(cfg, journal).failed == 2
    assert all("HTTP 500" in q.last_error for q in journal.notices.all() if q.channel != "mail")
    recorder.calls.clear()
    recorder.status = 200
    assert sender.send_due(cfg, journal, datetime.now(UTC) + timedelta(minutes=1)).sent == 2
    by_path = {path: (headers, body) for path, headers, body in recorder.calls}
    headers, body = by_path["/hook"]
    expected = hmac.new(b"hook-key-123", body, hashlib.sha256).hexdigest()
    assert headers["X-Pipeline-Signature"] == f"sha256={expected}"
    hook = json.loads(body)
    assert hook == {"event": "rejected-by-director", "key": notice.key,
                    "request_id": "REQ-2569-00007", "status": "rejected",
                    "subject": notice.subject,
                    "links": ["https://desk.example.go.th/staff"]}
    headers, body = by_path["/v2/bot/message/push"]
    assert headers["Authorization"] == "Bearer line-token-456"
    assert headers["X-Line-Retry-Key"]
    push = json.loads(body)
    assert push["to"] == "C0123456789abcdef"
    [message] = push["messages"]
    assert message["type"] == "text" and "เหตุผล: ขาดเอกสารแนบ" in message["text"]
    assert all("line-token-456" not in q.last_error and "hook-key-123" not in q.last_error
               for q in journal.notices.all())
    journal.close()
