"""Message formats per channel kind: the HTTP request to send and how to read the answer.

* ``webhook``: smartpark's JSON body (docs/alerts.md), signed with ``X-Smartpark-*`` headers.
  One alert → the alert object; several alerts of one rule, state and park → a group
  object (same fields, ``scope``/``id`` of the park (of the zone for zone alerts),
  ``value`` = number of alerts,
  ``unit`` = ``"alerts"``) with the alert objects under ``alerts``.
* ``dingtalk``: custom robot, ``msgtype = markdown``; with a secret, the signed-robot
  ``timestamp`` (ms) and ``sign`` query parameters. Success is ``errcode == 0``.
* ``wecom``: group robot, ``msgtype = markdown`` (content at most 4096 bytes); the key
  is in the URL. Success is ``errcode == 0``.
* ``feishu``: custom bot, ``msg_type = text``; with a secret, ``timestamp`` (s) and
  ``sign`` in the body. Success is ``code == 0`` (older bots: ``StatusCode == 0``).
* ``slack``: incoming webhook, ``{"text": ...}`` in mrkdwn. Success is HTTP 200.

Chat robots answer HTTP 200 even when they refuse a message, so the answer's body is
checked, not only the status.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Final

from smartpark.analytics.alerts import signing
from smartpark.analytics.alerts.rules import Channel

# The generic webhook body fields, in docs/alerts.md order.
BODY_FIELDS: Final = (
    "rule",
    "state",
    "severity",
    "scope",
    "id",
    "value",
    "threshold",
    "unit",
    "starts_at",
    "ends_at",
    "fingerprint",
)
MAX_LINES: Final = 20  # alerts listed in one chat message; the rest are counted
WECOM_MAX_BYTES: Final = 4096


@dataclass(frozen=True, slots=True)
class Request:
    url: str = field(repr=False)
    headers: dict[str, str]
    body: bytes


def public(event: dict[str, Any]) -> dict[str, Any]:
    """The docs/alerts.md fields of an event (internal keys such as ``park`` dropped),
    then the fields of its rule kind (``detail``: a dual-control alert's year, budget,
    projection, method and gap)."""
    detail: dict[str, Any] = event.get("detail", {})
    return {k: event.get(k) for k in BODY_FIELDS} | detail


def webhook_body(events: list[dict[str, Any]], group_fingerprint: str) -> dict[str, Any]:
    if len(events) == 1:
        return public(events[0])
    first = events[0]
    values = [e["value"] for e in events if isinstance(e.get("value"), int | float)]
    ends = [e["ends_at"] for e in events if e.get("ends_at")]
    return {
        "rule": first["rule"],
        "state": first["state"],
        "severity": first["severity"],
        "scope": "zone" if first["scope"] == "zone" else "park",
        "id": first.get("park") or "",
        "value": len(events),
        "threshold": None,
        "unit": "alerts",
        "starts_at": min(e["starts_at"] for e in events),
        "ends_at": max(ends) if len(ends) == len(events) else None,
        "fingerprint": group_fingerprint,
        "max_value": max(values) if values else None,
        "alerts": [public(e) for e in events],
    }


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def summary(events: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """A title and one line per alert (at most ``MAX_LINES``, then a count)."""
    first = events[0]
    where = first.get("park") or first["id"]
    state = str(first["state"]).upper()
    count = f" ({len(events)} alerts)" if len(events) > 1 else ""
    title = f"[{state}] {first['severity']} {first['rule']}: {where}{count}"
    lines = []
    for e in events[:MAX_LINES]:
        unit = f" {e['unit']}" if e.get("unit") else ""
        threshold = (
            f" (threshold {_number(e.get('threshold'))})" if e.get("threshold") is not None else ""
        )
        when = "".join(f"{k} {_number(v)}, " for k, v in e.get("detail", {}).items())
        when += f"since {e['starts_at']}"
        if e.get("ends_at"):
            when += f", ended {e['ends_at']}"
        lines.append(f"{e['scope']} {e['id']}: {_number(e.get('value'))}{unit}{threshold}, {when}")
    if len(events) > MAX_LINES:
        lines.append(f"... and {len(events) - MAX_LINES} more")
    return title, lines


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def build(
    channel: Channel, events: list[dict[str, Any]], group_fingerprint: str, now_ms: int
) -> Request:
    """The request that delivers ``events`` (one alert or one group) to ``channel``."""
    title, lines = summary(events)
    return build_text(channel, title, lines, webhook_body(events, group_fingerprint), now_ms)


def build_text(
    channel: Channel,
    title: str,
    lines: list[str],
    body: dict[str, Any],
    now_ms: int,
    link: tuple[str, str] | None = None,
) -> Request:
    """A message of ``title`` and ``lines`` to ``channel``, as its kind takes it: a chat
    robot gets its markdown (or text) message, with ``link`` (label, URL) as a link right
    under the title; a ``webhook`` gets ``body`` as signed JSON (the caller puts any link
    in it). Alerts (:func:`build`) and scheduled deliveries (``analytics.delivery``)
    both send through here."""
    if channel.url is None:
        raise ValueError(f"channel {channel.id}: URL not resolved")
    json_headers = {"Content-Type": "application/json; charset=utf-8"}
    if channel.kind == "webhook":
        if channel.secret is None:
            raise ValueError(f"channel {channel.id}: a webhook needs a secret")
        data = _json(body)
        headers = json_headers | signing.headers(channel.secret, now_ms // 1000, data)
        return Request(channel.url, headers, data)
    if channel.kind == "dingtalk":
        text = f"### {title}\n\n"
        if link is not None:
            text += f"[{link[0]}]({link[1]})\n\n"
        text += "\n".join(f"- {line}" for line in lines)
        data = _json({"msgtype": "markdown", "markdown": {"title": title, "text": text}})
        url = channel.url
        if channel.secret:
            sign = signing.dingtalk_sign(channel.secret, now_ms)
            query = urllib.parse.urlencode({"timestamp": str(now_ms), "sign": sign})
            url += ("&" if "?" in url else "?") + query
        return Request(url, json_headers, data)
    if channel.kind == "wecom":
        text = f"**{title}**\n"
        if link is not None:
            text += f"[{link[0]}]({link[1]})\n"
        text += "\n".join(f"> {line}" for line in lines)
        encoded = text.encode("utf-8")
        if len(encoded) > WECOM_MAX_BYTES:
            text = encoded[: WECOM_MAX_BYTES - 4].decode("utf-8", "ignore") + "\n..."
        return Request(
            channel.url, json_headers, _json({"msgtype": "markdown", "markdown": {"content": text}})
        )
    if channel.kind == "feishu":
        head = [title, f"{link[0]}: {link[1]}"] if link is not None else [title]
        payload: dict[str, Any] = {
            "msg_type": "text",
            "content": {"text": "\n".join([*head, *lines])},
        }
        if channel.secret:
            ts = now_ms // 1000
            payload = {
                "timestamp": str(ts),
                "sign": signing.feishu_sign(channel.secret, ts),
            } | payload
        return Request(channel.url, json_headers, _json(payload))
    # slack
    text = f"*{title}*\n"
    if link is not None:
        text += f"<{link[1]}|{link[0]}>\n"
    text += "\n".join(f"• {line}" for line in lines)
    return Request(channel.url, json_headers, _json({"text": text}))


def accepted(channel: Channel, status: int, body: bytes) -> tuple[bool, str]:
    """Whether the receiver took the message, and a short reason when it did not."""
    if not 200 <= status < 300:
        return False, f"http_{status}"
    if channel.kind not in ("dingtalk", "wecom", "feishu"):
        return True, "ok"
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return False, "unreadable_answer"
    if not isinstance(answer, dict):
        return False, "unreadable_answer"
    if channel.kind == "feishu":
        code = answer.get("code", answer.get("StatusCode", 0))
        message = answer.get("msg", answer.get("StatusMessage", ""))
    else:
        code = answer.get("errcode", 0)
        message = answer.get("errmsg", "")
    if code in (0, None):
        return True, "ok"
    return False, f"{channel.kind}_error_{code}: {str(message)[:120]}"
