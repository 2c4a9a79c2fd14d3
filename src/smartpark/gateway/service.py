"""The gateway service: scheduler, drivers, outbox, publisher and status in one asyncio run.

:func:`run` is the one entry point: ``smartpark gateway`` and the lean runner
``python -m smartpark.gateway`` both call it (docs/gateway.md).

Every task belongs to one ``asyncio.TaskGroup``. SIGTERM (or SIGINT) stops the polls,
lets the ones in flight commit, then gives the publisher ``flush_timeout_s`` to empty the
outbox, says ``offline`` and exits 0; what could not be sent stays in the outbox for the
next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any, Final

from smartpark.core import logs
from smartpark.core.errors import ConfigError, OutboxError
from smartpark.core.logs import get_logger
from smartpark.core.timestamps import now_ms
from smartpark.gateway.config import LOG_LEVELS, GatewayConfig, load
from smartpark.gateway.drivers.base import SKIPPED, MeterDriver, MeterError, PollResult
from smartpark.gateway.drivers.csv_replay import progress_key, read_chunks
from smartpark.gateway.drivers.simulator import SimulatorDriver, sim_meters
from smartpark.gateway.outbox import Outbox
from smartpark.gateway.plausibility import screen
from smartpark.gateway.publisher import Publisher
from smartpark.gateway.readings import ReadingBatch
from smartpark.gateway.scheduler import Scheduler, utc_offset_ms

log = get_logger(__name__)

STATUS_EVERY_S: Final = 2.0
CSV_MAX_QUEUED: Final = 50_000  # a back-fill waits while the outbox holds more than this


def run(
    config_path: str | Path,
    registry: str | Path | None = None,
    broker: str | None = None,
    metrics_port: int | None = None,
    log_level: str | None = None,
) -> int:
    """Load ``config_path`` (the options override the file), run until SIGTERM, return 0.

    ``ConfigError`` lists every problem of the file and the options.
    """
    if log_level is not None and log_level not in LOG_LEVELS:
        raise ConfigError(
            "options", [f"log_level: must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}"]
        )
    cfg = load(config_path, registry_path=registry, broker=broker)
    cfg = dataclasses.replace(
        cfg,
        metrics_port=cfg.metrics_port if metrics_port is None else metrics_port,
        log_level=log_level or cfg.log_level,
    )
    logs.configure(cfg.log_level)
    asyncio.run(Gateway(cfg).run())
    return 0


class Gateway:
    """One edge gateway, built from a validated :class:`GatewayConfig`."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        reg = config.registry
        self.outbox = Outbox(config.outbox, max_bytes=config.outbox_max_bytes)
        self.drivers: list[MeterDriver] = []
        if any(ep.reads for ep in config.endpoints):
            from smartpark.gateway.drivers.modbus import ModbusDriver  # pymodbus only when needed

            self.drivers += [ModbusDriver(ep) for ep in config.endpoints if ep.reads]
        if any(bus.reads for bus in config.dlt645):
            from smartpark.gateway.drivers.dlt645 import Dlt645Driver  # pyserial when needed

            self.drivers += [Dlt645Driver(bus) for bus in config.dlt645 if bus.reads]
        self.hj212 = None
        if config.hj212 is not None:
            from smartpark.gateway.hj212.receiver import Hj212Receiver

            self.hj212 = Hj212Receiver(config.hj212, self._on_received)
        if config.simulator is not None and config.simulated_meters:
            sim = config.simulator
            self.drivers.append(
                SimulatorDriver(
                    sim_meters(
                        reg,
                        config.simulated_meters,
                        seed=sim.seed,
                        resets_per_year=sim.resets_per_year,
                        exceed_probability=sim.exceed_probability,
                    )
                )
            )
        polled = [m for d in self.drivers for m in d.meters]
        self.scheduler = Scheduler(
            self.drivers,
            {m: reg.meters[m].interval_s for m in polled},
            self._on_result,
            utc_offset_ms=utc_offset_ms(reg.parks[config.park].timezone),
        )
        self.publisher = Publisher(
            self.outbox,
            park=config.park,
            gateway=config.gateway,
            mqtt_options=config.mqtt,
            options=config.publish,
        )
        self.polled = 0
        self.outbox_errors = 0
        self.csv_rows_done = 0
        self.meter_errors: Counter[str] = Counter()
        self.errors_by_meter: Counter[str] = Counter()
        self.started_at = now_ms()
        self._oldest_ts: int | None = self.outbox.oldest_ts()
        self._stopping = asyncio.Event()
        self._stopped = False

    # -- results of polls -------------------------------------------------------------------

    def _on_result(self, result: PollResult, scheduled: int) -> None:
        good, bad = screen(result.readings)
        errors = result.errors + bad
        if errors:
            self._count_errors(errors)
        if len(good):
            self._commit(good)

    def _on_received(self, result: PollResult, received_ms: int) -> None:
        """Readings a data logger pushed (HJ 212): committed before the logger gets its
        acknowledgement, so an outbox failure raises and the upload is not acknowledged."""
        good, bad = screen(result.readings)
        errors = result.errors + bad
        if errors:
            self._count_errors(errors)
        if len(good) and not self._commit(good):
            raise OutboxError(f"outbox {self.config.outbox}: readings not committed")

    def _count_errors(self, errors: list[MeterError]) -> None:
        for e in errors:
            self.meter_errors[e.reason] += 1
            self.errors_by_meter[e.meter] += 1
            if e.reason == SKIPPED:
                log.debug("meter_skipped", meter=e.meter, detail=e.detail)
            else:
                log.warning("meter_error", meter=e.meter, reason=e.reason, detail=e.detail)

    def _commit(self, good: ReadingBatch, **meta: Any) -> bool:
        try:
            self.outbox.add(good, **meta)
        except (sqlite3.Error, OutboxError) as exc:
            self.outbox_errors += len(good)
            log.error("outbox_write_failed", readings=len(good), error=str(exc))
            return False
        self.polled += len(good)
        log.debug("outbox_committed", readings=len(good), last_ts=int(good.ts.max()))
        if self._oldest_ts is None:
            self._oldest_ts = int(good.ts.min())
        self.publisher.notify()
        return True

    # -- status -----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The counters of ``smartpark gateway status`` and the Prometheus metrics."""
        pub = self.publisher.stats
        now = now_ms()
        return {
            "gateway": self.config.gateway,
            "pid": os.getpid(),
            "started_at": self.started_at,
            "updated_at": now,
            "running": not self._stopped,
            "polled": self.polled,
            "published": pub.published,
            "messages": pub.messages,
            "queued": self.outbox.count,
            "oldest_age_s": (now - self._oldest_ts) / 1000.0 if self._oldest_ts else 0.0,
            "dropped": self.outbox.dropped,
            "reconnects": pub.reconnects,
            "connect_failures": pub.connect_failures,
            "rejected": pub.rejected,
            "connected": int(pub.connected),
            "outbox_errors": self.outbox_errors,
            "meter_errors": dict(self.meter_errors),
            "meter_errors_by_meter": dict(self.errors_by_meter.most_common(50)),
            "jitter_ms": self.scheduler.stats.jitter(),
            "missed_slots": self.scheduler.stats.missed_slots,
            "busy_skips": self.scheduler.stats.busy_skips,
            "csv_rows_done": self.csv_rows_done,
        }

    def _save_status(self) -> None:
        self._oldest_ts = self.outbox.oldest_ts()
        try:
            self.outbox.save_status(self.snapshot())
        except sqlite3.Error as exc:
            log.error("status_save_failed", error=str(exc))

    async def _status_loop(self) -> None:
        while not self._stopping.is_set():
            self._save_status()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STATUS_EVERY_S):
                    await self._stopping.wait()

    # -- CSV back-fill ----------------------------------------------------------------------

    async def _replay_csv(self) -> None:
        csv = self.config.csv
        if csv is None:
            return
        key = progress_key(csv.path)
        skip = int(self.outbox.get_meta(key, 0))
        log.info("csv_replay_started", path=str(csv.path), skip_rows=skip)
        for chunk in read_chunks(
            csv.path, self.config.meter_quantity, chunk=csv.chunk, skip_rows=skip
        ):
            while self.outbox.count > CSV_MAX_QUEUED and not self._stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.2):
                        await self._stopping.wait()
            if self._stopping.is_set():
                return
            good, bad = screen(chunk.readings)
            if chunk.errors or bad:
                self._count_errors(chunk.errors + bad)
            if not self._commit(good, **{key: chunk.rows_done}):
                return
            self.csv_rows_done = chunk.rows_done
            await asyncio.sleep(0)
        log.info("csv_replay_done", path=str(csv.path), rows=self.csv_rows_done)

    # -- lifecycle --------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop polling, flush, exit (what SIGTERM does)."""
        if not self._stopping.is_set():
            log.info("gateway_stopping")
        self._stopping.set()
        self.scheduler.stop()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop)
        metrics_server = None
        if self.config.metrics_port is not None:
            from smartpark.gateway.metrics import serve

            metrics_server, _ = serve(
                self.snapshot, self.config.metrics_host, self.config.metrics_port
            )
        cfg = self.config
        log.info(
            "gateway_started",
            gateway=cfg.gateway,
            park=cfg.park,
            broker=str(cfg.broker),
            meters=len(cfg.meters),
            modbus=sum(len(e.reads) for e in cfg.endpoints),
            dlt645=sum(len(b.reads) for b in cfg.dlt645),
            hj212=len(cfg.hj212.meters) if cfg.hj212 is not None else 0,
            simulated=len(cfg.simulated_meters),
            unread=list(cfg.unread_meters),
            queued=self.outbox.count,
            outbox=str(cfg.outbox),
        )
        try:
            if self.hj212 is not None:
                await self.hj212.start()
            async with asyncio.TaskGroup() as tg:
                publishing = tg.create_task(self.publisher.run())
                tg.create_task(self._status_loop())
                replay = tg.create_task(self._replay_csv())
                await self.scheduler.run()  # until stop(); in-flight polls are committed
                if self.hj212 is not None:
                    await self.hj212.close()  # no upload is taken that cannot be committed
                self._stopping.set()
                await replay
                self.publisher.stop()
                await publishing
        finally:
            if self.hj212 is not None:
                with contextlib.suppress(Exception):
                    await self.hj212.close()
            for driver in self.drivers:
                with contextlib.suppress(Exception):
                    await driver.close()
            self._stopped = True
            self._save_status()
            self.outbox.close()
            if metrics_server is not None:
                metrics_server.shutdown()
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
        log.info("gateway_stopped", polled=self.polled, published=self.publisher.stats.published)
