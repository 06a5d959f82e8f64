"""Digests and reminders on the right days (the clock injected): the director's daily digest
at its time, a reminder after 3 days and not before, the webmaster's digest and reminder
after 7 days, the admin's notices; each once per period, a restart included."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from mailservers import (
    ADMIN_EMAIL,
    DIRECTOR_EMAIL,
    WEBMASTER_EMAIL,
    Mailbox,
    smtp_lines,
    with_notify,
)
from seeding import archived, archived_sample, awaiting, request

from pipeline.core import thai
from pipeline.notify import checks, events
from pipeline.notify.events import Notice
from pipeline.records.journal import Journal
from pipeline.signatures import timestamps

T0 = datetime(2026, 12, 7, 7, 0, tzinfo=thai.BANGKOK)  # a Monday, 07:00 in Bangkok
GONE = "http://127.0.0.1:9/gone"  # the discard port: nothing listens, the page is gone


def _queued(journal: Journal) -> list[tuple[str, tuple[str, ...], Notice]]:
    found = []
    for q in journal.notices.all():
        notice = Notice.from_payload(q.payload)
        found.append((q.kind, notice.recipients, notice))
    return found


def test_director_digest_at_its_time_once_a_day_and_reminders_after_three_days(
        demo_ws) -> None:
    cfg = with_notify(demo_ws, smtp_lines(Mailbox(), 'director_digest = "08:30"\n'
                                                     'disk_percent = 100\n'),
                      auto_approve=False)
    first = awaiting(cfg, request(cfg, "ข่าวหนึ่ง"), T0 - timedelta(days=1))
    second = awaiting(cfg, request(cfg, "ข่าวสอง"), T0 - timedelta(hours=2))
    journal = Journal(cfg.workspace.journal_file, cfg.id_prefix)
    watch = checks.Checks(cfg)
    assert watch.run(journal, T0) == 0  # before 08:30: nothing
    assert watch.run(journal, T0.replace(hour=8, minute=31)) == 1
    [(kind, to, digest)] = _queued(journal)
    assert (kind, to) == ("director-digest", (DIRECTOR_EMAIL,))
    assert digest.subject == "คำขอรออนุมัติ 2 รายการ / 2 waiting for your approval"
    assert [line.split()[1] for line in digest.lines if line.startswith("- ")] == [first, second]
    assert watch.run(journal, T0.replace(hour=17)) == 0  # the same day: not again
    assert checks.Checks(cfg).run(journal, T0.replace(hour=18)) == 0  # nor after a restart

    since = T0 - timedelta(days=1) + timedelta(minutes=2)  # when the first began to wait
    just_before = since + timedelta(days=3) - timedelta(minutes=1)
    assert watch.run(journal, just_before) == 0  # 07:01: no digest yet, no reminder yet
    assert [k for k, _, _ in _queued(journal)].count("director-reminder") == 0
    assert watch.run(journal, since + timedelta(days=3, minutes=1)) == 1
    reminders = [n for k, _, n in _queued(journal) if k == "director-reminder"]
    assert [n.request_id for n in reminders] == [first]
    assert "เกิน 3 วัน" in reminders[0].subject
    assert checks.Checks(cfg).run(journal, since + timedelta(days=3, hours=1)) == 0  # 08:02
    journal.close()


def test_at_once_by_default_so_no_digest(demo_ws) -> None:
    cfg = with_notify(demo_ws, smtp_lines(Mailbox(), "disk_percent = 100\n"))
    awaiting(cfg, request(cfg, "ข่าว"), T0 - timedelta(hours=1))
    journal = Journal(cfg.workspace.journal_file, cfg.id_prefix)
    assert checks.Checks(cfg).run(journal, T0.replace(hour=9)) == 0
    journal.close()


def test_webmaster_digest_and_a_reminder_after_seven_days(demo_ws, tmp_path: Path) -> None:
    cfg = with_notify(demo_ws, smtp_lines(Mailbox(), "disk_percent = 100\n"))
    old = archived(cfg, tmp_path, request(cfg, "ประกาศเก่า"), T0 - timedelta(days=8))
    new = archived(cfg, tmp_path, request(cfg, "ประกาศใหม่"), T0 - timedelta(days=1))
    archived(cfg, tmp_path, request(cfg, "เผยแพร่แล้ว"), T0 - timedelta(days=9),
             published=((T0 - timedelta(days=2)).date(), GONE))
    journal = Journal(cfg.workspace.journal_file, cfg.id_prefix)
    watch = checks.Checks(cfg)
    # before 08:30 no digest; the day's check of what was published finds its page gone
    assert watch.run(journal, T0) == 1
    [(kind, to, gone)] = _queued(journal)
    assert (kind, to, gone.request_id) == ("publication-changed", (WEBMASTER_EMAIL,),
                                           gone.request_id)
    assert GONE in gone.text and "ไม่" in gone.subject
    assert watch.run(journal, T0.replace(hour=8, minute=30)) == 2  # the digest, one reminder
    found = {k: n for k, _, n in _queued(journal)}
    assert watch.run(journal, T0.replace(hour=20)) == 0  # the page checked once a day
    digest = found["webmaster-digest"]
    assert digest.recipients == (WEBMASTER_EMAIL,)
    assert [line.split()[1] for line in digest.lines if line.startswith("- ")] == [old, new]
    assert found["webmaster-reminder"].request_id == old
    assert checks.Checks(cfg).run(journal, T0.replace(hour=12)) == 0  # restarted: not again
    journal.close()


def test_admin_told_of_a_long_hold_and_a_full_disk(demo_ws) -> None:
    cfg = with_notify(demo_ws, smtp_lines(Mailbox(), "disk_percent = 1\n"))
    request_id = awaiting(cfg, request(cfg, "ข่าว"), T0 - timedelta(hours=3))
    journal = Journal(cfg.workspace.journal_file, cfg.id_prefix)
    held_at = T0 - timedelta(minutes=90)
    journal.hold(request_id, held_at, "the timestamp authority did not answer",
                 held_at + timedelta(minutes=30))
    journal.hold(request_id, T0 - timedelta(minutes=10), "the timestamp authority did not "
                 "answer", T0 + timedelta(minutes=20))  # held again: since the first hold
    watch = checks.Checks(cfg)
    assert watch.run(journal, T0) == 2
    found = {k: (to, n) for k, to, n in _queued(journal)}
    assert found["held"][0] == (ADMIN_EMAIL,) and found["held"][1].request_id == request_id
    assert "timestamp authority did not answer" in found["held"][1].text
    assert found["disk-full"][0] == (ADMIN_EMAIL,)
    assert watch.run(journal, T0 + timedelta(hours=1)) == 0  # the same hold, the same day
    journal.close()


def test_timestamps_to_refresh_within_sixty_days_once_a_week(processor, demo_ws,
                                                            tmp_path: Path) -> None:
    outcome = archived_sample(processor, demo_ws, tmp_path)
    [stamp] = timestamps.document_timestamps(outcome.bundle / f"{outcome.request_id}.pdf")
    cfg = with_notify(demo_ws, smtp_lines(Mailbox(), "disk_percent = 100\n"))
    journal = Journal(cfg.workspace.journal_file, cfg.id_prefix)
    early = stamp.expires - timedelta(days=61)
    assert checks.Checks(cfg).timestamps(journal, early, early.astimezone(thai.BANGKOK)) == 0
    due = stamp.expires - timedelta(days=59)
    assert checks.Checks(cfg).timestamps(journal, due, due.astimezone(thai.BANGKOK)) == 1
    [(kind, to, notice)] = _queued(journal)
    assert (kind, to) == ("timestamps-due", (ADMIN_EMAIL,))
    assert any(outcome.request_id in line for line in notice.lines)
    assert checks.Checks(cfg).timestamps(journal, due + timedelta(hours=5),
                                         (due + timedelta(hours=5)).astimezone(
                                             thai.BANGKOK)) == 0
    journal.close()


def test_every_event_kind_is_listed() -> None:
    assert set(events.EVENT_KINDS) >= {"awaiting-director", "approved", "rejected-by-director",
                                       "refused-at-intake", "director-digest",
                                       "webmaster-digest", "held", "timestamps-due",
                                       "disk-full"}


def test_obligation_reminders_go_to_the_responsible_group_before_the_due_day_once(
        demo_ws) -> None:
    """The demo's monthly procurement summary (แบบ สขร. ๑) is due on the 10th: from the 7th
    its group is reminded (the director, as the group has no provider with an address),
    once for that month however often the checks run."""
    cfg = with_notify(demo_ws, smtp_lines(Mailbox(), "disk_percent = 100\n"),
                      obligations=True)
    journal = Journal(cfg.workspace.journal_file, cfg.id_prefix)

    def procurement(kind: str) -> list[tuple[str, ...]]:
        return [to for k, to, n in _queued(journal) if k == kind and "|procurement|" in n.key]

    checks.Checks(cfg).run(journal, T0 - timedelta(days=2))  # the 5th: not yet
    assert procurement("obligation-due") == []
    checks.Checks(cfg).run(journal, T0)  # the 7th: three days before
    assert procurement("obligation-due") == [(DIRECTOR_EMAIL,)]
    due = next(n for k, _, n in _queued(journal) if "|procurement|" in n.key)
    assert "ใกล้ถึงกำหนดเผยแพร่" in due.subject and "สขร" in due.subject
    checks.Checks(cfg).run(journal, T0 + timedelta(days=1))  # the 8th, after a restart
    assert procurement("obligation-due") == [(DIRECTOR_EMAIL,)]  # not again
    overdue_day = T0 + timedelta(days=4)  # the 11th: overdue, the director told again
    checks.Checks(cfg).run(journal, overdue_day)
    assert [to for k, to, n in _queued(journal)
            if k == "obligation-overdue" and "|procurement|" in n.key] == [(DIRECTOR_EMAIL,)]
    journal.close()
