"""Prometheus metrics of the schedule service (``/metrics`` with ``--metrics-port``).

The metrics live in the service's own :class:`~prometheus_client.CollectorRegistry`
(several services can run in one test process); the ``schedule`` label holds only ids of
the schedules file, ``outcome`` one of ``sent``, ``failed``, ``dead``.
"""

from __future__ import annotations

from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, start_http_server

from smartpark.core.logs import get_logger

_NS: Final = "smartpark_schedule"
OUTCOMES: Final = ("sent", "failed", "dead")
log = get_logger("analytics.delivery.metrics")


class ScheduleMetrics:
    """The service's metrics; attributes are the prometheus_client objects."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.cycles = Counter(f"{_NS}_cycles", "Plan-and-deliver cycles run", registry=r)
        self.cycle_failures = Counter(
            f"{_NS}_cycle_failures", "Cycles that failed as a whole (logged)", registry=r
        )
        self.planned = Counter(
            f"{_NS}_planned",
            "Deliveries planned: one per recipient of each period due",
            ["schedule"],
            registry=r,
        )
        self.skipped = Counter(
            f"{_NS}_periods_skipped",
            "Periods that fell due while the service was down and were not sent (only the "
            "latest is)",
            ["schedule"],
            registry=r,
        )
        self.attempts = Counter(
            f"{_NS}_attempts",
            "Delivery attempts by outcome (sent, failed and retried, dead)",
            ["schedule", "outcome"],
            registry=r,
        )
        self.pending = Gauge(f"{_NS}_pending", "Deliveries waiting to be sent", registry=r)
        self.dead = Gauge(f"{_NS}_dead", "Deliveries given up, with a reason", registry=r)
        self.last_sent = Gauge(
            f"{_NS}_last_sent_timestamp_seconds",
            "Unix time of the schedule's last accepted delivery",
            ["schedule"],
            registry=r,
        )
        self.next_due = Gauge(
            f"{_NS}_next_due_timestamp_seconds",
            "Unix time the schedule next falls due",
            ["schedule"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def serve(self, host: str, port: int) -> Any:
        """``/metrics`` on ``host:port`` in a daemon thread; the server (``shutdown()``)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        log.info("metrics_listening", url=f"http://{host}:{server.server_port}/metrics")
        return server
