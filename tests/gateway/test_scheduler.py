"""The scheduler polls on wall-clock boundaries without drift (a simulated clock, no timing)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from smartpark.gateway.drivers.base import SKIPPED, PollResult
from smartpark.gateway.readings import ReadingBatch
from smartpark.gateway.scheduler import Scheduler, utc_offset_ms

T0 = 1_767_225_600_000


class FakeClock:
    """Time moves only when the scheduler sleeps: by the delay asked plus ``late`` ms."""

    def __init__(self, start: int, late: int = 7) -> None:
        self.now = start
        self.late = late
        self.jumps: dict[int, int] = {}  # at the n-th sleep, oversleep by this many ms
        self.sleeps = 0

    def clock(self) -> int:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += round(seconds * 1000) + self.late + self.jumps.get(self.sleeps, 0)
        await asyncio.sleep(0)


class RecordingDriver:
    name = "recording"

    def __init__(self, meters: Sequence[str]) -> None:
        self._meters = list(meters)
        self.calls: list[tuple[list[str], int]] = []

    @property
    def meters(self) -> Sequence[str]:
        return self._meters

    async def read(self, meters: Sequence[str], ts_ms: int) -> PollResult:
        self.calls.append((list(meters), ts_ms))
        n = len(meters)
        return PollResult(ReadingBatch.of(meters, ["o2"] * n, ["%"] * n, [ts_ms] * n, [1.0] * n))

    async def close(self) -> None:
        return None


def run(scheduler: Scheduler, clock: FakeClock, until: int, polled: dict[str, list[int]]) -> None:
    async def main() -> None:
        task = asyncio.create_task(scheduler.run())
        for _ in range(100_000):
            if clock.now >= until:
                break
            await asyncio.sleep(0)
        scheduler.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(main())


def test_each_meter_on_its_own_aligned_grid_without_drift() -> None:
    clock = FakeClock(T0 + 123)
    driver = RecordingDriver(["fast", "mid", "slow"])
    polled: dict[str, list[int]] = defaultdict(list)

    def sink(result: PollResult, scheduled: int) -> None:
        for m, ts in zip(result.readings.meter.tolist(), result.readings.ts.tolist(), strict=True):
            polled[m].append(ts)

    intervals = {"fast": 1, "mid": 5, "slow": 60}
    sched = Scheduler([driver], intervals, sink, clock_ms=clock.clock, sleep=clock.sleep)
    run(sched, clock, T0 + 600_000, polled)
    for meter, iv in intervals.items():
        ts = np.array(polled[meter])
        step = iv * 1000
        assert ts[0] == T0 + step  # first boundary after the start
        assert np.all(np.diff(ts) == step), meter  # every slot, no drift despite lateness
        assert len(ts) >= 590 * 1000 // step
    # Meters due together are read in one driver call.
    assert ([*sorted(m for m in driver.calls[59][0])], driver.calls[59][1]) == (
        ["fast", "mid", "slow"],
        T0 + 60_000,
    )
    jitter = sched.stats.jitter()
    assert jitter["p50"] == 7
    assert jitter["max"] == 7
    assert sched.stats.missed_slots == 0


def test_a_late_wakeup_skips_missed_slots_and_stays_aligned() -> None:
    clock = FakeClock(T0, late=0)
    clock.jumps[10] = 4_500  # the 10th sleep overruns by 4.5 s
    driver = RecordingDriver(["m"])
    polled: dict[str, list[int]] = defaultdict(list)

    def sink(result: PollResult, scheduled: int) -> None:
        polled["m"].extend(result.readings.ts.tolist())

    sched = Scheduler([driver], {"m": 1}, sink, clock_ms=clock.clock, sleep=clock.sleep)
    run(sched, clock, T0 + 30_000, polled)
    ts = np.array(polled["m"])
    assert np.all(ts % 1000 == 0)
    gaps = np.diff(ts)
    assert sorted(set(gaps.tolist())) == [1000, 5000]
    assert sched.stats.missed_slots == 4
    assert sched.stats.jitter()["max"] == 4_500  # woke 4.5 s after its slot


class StuckDriver(RecordingDriver):
    name = "stuck"

    def __init__(self, meters: Sequence[str]) -> None:
        super().__init__(meters)
        self.release = asyncio.Event()

    async def read(self, meters: Sequence[str], ts_ms: int) -> PollResult:
        self.calls.append((list(meters), ts_ms))
        await self.release.wait()
        return PollResult(ReadingBatch.empty())


def test_a_busy_driver_is_skipped_and_never_blocks_the_others() -> None:
    clock = FakeClock(T0, late=0)
    good = RecordingDriver(["good"])
    stuck = StuckDriver(["dead"])
    polled: list[str] = []
    skipped: list[str] = []

    def sink(result: PollResult, scheduled: int) -> None:
        polled.extend(result.readings.meter.tolist())
        skipped.extend(e.meter for e in result.errors if e.reason == SKIPPED)

    sched = Scheduler(
        [good, stuck], {"good": 1, "dead": 1}, sink, clock_ms=clock.clock, sleep=clock.sleep
    )

    async def main() -> None:
        task = asyncio.create_task(sched.run())
        for _ in range(10_000):
            if clock.now >= T0 + 20_000:
                break
            await asyncio.sleep(0)
        stuck.release.set()
        sched.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(main())
    assert len(stuck.calls) == 1
    assert polled.count("good") >= 19
    assert skipped.count("dead") >= 18
    assert sched.stats.busy_skips == skipped.count("dead")


def test_boundaries_follow_the_parks_local_time() -> None:
    assert utc_offset_ms("Asia/Shanghai") == 8 * 3_600_000
    assert utc_offset_ms("Asia/Kolkata") == 19_800_000
    assert utc_offset_ms("Europe/Berlin", T0) == 3_600_000  # winter
    clock = FakeClock(T0 + 1_000, late=0)
    driver = RecordingDriver(["hourly", "daily"])
    polled: dict[str, list[int]] = defaultdict(list)

    def sink(result: PollResult, scheduled: int) -> None:
        for m, ts in zip(result.readings.meter.tolist(), result.readings.ts.tolist(), strict=True):
            polled[m].append(ts)

    offset = utc_offset_ms("Asia/Kolkata")  # +05:30
    sched = Scheduler(
        [driver],
        {"hourly": 3600, "daily": 86400},
        sink,
        clock_ms=clock.clock,
        sleep=clock.sleep,
        utc_offset_ms=offset,
    )
    run(sched, clock, T0 + 3 * 86_400_000, polled)
    assert all((ts + offset) % 3_600_000 == 0 for ts in polled["hourly"])
    assert all((ts + offset) % 86_400_000 == 0 for ts in polled["daily"])  # local midnight
    assert len(polled["daily"]) == 3
    assert np.all(np.diff(polled["hourly"]) == 3_600_000)
