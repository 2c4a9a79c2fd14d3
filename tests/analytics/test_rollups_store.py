"""Rollups through real stores: SQLite and a real influxd.

Equal to raw; late readings mark windows dirty (read raw until re-rolled, then rolled
again, and the re-roll reaches the windows the reading changes around it); a registry
change is detected and named with its rebuild command; a rebuild that fails midway is
never read as rolled up; rebuilding is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.rollups.build import build, reroll_dirty
from smartpark.analytics.rollups.source import coverage
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import Store
from smartpark.store.open import open_store
from smartpark.store.rollups import RollupColumns
from smartpark.testing.servers import Influxd

from .parks import DAY_MS, columns, day_ms
from .test_rollups_exact import assert_same, make_registry, random_readings

DATA_FROM, DATA_TO = day_ms(2026, 10, 30), day_ms(2026, 11, 3)
START, END = day_ms(2026, 10, 31), day_ms(2026, 11, 2)
SMALL = {
    "a-imp": {"enterprise": "a", "quantity": "electricity_import", "multiplier": 40.0},
    "a-power": {"enterprise": "a", "quantity": "active_power"},
    "b-imp": {"enterprise": "b", "quantity": "electricity_import", "interval_s": 300},
    "b-nox": {"enterprise": "b", "quantity": "nox", "stack": "s1", "o2_ref": 3.5},
    "b-o2": {"enterprise": "b", "quantity": "o2", "stack": "s1"},
    "b-flow": {"enterprise": "b", "quantity": "flue_gas_flow", "stack": "s1"},
    "c-gas": {"enterprise": "c", "quantity": "natural_gas", "interval_s": 3600},
    "d-imp": {"enterprise": "d", "quantity": "electricity_import", "interval_s": 900},
    "e-water": {"enterprise": "e", "quantity": "fresh_water", "interval_s": 600},
}


@pytest.fixture(params=["sqlite", "influxdb"])
def store_of(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Registry]]:
    reg = make_registry(SMALL)
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'park.db'}"
    else:
        influxd: Influxd = request.getfixturevalue("influxd")
        url = influxd.store_url(request.getfixturevalue("influx_db"))
    opened: list[Store] = []

    def open_with(registry: Registry) -> Store:
        opened.append(open_store(parse_store_url(url), registry))
        return opened[-1]

    yield open_with, reg
    for s in opened:
        s.close()


def kpis(store: Store, reg: Registry, *, rollups: bool = True) -> Any:
    return kpi_job(store, reg, START, END, ["hour", "day"], write=False, use_rollups=rollups)


def test_rollups_equal_raw_and_follow_late_readings(store_of: Any) -> None:
    open_with, reg = store_of
    store = open_with(reg)
    store.write(random_readings(reg, DATA_FROM, DATA_TO, 3))
    assert kpis(store, reg).source.summary == "raw"  # nothing rolled up yet
    built = build(store, reg, DATA_FROM, DATA_TO)
    assert built.rows > 0
    assert built.windows == (DATA_TO - DATA_FROM) // 900_000
    rolled = kpis(store, reg)
    assert rolled.source.summary == "rollups"
    assert assert_same(rolled.table, kpis(store, reg, rollups=False).table) > 1000
    again = build(store, reg, DATA_FROM, DATA_TO)  # idempotent: same rows, same KPIs
    assert again.rows == built.rows
    assert_same(kpis(store, reg).table, rolled.table)

    # A late reading in a gap of the hourly gas meter: read raw until re-rolled.
    gas = reg.meter_code["c-gas"]
    old = store.read(
        START + DAY_MS // 2 - 3 * 3_600_000, START + DAY_MS // 2, np.array([gas], np.int32)
    )
    late_ts = int(old.ts[-1]) + 1_800_000
    store.write(columns(reg, [("c-gas", late_ts, float(old.value[-1]) + 0.5)]))
    mixed = kpis(store, reg)
    assert mixed.source.summary == "mixed"
    assert mixed.source.windows("raw") >= 1
    raw_now = kpis(store, reg, rollups=False).table
    assert_same(mixed.table, raw_now)
    done = reroll_dirty(store, reg, DATA_FROM, DATA_TO)
    assert done.windows >= 4  # widened to the readings around the late one
    after = kpis(store, reg)
    assert after.source.summary == "rollups"
    assert_same(after.table, raw_now)
    assert reroll_dirty(store, reg, DATA_FROM, DATA_TO).windows == 0  # marks cleared
    cov = coverage(store, reg, DATA_FROM, DATA_TO)
    assert cov.current == cov.windows
    assert cov.dirty == 0


def test_a_registry_change_is_detected_and_named(store_of: Any) -> None:
    open_with, reg = store_of
    store = open_with(reg)
    store.write(random_readings(reg, DATA_FROM, DATA_TO, 4))
    build(store, reg, DATA_FROM, DATA_TO)
    changed_meters = {**SMALL, "a-imp": {**SMALL["a-imp"], "multiplier": 80.0}}
    changed = make_registry(changed_meters)
    store2 = open_with(changed)
    job = kpis(store2, changed)
    assert job.source.summary == "raw"
    assert job.source.outdated_days
    assert_same(job.table, kpis(store2, changed, rollups=False).table)
    cov = coverage(store2, changed, DATA_FROM, DATA_TO)
    assert cov.outdated == cov.windows
    assert cov.current == 0
    build(store2, changed, DATA_FROM, DATA_TO)
    assert kpis(store2, changed).source.summary == "rollups"


def test_a_rebuild_that_fails_midway_is_read_as_not_rolled_up(store_of: Any) -> None:
    open_with, reg = store_of
    store = open_with(reg)
    store.write(random_readings(reg, DATA_FROM, DATA_TO, 5))
    build(store, reg, DATA_FROM, DATA_TO)
    good = kpis(store, reg).table
    # Rows that cannot be stored (a meter code outside the registry) fail the write
    # after it started: the day must not read as rolled up (old rows or none, never a mix).
    bad = RollupColumns.empty()
    bad = RollupColumns(
        np.array([len(reg.meter_ids) + 5], np.int32),
        np.array([START], np.int64),
        {k: np.ones(1, v.dtype) for k, v in bad.values.items()},
    )
    with pytest.raises(IndexError):
        store.rollups.write(START, START + DAY_MS, bad, "x")
    job = kpis(store, reg)
    raw_windows = job.source.windows("raw")
    assert raw_windows == 0 or raw_windows >= DAY_MS // 900_000
    assert_same(job.table, good)
