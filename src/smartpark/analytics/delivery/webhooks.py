"""Webhooks: a delivery as a message to a ``[channel.ID]``, in the channel kind's format
(:func:`smartpark.analytics.alerts.channels.build_text`), sent as alerts are.

Chat robots (DingTalk, WeCom, Feishu, Slack) get a markdown or text message: the
content's title, its schedule's link for the period (when the schedule has one) and its
chat lines; they get no attachment. The generic ``webhook`` gets the content's JSON plus
``delivery`` (``schedule/period/recipient``, the same on a resend, to deduplicate on)
and ``recipient``, signed with the channel's secret (docs/alerts.md). A 2xx, and for
chat robots a zero error code in the answer, is acceptance.
"""

from __future__ import annotations

import logging

import httpx

from smartpark.analytics.alerts import channels as formats
from smartpark.analytics.alerts.delivery import BACKOFF_MAX_MS
from smartpark.analytics.alerts.rules import Channel
from smartpark.analytics.delivery.content import Content
from smartpark.analytics.delivery.outcome import Outcome


def client() -> httpx.Client:
    # httpx logs every request URL at INFO; robot keys live in those URLs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return httpx.Client(follow_redirects=False)


def request(
    channel: Channel, content: Content, *, delivery: str, recipient: str, now_ms: int
) -> formats.Request:
    body = content.body | {"delivery": delivery, "recipient": recipient}
    link = (_label(content), content.link) if content.link else None
    return formats.build_text(channel, content.title, content.lines, body, now_ms, link)


def send(http: httpx.Client, channel: Channel, req: formats.Request) -> Outcome:
    try:
        response = http.post(
            req.url,
            content=req.body,
            headers=req.headers | {"User-Agent": "smartpark-schedule"},
            timeout=channel.timeout_s,
        )
    except httpx.TimeoutException:
        return Outcome(False, "timeout")
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        # The exception text may quote the URL (and with it a robot key): keep the type.
        return Outcome(False, f"transport_error: {type(exc).__name__}")
    ok, reason = formats.accepted(channel, response.status_code, response.content)
    retry_after = 0
    if response.status_code == 429:
        value = response.headers.get("Retry-After", "")
        retry_after = int(value) * 1000 if value.isdigit() else 0
    return Outcome(ok, reason, retry_after_ms=min(retry_after, BACKOFF_MAX_MS))


def _label(content: Content) -> str:
    return "在线查看" if content.lang == "zh" else "Open online"
