"""Prometheus metrics of the gateway, on localhost by default (docs/deploy.md).

The values are read from the service's status snapshot when Prometheus scrapes (a custom
collector), so polling and publishing pay nothing per reading for being observable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

Snapshot = Callable[[], dict[str, Any]]

_COUNTERS = {
    "polled": "Readings polled and committed to the outbox",
    "published": "Readings acknowledged by the broker (PUBACK)",
    "messages": "Messages acknowledged by the broker",
    "reconnects": "MQTT connections after the first",
    "connect_failures": "Failed MQTT connection attempts",
    "dropped": "Oldest readings dropped because the outbox was full",
    "missed_slots": "Poll times skipped because the scheduler woke too late",
}
_GAUGES = {
    "queued": "Readings in the outbox awaiting PUBACK",
    "oldest_age_s": "Age of the oldest reading in the outbox, seconds",
    "connected": "1 while connected to the broker",
}


class GatewayCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Any]:
        snap = self._snapshot()
        for key, doc in _COUNTERS.items():
            yield CounterMetricFamily(f"smartpark_gateway_{key}", doc, value=snap.get(key, 0))
        for key, doc in _GAUGES.items():
            yield GaugeMetricFamily(f"smartpark_gateway_{key}", doc, value=float(snap.get(key, 0)))
        errors = CounterMetricFamily(
            "smartpark_gateway_meter_errors",
            "Polls of a meter that gave no publishable reading, by reason",
            labels=["reason"],
        )
        for reason, n in sorted(snap.get("meter_errors", {}).items()):
            errors.add_metric([reason], n)
        yield errors
        jitter = GaugeMetricFamily(
            "smartpark_gateway_poll_jitter_ms",
            "Poll wake-up lateness over the last polls, milliseconds",
            labels=["stat"],
        )
        for stat, value in snap.get("jitter_ms", {}).items():
            jitter.add_metric([stat], value)
        yield jitter


def serve(snapshot: Snapshot, host: str, port: int) -> tuple[Any, Any]:
    """Serve ``/metrics`` on ``host:port`` in a daemon thread; returns (server, thread)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(GatewayCollector(snapshot))
    return start_http_server(port, addr=host, registry=registry)
