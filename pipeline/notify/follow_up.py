"""The follow-up the publication framework asks for (its section 3): the responsible work
group reminded of what it must publish, before the due day and when overdue, and the
webmaster told when a published address is gone or no longer shows what was approved.

Both are computed elsewhere (:mod:`pipeline.records.reminders`,
:mod:`pipeline.bundles.proof`); here they become notices, each with a key of its own
occurrence (the reminder's key; the request, address and verdict), so a day's checks run
again, or after a restart, queue nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from pipeline.bundles import proof
from pipeline.core import thai
from pipeline.notify import build
from pipeline.notify.events import Kind, Notice, desk_link
from pipeline.notify.queue import enqueue
from pipeline.records import index, reminders
from pipeline.records.journal import Journal
from pipeline.settings.config import Config


def obligation_notice(config: Config, reminder: reminders.Reminder) -> Notice:
    """To the responsible group's providers (the director when the group has none with an
    address); an overdue one goes to the director as well."""
    people = tuple(a for name in reminder.recipients for a in build.provider_email(config, name))
    overdue = reminder.kind == reminders.OVERDUE
    if overdue or not people:
        people += build.director_emails(config)
    o = reminder.occurrence
    title = o.obligation.title
    subject = (f"เลยกำหนดเผยแพร่: {title} / overdue" if overdue
               else f"ใกล้ถึงกำหนดเผยแพร่: {title} / due {o.window.due:%Y-%m-%d}")
    thai_line, english = reminder.line().split(" / ", 1)
    return Notice(Kind.OBLIGATION_OVERDUE if overdue else Kind.OBLIGATION_DUE, reminder.key,
                  subject, (thai_line, f"ครบกำหนด {thai.long_date(o.window.due, digits=False)}",
                            english), tuple(dict.fromkeys(people)),
                  links=desk_link(config, "/staff"))


def publication_notice(config: Config, check: proof.Check) -> Notice:
    key = f"{Kind.PUBLICATION_CHANGED}:{check.request_id}:{check.url}:{check.verdict}"
    return Notice(
        Kind.PUBLICATION_CHANGED, key,
        f"หน้าที่เผยแพร่ {check.request_id} {check.verdict.thai} / published page "
        f"{check.verdict}",
        (f"ตรวจที่อยู่ที่เผยแพร่ {check.url} ของคำขอเลขที่ {check.request_id} แล้ว: "
         f"{check.verdict.thai}",
         "ตรวจหน้าเว็บไซต์ แล้วนำไฟล์ที่ลงนามขึ้นใหม่ หรือบันทึกที่อยู่ใหม่ด้วย `pipeline published`",
         f"{check.url} ({check.request_id}): {check.detail}"),
        build.webmaster_emails(config), check.request_id, str(check.verdict),
        links=desk_link(config, "/webmaster"))


def obligations(config: Config, journal: Journal, now: datetime) -> int:
    """Queue the obligation reminders of ``now``'s day (Bangkok)."""
    if not config.obligations.items:
        return 0
    today = now.astimezone(thai.BANGKOK).date()
    due = reminders.due_reminders(config.obligations, config.work_groups,
                                  index.gather(config.workspace), today)
    return sum(enqueue(journal, config, obligation_notice(config, r), now) for r in due)


def publications(config: Config, journal: Journal, now: datetime) -> int:
    """Check every recorded publication once a day (:func:`proof.check_daily`) and queue a
    notice for each address gone or changed."""
    checks = proof.check_daily(config, now=now)
    if checks is None:  # today's check is done
        return 0
    return sum(enqueue(journal, config, publication_notice(config, c), now)
               for c in proof.problems(checks))
