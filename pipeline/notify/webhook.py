"""Notices as a JSON POST to ``[notify.webhook] url`` (for a chat bridge or an e-Saraban
system): event, request ID, status, subject, links; signed with
``X-Pipeline-Signature: sha256=<HMAC-SHA256 of the body>`` under the key from ``secret_env``.
The receiver recognises a resend by ``key`` (``X-Pipeline-Delivery``)."""

from __future__ import annotations

import hashlib
import hmac
import json

import requests

from pipeline.notify.events import Notice
from pipeline.notify.mail import SendError
from pipeline.settings.notify import NotifySettings


def body(notice: Notice) -> bytes:
    return json.dumps({"event": notice.kind, "key": notice.key,
                       "request_id": notice.request_id, "status": notice.status,
                       "subject": notice.subject, "links": list(notice.links)},
                      ensure_ascii=False).encode("utf-8")


def signature(secret: bytes, data: bytes) -> str:
    return "sha256=" + hmac.new(secret, data, hashlib.sha256).hexdigest()


def post_json(url: str, data: bytes, headers: dict[str, str], timeout: float,
              accepted: tuple[int, ...] = ()) -> None:
    """One bounded POST, redirects not followed; anything but 2xx (or ``accepted``) is a
    :class:`SendError`."""
    try:
        answer = requests.post(url, data=data, timeout=timeout, allow_redirects=False,
                               headers={"Content-Type": "application/json; charset=utf-8",
                                        **headers})
    except requests.RequestException as exc:
        raise SendError("unreachable", f"ติดต่อ {url} ไม่ได้ / {url} not reachable: "
                                       f"{type(exc).__name__}") from None
    if not 200 <= answer.status_code < 300 and answer.status_code not in accepted:
        raise SendError("refused", f"{url} ตอบ / answered HTTP {answer.status_code}")


def send(settings: NotifySettings, notice: Notice) -> None:
    hook = settings.webhook
    assert hook is not None
    secret = hook.secret()  # MissingSecret: recorded by the sender, tried again later
    data = body(notice)
    post_json(hook.url, data, {"X-Pipeline-Signature": signature(secret, data),
                               "X-Pipeline-Event": notice.kind,
                               "X-Pipeline-Delivery": notice.message_id},
              settings.smtp_timeout)
