"""Delivery from the durable outbox: per-channel FIFO, retries with backoff, dead letters.

For each channel, the oldest pending message is tried first; while it is failing (or
waiting for its backoff), later messages of that channel wait behind it, so a receiver
sees firing before resolved and a dead receiver is not hammered. A 2xx (and, for chat
robots, ``errcode == 0``) marks the message delivered and records each of its alerts in
``sent``: that fingerprint and state is never sent to the channel again. Anything else
schedules a retry ``backoff(attempts)`` later; after the channel's ``max_attempts`` the
message becomes dead with its last reason, and the next message moves up.

A channel also gets at most ``rate_per_minute`` attempts per minute; the rest wait.
"""

from __future__ import annotations

import logging
import random
import sys
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final, TextIO

import httpx

from smartpark.analytics.alerts import channels as formats
from smartpark.analytics.alerts.rules import Channel
from smartpark.analytics.alerts.state import AlertState, OutboxMessage
from smartpark.core.logs import get_logger

BACKOFF_BASE_MS: Final = 5_000
BACKOFF_MAX_MS: Final = 15 * 60_000

log = get_logger("analytics.alerts.delivery")


def backoff_ms(attempts: int, rng: random.Random | None = None) -> int:
    """Delay before retry number ``attempts`` (1-based): 5 s doubling to 15 min, ±20 %."""
    base = min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** max(0, attempts - 1))
    jitter = (rng or random).uniform(0.8, 1.2)
    return int(base * jitter)


def http_client() -> httpx.Client:
    """The HTTP client of webhook deliveries (alerts, ``smartpark schedule``): no
    redirects, and httpx's request log (every URL, at INFO) silenced: robot keys live
    in those URLs."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return httpx.Client(follow_redirects=False)


def post(
    client: httpx.Client, channel: Channel, request: formats.Request, user_agent: str
) -> tuple[bool, str, int]:
    """Send ``request`` to ``channel``: (accepted, reason, the ms a 429 asked to wait).
    A reason never quotes the URL (nor with it a robot key)."""
    try:
        response = client.post(
            request.url,
            content=request.body,
            headers=request.headers | {"User-Agent": user_agent},
            timeout=channel.timeout_s,
        )
    except httpx.TimeoutException:
        return False, "timeout", 0
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        # The exception text may quote the URL (and with it a robot key): keep the type.
        return False, f"transport_error: {type(exc).__name__}", 0
    ok, reason = formats.accepted(channel, response.status_code, response.content)
    retry_after = 0
    if response.status_code == 429:
        value = response.headers.get("Retry-After", "")
        retry_after = int(value) * 1000 if value.isdigit() else 0
    return ok, reason, min(retry_after, BACKOFF_MAX_MS)


def group_fingerprint(message: OutboxMessage) -> str:
    if len(message.events) == 1:
        return str(message.events[0]["fingerprint"])
    return f"group-{message.channel}-{message.id}"


def redact(url: str) -> str:
    """Scheme, host and path only: robot keys live in query strings and Slack paths."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    waiting: int = 0  # left pending: backoff not elapsed, rate limit, or behind a failure

    def __str__(self) -> str:
        return (
            f"delivered={self.delivered} failed={self.failed} dead={self.dead} "
            f"waiting={self.waiting}"
        )


class Deliverer:
    """Sends due outbox messages over HTTP (or prints them when ``dry_run``)."""

    def __init__(
        self,
        state: AlertState,
        channels: Mapping[str, Channel],
        *,
        client: httpx.Client | None = None,
        dry_run: bool = False,
        out: TextIO | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.state = state
        self.channels = channels
        self.client = client or http_client()
        self.dry_run = dry_run
        self.out = out or sys.stdout
        self.rng = rng or random.Random()

    def close(self) -> None:
        self.client.close()

    def deliver_due(self, now_ms: int) -> DeliveryReport:
        report = DeliveryReport()
        blocked: set[str] = set()
        for message in self.state.pending():
            channel = self.channels.get(message.channel)
            if channel is None:
                self.state.mark_failed(
                    message, now_ms, "channel no longer in the rules file", now_ms, dead=True
                )
                report.dead += 1
                continue
            if message.channel in blocked or message.next_ms > now_ms:
                blocked.add(message.channel)
                report.waiting += 1
                continue
            if self.state.attempts_since(channel.id, now_ms - 60_000) >= channel.rate_per_minute:
                blocked.add(message.channel)
                report.waiting += 1
                continue
            message = self.state.drop_sent_members(message)
            if not message.events:
                self.state.mark_delivered(message, now_ms)
                continue
            if self.dry_run:
                # Secrets stay unresolved in a dry run: show the shape, not a usable signature.
                channel = replace(
                    channel,
                    url=channel.url or "https://unresolved.invalid/",
                    secret=channel.secret or ("unresolved" if channel.kind == "webhook" else None),
                )
            request = formats.build(channel, message.events, group_fingerprint(message), now_ms)
            if self.dry_run:
                self._print(channel, message, request)
                continue
            ok, reason, retry_after_ms = self._send(channel, request)
            if ok:
                self.state.mark_delivered(message, now_ms)
                report.delivered += 1
                log.info(
                    "alert_delivered",
                    channel=channel.id,
                    message=message.id,
                    alerts=len(message.events),
                    attempts=message.attempts + 1,
                )
                continue
            attempts = message.attempts + 1
            dead = attempts >= channel.max_attempts
            delay = max(backoff_ms(attempts, self.rng), retry_after_ms)
            self.state.mark_failed(message, now_ms, reason, now_ms + delay, dead=dead)
            if dead:
                report.dead += 1
                log.error(
                    "alert_dead_lettered",
                    channel=channel.id,
                    message=message.id,
                    attempts=attempts,
                    reason=reason,
                )
            else:
                report.failed += 1
                blocked.add(channel.id)
                log.warning(
                    "alert_delivery_failed",
                    channel=channel.id,
                    message=message.id,
                    attempts=attempts,
                    reason=reason,
                    retry_in_s=round(delay / 1000, 1),
                )
        return report

    def next_due_ms(self) -> int | None:
        pending = self.state.pending()
        return min((m.next_ms for m in pending), default=None)

    def _send(self, channel: Channel, request: formats.Request) -> tuple[bool, str, int]:
        return post(self.client, channel, request, "smartpark-alerts")

    def _print(self, channel: Channel, message: OutboxMessage, request: formats.Request) -> None:
        print(
            f"--- would POST to channel {channel.id} ({channel.kind}) "
            f"{redact(request.url)}: {len(message.events)} alert(s)",
            file=self.out,
        )
        for name, value in request.headers.items():
            print(f"{name}: {value}", file=self.out)
        print(request.body.decode("utf-8"), file=self.out)
