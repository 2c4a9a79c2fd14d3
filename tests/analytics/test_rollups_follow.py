"""One ``kpi --follow`` cycle's rollup upkeep costs what arrived, not the history."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from smartpark.analytics.days.maintain import keep_current
from smartpark.analytics.jobs import Selection, kpi_job, periods_touching
from smartpark.analytics.windows.rollups.source import coverage
from smartpark.core.urls import parse_store_url
from smartpark.store.open import open_store

from .parks import DAY_MS, HOUR_MS, columns, day_ms
from .test_rollups_exact import assert_same, make_registry

METERS = {
    "a-imp": {"enterprise": "a", "quantity": "electricity_import"},
    "b-gas": {"enterprise": "b", "quantity": "natural_gas", "interval_s": 300},
}


def minutes(reg, start: int, end: int, base: float = 100.0):
    rows = []
    for mid, meter in reg.meters.items():
        step = meter.interval_s * 1000
        for k, t in enumerate(range(start, end, step)):
            rows.append((mid, t, base + 0.5 * k))
    return columns(reg, rows)


def test_a_cycle_rolls_up_the_new_hour_and_a_late_reading_only(tmp_path: Path) -> None:
    reg = make_registry(METERS)
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 'p.db'}"), reg)
    try:
        t0 = day_ms(2026, 11, 1)
        now = t0 + 7 * DAY_MS
        store.write(minutes(reg, t0, now))
        first = keep_current(store, reg, t0, now)  # the first cycle rolls up the week
        assert first.added.windows == 7 * 96
        cov = coverage(store, reg, t0, now)
        assert cov.current == cov.windows

        # One more hour arrives (continuing the registers).
        more = minutes(reg, now, now + HOUR_MS)
        base = {m: float(v) for m, v in zip(*_last(store, reg, now), strict=True)}
        more = more.take(np.arange(len(more)))
        more.value[:] += np.array([base[m] - 100.0 + 0.5 for m in more.meter.tolist()])
        store.write(more)
        second = keep_current(store, reg, t0, now + HOUR_MS)
        touched = second.added.windows + second.rerolled.windows
        assert 4 <= touched <= 8, second  # the hour, and the window before it
        # A late reading three days back: only the windows around it are re-rolled.
        late_ts = t0 + 3 * DAY_MS + 30_500
        store.write(columns(reg, [("b-gas", late_ts, float(base[reg.meter_code["b-gas"]]))]))
        third = keep_current(store, reg, t0, now + HOUR_MS)
        assert 1 <= third.rerolled.windows <= 3
        assert third.added.windows == 0
        # The same cycle rebuilt the day cells around it (the registry has five time
        # zones: a day is five cells), so the days read from day rows, current.
        assert 1 <= third.days.cells <= 10
        assert first.days.cells == 7 * 5
        sel = Selection.check(reg, "day", "park")
        days = periods_touching(sel, third.rerolled.ranges, before_ms=now)
        # The day it fell in (and the day before: the re-rolled range reaches back to the
        # context readings, minutes before its midnight).
        assert days == [(t0 + 2 * DAY_MS, t0 + 4 * DAY_MS)]
        a, b = days[0]
        rolled = kpi_job(store, reg, a, b, ["day"], write=False)
        assert rolled.source.summary == "days"
        assert_same(
            rolled.table, kpi_job(store, reg, a, b, ["day"], write=False, use_rollups=False).table
        )
    finally:
        store.close()


def _last(store, reg, at: int):
    cols = store.read(at - HOUR_MS, at)
    last = np.flatnonzero(np.r_[cols.meter[1:] != cols.meter[:-1], True])
    return cols.meter[last].tolist(), cols.value[last].tolist()
