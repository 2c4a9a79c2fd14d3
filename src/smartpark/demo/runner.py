"""``smartpark demo``: the real pieces in one process, simulated time, a KPI report.

Simulated gateways (one per registry gateway) put readings into their on-disk outboxes
and publish them over MQTT with the real publisher; the real ingest service validates
and stores them; the real analytics compute the KPIs from the store. Simulated time runs
``speed`` times faster than real time. The staged faults are in
:mod:`smartpark.demo.faults`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from smartpark.analytics.periods import from_ms, local_midnight_ms
from smartpark.core import timestamps
from smartpark.core.errors import OptionError, SmartparkError
from smartpark.core.mqtt import MqttOptions
from smartpark.core.registry import Registry
from smartpark.core.urls import BrokerUrl, StoreUrl, parse_broker_url
from smartpark.demo.broker import embedded_broker
from smartpark.demo.faults import Faults, plan
from smartpark.gateway.drivers.simulator import SimMeter, sim_meters, simulate
from smartpark.gateway.outbox import Outbox
from smartpark.gateway.publisher import Publisher, PublishOptions
from smartpark.ingest.service import Running, serve
from smartpark.ingest.settings import IngestSettings
from smartpark.store.base import Store

TICK_S = 0.1  # wall-clock seconds between simulation steps
DRAIN_TIMEOUT_S = 120.0
INTERRUPT_DRAIN_S = 15.0


@dataclass(frozen=True)
class DemoOptions:
    registry: Registry
    days: float
    speed: float
    out: Path
    store_url: StoreUrl
    broker: str | None = None
    seed: int = 42
    start: dt.date | None = None  # None: ``days`` before the last local midnight


@dataclass
class DemoCounts:
    simulated: int = 0
    published: int = 0
    stored: int = 0
    rejected: int = 0
    outbox: int = 0
    reconnects: int = 0


@dataclass
class DemoResult:
    start_ms: int
    end_ms: int
    reached_ms: int  # simulated time reached (== end_ms unless interrupted)
    interrupted: bool
    broker: str
    faults: Faults
    counts: DemoCounts
    wall_s: float


class _SimGateway:
    """One simulated edge device: its meters, outbox and publisher."""

    def __init__(
        self, gateway: str, park: str, sims: list[SimMeter], outbox: Outbox, broker: BrokerUrl
    ) -> None:
        self.id = gateway
        self.park = park
        self.sims = sims
        self.outbox = outbox
        self.broker = broker
        self.publisher: Publisher | None = None
        self.task: asyncio.Task[None] | None = None
        self.published_before = 0  # by earlier publishers (before an outage)
        self.reconnects_before = 0

    def start(self, tg: asyncio.TaskGroup) -> None:
        self.publisher = Publisher(
            self.outbox,
            park=self.park,
            gateway=self.id,
            mqtt_options=MqttOptions(
                host=self.broker.host,
                port=self.broker.port,
                client_id=f"smartpark-demo-{self.id}",
                protocol="3.1.1",
            ),
            options=PublishOptions(
                batch_max=1000, batch_ms=100, max_inflight=50, drain_rate=0, flush_timeout_s=5
            ),
        )
        self.task = tg.create_task(self.publisher.run(), name=f"publisher-{self.id}")

    async def go_offline(self) -> None:
        """Stop publishing (readings keep going into the outbox)."""
        publisher, task = self.publisher, self.task
        if publisher is None or task is None:
            return
        publisher.options = dataclasses.replace(publisher.options, flush_timeout_s=0)
        publisher.stop()
        await task
        # Counted after the task ended: acknowledgements can arrive while it stops.
        self.published_before += publisher.stats.published
        self.reconnects_before += publisher.stats.reconnects
        self.publisher, self.task = None, None

    @property
    def online(self) -> bool:
        return self.publisher is not None

    @property
    def published(self) -> int:
        now = self.publisher.stats.published if self.publisher else 0
        return self.published_before + now

    def poll(self, from_ms: int, to_ms: int, faults: Faults) -> int:
        batch = faults.apply(simulate(self.sims, from_ms, to_ms))
        if len(batch):
            self.outbox.add(batch)
            if self.publisher is not None:
                self.publisher.notify()
        return len(batch)


def simulated_range(
    registry: Registry, days: float, start: dt.date | None = None, now_ms: int | None = None
) -> tuple[int, int]:
    """The simulated ``[start, end)`` in epoch ms, in the first zone's time zone.

    From local midnight of ``start`` for ``days``; without ``start``, the ``days``
    ending at the last local midnight before ``now_ms`` (the wall clock). A range
    ending after ``now_ms`` plus the tolerated clock skew is refused: ingest rejects
    readings from the future (docs/contract.md).
    """
    zone = registry.zones[registry.zone_ids[0]]
    now = timestamps.now_ms() if now_ms is None else now_ms
    if start is None:
        today = from_ms(now, zone.timezone).date()
        end_ms = local_midnight_ms(today, zone.timezone)
        return end_ms - round(days * 86_400_000), end_ms
    start_ms = local_midnight_ms(start, zone.timezone)
    end_ms = start_ms + round(days * 86_400_000)
    if end_ms > now + timestamps.MAX_FUTURE_MS:
        raise OptionError(
            f"--start: {start.isoformat()} plus {days:g} days ends in the future, and ingest "
            "rejects readings from the future; give an earlier --start or fewer --days"
        )
    return start_ms, end_ms


@contextlib.asynccontextmanager
async def _broker(options: DemoOptions) -> AsyncIterator[tuple[str, str]]:
    if options.broker:
        yield options.broker, options.broker
        return
    async with embedded_broker(options.out / "broker") as (url, description):
        yield url, description


class DemoRun:
    """One run of the demo; :meth:`run` returns its :class:`DemoResult`."""

    def __init__(
        self, options: DemoOptions, store: Store, console: Console, stop: asyncio.Event
    ) -> None:
        self.options = options
        self.reg = options.registry
        self.store = store
        self.console = console
        self.stop = stop
        self.start_ms, self.end_ms = simulated_range(self.reg, options.days, options.start)
        self.sim_ms = self.start_ms
        self.counts = DemoCounts()
        sims = sim_meters(self.reg, self.reg.meter_ids, seed=options.seed, exceed_probability=0.0)
        self.sims = {s.id: s for s in sims}
        self.faults = plan(self.reg, self.sims, self.start_ms, self.end_ms)
        self.gateways: list[_SimGateway] = []
        self.ingest: Running | None = None
        self.progress: Progress | None = None
        self.task_id: TaskID | None = None
        self.wall_start = time.monotonic()

    async def run(self) -> DemoResult:
        outbox_dir = self.options.out / "outbox"
        outbox_dir.mkdir(parents=True, exist_ok=True)
        interrupted = False
        async with _broker(self.options) as (broker_url, broker_desc):
            broker = parse_broker_url(broker_url)
            self.gateways = [
                _SimGateway(
                    g,
                    self.reg.gateways[g].park,
                    [self.sims[m.id] for m in self.reg.meters_of_gateway(g)],
                    Outbox(outbox_dir / f"{g}.db"),
                    broker,
                )
                for g in self.reg.gateway_ids
            ]
            try:
                interrupted = await self._run_pieces(broker_url)
            finally:
                for gw in self.gateways:
                    gw.outbox.close()
        return DemoResult(
            start_ms=self.start_ms,
            end_ms=self.end_ms,
            reached_ms=self.sim_ms,
            interrupted=interrupted,
            broker=broker_desc,
            faults=self.faults,
            counts=self.counts,
            wall_s=time.monotonic() - self.wall_start,
        )

    async def _run_pieces(self, broker_url: str) -> bool:
        settings = IngestSettings(
            registry=Path(self.reg.source),
            broker=broker_url,
            store=str(self.options.store_url),
            client_id="smartpark-demo-ingest",
            mqtt_protocol="3.1.1",
            dead_letters=self.options.out / "dead-letters.db",
            batch_size=5000,
            batch_ms=100,
        )
        ingest_stop = asyncio.Event()
        started: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
        async with asyncio.TaskGroup() as tg:
            ingest = tg.create_task(
                serve(
                    settings, registry=self.reg, store=self.store, stop=ingest_stop, started=started
                ),
                name="ingest",
            )
            self.ingest = await started
            # The broker keeps messages only for a session that exists: gateways start
            # once ingest has subscribed, as its persistent session would in production.
            await self._wait_subscribed(self.ingest)
            # serve() took SIGINT/SIGTERM for its own stop; the demo stops ingest itself,
            # after draining, so a signal must reach the demo first.
            watch_signals(self.stop)
            for gw in self.gateways:
                gw.start(tg)
            with _progress(self.console) as self.progress:
                self.task_id = self.progress.add_task(
                    "starting",
                    total=self.end_ms - self.start_ms,
                    sim=local_time(self.sim_ms, self.reg),
                    published=0,
                    stored=0,
                    rejected=0,
                    outbox=0,
                    rate=0.0,
                )
                interrupted = await self._simulate(tg)
                if interrupted:
                    # Stop publishing (the rest stays in the outboxes, on disk) and let
                    # ingest store what the broker already has; a second Ctrl-C stops that.
                    for gw in self.gateways:
                        await gw.go_offline()
                    abort = asyncio.Event()
                    watch_signals(abort)
                    await self._drain(INTERRUPT_DRAIN_S, abort, outboxes_empty=False)
                else:
                    await self._drain(DRAIN_TIMEOUT_S, self.stop, outboxes_empty=True)
            for gw in self.gateways:
                await gw.go_offline()
            ingest_stop.set()
            await ingest
        self._count()
        return interrupted

    async def _wait_subscribed(self, ingest: Running) -> None:
        deadline = time.monotonic() + 30
        while not ingest.subscriber.subscribed:
            if time.monotonic() > deadline or self.stop.is_set():
                raise SmartparkError("ingest did not subscribe to the broker within 30 s")
            await asyncio.sleep(0.05)

    async def _simulate(self, tg: asyncio.TaskGroup) -> bool:
        """Advance simulated time; returns True when interrupted."""
        step_ms = max(1, round(TICK_S * 1000 * self.options.speed))
        wall0 = time.monotonic()
        offline = next(g for g in self.gateways if g.id == self.faults.offline_gateway)
        f = self.faults
        while self.sim_ms < self.end_ms:
            if self.stop.is_set():
                return True
            # Steps end exactly where the offline hour starts and ends.
            target = min(self.end_ms, self.sim_ms + step_ms)
            for edge in (f.offline_from_ms, f.offline_to_ms):
                if self.sim_ms < edge < target:
                    target = edge
            if self.sim_ms == f.offline_from_ms and offline.online:
                await offline.go_offline()
            for gw in self.gateways:
                self.counts.simulated += gw.poll(self.sim_ms, target, self.faults)
            self.sim_ms = target
            if self.sim_ms == f.offline_to_ms and not offline.online:
                offline.start(tg)  # back online: the new publisher drains its outbox
            self._refresh("simulating")
            # Keep simulated time at `speed` x real time (never ahead of it).
            due = wall0 + (self.sim_ms - self.start_ms) / 1000 / self.options.speed
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        return False

    async def _drain(self, timeout_s: float, abort: asyncio.Event, *, outboxes_empty: bool) -> None:
        """Wait until ingest stored what was published (and the outboxes are empty)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not abort.is_set():
            self._refresh("draining")
            c = self.counts
            if (c.outbox == 0 or not outboxes_empty) and c.stored + c.rejected >= c.published:
                break
            await asyncio.sleep(0.1)
        self._refresh("done")

    def _count(self) -> None:
        c = self.counts
        c.published = sum(g.published for g in self.gateways)
        c.outbox = sum(g.outbox.count for g in self.gateways)
        c.reconnects = sum(
            g.reconnects_before + (g.publisher.stats.reconnects if g.publisher else 0)
            for g in self.gateways
        )
        if self.ingest is not None:
            ingest = self.ingest.counts()
            c.stored, c.rejected = ingest.stored, ingest.rejected

    def _refresh(self, phase: str) -> None:
        self._count()
        if self.progress is None or self.task_id is None:
            return
        c = self.counts
        self.progress.update(
            self.task_id,
            completed=self.sim_ms - self.start_ms,
            description=phase,
            sim=local_time(self.sim_ms, self.reg),
            published=c.published,
            stored=c.stored,
            rejected=c.rejected,
            outbox=c.outbox,
            rate=c.stored / max(time.monotonic() - self.wall_start, 1e-9),
        )


def watch_signals(stop: asyncio.Event) -> None:
    """SIGINT (Ctrl-C) and SIGTERM set ``stop``."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


def local_time(ms: int, reg: Registry) -> str:
    """``ms`` as local time of the registry's (first) zone, to the minute."""
    tz = ZoneInfo(reg.zones[reg.zone_ids[0]].timezone)
    return dt.datetime.fromtimestamp(ms / 1000, tz).strftime("%Y-%m-%d %H:%M")


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<10}"),
        BarColumn(),
        TextColumn("sim {task.fields[sim]}"),
        TextColumn("published {task.fields[published]:>9,}"),
        TextColumn("stored {task.fields[stored]:>9,}"),
        TextColumn("rejected {task.fields[rejected]:,}"),
        TextColumn("{task.fields[rate]:>7,.0f}/s"),
        TextColumn("outbox {task.fields[outbox]:>6,}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
