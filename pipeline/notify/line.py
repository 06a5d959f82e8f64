"""Notices pushed to LINE through the Messaging API (LINE Notify ended in March 2025):
``POST {api_base}/v2/bot/message/push`` with the channel access token as a Bearer token, the
group or user ``to`` and the notice as text messages. ``X-Line-Retry-Key`` is the same at
every send of a notice, so LINE itself drops a resend after a crash (answering 409, which
means it was delivered)."""

from __future__ import annotations

import json
import uuid

from pipeline.notify.events import Notice
from pipeline.notify.webhook import post_json
from pipeline.settings.notify import NotifySettings

MAX_TEXT = 5000  # characters of one text message (the Messaging API's limit)


def push_body(to: str, notice: Notice) -> dict:
    text = "\n".join([notice.subject, "", notice.text])
    return {"to": to, "messages": [{"type": "text", "text": text[:MAX_TEXT]}]}


def send(settings: NotifySettings, notice: Notice) -> None:
    line = settings.line
    assert line is not None
    token = line.token()  # MissingSecret: recorded by the sender, tried again later
    data = json.dumps(push_body(line.to, notice), ensure_ascii=False).encode("utf-8")
    retry_key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"pipeline-notice:{notice.key}"))
    post_json(f"{line.api_base}/v2/bot/message/push", data,
              {"Authorization": f"Bearer {token}", "X-Line-Retry-Key": retry_key},
              settings.smtp_timeout, accepted=(409,))  # 409: this retry key was accepted
