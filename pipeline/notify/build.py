"""The words of each notice, built where its event happens: for whom, what to do, in Thai
first with one English line. Every builder returns a :class:`Notice`; queue it with
:func:`pipeline.notify.queue.enqueue` (or, inside a state change, pass
:func:`pipeline.notify.events.rows` of it to the journal)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from pipeline.core import thai
from pipeline.core.request import Problem, Request
from pipeline.notify.events import Kind, Notice, desk_link
from pipeline.settings.config import Config

MB = 1 << 20


@dataclass(frozen=True)
class Item:
    """One request in a digest or a reminder: its ID, title and since when it waits."""

    request_id: str
    title: str
    since: datetime


def _when(moment: datetime) -> str:
    return thai.long_datetime(moment, digits=False)


def _email_of(pairs: Sequence[tuple[str, str]], name: str) -> tuple[str, ...]:
    key = thai.name_key(name)
    return tuple(email for who, email in pairs if name and thai.name_key(who) == key)


def provider_email(config: Config, name: str) -> tuple[str, ...]:
    """The address of the registered provider named ``name`` on a sheet (titles aside)."""
    return _email_of(config.notify.provider_emails, name)


def director_emails(config: Config, approver_name: str = "") -> tuple[str, ...]:
    """The director's address, and the acting director's the sheet names as approver."""
    found = (config.notify.director_email,) if config.notify.director_email else ()
    return found + _email_of(config.notify.acting_emails, approver_name)


def _admin(config: Config) -> tuple[str, ...]:
    return config.notify.admin


def webmaster_emails(config: Config) -> tuple[str, ...]:
    return (config.notify.publisher_email,) if config.notify.publisher_email else ()


def awaiting_director(config: Config, request_id: str, request: Request) -> Notice | None:
    """A request waits for the director's approval: told at once, unless a daily digest is
    configured (then None: the digest lists it)."""
    if config.notify.director_digest is not None:
        return None
    return Notice(
        Kind.AWAITING_DIRECTOR, f"{Kind.AWAITING_DIRECTOR}:{request_id}",
        f"คำขอรออนุมัติ {request_id}: {request.title} / waiting for your approval",
        (f"คำขอเลขที่ {request_id} เรื่อง {request.title} รอท่านพิจารณาอนุมัติ",
         f"กลุ่มงาน {request.work_group} ผู้ให้ข้อมูล {request.provider.name}",
         f"อ่านแบบฟอร์มได้ที่ pending/{request_id}.pdf แล้วอนุมัติด้วย "
         f"`pipeline approve {request_id}`",
         f"Request {request_id} waits for your approval: read pending/{request_id}.pdf, then "
         f"approve or reject it."),
        director_emails(config, request.approver.name), request_id, "awaiting-director",
        links=desk_link(config, f"/requests/{request_id}"))


def approved(config: Config, request_id: str, request: Request, bundle: Path) -> Notice:
    """The director approved: the signed PDF attached, or linked when it is too large."""
    pdf = bundle / f"{request_id}.pdf"
    small = pdf.is_file() and pdf.stat().st_size <= config.notify.max_attachment_mb * MB
    where = "แนบแบบฟอร์มที่ลงนามแล้วมากับอีเมลนี้" if small else (
        f"แบบฟอร์มที่ลงนามแล้วอยู่ที่ {pdf}")
    return Notice(
        Kind.APPROVED, f"{Kind.APPROVED}:{request_id}",
        f"อนุมัติแล้ว {request_id}: {request.title} / approved",
        (f"คำขอเลขที่ {request_id} เรื่อง {request.title} ได้รับอนุมัติแล้ว",
         f"{where} ผู้ดูแลเว็บไซต์จะนำขึ้นเผยแพร่ต่อไป",
         f"Request {request_id} was approved; the signed form is "
         f"{'attached' if small else f'at {pdf}'}."),
        provider_email(config, request.provider.name), request_id, "approved",
        attachments=(pdf,) if small else (),
        links=desk_link(config, f"/staff/requests/{request_id}/signed.pdf"))


def rejected_by_director(config: Config, request_id: str, said: dict[str, str],
                         reason: str) -> Notice:
    title = said.get("title", "")
    return Notice(
        Kind.REJECTED_BY_DIRECTOR, f"{Kind.REJECTED_BY_DIRECTOR}:{request_id}",
        f"ไม่อนุมัติ {request_id}: {title} / not approved",
        (f"ผู้อนุมัติพิจารณาคำขอเลขที่ {request_id} เรื่อง {title} แล้ว และไม่อนุมัติ",
         f"เหตุผล: {reason}",
         "แบบคำขอส่งคืนไว้ที่ inbox/rejected/ แก้ไขแล้ววางในโฟลเดอร์ inbox อีกครั้ง",
         f"The director did not approve request {request_id}; reason: {reason}"),
        provider_email(config, said.get("provider_name", "")), request_id, "rejected",
        links=desk_link(config, "/staff"))


def refused_at_intake(config: Config, request_id: str, source_name: str,
                      problems: Sequence[Problem], said: dict[str, str],
                      files: Sequence[Path]) -> Notice:
    """A sheet the pipeline could not take: the problems, the report and the highlighted
    copy attached (``files``: those that exist)."""
    shown = [f"{i}. {p.thai_line()}" for i, p in enumerate(problems[:20], start=1)]
    return Notice(
        Kind.REFUSED_AT_INTAKE, f"{Kind.REFUSED_AT_INTAKE}:{request_id}",
        f"ส่งกลับแก้ไข {request_id}: {source_name} / returned for correction",
        (f"แบบคำขอ {source_name} (เลขที่ {request_id}) ยังไม่ได้ดำเนินการ เพราะพบปัญหา "
         f"{len(problems)} ข้อ:", *shown,
         "แก้ไขตามไฟล์ที่แนบ (ช่องที่ต้องแก้เป็นสีแดง) แล้ววางในโฟลเดอร์ inbox อีกครั้ง",
         f"Sheet {source_name} ({request_id}) was returned: {len(problems)} problem(s); fix "
         f"the highlighted cells in the attached copy and drop it into the inbox again."),
        provider_email(config, said.get("provider_name", "")), request_id, "rejected",
        attachments=tuple(f for f in files if f.is_file()), links=desk_link(config, "/staff"))


def _listed(items: Sequence[Item]) -> tuple[str, ...]:
    return tuple(f"- {i.request_id} {i.title} (ตั้งแต่ {_when(i.since)})" for i in items)


def _digest(kind: Kind, day: date, subject: str, intro: str, items: Sequence[Item],
            how: tuple[str, str], recipients: tuple[str, ...], status: str,
            page: str, config: Config) -> Notice:
    """A day's list: ``intro`` and the items in Thai, ``how`` (Thai, English) says what to do."""
    return Notice(kind, f"{kind}:{day.isoformat()}", subject,
                  (f"ประจำวันที่ {thai.long_date(day, digits=False)} {intro} {len(items)} รายการ:",
                   *_listed(items), *how),
                  recipients, status=status, links=desk_link(config, page))


def director_digest(config: Config, day: date, items: Sequence[Item]) -> Notice:
    n = len(items)
    return _digest(Kind.DIRECTOR_DIGEST, day,
                   f"คำขอรออนุมัติ {n} รายการ / {n} waiting for your approval",
                   "มีคำขอรอท่านพิจารณาอนุมัติ", items,
                   ("อนุมัติด้วย `pipeline approve` หรือส่งคืนด้วย `pipeline reject`",
                    f"{n} request(s) wait for your approval: `pipeline pending` lists them."),
                   director_emails(config), "awaiting-director", "/director", config)


def _reminder(kind: Kind, item: Item, period: int, subject: str, lines: tuple[str, str],
              recipients: tuple[str, ...], status: str, config: Config) -> Notice:
    """One reminder per request and period (the ``period``-th time its threshold passed)."""
    return Notice(kind, f"{kind}:{item.request_id}:{period}", subject, lines, recipients,
                  item.request_id, status,
                  links=desk_link(config, f"/requests/{item.request_id}"))


def director_reminder(config: Config, item: Item, period: int) -> Notice:
    days = config.notify.director_days * period
    return _reminder(
        Kind.DIRECTOR_REMINDER, item, period,
        f"เตือน: คำขอ {item.request_id} รออนุมัติเกิน {days} วัน / waiting over {days} days",
        (f"คำขอเลขที่ {item.request_id} เรื่อง {item.title} รอท่านพิจารณาตั้งแต่ "
         f"{_when(item.since)} เกิน {days} วันแล้ว",
         f"Reminder: request {item.request_id} has waited for your approval over {days} days."),
        director_emails(config), "awaiting-director", config)


def webmaster_digest(config: Config, day: date, items: Sequence[Item]) -> Notice:
    n = len(items)
    return _digest(Kind.WEBMASTER_DIGEST, day,
                   f"รายการรอนำขึ้นเว็บไซต์ {n} รายการ / {n} waiting for upload",
                   "มีรายการที่อนุมัติแล้วรอนำขึ้นเว็บไซต์", items,
                   ("รวบรวมไฟล์ด้วย `pipeline collect DIR` และบันทึกการเผยแพร่ด้วย "
                    "`pipeline published`",
                    f"{n} approved item(s) wait for upload: `pipeline collect DIR` gathers them."),
                   webmaster_emails(config), "approved", "/webmaster", config)


def webmaster_reminder(config: Config, item: Item, period: int) -> Notice:
    days = config.notify.webmaster_days * period
    return _reminder(
        Kind.WEBMASTER_REMINDER, item, period,
        f"เตือน: {item.request_id} อนุมัติแล้วเกิน {days} วันยังไม่เผยแพร่ / not published",
        (f"คำขอเลขที่ {item.request_id} เรื่อง {item.title} อนุมัติเมื่อ {_when(item.since)} "
         f"เกิน {days} วันแล้ว ยังไม่ได้บันทึกการเผยแพร่",
         f"Reminder: {item.request_id} was approved over {days} days ago and is not "
         f"recorded as published."),
        webmaster_emails(config), "approved", config)


def held(config: Config, request_id: str, state: str, since: datetime, message: str) -> Notice:
    return Notice(
        Kind.HELD, f"{Kind.HELD}:{request_id}:{since.isoformat()}",
        f"คำขอ {request_id} ค้างอยู่ / held since {_when(since)}",
        (f"คำขอเลขที่ {request_id} ค้างในขั้น {state} ตั้งแต่ {_when(since)}",
         f"สาเหตุ: {message}", "ตรวจสอบด้วย `pipeline status` แล้วแก้ไขสาเหตุ",
         f"Request {request_id} has been held in {state} since {_when(since)}: {message}"),
        _admin(config), request_id, state, links=desk_link(config, "/admin"))


def timestamps_due(config: Config, week: str, due: Sequence[tuple[str, datetime]]) -> Notice:
    days = config.notify.timestamps_days
    return Notice(
        Kind.TIMESTAMPS_DUE, f"{Kind.TIMESTAMPS_DUE}:{week}",
        f"ต้องต่ออายุการประทับเวลา {len(due)} รายการ / timestamps to refresh",
        (f"ไฟล์ลงนาม {len(due)} รายการ มีการประทับเวลาที่จะหมดอายุภายใน {days} วัน:",
         *(f"- {request_id} หมดอายุ {_when(expires)}" for request_id, expires in due),
         f"ต่ออายุด้วย `pipeline refresh-timestamps --within {days}`",
         f"{len(due)} bundle(s) have timestamps expiring within {days} days: run "
         f"`pipeline refresh-timestamps`."),
        _admin(config), links=desk_link(config, "/admin"))


def disk_full(config: Config, day: date, percent: float, where: Path) -> Notice:
    return Notice(
        Kind.DISK_FULL, f"{Kind.DISK_FULL}:{day.isoformat()}",
        f"ดิสก์ใกล้เต็ม {percent:.0f}% / disk {percent:.0f}% full",
        (f"ดิสก์ของ {where} ใช้ไปแล้ว {percent:.0f}% (เกิน {config.notify.disk_percent}%) "
         f"กรุณาเพิ่มพื้นที่",
         f"The disk of {where} is {percent:.0f}% full: free some space."),
        _admin(config), links=desk_link(config, "/admin"))


def test(address: str, now: datetime) -> Notice:
    return Notice(
        Kind.TEST, f"{Kind.TEST}:{address}:{now.isoformat()}",
        "ทดสอบการแจ้งเตือน / pipeline test message",
        (f"ข้อความทดสอบจากระบบขออนุมัติเผยแพร่ข้อมูล ส่งเมื่อ {_when(now)}",
         "If you read this, the pipeline can send you notices."), (address,))
