"""KPIs from rollups equal KPIs from raw readings, for every KPI, scope and period.

The oracle is the engine on *all* raw readings at once (no range edges at all); the
rollups are built day by day from the store, as ``smartpark rollup`` builds them, and
read back through :func:`~analytics.windows.rollups.source.range_windows`. Random registries
with gaps, jitter, resets, rollovers, spikes, sub meters, multipliers, stacks with O2
and flow, meters of 15 s to 1 h, and parks at +05:45, +05:30, -03:30 with DST and
Europe/Berlin's DST change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartpark.analytics.kpis.attribution import RATIOS
from smartpark.analytics.kpis.compute import compute_kpis, kpis_of_windows
from smartpark.analytics.kpis.table import KpiTable
from smartpark.analytics.periods import PeriodName
from smartpark.analytics.windows.rollups.build import build
from smartpark.analytics.windows.rollups.source import range_windows
from smartpark.analytics.windows.stacks import finish_ms
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import ReadingColumns, Store
from smartpark.store.open import open_store

from .parks import columns, day_ms, park_registry

METERS: dict[str, dict[str, Any]] = {
    "a-imp": {"enterprise": "a", "quantity": "electricity_import", "multiplier": 40.0},
    "a-roll": {"enterprise": "a", "quantity": "electricity_import", "register_max": 5000.0},
    "a-sub": {
        "enterprise": "a",
        "quantity": "electricity_import",
        "role": "sub",
        "parent": "a-imp",
    },
    "a-pv": {"enterprise": "a", "quantity": "pv_generation", "interval_s": 300},
    "a-power": {"enterprise": "a", "quantity": "active_power", "interval_s": 15},
    "b-imp": {"enterprise": "b", "quantity": "electricity_import", "interval_s": 300},
    "b-exp": {"enterprise": "b", "quantity": "electricity_export", "interval_s": 300},
    "b-gas": {"enterprise": "b", "quantity": "natural_gas"},
    "b-fresh": {"enterprise": "b", "quantity": "fresh_water", "interval_s": 900},
    "b-rec": {"enterprise": "b", "quantity": "recycled_water", "interval_s": 900},
    "b-nox": {"enterprise": "b", "quantity": "nox", "stack": "s1", "o2_ref": 3.5},
    "b-so2": {"enterprise": "b", "quantity": "so2", "stack": "s1", "o2_ref": 3.5},
    "b-o2": {"enterprise": "b", "quantity": "o2", "stack": "s1"},
    "b-flow": {"enterprise": "b", "quantity": "flue_gas_flow", "stack": "s1", "interval_s": 120},
    "c-imp": {"enterprise": "c", "quantity": "electricity_import", "interval_s": 15},
    "c-coal": {"enterprise": "c", "quantity": "coal", "interval_s": 3600},
    "d-imp": {"enterprise": "d", "quantity": "electricity_import", "interval_s": 3600},
    "d-steam": {"enterprise": "d", "quantity": "steam", "interval_s": 600},
    "e-imp": {"enterprise": "e", "quantity": "electricity_import"},
    "e-output": {"enterprise": "e", "quantity": "output_value", "interval_s": 900},
}
# The whole-history oracle runs its registers over two to five weeks of readings, so an
# hourly counter's 15-minute share carries float64 rounding of the register's size
# (measured: up to 5e-10 relative per window, 2e-9 on a ratio KPI).
ORACLE_RTOL = 1e-8
# A ratio of two sums carries both sums' rounding, and a 15-minute share of an hourly
# counter is known only to float64 of the register (about 1e-13 of it, here up to 5e-10
# of the share): measured up to 1.6e-9 on load_factor between the two paths.
RATIO_SLACK = 5.0
GAUGES = ("active_power", "nox", "so2", "o2", "flue_gas_flow")


def make_registry(meters: dict[str, dict[str, Any]] = METERS) -> Registry:
    return park_registry(
        meters,
        enterprises=("a", "b", "c", "d", "e"),
        extra_parks={
            "p2": {
                "timezone": "Asia/Kathmandu",
                "factors": {"grid_tco2_per_mwh": 0.5543},
                "limits": {"nox": 40.0, "so2": 35.0},
            },
            "p3": {"timezone": "Europe/Berlin"},
            "p4": {"timezone": "America/St_Johns"},
            "p5": {"timezone": "Asia/Kolkata"},
        },
        enterprise_park={"b": "p2", "c": "p3", "d": "p4", "e": "p5"},
    )


def random_readings(
    reg: Registry, start: int, end: int, seed: int, *, faults: bool = True
) -> ReadingColumns:
    """Jittered readings with gaps; counters with resets, rollovers and isolated spikes."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, int, float]] = []
    for mid, meter in sorted(reg.meters.items()):
        step = meter.interval_s * 1000
        t = start - int(rng.integers(0, step))
        value = float(rng.uniform(0, 1000))
        spiked = False
        while t < end:
            if meter.quantity not in GAUGES:
                value += float(rng.uniform(0, 3))
                if meter.register_max and value >= meter.register_max:
                    value -= meter.register_max
                reading = value
                if faults and not spiked and rng.random() < 0.003:
                    value = reading = float(rng.uniform(0, 5))  # reset
                spiked = faults and rng.random() < 0.002
                if spiked:
                    reading = value * 100.0  # a misread register
            elif meter.quantity == "o2":
                reading = float(rng.uniform(3, 12))
            else:
                reading = float(rng.uniform(10, 80 if meter.quantity in ("nox", "so2") else 900))
            rows.append((mid, t, reading))
            t += step + int(rng.integers(-step // 3, step // 3 + 1))
            if faults and rng.random() < 0.002:
                t += int(rng.integers(1, 30)) * step  # a gap
    return columns(reg, rows)


def assert_same(got: KpiTable, want: KpiTable, rtol: float = 1e-9) -> int:
    """Every value of every block equal to ``rtol`` relative (NaN where NaN), or within
    ``rtol`` of the KPI's largest value in the block (a period whose value nearly cancels
    to 0, e.g. import minus export, keeps only the absolute precision of its terms);
    ratio KPIs to ``RATIO_SLACK`` times that. Returns how many finite values were
    compared."""
    assert [(b.scope, b.period, b.timezone, b.ids) for b in got.blocks] == [
        (b.scope, b.period, b.timezone, b.ids) for b in want.blocks
    ]
    compared = 0
    for g, w in zip(got.blocks, want.blocks, strict=True):
        assert g.starts.tolist() == w.starts.tolist()
        assert g.factors_versions == w.factors_versions
        for kpi, want_v in w.values.items():
            finite = np.abs(want_v[np.isfinite(want_v)])
            scale = float(finite.max()) if finite.size else 0.0
            tol = rtol * (RATIO_SLACK if kpi in RATIOS or kpi == "load_factor" else 1.0)
            np.testing.assert_allclose(
                g.values[kpi],
                want_v,
                rtol=tol,
                atol=tol * max(scale, 1.0),
                equal_nan=True,
                err_msg=f"{g.scope} {g.period} {kpi}",
            )
            compared += int(np.isfinite(want_v).sum())
    return compared


def sqlite_store(tmp_path: Path, reg: Registry) -> Store:
    return open_store(parse_store_url(f"sqlite:///{tmp_path / 'park.db'}"), reg)


def from_rollups(
    store: Store, reg: Registry, start: int, end: int, kinds: list[PeriodName]
) -> KpiTable:
    """KPIs from the rollups, read an hour past the end as the readers do (finish_ms)."""
    mw, source = range_windows(store, reg, start, end + finish_ms(reg))
    assert source.windows("raw") == 0, source.parts
    return kpis_of_windows(reg, mw, start, end, kinds)


@pytest.mark.parametrize("seed", [1, 2])
def test_hours_and_days_from_rollups_equal_raw_across_dst_and_odd_offsets(
    tmp_path: Path, seed: int
) -> None:
    reg = make_registry()
    data_from, data_to = day_ms(2026, 10, 22), day_ms(2026, 11, 5)
    readings = random_readings(reg, data_from, data_to, seed)
    start, end = day_ms(2026, 10, 24), day_ms(2026, 11, 3)  # both DST ends inside
    oracle = compute_kpis(reg, readings, start, end, ["hour", "day"])
    store = sqlite_store(tmp_path, reg)
    try:
        store.write(readings)
        build(store, reg, data_from, data_to)
        rolled = from_rollups(store, reg, start, end, ["hour", "day"])
        # What `smartpark kpi` computes from raw readings over the same range.
        mw, source = range_windows(store, reg, start, end + finish_ms(reg), use_rollups=False)
        assert source.summary == "raw"
        raw = kpis_of_windows(reg, mw, start, end, ["hour", "day"])
        assert assert_same(rolled, raw) > 10_000
        assert_same(rolled, oracle, ORACLE_RTOL)
    finally:
        store.close()


def test_a_month_from_rollups_equals_raw(tmp_path: Path) -> None:
    reg = make_registry()
    data_from, data_to = day_ms(2026, 9, 28), day_ms(2026, 11, 3)
    readings = random_readings(reg, data_from, data_to, 5)
    start, end = day_ms(2026, 9, 30), day_ms(2026, 11, 2)
    oracle = compute_kpis(reg, readings, start, end, ["month", "day"])
    assert any(b.period == "month" for b in oracle.blocks)
    store = sqlite_store(tmp_path, reg)
    try:
        store.write(readings)
        build(store, reg, data_from, data_to)
        rolled = from_rollups(store, reg, start, end, ["month", "day"])
        mw, _ = range_windows(store, reg, start, end + finish_ms(reg), use_rollups=False)
        assert_same(rolled, kpis_of_windows(reg, mw, start, end, ["month", "day"]))
        assert_same(rolled, oracle, ORACLE_RTOL)
    finally:
        store.close()


def test_a_year_of_months_from_rollups_equals_raw(tmp_path: Path) -> None:
    slow = {
        "a-imp": {"enterprise": "a", "quantity": "electricity_import", "interval_s": 3600},
        "b-gas": {"enterprise": "b", "quantity": "natural_gas", "interval_s": 3600},
        "c-imp": {"enterprise": "c", "quantity": "electricity_import", "interval_s": 1800},
        "d-water": {"enterprise": "d", "quantity": "fresh_water", "interval_s": 3600},
        "e-power": {"enterprise": "e", "quantity": "active_power", "interval_s": 900},
    }
    reg = make_registry(slow)
    data_from, data_to = day_ms(2025, 12, 28), day_ms(2027, 1, 4)
    readings = random_readings(reg, data_from, data_to, 9)
    start, end = day_ms(2025, 12, 30), day_ms(2027, 1, 2)
    oracle = compute_kpis(reg, readings, start, end, ["year", "month"])
    assert any(b.period == "year" for b in oracle.blocks)
    store = sqlite_store(tmp_path, reg)
    try:
        store.write(readings)
        build(store, reg, data_from, data_to)
        rolled = from_rollups(store, reg, start, end, ["year", "month"])
        mw, _ = range_windows(store, reg, start, end + finish_ms(reg), use_rollups=False)
        assert_same(rolled, kpis_of_windows(reg, mw, start, end, ["year", "month"]))
        assert_same(rolled, oracle, ORACLE_RTOL)
    finally:
        store.close()
