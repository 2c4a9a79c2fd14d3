"""Publish the outbox over MQTT (paho-mqtt 2.x, QoS 1) and delete what the broker acknowledged.

The publisher reads the outbox oldest-first in id ranges, encodes each range as one
contract payload (:func:`smartpark.core.contract.encode`, at most ``batch_max`` readings, or
fewer after ``batch_ms``) and keeps at most ``max_inflight`` messages unacknowledged. The
PUBACK of a message deletes exactly its id range from the outbox.

Threads: paho's network loop runs in its own thread (``loop_start``); its callbacks only
hand events to the asyncio loop with ``call_soon_threadsafe``. Every outbox access happens
on the event-loop thread, which owns the SQLite connection.

Connections: one fresh paho client per connection (clean session, Last Will ``offline``
retained on ``.../status``, ``online`` retained after CONNACK). When it drops, everything
not yet acknowledged is still in the outbox and is sent again on the next connection (the
at-least-once of QoS 1, no more). Reconnects wait an exponential backoff with jitter.

After an outage the readings queued before the reconnect form the *backlog*, drained
oldest-first at ``drain_rate`` readings/s, while readings polled after the reconnect go
out at once in the *live* lane (``live_during_drain``, the default). Each lane keeps its
own order; with ``live_during_drain = false`` there is one lane, strictly oldest-first,
rate-limited as a whole (``drain_rate`` must then exceed the polling rate).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from smartpark.core import topics
from smartpark.core.contract import MAX_PAYLOAD_BYTES, encode
from smartpark.core.errors import ConnectFailedError
from smartpark.core.logs import get_logger
from smartpark.core.mqtt import MqttOptions
from smartpark.core.timestamps import now_ms
from smartpark.gateway.outbox import Outbox

log = get_logger(__name__)

_STATUS_WAIT_S: Final = 2.0


@dataclass(frozen=True, slots=True)
class PublishOptions:
    batch_max: int = 500  # readings per message
    batch_ms: int = 1000  # a partial batch waits at most this long
    max_inflight: int = 20  # messages sent and not yet acknowledged
    drain_rate: float = 5000.0  # backlog readings/s after an outage; 0 = unlimited
    live_during_drain: bool = True
    backoff_min_s: float = 0.5
    backoff_max_s: float = 60.0
    flush_timeout_s: float = 10.0  # on stop: how long to try to empty the outbox


@dataclass(slots=True)
class PublisherStats:
    published: int = 0  # readings acknowledged by the broker
    messages: int = 0  # messages acknowledged
    reconnects: int = 0  # connections after the first
    connect_failures: int = 0
    rejected: int = 0  # messages refused by the broker (MQTT 5 PUBACK reason code)
    connected: bool = False
    backlog: int = 0  # readings left in the current drain


def backoff_delay(attempt: int, lo: float, hi: float, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": in [d/2, d], d = min(hi, lo * 2**attempt)."""
    ceiling = min(hi, lo * 2.0 ** min(attempt, 32))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(slots=True)
class _Lane:
    """An id range of the outbox sent in order: ``cursor < id <= upto`` (None: no end)."""

    name: str
    cursor: int
    upto: int | None
    rate: float  # readings/s, 0 = unlimited
    tokens: float = 0.0
    stamp: float = 0.0

    def refill(self, now: float, capacity: float) -> None:
        if self.rate > 0:
            self.tokens = min(capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now


@dataclass(frozen=True, slots=True)
class _InFlight:
    first_id: int
    last_id: int
    count: int
    seq: int


class Publisher:
    """Sends the outbox to the broker; see the module docstring."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        park: str,
        gateway: str,
        mqtt_options: MqttOptions,
        options: PublishOptions | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.outbox = outbox
        self.gateway = gateway
        self.telemetry_topic = topics.telemetry_topic(park, gateway)
        self.status_topic = topics.status_topic(park, gateway)
        self.mqtt = mqtt_options
        self.options = options or PublishOptions()
        self.stats = PublisherStats()
        self._rng = rng or random.Random()
        self._seq = int(outbox.get_meta("seq", 0))
        self._wake = asyncio.Event()
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._unsent_since: float | None = time.monotonic() if outbox.count else None
        # Per connection:
        self._generation = 0
        self._connected_event = asyncio.Event()
        self._connack: Any = None
        self._disconnected = False
        self._inflight: dict[int, _InFlight] = {}
        self._acked: list[_InFlight] = []
        self._lanes: list[_Lane] = []
        self._status_mid: int | None = None
        self._status_acked = asyncio.Event()

    # -- API for the service --------------------------------------------------------------

    def notify(self) -> None:
        """New readings are in the outbox (called after :meth:`Outbox.add`)."""
        if self._unsent_since is None:
            self._unsent_since = time.monotonic()
        self._wake.set()

    def stop(self) -> None:
        """Ask :meth:`run` to flush (up to ``flush_timeout_s``), say ``offline`` and return."""
        self._stopping = True
        self._stop_event.set()
        self._wake.set()

    async def run(self) -> None:
        """Connect, publish, reconnect on failure, until :meth:`stop`."""
        attempt = 0
        first = True
        while not self._stopping:
            try:
                client = self._new_client()
            except (ssl.SSLError, OSError, ValueError) as exc:  # e.g. an unreadable certificate
                self.stats.connect_failures += 1
                delay = backoff_delay(
                    attempt, self.options.backoff_min_s, self.options.backoff_max_s, self._rng
                )
                attempt += 1
                log.error("mqtt_client_setup_failed", error=str(exc), retry_in_s=round(delay, 2))
                await self._sleep(delay)
                continue
            try:
                await self._connect(client)
            except ConnectFailedError as exc:
                self.stats.connect_failures += 1
                delay = backoff_delay(
                    attempt, self.options.backoff_min_s, self.options.backoff_max_s, self._rng
                )
                attempt += 1
                log.warning(
                    "mqtt_connect_failed",
                    error=str(exc),
                    retry_in_s=round(delay, 2),
                    attempt=attempt,
                )
                await self._teardown(client)
                await self._sleep(delay)
                continue
            attempt = 0
            if not first:
                self.stats.reconnects += 1
            first = False
            try:
                await self._session(client)
            finally:
                await self._teardown(client)

    # -- connection -----------------------------------------------------------------------

    def _new_client(self) -> mqtt.Client:
        self._generation += 1
        generation = self._generation
        loop = asyncio.get_running_loop()
        opts = self.mqtt
        v5 = opts.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=opts.client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else True,
            reconnect_on_failure=False,
        )
        client.connect_timeout = opts.connect_timeout_s
        client.max_inflight_messages_set(max(self.options.max_inflight, 1) + 1)
        client.max_queued_messages_set(0)
        client.will_set(self.status_topic, topics.STATUS_OFFLINE, qos=1, retain=True)
        if opts.username is not None:
            client.username_pw_set(opts.username, opts.password)
        if opts.tls:
            client.tls_set(
                ca_certs=opts.ca_file,
                certfile=opts.cert_file,
                keyfile=opts.key_file,
                cert_reqs=ssl.CERT_REQUIRED,
            )

        def post(fn: Callable[..., None], *args: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the service is gone
                loop.call_soon_threadsafe(fn, generation, *args)

        client.on_connect = lambda _c, _u, _f, rc, _p: post(self._on_connect, rc)
        client.on_disconnect = lambda _c, _u, _f, rc, _p: post(self._on_disconnect, rc)
        client.on_publish = lambda _c, _u, mid, rc, _p: post(self._on_publish, mid, rc)
        return client

    async def _connect(self, client: mqtt.Client) -> None:
        self._connected_event.clear()
        self._connack = None
        self._disconnected = False
        self._inflight.clear()
        try:
            await asyncio.to_thread(
                client.connect, self.mqtt.host, self.mqtt.port, self.mqtt.keepalive_s
            )
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise ConnectFailedError(f"{type(exc).__name__}: {exc}") from None
        client.loop_start()
        try:
            async with asyncio.timeout(self.mqtt.connect_timeout_s):
                await self._connected_event.wait()
        except TimeoutError:
            raise ConnectFailedError("no CONNACK in time") from None
        rc = self._connack
        if rc is None or rc.is_failure:
            raise ConnectFailedError(f"broker refused the connection: {rc}")

    async def _teardown(self, client: mqtt.Client) -> None:
        self.stats.connected = False
        self._generation += 1  # late callbacks of this client are ignored
        self._flush_acks()
        self._inflight.clear()
        with contextlib.suppress(Exception):  # already gone; disconnect is best effort
            client.disconnect()
        await asyncio.to_thread(client.loop_stop)

    # -- callbacks (on the event loop, posted from paho's thread) ---------------------------

    def _on_connect(self, generation: int, rc: Any) -> None:
        if generation != self._generation:
            return
        self._connack = rc
        self._connected_event.set()

    def _on_disconnect(self, generation: int, rc: Any) -> None:
        if generation != self._generation:
            return
        self._disconnected = True
        self._connected_event.set()  # a CONNACK wait ends too
        if not self._stopping:
            log.warning("mqtt_disconnected", reason=str(rc), inflight=len(self._inflight))
        self._wake.set()

    def _on_publish(self, generation: int, mid: int, rc: Any) -> None:
        if generation != self._generation:
            return
        if mid == self._status_mid:
            self._status_acked.set()
            return
        sent = self._inflight.pop(mid, None)
        if sent is None:
            return
        if rc is not None and getattr(rc, "is_failure", False):
            # MQTT 5 refusal (e.g. not authorized): keep the readings; sent again next session.
            self.stats.rejected += 1
            log.error("mqtt_publish_rejected", reason=str(rc), readings=sent.count, seq=sent.seq)
        else:
            self._acked.append(sent)
        self._wake.set()

    def _flush_acks(self) -> None:
        """Delete acknowledged ranges from the outbox, in one transaction."""
        if not self._acked:
            return
        acked, self._acked = self._acked, []
        try:
            self.outbox.delete_ranges(
                [(a.first_id, a.last_id) for a in acked], seq=max(a.seq for a in acked)
            )
        except sqlite3.Error as exc:  # they stay queued and are sent again: at least once
            log.error("outbox_delete_failed", error=str(exc), messages=len(acked))
            return
        self.stats.published += sum(a.count for a in acked)
        self.stats.messages += len(acked)

    # -- a session --------------------------------------------------------------------------

    async def _session(self, client: mqtt.Client) -> None:
        self.stats.connected = True
        low, high = self.outbox.id_bounds()
        now = time.monotonic()
        rate = self.options.drain_rate
        if self.options.live_during_drain:
            self._lanes = [_Lane("live", high, None, 0.0, stamp=now)]
            if high > low:
                self._lanes.append(
                    _Lane("backlog", low, high, rate, self.options.batch_max, stamp=now)
                )
        else:
            self._lanes = [_Lane("all", low, None, rate, self.options.batch_max, stamp=now)]
        self.stats.backlog = self.outbox.count
        log.info(
            "mqtt_connected",
            host=self.mqtt.host,
            port=self.mqtt.port,
            protocol=self.mqtt.protocol,
            queued=self.outbox.count,
        )
        info = client.publish(self.status_topic, topics.STATUS_ONLINE, qos=1, retain=True)
        self._status_mid = info.mid
        flush_deadline: float | None = None
        while not self._disconnected:
            self._wake.clear()
            self._flush_acks()
            if self._stopping:
                if flush_deadline is None:
                    flush_deadline = time.monotonic() + self.options.flush_timeout_s
                if self.outbox.count == 0 or time.monotonic() >= flush_deadline:
                    await self._say_offline(client)
                    return
            try:
                wait = self._send(client, flushing=self._stopping)
            except sqlite3.Error as exc:
                log.error("outbox_read_failed", error=str(exc))
                wait = 1.0
            if self._stopping and flush_deadline is not None:
                wait = min(wait, max(0.0, flush_deadline - time.monotonic()))
            if not self._wake.is_set():
                try:
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    async def _say_offline(self, client: mqtt.Client) -> None:
        """A clean stop: the broker does not send the Will, so say ``offline`` ourselves."""
        self._status_acked.clear()
        info = client.publish(self.status_topic, topics.STATUS_OFFLINE, qos=1, retain=True)
        self._status_mid = info.mid
        try:
            async with asyncio.timeout(_STATUS_WAIT_S):
                await self._status_acked.wait()
        except TimeoutError:
            log.warning("mqtt_offline_status_not_acknowledged")
        log.info("mqtt_stopped", queued=self.outbox.count)

    def _send(self, client: mqtt.Client, *, flushing: bool) -> float:
        """Publish what lanes, window and rate allow; return how long to wait (s) at most."""
        opts = self.options
        wait = 1.0
        now = time.monotonic()
        for lane in list(self._lanes):
            lane.refill(now, opts.batch_max)
            while len(self._inflight) < opts.max_inflight:
                limit = opts.batch_max
                fetched = self.outbox.fetch(lane.cursor, limit, lane.upto)
                if fetched is None:
                    if lane.upto is not None:  # a drained backlog
                        self._lanes.remove(lane)
                        self.stats.backlog = 0
                        log.info("backlog_drained")
                    else:
                        self._unsent_since = None
                    break
                n = len(fetched)
                if lane.upto is None and n < limit and not flushing:
                    # The top of the queue: a partial batch waits up to batch_ms.
                    since = self._unsent_since if self._unsent_since is not None else now
                    self._unsent_since = since
                    due = since + opts.batch_ms / 1000.0
                    if now < due:
                        wait = min(wait, due - now)
                        break
                if lane.rate > 0 and lane.tokens < n:
                    wait = min(wait, (n - lane.tokens) / lane.rate)
                    break
                if not self._publish(client, fetched.first_id, fetched.last_id, fetched.readings):
                    return wait
                lane.cursor = fetched.last_id
                if lane.rate > 0:
                    lane.tokens -= n
                if lane.upto is not None:
                    self.stats.backlog = max(0, self.stats.backlog - n)
                if n < limit and lane.upto is None:
                    self._unsent_since = None
                    break
        return max(wait, 0.001)

    def _publish(
        self, client: mqtt.Client, first_id: int, last_id: int, readings: list[Any]
    ) -> bool:
        self._seq += 1
        payload = encode(self.gateway, self._seq, now_ms(), readings)
        if len(payload) > MAX_PAYLOAD_BYTES:  # cannot happen with batch_max <= 1000
            log.error("payload_too_large", bytes=len(payload), readings=len(readings))
        info = client.publish(self.telemetry_topic, payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            log.warning("mqtt_publish_failed", rc=mqtt.error_string(info.rc))
            self._disconnected = True
            return False
        self._inflight[info.mid] = _InFlight(first_id, last_id, len(readings), self._seq)
        return True

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake early when asked to stop (new readings do not cut a backoff)."""
        try:
            async with asyncio.timeout(seconds):
                await self._stop_event.wait()
        except TimeoutError:
            pass
