"""Every word the desk shows, in Thai and in English: Thai by default, English by a switch on
every page (a cookie, no account setting needed). Templates call ``t("key")``; a key with
no entry is a programming error, caught by the tests that render every page."""

from __future__ import annotations

from typing import Literal

Language = Literal["th", "en"]
LANGUAGES: tuple[Language, ...] = ("th", "en")

LABELS: dict[str, tuple[str, str]] = {
    "desk": ("โต๊ะงานเผยแพร่ข้อมูล", "Publication desk"),
    "language": ("English", "ภาษาไทย"),
    "signin": ("เข้าสู่ระบบ", "Sign in"),
    "signout": ("ออกจากระบบ", "Sign out"),
    "login": ("ชื่อผู้ใช้", "Login"),
    "password": ("รหัสผ่าน", "Password"),
    "code": ("รหัสยืนยัน 6 หลักจากแอป (ถ้ามี)", "6-digit code from the app (if set up)"),
    "signin_failed": ("เข้าสู่ระบบไม่สำเร็จ: ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง",
                      "Sign-in failed: the login or the password is wrong"),
    "signin_wait": ("พยายามเข้าสู่ระบบผิดหลายครั้ง ลองใหม่ได้เมื่อ",
                    "Too many failed sign-ins; try again at"),
    "signin_code": ("บัญชีนี้ต้องใช้รหัสยืนยันจากแอป", "This account needs the code from its app"),
    "queue": ("คำขอรออนุมัติ", "Waiting for approval"),
    "queue_empty": ("ไม่มีคำขอรออนุมัติ", "Nothing is waiting for approval"),
    "id": ("เลขที่คำขอ", "Request ID"),
    "title": ("เรื่อง", "Title"),
    "work_group": ("กลุ่มงาน", "Work group"),
    "category": ("หมวดข้อมูล", "Category"),
    "provider": ("ผู้ให้ข้อมูล", "Provider"),
    "request_date": ("วันที่ขอ", "Request date"),
    "details": ("รายละเอียด", "Details"),
    "attachments": ("ไฟล์แนบ", "Attachments"),
    "no_attachments": ("ไม่มีไฟล์แนบ", "No attachments"),
    "waited": ("รอมาแล้ว", "Waiting for"),
    "since": ("ตั้งแต่", "since"),
    "days": ("วัน", "days"),
    "hours": ("ชั่วโมง", "hours"),
    "minutes": ("นาที", "minutes"),
    "form": ("แบบฟอร์มที่ผู้ให้ข้อมูลลงนามแล้ว", "The form as signed by the provider"),
    "download_pdf": ("ดาวน์โหลด PDF", "Download the PDF"),
    "page": ("หน้า", "Page"),
    "provider_signature": ("ลายมือชื่อของผู้ให้ข้อมูล", "The provider's signature"),
    "approve": ("อนุมัติและลงนาม", "Approve and sign"),
    "approve_selected": ("อนุมัติและลงนามรายการที่เลือก", "Approve and sign the selected"),
    "reject": ("ไม่อนุมัติ", "Do not approve"),
    "reason": ("เหตุผลที่ไม่อนุมัติ (ผู้ให้ข้อมูลจะได้อ่าน)",
               "Why it is not approved (the provider reads it)"),
    "secret": ("รหัสผ่านของกุญแจลงนาม หรือ PIN ของโทเคน (ใช้ครั้งนี้เท่านั้น ไม่มีการเก็บไว้)",
               "The signing key's passphrase or the token's PIN (used for this action only, "
               "never kept)"),
    "signing": ("กำลังลงนาม", "Signing"),
    "done_of": ("เสร็จแล้ว", "done of"),
    "finished": ("เสร็จสิ้น", "Finished"),
    "archived": ("จัดเก็บแล้ว", "archived"),
    "held": ("พักไว้", "held"),
    "rejected": ("ส่งคืนผู้ให้ข้อมูลแล้ว", "returned to the provider"),
    "back_to_queue": ("กลับไปที่รายการรออนุมัติ", "Back to the queue"),
    "not_waiting": ("คำขอนี้ไม่ได้รออนุมัติแล้ว", "This request is no longer waiting"),
    "forbidden": ("ไม่มีสิทธิ์ทำรายการนี้", "You may not do this"),
    "not_found": ("ไม่พบหน้าที่ต้องการ", "There is no such page"),
    "expired": ("หมดเวลาการใช้งาน กรุณาเข้าสู่ระบบใหม่", "Your session ended; sign in again"),
    "too_large": ("ไฟล์ใหญ่เกินกำหนด", "The upload is too large"),
    "bad_form": ("แบบฟอร์มไม่ถูกต้อง กรุณาเปิดหน้านี้ใหม่แล้วลองอีกครั้ง",
                 "The form was not accepted; reload the page and try again"),
}


def label(key: str, language: Language) -> str:
    thai, english = LABELS[key]
    return thai if language == "th" else english
