"""A real MQTT subscriber for the gateway tests: collects every telemetry reading it receives."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class Collector:
    """Subscribes (QoS 1, persistent session) to everything under ``smartpark/v1``."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str | None = None,
        ca_file: str | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.lock = threading.Lock()
        self.messages: list[tuple[str, bytes, bool]] = []
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
            client.subscribe("smartpark/v1/#", qos=1)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), msg.retain))

    def start(self) -> Collector:
        self.client.connect(self.host, self.port, keepalive=10)
        self.client.loop_start()
        assert self._ready.wait(10), "collector: no SUBACK"
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def payloads(self, suffix: str = "/telemetry") -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(p) for t, p, _ in self.messages if t.endswith(suffix)]

    def readings(self) -> list[dict[str, Any]]:
        return [r for p in self.payloads() for r in p["readings"]]

    def statuses(self) -> list[tuple[bytes, bool]]:
        with self.lock:
            return [(p, r) for t, p, r in self.messages if t.endswith("/status")]

    def wait_for(self, n: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Readings once at least ``n`` arrived (or whatever arrived by ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.readings()
            if len(got) >= n:
                return got
            time.sleep(0.05)
        return self.readings()
