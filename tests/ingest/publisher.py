"""A blocking paho publisher for tests: QoS 1, waits for every PUBACK (bounded)."""

from __future__ import annotations

import uuid
from types import TracebackType
from typing import Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from smartpark.testing.servers import Mosquitto

WAIT_S = 20.0


class Publisher:
    def __init__(self, broker: Mosquitto, client_id: str | None = None) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-pub-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv311,
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.broker = broker

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

    def publish(self, topic: str, payloads: list[bytes], *, retain: bool = False) -> None:
        """Publish every payload at QoS 1 and wait for all PUBACKs."""
        infos = [self.client.publish(topic, p, qos=1, retain=retain) for p in payloads]
        for info in infos:
            info.wait_for_publish(timeout=WAIT_S)
            assert info.is_published(), f"no PUBACK within {WAIT_S} s"
