"""Notices by e-mail (smtplib): STARTTLS, implicit TLS or plain, with a login when
``smtp_user`` is set; the password only from ``smtp_password_env``. Every exchange is bounded
by ``smtp_timeout``. A failure is told as a :class:`SendError`: host not reachable, TLS,
login refused, recipient refused, in Thai then English, with no secret in it."""

from __future__ import annotations

import mimetypes
import re
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from pipeline.notify.events import Notice
from pipeline.settings.notify import MissingSecret, NotifySettings

_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


class SendError(Exception):
    """A notice could not be handed over; ``kind`` is unreachable, tls, login, refused,
    config or other."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind


def message(settings: NotifySettings, notice: Notice) -> EmailMessage:
    """Thai subject and body (plain text plus HTML), the files attached, and a Message-ID
    that is the same at every send of this notice."""
    msg = EmailMessage()
    # one line: a file name or title with a line break must not forge a header
    msg["Subject"] = _CONTROL.sub(" ", notice.subject)
    msg["From"] = settings.sender
    msg["To"] = ", ".join(notice.recipients)
    msg["Date"] = formatdate(localtime=False)
    domain = settings.sender.rsplit("@", 1)[-1]
    msg["Message-ID"] = f"<{notice.message_id}@{domain}>"
    msg.set_content(notice.text, charset="utf-8")
    msg.add_alternative(notice.html, subtype="html", charset="utf-8")
    for path in notice.attachments:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = kind.split("/", 1)
        # the pipeline writes its reports in UTF-8; the bytes go as they are (base64)
        params = {"charset": "utf-8"} if maintype == "text" else {}
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype,
                           filename=path.name, params=params)
    return msg


def _tls(settings: NotifySettings) -> ssl.SSLContext:
    """Certificates checked, against the office's CA (``smtp_cafile``) or the system's."""
    return ssl.create_default_context(cafile=settings.smtp_cafile)


def _connect(settings: NotifySettings) -> smtplib.SMTP:
    """Connected, encrypted as configured and logged in; else a :class:`SendError` saying
    which of these failed."""
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout
    smtp: smtplib.SMTP | None = None
    try:
        if settings.security == "ssl":
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=_tls(settings))
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        if settings.security == "starttls":
            smtp.starttls(context=_tls(settings))
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.password() or "")
    except (OSError, smtplib.SMTPException, MissingSecret) as exc:
        if smtp is not None:
            smtp.close()
        raise _failure(settings, exc, connected=smtp is not None) from None
    return smtp


def _failure(settings: NotifySettings, exc: Exception, *, connected: bool) -> SendError:
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    if isinstance(exc, MissingSecret):
        return SendError("config", f"ยังไม่ได้ตั้งรหัสผ่านอีเมล / {exc}")
    if isinstance(exc, ssl.SSLError | ssl.CertificateError | smtplib.SMTPNotSupportedError):
        return SendError("tls", f"TLS กับเซิร์ฟเวอร์อีเมลไม่สำเร็จ / TLS with {where} failed: "
                                f"{_reason(exc)}")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return SendError("login", f"เซิร์ฟเวอร์อีเมลไม่รับชื่อผู้ใช้หรือรหัสผ่าน / login refused "
                                  f"by {where} for {settings.smtp_user}: {exc.smtp_code}; check "
                                  f"notify.smtp_user and {settings.smtp_password_env}")
    if connected:
        return SendError("unreachable", f"เซิร์ฟเวอร์อีเมลตัดการเชื่อมต่อ / {where} closed the "
                                        f"connection: {_reason(exc)}")
    return SendError("unreachable", f"ติดต่อเซิร์ฟเวอร์อีเมลไม่ได้ / mail server {where} not "
                                    f"reachable: {_reason(exc)}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "no answer in time"
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc)
    return f"{type(exc).__name__}: {exc}"


def send(settings: NotifySettings, notice: Notice) -> None:
    """Hand ``notice`` to the SMTP server; returns once the server accepted it."""
    msg = message(settings, notice)
    smtp = _connect(settings)
    try:
        refused = smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError("refused", f"เซิร์ฟเวอร์ไม่รับผู้รับ / recipients refused: "
                                   f"{', '.join(exc.recipients)}") from None
    except smtplib.SMTPSenderRefused as exc:
        raise SendError("refused", f"เซิร์ฟเวอร์ไม่รับผู้ส่ง / sender {exc.sender!r} refused: "
                                   f"{exc.smtp_code}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError("unreachable", f"ส่งอีเมลไม่สำเร็จ / sending failed: "
                                       f"{_reason(exc)}") from None
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    if refused:
        raise SendError("refused", f"เซิร์ฟเวอร์ไม่รับผู้รับบางราย / some recipients refused: "
                                   f"{', '.join(refused)}")
