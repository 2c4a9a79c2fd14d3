"""Blocking MQTT clients for tests: a QoS 1 publisher and a collecting subscriber (paho).

::

    from smartpark.testing.mqtt import Collector, Publisher
    from smartpark.testing.servers import Mosquitto

    with Mosquitto() as broker, Collector(broker.host, broker.port) as seen:
        with Publisher(broker) as pub:
            pub.publish("smartpark/v1/p1/gw-01/telemetry", [data])  # returns after PUBACK
        seen.wait_for(1)  # the readings, once one arrived

Every wait is bounded: ``publish`` and ``start`` raise :class:`TimeoutError` saying what
did not happen; ``wait_for`` returns what arrived in time, for the test to assert on. Both
speak MQTT 3.1.1 to any broker (``Mosquitto`` from :mod:`smartpark.testing.servers` or
your own); the collector keeps a persistent session (``clean_session=False``), so it
also receives what was published while it was disconnected from a restarted broker.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Final, Protocol, Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from smartpark.core.topics import ROOT

__all__ = ["DEFAULT_TIMEOUT_S", "Broker", "Collector", "Message", "Publisher"]

DEFAULT_TIMEOUT_S: Final = 20.0


class Broker(Protocol):
    """Where a broker listens: ``Mosquitto`` is one."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...


class Publisher:
    """Publishes at QoS 1 and returns only when the broker acknowledged every message.

    Use it as a context manager (connect on enter, disconnect on exit).
    """

    def __init__(
        self,
        broker: Broker,
        client_id: str | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.broker = broker
        self.timeout_s = timeout_s
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-pub-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv311,
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)

    def __enter__(self) -> Self:
        self.client.connect(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payloads: Sequence[bytes], *, retain: bool = False) -> None:
        """Publish every payload at QoS 1 and wait (at most ``timeout_s`` each) for its PUBACK."""
        infos = [self.client.publish(topic, p, qos=1, retain=retain) for p in payloads]
        for info in infos:
            info.wait_for_publish(timeout=self.timeout_s)
            if not info.is_published():
                raise TimeoutError(
                    f"no PUBACK from {self.broker.host}:{self.broker.port} within "
                    f"{self.timeout_s} s: is the broker running (see its log)?"
                )


Message = tuple[str, bytes, bool]  # topic, payload, retain flag


class Collector:
    """Subscribes at QoS 1 to ``topic`` (default: everything under ``smartpark/v1``) and
    keeps every message it receives, in order, in :attr:`messages`.

    ``start()``/``stop()``, or use it as a context manager. ``ca_file`` turns on TLS;
    ``username``/``password`` log in.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        topic: str = f"{ROOT}/#",
        client_id: str | None = None,
        ca_file: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.host, self.port, self.topic = host, port, topic
        self.timeout_s = timeout_s
        self.lock = threading.Lock()
        self.messages: list[Message] = []
        self._ready = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"collector-{uuid.uuid4().hex[:8]}",
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.client.reconnect_delay_set(1, 1)
        if ca_file is not None:
            self.client.tls_set(ca_certs=ca_file)
        if username is not None:
            self.client.username_pw_set(username, password)

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if not rc.is_failure:
            client.subscribe(self.topic, qos=1)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), msg.retain))

    def start(self) -> Self:
        """Connect and return once the broker acknowledged the subscription."""
        self.client.connect(self.host, self.port, keepalive=10)
        self.client.loop_start()
        if not self._ready.wait(self.timeout_s):
            self.stop()
            raise TimeoutError(
                f"collector: no SUBACK from {self.host}:{self.port} within {self.timeout_s} s"
                " (wrong port, or the broker refused the login?)"
            )
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def payloads(self, suffix: str = "/telemetry") -> list[dict[str, Any]]:
        """The JSON payloads received on topics ending in ``suffix``, in order."""
        with self.lock:
            return [json.loads(p) for t, p, _ in self.messages if t.endswith(suffix)]

    def readings(self) -> list[dict[str, Any]]:
        """Every reading of every telemetry payload received, in order."""
        return [r for p in self.payloads() for r in p["readings"]]

    def statuses(self) -> list[tuple[bytes, bool]]:
        """(payload, retain flag) of every status message received, in order."""
        with self.lock:
            return [(p, r) for t, p, r in self.messages if t.endswith("/status")]

    def wait_for(self, n: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The readings once at least ``n`` arrived, or whatever arrived by ``timeout`` (s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.readings()
            if len(got) >= n:
                return got
            time.sleep(0.05)
        return self.readings()
