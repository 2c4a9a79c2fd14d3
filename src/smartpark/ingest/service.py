"""The ingest service: registry, store, pipeline, subscriber and metrics in one TaskGroup.

``await serve(settings)`` runs until SIGTERM/SIGINT (or ``stop`` is set): it then stops
taking messages, writes and acknowledges what it holds (for at most
``drain_timeout_s``; whatever is left un-acknowledged the broker redelivers on the
next start) and returns normally, so ``smartpark ingest`` exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass

from smartpark.core import registry as registry_mod
from smartpark.core.errors import StoreError
from smartpark.core.logs import get_logger
from smartpark.core.mqtt import MqttOptions
from smartpark.core.registry import Registry
from smartpark.ingest.accounting import Accounting
from smartpark.ingest.deadletter import DeadLetters
from smartpark.ingest.metrics import IngestCounts, IngestMetrics, MetricsServer
from smartpark.ingest.pipeline import Pipeline, RetryPolicy
from smartpark.ingest.settings import IngestSettings
from smartpark.ingest.status import GatewayStatus
from smartpark.ingest.subscriber import SessionOptions, Subscriber
from smartpark.ingest.validation import Validator
from smartpark.store.base import Store

log = get_logger("ingest.service")


@dataclass(slots=True)
class Running:
    """Handles on a running service, for callers that embed it (tests, demo)."""

    metrics: IngestMetrics
    pipeline: Pipeline
    subscriber: Subscriber
    metrics_server: MetricsServer | None

    def counts(self) -> IngestCounts:
        """Readings accepted, rejected, stored, ... so far (:class:`IngestCounts`)."""
        return self.metrics.counts()


def mqtt_options(settings: IngestSettings) -> MqttOptions:
    return MqttOptions.from_url(
        settings.broker_url,
        settings.client_id,
        protocol=settings.mqtt_protocol,
        keepalive_s=settings.keepalive_s,
    )


def session_options(settings: IngestSettings) -> SessionOptions:
    return SessionOptions(
        shared_group=settings.shared_group,
        receive_maximum=settings.receive_maximum,
        session_expiry_s=settings.session_expiry_s,
    )


def open_configured_store(settings: IngestSettings, registry: Registry) -> Store:
    from smartpark.store import open_store  # type: ignore[attr-defined,unused-ignore]

    store: Store = open_store(settings.store_url, registry)
    ensure = getattr(store, "ensure_database", None)
    if callable(ensure):  # InfluxDB: check the server, create the database on 1.x
        try:
            ensure()
        except StoreError as exc:  # not fatal: writes retry until the store is back
            log.warning("store_not_ready", store=str(settings.store_url), error=str(exc)[:300])
    return store


async def serve(
    settings: IngestSettings,
    *,
    registry: Registry | None = None,
    store: Store | None = None,
    stop: asyncio.Event | None = None,
    started: asyncio.Future[Running] | None = None,
) -> None:
    """Run the service until ``stop`` (or SIGTERM/SIGINT); see the module docstring."""
    reg = registry if registry is not None else registry_mod.load(settings.registry)
    own_store = store is None
    the_store = store if store is not None else open_configured_store(settings, reg)
    stop = stop or asyncio.Event()
    metrics = IngestMetrics()
    dead = DeadLetters(settings.dead_letters, reg)
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    try:
        pipeline = Pipeline(
            the_store,
            lambda tokens: subscriber.acker.ack(tokens),
            metrics,
            dead,
            batch_size=settings.batch_size,
            batch_ms=settings.batch_ms,
            queue_size=settings.queue_size,
            retry=RetryPolicy(settings.retry_base_s, settings.retry_max_s),
        )
        subscriber = Subscriber(
            mqtt_options(settings),
            Validator(reg),
            pipeline,
            metrics,
            GatewayStatus(reg, metrics),
            Accounting(metrics),
            session=session_options(settings),
        )

        def health() -> str | None:
            if not subscriber.connected:
                return "not connected to the broker"
            return pipeline.health()

        server: MetricsServer | None = None
        if settings.metrics_port is not None:
            server = MetricsServer(metrics, health, settings.metrics_host, settings.metrics_port)
            await server.start()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, _request_stop, stop, sig)
                handled.append(sig)
        log.info(
            "ingest_starting",
            broker=str(settings.broker_url),
            store=str(settings.store_url) if own_store else type(the_store).__name__,
            meters=len(reg.meters),
            batch_size=settings.batch_size,
            batch_ms=settings.batch_ms,
            queue_size=settings.queue_size,
        )
        async with asyncio.TaskGroup() as tg:
            writer = tg.create_task(pipeline.run(), name="ingest-writer")

            async def flush() -> None:
                try:
                    async with asyncio.timeout(settings.drain_timeout_s):
                        await pipeline.close()  # waits for room in the queue
                        await asyncio.shield(writer)
                except TimeoutError:
                    log.warning(
                        "drain_timeout",
                        queued=pipeline.qsize(),
                        note="un-acknowledged messages stay with the broker",
                    )
                    writer.cancel()

            if started is not None and not started.done():
                started.set_result(Running(metrics, pipeline, subscriber, server))
            tg.create_task(subscriber.run(stop, flush), name="ingest-subscriber")
        log.info(
            "ingest_stopped",
            batches=pipeline.batches,
            acked=subscriber.acker.acked,
            dropped_acks=subscriber.acker.dropped_stale,
        )
        if server is not None:
            await server.close()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        dead.close()
        if own_store:
            the_store.close()


def _request_stop(stop: asyncio.Event, sig: signal.Signals) -> None:
    if not stop.is_set():
        log.info("stop_requested", signal=sig.name)
    stop.set()
