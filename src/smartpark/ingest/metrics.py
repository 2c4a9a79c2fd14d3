"""Prometheus metrics and ``/healthz`` of the ingest service, on localhost by default.

Every metric lives in the service's own :class:`~prometheus_client.CollectorRegistry`
(several services can run in one test process). The ``gateway`` label only ever holds a
registry gateway id or ``unknown``, so a hostile client cannot grow the label set; the
``reason`` label holds the fixed reason codes of the contract and of validation.

The HTTP endpoint is a few lines of asyncio (no thread): ``GET /metrics`` in the
Prometheus text format, ``GET /healthz`` answering 200 ``ok`` or 503 with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from smartpark.core.logs import get_logger

log = get_logger("ingest.metrics")

_NS: Final = "smartpark_ingest"
_WRITE_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class IngestCounts:
    """What the service took in since it started, summed over gateways and reasons."""

    accepted: int  # readings that passed validation
    rejected: int  # readings rejected by validation
    payloads_rejected: int  # payloads rejected whole
    stored: int  # readings durably written to the store
    dead_letters: int  # readings the store refused


class IngestMetrics:
    """The service's metrics; attributes are the prometheus_client objects."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.messages = Counter(
            f"{_NS}_messages", "MQTT messages received, by channel", ["channel"], registry=r
        )
        self.payloads_rejected = Counter(
            f"{_NS}_payloads_rejected",
            "Telemetry payloads rejected whole (not JSON, too large, ...)",
            ["gateway", "reason"],
            registry=r,
        )
        self.readings_accepted = Counter(
            f"{_NS}_readings_accepted",
            "Readings that passed validation",
            ["gateway"],
            registry=r,
        )
        self.readings_rejected = Counter(
            f"{_NS}_readings_rejected",
            "Readings rejected by validation, by reason",
            ["gateway", "reason"],
            registry=r,
        )
        self.readings_stored = Counter(
            f"{_NS}_readings_stored", "Readings durably written to the store", registry=r
        )
        self.write_seconds = Histogram(
            f"{_NS}_write_seconds",
            "Duration of one successful store write",
            buckets=_WRITE_BUCKETS,
            registry=r,
        )
        self.batch_readings = Histogram(
            f"{_NS}_batch_readings",
            "Readings per written batch",
            buckets=(1, 10, 100, 1_000, 5_000, 10_000, 20_000, 50_000),
            registry=r,
        )
        self.write_retries = Counter(
            f"{_NS}_write_retries", "Store writes retried after a StoreError", registry=r
        )
        self.write_rejections = Counter(
            f"{_NS}_write_rejections",
            "Store writes refused as bad data (4xx); the batch is bisected",
            registry=r,
        )
        self.dead_letters = Counter(
            f"{_NS}_dead_letters", "Readings the store refused, kept as dead letters", registry=r
        )
        self.acks = Counter(f"{_NS}_acks", "PUBACKs sent after a durable write", registry=r)
        self.stale_acks = Counter(
            f"{_NS}_stale_acks",
            "Acknowledgements dropped because their connection was gone (redelivered)",
            registry=r,
        )
        self.queue_depth = Gauge(
            f"{_NS}_queue_depth", "Messages waiting between subscriber and writer", registry=r
        )
        self.client_buffer = Gauge(
            f"{_NS}_client_buffer",
            "Messages read by the MQTT client but not yet taken (bounded by the in-flight window)",
            registry=r,
        )
        self.read_pauses = Counter(
            f"{_NS}_read_pauses",
            "Times reading from the broker was paused because the client buffer was full",
            registry=r,
        )
        self.connected = Gauge(f"{_NS}_broker_connected", "1 while connected", registry=r)
        self.reconnects = Counter(
            f"{_NS}_broker_reconnects", "Broker connection losses", registry=r
        )
        self.gateway_online = Gauge(
            f"{_NS}_gateway_online",
            "1 when the gateway's retained status is online, 0 when offline",
            ["gateway"],
            registry=r,
        )
        self.gateway_last_seen = Gauge(
            f"{_NS}_gateway_last_seen_seconds",
            "Unix time of the gateway's last telemetry or status message",
            ["gateway"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def counts(self) -> IngestCounts:
        """The totals of the reading and payload counters, for callers that embed ingest."""
        return IngestCounts(
            accepted=_total(self.readings_accepted),
            rejected=_total(self.readings_rejected),
            payloads_rejected=_total(self.payloads_rejected),
            stored=_total(self.readings_stored),
            dead_letters=_total(self.dead_letters),
        )


def _total(counter: Counter) -> int:
    """A counter's value summed over all its label values."""
    return round(
        sum(s.value for m in counter.collect() for s in m.samples if s.name.endswith("_total"))
    )


HealthCheck = Callable[[], str | None]
"""Returns None when healthy, else the reason it is not."""


class MetricsServer:
    """``/metrics`` and ``/healthz`` over plain asyncio; bind to localhost unless told."""

    def __init__(
        self, metrics: IngestMetrics, health: HealthCheck, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.metrics = metrics
        self.health = health
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("metrics_listening", url=f"http://{self.host}:{self.port}/metrics")

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5.0):
                request = await reader.readuntil(b"\r\n\r\n")
            method, _, rest = request.partition(b" ")
            path = rest.split(b" ", 1)[0].split(b"?", 1)[0]
            if method not in (b"GET", b"HEAD"):
                status, ctype, body = "405 Method Not Allowed", "text/plain", b"GET only\n"
            elif path == b"/metrics":
                status, ctype, body = "200 OK", CONTENT_TYPE_LATEST, self.metrics.render()
            elif path == b"/healthz":
                problem = self.health()
                if problem is None:
                    status, ctype, body = "200 OK", "text/plain", b"ok\n"
                else:
                    status = "503 Service Unavailable"
                    ctype, body = "text/plain", problem.encode() + b"\n"
            else:
                status, ctype, body = "404 Not Found", "text/plain", b"not found\n"
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            writer.write(head if method == b"HEAD" else head + body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
