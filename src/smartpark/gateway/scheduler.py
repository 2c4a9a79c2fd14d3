"""The poll scheduler: each meter at its own interval, on wall-clock boundaries, without drift.

A meter with ``interval_s = 60`` is read at every whole minute, one with 900 s at :00,
:15, :30, :45, one with 86400 s at local midnight: boundaries are aligned in the park's
local time (``utc_offset_ms``, the zone's offset when the gateway starts). The next poll
time is the previous *scheduled* time plus the interval, never "now + interval", so
lateness never accumulates; a poll that is late by a whole interval or more (a
suspended machine) skips the missed slots and counts them. Meters due at the same
instant are read together, one driver call per driver, each in its own task (so a slow
endpoint never delays another), and a driver still busy with its previous poll is not
called again (its meters are reported ``skipped``). Readings carry their scheduled
timestamp; the actual wake-up lateness (jitter) is measured.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from smartpark.core.logs import get_logger
from smartpark.core.timestamps import now_ms
from smartpark.gateway.drivers.base import SKIPPED, MeterDriver, MeterError, PollResult
from smartpark.gateway.readings import ReadingBatch

log = get_logger(__name__)

DRIVER_ERROR = "driver_error"
_JITTER_WINDOW = 1024


@dataclass(slots=True)
class SchedulerStats:
    ticks: int = 0
    driver_calls: int = 0
    missed_slots: int = 0  # poll times skipped because the scheduler woke too late
    busy_skips: int = 0  # meters not polled because their driver was still busy
    jitter_ms: np.ndarray = field(default_factory=lambda: np.zeros(_JITTER_WINDOW))
    jitter_n: int = 0

    def record_jitter(self, ms: float) -> None:
        self.jitter_ms[self.jitter_n % _JITTER_WINDOW] = ms
        self.jitter_n += 1

    def jitter(self) -> dict[str, float]:
        """p50/p99/max wake-up lateness (ms) over the last polls."""
        window = self.jitter_ms[: min(self.jitter_n, _JITTER_WINDOW)]
        if len(window) == 0:
            return {"p50": 0.0, "p99": 0.0, "max": 0.0}
        p50, p99 = np.percentile(window, [50, 99])
        return {"p50": float(p50), "p99": float(p99), "max": float(window.max())}


ResultSink = Callable[[PollResult, int], None]


class Scheduler:
    """Polls ``drivers`` at ``intervals_s`` (meter -> seconds) and hands results to ``sink``."""

    def __init__(
        self,
        drivers: Sequence[MeterDriver],
        intervals_s: Mapping[str, int],
        sink: ResultSink,
        *,
        clock_ms: Callable[[], int] = now_ms,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        utc_offset_ms: int = 0,
    ) -> None:
        self._driver_of: dict[str, MeterDriver] = {}
        for driver in drivers:
            for meter in driver.meters:
                self._driver_of[meter] = driver
        missing = sorted(set(self._driver_of) - set(intervals_s))
        if missing:
            raise ValueError(f"no interval for meters {missing}")
        self._interval_ms = {m: int(intervals_s[m]) * 1000 for m in self._driver_of}
        self._sink = sink
        self._clock = clock_ms
        self._sleep = sleep
        self._offset = utc_offset_ms
        self._stop = asyncio.Event()
        self._busy: set[int] = set()
        self.stats = SchedulerStats()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Poll until :meth:`stop`; in-flight polls finish (their drivers' timeouts bound it)."""
        if not self._interval_ms:
            await self._stop.wait()
            return
        now = self._clock()
        off = self._offset
        next_due = {m: ((now + off) // iv + 1) * iv - off for m, iv in self._interval_ms.items()}
        async with asyncio.TaskGroup() as tg:
            while not self._stop.is_set():
                due_at = min(next_due.values())
                delay_ms = due_at - self._clock()
                if delay_ms > 0:
                    await self._wait(delay_ms / 1000.0)
                    if self._stop.is_set():
                        break
                    if self._clock() < due_at:
                        continue  # woke early (clock moved): recompute
                woke = self._clock()
                self.stats.ticks += 1
                self.stats.record_jitter(woke - due_at)
                groups: dict[tuple[int, int], list[str]] = defaultdict(list)
                for meter, scheduled in next_due.items():
                    if scheduled > woke:
                        continue
                    iv = self._interval_ms[meter]
                    following = scheduled + iv
                    if following <= woke:  # late by a whole interval: skip, count
                        missed = (woke - scheduled) // iv
                        self.stats.missed_slots += missed
                        following = scheduled + (missed + 1) * iv
                        scheduled = scheduled + missed * iv
                    next_due[meter] = following
                    groups[(id(self._driver_of[meter]), scheduled)].append(meter)
                for (driver_id, scheduled), meters in groups.items():
                    driver = self._driver_of[meters[0]]
                    if driver_id in self._busy:
                        self.stats.busy_skips += len(meters)
                        detail = f"{driver.name}: previous poll still running"
                        errors = [MeterError(m, SKIPPED, detail) for m in meters]
                        self._sink(PollResult(ReadingBatch.empty(), errors), scheduled)
                        continue
                    self._busy.add(driver_id)
                    tg.create_task(self._poll(driver, meters, scheduled))

    async def _wait(self, seconds: float) -> None:
        if self._sleep is not None:
            await self._sleep(seconds)
            return
        try:
            async with asyncio.timeout(seconds):
                await self._stop.wait()
        except TimeoutError:
            pass

    async def _poll(self, driver: MeterDriver, meters: list[str], scheduled: int) -> None:
        self.stats.driver_calls += 1
        try:
            result = await driver.read(meters, scheduled)
        except Exception as exc:  # a driver bug must not stop the gateway
            log.exception("driver_failed", driver=driver.name)
            detail = f"{driver.name}: {type(exc).__name__}: {exc}"
            result = PollResult(
                ReadingBatch.empty(), [MeterError(m, DRIVER_ERROR, detail) for m in meters]
            )
        finally:
            self._busy.discard(id(driver))
        self._sink(result, scheduled)


def utc_offset_ms(timezone: str, at_ms: int | None = None) -> int:
    """The UTC offset of ``timezone`` at ``at_ms`` (default: now), in milliseconds."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    when = dt.datetime.fromtimestamp((now_ms() if at_ms is None else at_ms) / 1000, dt.UTC)
    offset = when.astimezone(ZoneInfo(timezone)).utcoffset()
    return int(offset.total_seconds() * 1000) if offset is not None else 0
