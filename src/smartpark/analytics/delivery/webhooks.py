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

import httpx

from smartpark.analytics.alerts import channels as formats
from smartpark.analytics.alerts.delivery import http_client, post
from smartpark.analytics.alerts.rules import Channel
from smartpark.analytics.delivery.content import Content
from smartpark.analytics.delivery.outcome import Outcome


def client() -> httpx.Client:
    return http_client()


def request(
    channel: Channel, content: Content, *, delivery: str, recipient: str, now_ms: int
) -> formats.Request:
    body = content.body | {"delivery": delivery, "recipient": recipient}
    link = (_label(content), content.link) if content.link else None
    return formats.build_text(channel, content.title, content.lines, body, now_ms, link)


def send(http: httpx.Client, channel: Channel, req: formats.Request) -> Outcome:
    ok, reason, retry_after_ms = post(http, channel, req, "smartpark-schedule")
    return Outcome(ok, reason, retry_after_ms=retry_after_ms)


def _label(content: Content) -> str:
    return "在线查看" if content.lang == "zh" else "Open online"
