"""Gateway presence: online/offline from the retained status topic, and last seen.

A gateway publishes ``online`` (retained) on ``smartpark/v1/{park}/{gateway}/status``
after it connects, and the broker publishes its Last Will ``offline`` there when it
drops. Telemetry also counts as a sign of life. Only registry gateways whose park
matches the topic are tracked, so the table (and the metric labels) stay bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

from smartpark.core.registry import Registry
from smartpark.core.topics import STATUS_OFFLINE, STATUS_ONLINE, Topic
from smartpark.ingest.metrics import IngestMetrics


@dataclass(slots=True)
class GatewayState:
    online: bool | None = None  # None: no status message seen yet
    last_seen_ms: int | None = None
    status_changed_ms: int | None = None


class GatewayStatus:
    def __init__(self, registry: Registry, metrics: IngestMetrics) -> None:
        self._park = {g.id: g.park for g in registry.gateways.values()}
        self._metrics = metrics
        self.gateways: dict[str, GatewayState] = {}

    def _state(self, topic: Topic) -> GatewayState | None:
        if self._park.get(topic.gateway) != topic.park:
            return None
        return self.gateways.setdefault(topic.gateway, GatewayState())

    def status(self, topic: Topic, payload: bytes, now_ms: int, *, retained: bool = False) -> bool:
        """Apply a status message; False when it is not one we track or understand.

        A retained message replayed by the broker on (re)subscription tells the state but
        is no sign of life now, so it does not move ``last_seen``.
        """
        word = payload.strip()
        if word not in (STATUS_ONLINE, STATUS_OFFLINE):
            return False
        state = self._state(topic)
        if state is None:
            return False
        online = word == STATUS_ONLINE
        if state.online != online:
            state.status_changed_ms = now_ms
        state.online = online
        self._metrics.gateway_online.labels(topic.gateway).set(1 if online else 0)
        if not retained:
            self.seen(topic, now_ms)
        return True

    def seen(self, topic: Topic, now_ms: int) -> None:
        state = self._state(topic)
        if state is None:
            return
        state.last_seen_ms = now_ms
        self._metrics.gateway_last_seen.labels(topic.gateway).set(now_ms / 1000.0)
