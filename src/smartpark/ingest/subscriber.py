"""The MQTT side of ingest: persistent QoS 1 session in, validated messages to the pipeline.

- One stable client id and a persistent session (MQTT 5: ``clean_start=False`` and a
  session expiry; MQTT 3.1.1: ``clean_session=False``), so the broker keeps messages
  while ingest is down and redelivers every message not acknowledged.
- Telemetry on ``smartpark/v1/+/+/telemetry``, or the MQTT 5 shared subscription
  ``$share/<group>/smartpark/v1/+/+/telemetry`` so several ingest processes split the
  load; status on ``smartpark/v1/+/+/status`` (never shared: every process tracks
  presence).
- Manual acknowledgement (:mod:`ingest.ack`): the pipeline acks after the durable write.
- Back-pressure: :meth:`Pipeline.put` waits while the queue is full, and this loop then
  stops taking messages from aiomqtt; once aiomqtt's buffer holds ``receive_maximum``
  messages, :class:`~ingest.flow.ReadFlow` stops reading the socket, so the broker
  keeps the rest. (MQTT 5 *Receive Maximum* is also sent to the broker, but mosquitto
  2.0.11 does not always honour it, so it is not relied on; aiomqtt's
  ``max_queued_incoming_messages`` is not used: it drops messages with a warning.)
- Connection lost: reconnect with exponential backoff and jitter; acks of the old
  connection are dropped (the broker redelivers those messages).
- Stop: stop taking messages, let the pipeline flush and ack *while still connected*,
  then disconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from smartpark.core.errors import ContractError
from smartpark.core.logs import get_logger
from smartpark.core.mqtt import MqttOptions
from smartpark.core.timestamps import now_ms
from smartpark.core.topics import STATUS_SUBSCRIPTION, TELEMETRY_SUBSCRIPTION, parse_topic
from smartpark.core.topics import shared_subscription as shared_filter
from smartpark.ingest.accounting import Accounting
from smartpark.ingest.ack import ManualAck
from smartpark.ingest.flow import ReadFlow
from smartpark.ingest.metrics import IngestMetrics
from smartpark.ingest.pipeline import Pipeline, Received
from smartpark.ingest.status import GatewayStatus
from smartpark.ingest.validation import Validator
from smartpark.store.base import ReadingColumns

log = get_logger("ingest.subscriber")


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Ingest's session on top of the connection (:class:`~smartpark.core.mqtt.MqttOptions`)."""

    shared_group: str | None = None  # MQTT 5 only
    # Messages read but not yet taken, at most (and MQTT 5 Receive Maximum for the broker).
    receive_maximum: int = 1_000
    session_expiry_s: int = 7 * 24 * 3600  # MQTT 5: how long the broker keeps our session
    reconnect_max_s: float = 30.0

    @property
    def telemetry_filter(self) -> str:
        return shared_filter(self.shared_group) if self.shared_group else TELEMETRY_SUBSCRIPTION


class Subscriber:
    def __init__(
        self,
        options: MqttOptions,
        validator: Validator,
        pipeline: Pipeline,
        metrics: IngestMetrics,
        status: GatewayStatus,
        accounting: Accounting | None = None,
        acker: ManualAck | None = None,
        *,
        session: SessionOptions | None = None,
    ) -> None:
        self.session = session = session or SessionOptions()
        if session.shared_group and options.protocol != "5":
            raise ValueError("a shared subscription needs MQTT 5 (protocol = '5')")
        self.options = options
        self.validator = validator
        self.pipeline = pipeline
        self.metrics = metrics
        self.status = status
        self.accounting = accounting or Accounting(metrics)
        self.acker = acker or ManualAck()
        self.flow = ReadFlow(session.receive_maximum, metrics=metrics)
        self._status_messages = metrics.messages.labels("status")
        self._telemetry_messages = metrics.messages.labels("telemetry")
        self.connected = False
        self.subscribed = False  # SUBACKs received on the current connection
        self.client: aiomqtt.Client | None = None  # the current connection's client
        metrics.client_buffer.set_function(self.buffered)
        self._rng = random.Random()

    def _client(self) -> aiomqtt.Client:
        o, session = self.options, self.session
        tls = aiomqtt.TLSParameters(ca_certs=o.ca_file, certfile=o.cert_file, keyfile=o.key_file)
        common = {
            "hostname": o.host,
            "port": o.port,
            "identifier": o.client_id,
            "username": o.username,
            "password": o.password,
            "keepalive": o.keepalive_s,
            "tls_params": tls if o.tls else None,
            "queue_type": self.flow.queue_type(),
        }
        if o.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = session.session_expiry_s
            props.ReceiveMaximum = session.receive_maximum
            return aiomqtt.Client(
                **common,  # type: ignore[arg-type]
                protocol=aiomqtt.ProtocolVersion.V5,
                clean_start=False,
                properties=props,
            )
        return aiomqtt.Client(
            **common,  # type: ignore[arg-type]
            protocol=aiomqtt.ProtocolVersion.V311,
            clean_session=False,
        )

    async def run(self, stop: asyncio.Event, flush: Callable[[], Awaitable[None]]) -> None:
        """Receive until ``stop`` is set; then call ``flush`` (once), connected if we can."""
        attempt = 0
        flushed = False
        try:
            while not stop.is_set():
                client = self.client = self._client()
                self.acker.attach(client)
                self.flow.attach(client)
                try:
                    async with client:
                        attempt = 0
                        self._set_connected(True)
                        if await self._consume_until(client, stop):
                            # Flush while connected so the acks of the last batch go out.
                            flushed = True
                            await flush()
                            return
                except aiomqtt.MqttError as exc:
                    if self.connected:
                        self.metrics.reconnects.inc()
                    log.warning("broker_connection_lost", error=str(exc)[:300], attempt=attempt)
                finally:
                    self._set_connected(False)
                    self.acker.detach()
                attempt += 1
                delay = self._rng.uniform(0, min(self.session.reconnect_max_s, 0.5 * 2**attempt))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await stop.wait()
        finally:
            if not flushed:
                await flush()  # not connected: written, but acks are dropped (redelivered)

    def buffered(self) -> int:
        """Messages aiomqtt has read from the socket that we have not taken yet."""
        return len(self.client.messages) if self.client is not None else 0

    def _set_connected(self, connected: bool) -> None:
        self.connected = connected
        self.subscribed = False
        self.metrics.connected.set(1 if connected else 0)

    async def _consume_until(self, client: aiomqtt.Client, stop: asyncio.Event) -> bool:
        """Subscribe and consume until ``stop`` (True) or the connection fails (raises).

        Consuming starts before the SUBACKs arrive: a resumed session's queued messages
        come first, and the SUBACK behind them is only read once they are taken.
        """
        consume = asyncio.ensure_future(self._consume(client))
        stopping = asyncio.ensure_future(stop.wait())
        subscribing = asyncio.ensure_future(self._subscribe(client))
        tasks = (consume, stopping, subscribing)
        try:
            pending: set[asyncio.Future[Any]] = set(tasks)
            while consume in pending and stopping in pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if subscribing in done:
                    subscribing.result()  # raises when the subscription failed
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if stop.is_set():
            return True
        consume.result()  # re-raises MqttError
        return False

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        # No timeout: a resumed session's SUBACK waits behind its whole replayed backlog
        # (minutes when the store was down); a dead connection ends _consume instead.
        await client.subscribe(self.session.telemetry_filter, qos=1, timeout=math.inf)
        await client.subscribe(STATUS_SUBSCRIPTION, qos=1, timeout=math.inf)
        self.subscribed = True
        log.info(
            "subscribed",
            broker=f"{self.options.host}:{self.options.port}",
            client_id=self.options.client_id,
            telemetry=self.session.telemetry_filter,
            protocol=self.options.protocol,
        )

    async def _consume(self, client: aiomqtt.Client) -> None:
        take_nowait = self.flow.take_nowait
        async for message in client.messages:  # waits for a message or a disconnection
            await self._handle(message)
            while (more := take_nowait()) is not None:  # then drain what is buffered
                await self._handle(more)

    async def _handle(self, message: aiomqtt.Message) -> None:
        token = self.acker.token(message)
        topic = message.topic.value
        payload = message.payload if isinstance(message.payload, bytes) else b""
        if topic.endswith("/status"):
            self._status_messages.inc()
            self._status(topic, payload, message.retain)
            await self.pipeline.put(Received(token, ReadingColumns.empty()))
            return
        self._telemetry_messages.inc()
        admitted = self.validator.admit(topic, payload)
        self.accounting.record(topic, admitted)
        if admitted.topic is not None:
            self.status.seen(admitted.topic, now_ms())
        await self.pipeline.put(Received(token, admitted.readings))

    def _status(self, topic: str, payload: bytes, retained: bool) -> None:
        try:
            parsed = parse_topic(topic)
        except ContractError:
            return
        if self.status.status(parsed, payload, now_ms(), retained=retained):
            log.info(
                "gateway_status", gateway=parsed.gateway, status=payload[:20].decode("latin-1")
            )
