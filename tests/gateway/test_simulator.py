"""The simulator: deterministic, realistic shapes, counters that only increase, pure in time."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from smartpark.core import quantities, registry
from smartpark.gateway.drivers.simulator import (
    DAY_MS,
    HOUR_MS,
    SimMeter,
    SimulatorDriver,
    _day_rate,
    _Params,
    _profile,
    sim_meters,
    simulate,
    values,
)

REGISTRY = Path(__file__).parents[2] / "examples" / "registry.toml"
MIDNIGHT_SH = 1_767_225_600_000 - 8 * HOUR_MS  # 2026-01-01T00:00 in Asia/Shanghai
WEEK = 7 * DAY_MS


@pytest.fixture(scope="module")
def reg() -> registry.Registry:
    return registry.load(REGISTRY)


@pytest.fixture(scope="module")
def week(reg: registry.Registry) -> tuple[list[SimMeter], dict[str, tuple[np.ndarray, np.ndarray]]]:
    meters = sim_meters(reg, reg.meter_ids, seed=7)
    batch = simulate(meters, MIDNIGHT_SH, MIDNIGHT_SH + WEEK)
    cols = {}
    for m in meters:
        sel = batch.meter == m.id
        cols[m.id] = (batch.ts[sel], batch.value[sel])
    return meters, cols


def test_same_seed_same_data_other_seed_other_data(reg: registry.Registry) -> None:
    a = simulate(sim_meters(reg, reg.meter_ids, seed=1), MIDNIGHT_SH, MIDNIGHT_SH + DAY_MS)
    b = simulate(sim_meters(reg, reg.meter_ids, seed=1), MIDNIGHT_SH, MIDNIGHT_SH + DAY_MS)
    c = simulate(sim_meters(reg, reg.meter_ids, seed=2), MIDNIGHT_SH, MIDNIGHT_SH + DAY_MS)
    assert np.array_equal(a.value, b.value)
    assert np.array_equal(a.ts, c.ts)
    assert not np.allclose(a.value, c.value)


def test_week_covers_every_aligned_poll_in_time_order(
    reg: registry.Registry, week: tuple[list[SimMeter], dict[str, tuple[np.ndarray, np.ndarray]]]
) -> None:
    meters, cols = week
    for m in meters:
        ts, v = cols[m.id]
        step = m.interval_s * 1000
        first = -(-MIDNIGHT_SH // step) * step  # the first aligned poll in the week
        assert len(ts) == len(range(first, MIDNIGHT_SH + WEEK, step))  # monthly meters too
        assert len(ts) >= 1
        assert np.all(ts % (m.interval_s * 1000) == 0)
        assert np.all(np.isfinite(v))
        assert np.all(v >= 0)
    batch = simulate(meters, MIDNIGHT_SH, MIDNIGHT_SH + WEEK)
    assert np.all(np.diff(batch.ts) >= 0)
    assert {m.quantity for m in meters} | {"diesel"} <= set(quantities.QUANTITY_NAMES)


def test_every_catalogue_quantity_simulates(reg: registry.Registry) -> None:
    template = sim_meters(reg, ["chem-a-main"], seed=3)[0]
    ts = np.arange(MIDNIGHT_SH, MIDNIGHT_SH + 2 * DAY_MS, 60_000, dtype=np.int64)
    for q in quantities.QUANTITY_NAMES:
        v = values(replace(template, quantity=q, limit=100.0), ts)
        assert np.all(np.isfinite(v)), q
        assert np.all(v >= 0), q
        if quantities.BY_NAME[q].nature == "counter":
            assert np.all(np.diff(v) >= 0), q
            assert v[-1] > v[0], q
        if q == "o2":
            assert 2.0 <= v.min() <= v.max() <= 20.0


def test_live_driver_reads_the_same_values_as_simulate(
    week: tuple[list[SimMeter], dict[str, tuple[np.ndarray, np.ndarray]]],
) -> None:
    meters, cols = week
    driver = SimulatorDriver(meters)
    ts = MIDNIGHT_SH + 3 * DAY_MS + 3_600_000
    got = asyncio.run(driver.read(driver.meters, ts))
    assert not got.errors
    by_id = {m.id: m for m in meters}
    assert sorted(got.readings.meter.tolist()) == sorted(by_id)
    for i, mid in enumerate(got.readings.meter.tolist()):
        if ts % (by_id[mid].interval_s * 1000):
            continue  # not a poll time of this meter
        sim_ts, sim_v = cols[mid]
        k = np.searchsorted(sim_ts, ts)
        assert sim_ts[k] == ts
        assert got.readings.value[i] == sim_v[k]
        assert got.readings.unit[i] == quantities.BY_NAME[got.readings.quantity[i]].canonical_unit


def test_counters_increase_and_integrate_their_rate(
    week: tuple[list[SimMeter], dict[str, tuple[np.ndarray, np.ndarray]]],
) -> None:
    meters, cols = week
    for m in meters:
        if not m.is_counter or m.register_max is not None:
            continue
        _ts, v = cols[m.id]
        assert np.all(np.diff(v) >= 0), m.id
    # Oracle: the closed-form day integral equals a fine numeric integral of the rate.
    main = next(m for m in meters if m.id == "chem-a-main")
    day = np.array([(MIDNIGHT_SH + 8 * HOUR_MS) // DAY_MS + 2])
    t = np.arange(0, 24 * 3600 + 1, 10) / 3600.0
    p = _Params.of([main])
    rate = _day_rate(p, day)[0] * _profile(p, t)
    numeric = float(np.sum((rate[1:] + rate[:-1]) / 2 * np.diff(t)))
    start = int(day[0]) * DAY_MS - main.utc_offset_ms
    closed = values(main, np.array([start + DAY_MS])) - values(main, np.array([start]))
    assert closed[0] == pytest.approx(numeric, rel=1e-5)


def test_active_power_agrees_with_the_electricity_counter(
    week: tuple[list[SimMeter], dict[str, tuple[np.ndarray, np.ndarray]]],
) -> None:
    _, cols = week
    _ts_e, kwh = cols["chem-a-main"]
    _ts_p, kw = cols["chem-a-power"]
    hourly_kwh = kwh[60::60] - kwh[:-60:60]
    mean_kw = kw[: len(hourly_kwh) * 240].reshape(-1, 240).mean(axis=1)
    assert np.allclose(mean_kw, hourly_kwh, rtol=0.03)


def test_pv_follows_the_sun(
    week: tuple[list[SimMeter], dict[str, tuple[np.ndarray, np.ndarray]]],
) -> None:
    _, cols = week
    ts, v = cols["chem-a-pv"]
    hour = ((ts + 8 * HOUR_MS) % DAY_MS) // HOUR_MS
    gain = np.diff(v)
    night = (hour[1:] < 6) | (hour[1:] > 18)
    assert np.all(gain[night] == 0)
    assert np.all(gain[(hour[1:] >= 10) & (hour[1:] < 14)] > 0)


def test_cems_run_below_their_limit_with_occasional_exceedances(
    week: tuple[list[SimMeter], dict[str, tuple[np.ndarray, np.ndarray]]],
) -> None:
    meters, cols = week
    over = []
    for m in meters:
        if m.quantity not in ("so2", "nox", "particulate"):
            continue
        assert m.limit is not None
        _, v = cols[m.id]
        assert np.median(v) < 0.8 * m.limit, m.id
        over.append(v > m.limit)
    share_over = float(np.mean(np.concatenate(over)))
    assert 0.005 < share_over < 0.1, share_over
    nox = next(m for m in meters if m.id == "chem-a-boiler-nox")
    assert nox.limit == 150.0  # the park's own limit from the registry


def test_configured_resets_and_register_rollover(reg: registry.Registry) -> None:
    m = sim_meters(reg, ["chem-b-main"], seed=5, resets_per_year=100)[0]
    ts = np.arange(MIDNIGHT_SH, MIDNIGHT_SH + 60 * DAY_MS, 900_000, dtype=np.int64)
    v = values(m, ts)
    drops = np.flatnonzero(np.diff(v) < 0) + 1
    assert 2 <= len(drops) <= 60
    assert np.all((ts[drops] + m.utc_offset_ms) % DAY_MS == 0)  # at local midnight
    assert np.all(v[drops] == 0)
    roll = sim_meters(reg, ["chem-c-main"], seed=5)[0]
    assert roll.register_max == 99999.99
    rv = values(roll, ts)
    assert rv.max() < 99999.99
    assert np.any(np.diff(rv) < 0)  # it rolled over at least once in 60 days
