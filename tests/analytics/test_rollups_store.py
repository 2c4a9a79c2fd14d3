"""Rollups through real stores: SQLite and a real influxd.

Equal to raw; late readings mark windows dirty (read raw until re-rolled, then rolled
again, and the re-roll reaches the windows the reading changes around it); a reading
433 days late is re-rolled by the next ``kpi --follow`` cycle, which rewrites the days
it changed, and ``rollup --check`` names a dirty window with the command that does it;
a registry change is detected and named with its rebuild command; a rebuild that fails
midway is never read as rolled up; rebuilding is idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from smartpark.analytics.jobs import Selection, follow_cycle, kpi_job
from smartpark.analytics.schedule import RECENT, latest_closed
from smartpark.analytics.windows.rollups.build import build, reroll_dirty
from smartpark.analytics.windows.rollups.source import coverage
from smartpark.cli import app
from smartpark.core import logs
from smartpark.core import registry as registry_mod
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import Store
from smartpark.store.open import open_store
from smartpark.store.rollups import RollupColumns
from smartpark.testing.servers import Influxd

from .parks import DAY_MS, HOUR_MS, columns, day_ms, park_registry
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
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'park.db'}"
    influxd: Influxd = request.getfixturevalue("influxd")
    return influxd.store_url(request.getfixturevalue("influx_db"))


@pytest.fixture
def store_of(store_url: str) -> Iterator[tuple[Any, Registry]]:
    reg = make_registry(SMALL)
    url = store_url
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
    done = reroll_dirty(store, reg)
    assert done.windows >= 4  # widened to the readings around the late one
    after = kpis(store, reg)
    assert after.source.summary == "rollups"
    assert_same(after.table, raw_now)
    assert reroll_dirty(store, reg).windows == 0  # marks cleared
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


# A reading 433 days late (issue 22): an electricity counter read every 15 minutes whose
# gateway was offline from 20:00 on 2025-09-03 to 04:00 the next day (Asia/Shanghai).
# Until 2026-11-10 the gap's 320 kWh are apportioned by time, half to each day; then the
# reading of 23:00 arrives, showing 300 of them before 23:00.
LATE_NOW = day_ms(2026, 11, 10) + 10 * HOUR_MS
D2, D3, D4, D5 = (day_ms(2025, 9, d) for d in (2, 3, 4, 5))
GAP = (D3 + 20 * HOUR_MS, D4 + 4 * HOUR_MS)
LATE_TS = D3 + 23 * HOUR_MS
ONE_METER = {"imp": {"quantity": "electricity_import", "interval_s": 900}}


def register(t: int) -> float:
    """10 kWh every 15 minutes from 1000 at ``D2 - 1 h``."""
    return 1000.0 + 10.0 * (t - (D2 - HOUR_MS)) / 900_000


def counter(start: int, end: int) -> list[tuple[str, int, float]]:
    """The readings of ``[start, end)``, none inside the gap."""
    return [("imp", t, register(t)) for t in range(start, end, 900_000) if not GAP[0] < t < GAP[1]]


def stored_kwh(store: Store, day: int) -> float:
    rows = store.read_kpis(day, day + 1, "park", "day", ids=["p1"], kpis=["electricity_kwh"])
    assert len(rows) == 1, rows
    return rows[0].value


def test_a_reading_433_days_late_is_rerolled_and_the_days_it_changed_rewritten(
    store_of: Any,
) -> None:
    open_with, _ = store_of
    reg = park_registry(ONE_METER)
    store = open_with(reg)
    assert (day_ms(2026, 11, 10) - D3) // DAY_MS == 433  # days between the two dates
    store.write(columns(reg, counter(D2 - HOUR_MS, D5 + HOUR_MS)))
    store.write(columns(reg, counter(LATE_NOW - 3 * DAY_MS, LATE_NOW)))
    build(store, reg, D2, D5)  # `smartpark rollup` over the history
    sel = Selection.check(reg, "day", "park")
    start, end = latest_closed(sel.timezone, "day", LATE_NOW, RECENT["day"])
    follow_cycle(store, reg, sel, start, end, LATE_NOW)  # rolls up the recent days
    kpi_job(store, reg, D2, D5, ["day"], write=True)  # the days as written when they closed
    # Slow and obvious: 10 kWh a quarter hour, the gap's 320 kWh half and half.
    assert stored_kwh(store, D3) == pytest.approx(80 * 10 + 320 / 2)
    assert stored_kwh(store, D4) == pytest.approx(320 / 2 + 80 * 10)

    store.write(columns(reg, [("imp", LATE_TS, register(GAP[0]) + 300.0)]))
    late_window = LATE_TS // 900_000 * 900_000
    cov = coverage(store, reg, D2, D5)
    assert (cov.dirty, cov.dirty_runs) == (1, ((late_window, late_window + 900_000),))
    assert store.rollups.dirty()[0].tolist() == [late_window]

    follow_cycle(store, reg, sel, start, end, LATE_NOW)  # the next `kpi --follow` cycle

    assert store.rollups.dirty()[0].size == 0
    cov = coverage(store, reg, D2, D5)
    assert (cov.current, cov.dirty, cov.dirty_runs) == (cov.windows, 0, ())
    # 300 kWh from 20:00 to 23:00, then 20 kWh over the 5 hours to 04:00: 1 h of them on
    # the 3rd, 4 h on the 4th. Both days' stored rows are rewritten.
    assert stored_kwh(store, D3) == pytest.approx(80 * 10 + 300 + 20 / 5)
    assert stored_kwh(store, D4) == pytest.approx(20 * 4 / 5 + 80 * 10)
    rolled = kpi_job(store, reg, D2, D5, ["hour", "day"], write=False)
    assert rolled.source.summary == "rollups"  # re-rolled: no window read raw
    assert_same(
        rolled.table,
        kpi_job(store, reg, D2, D5, ["hour", "day"], write=False, use_rollups=False).table,
    )


ONE_METER_TOML = """
[zone.z1]
name = "Z1"
timezone = "Asia/Shanghai"
[park.p1]
zone = "z1"
name = "P1"
[enterprise.e1]
park = "p1"
name = "e1"
[gateway.g-e1]
park = "p1"
[meter.imp]
enterprise = "e1"
gateway = "g-e1"
quantity = "electricity_import"
interval_s = 900
"""


def test_rollup_check_names_a_dirty_window_and_the_command_that_clears_it(
    store_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "registry.toml"
    path.write_text(ONE_METER_TOML)
    reg = registry_mod.load(path)
    base = ["--registry", str(path), "--store", store_url]

    def smartpark(*args: str) -> str:
        result = CliRunner().invoke(app, [*args, *base])
        logs.configure()
        assert result.exit_code == 0, result.output
        return result.stdout

    store = open_store(parse_store_url(store_url), reg)
    try:
        store.write(columns(reg, counter(D2 - HOUR_MS, D5 + HOUR_MS)))
    finally:
        store.close()
    smartpark("rollup", "--from", "2025-09-02", "--to", "2025-09-05")
    smartpark("kpi", "--from", "2025-09-03", "--to", "2025-09-05", "--period", "day", "--write")
    check = ["rollup", "--from", "2025-09-02", "--to", "2025-09-05", "--check"]
    assert "288 windows: 288 current, 0 dirty" in smartpark(*check)
    store = open_store(parse_store_url(store_url), reg)
    try:
        assert stored_kwh(store, D3) == pytest.approx(80 * 10 + 320 / 2)
        store.write(columns(reg, [("imp", LATE_TS, register(GAP[0]) + 300.0)]))
    finally:
        store.close()

    printed = smartpark(*check)
    assert "288 windows: 287 current, 1 dirty" in printed
    # 23:00 in Asia/Shanghai is 15:00 UTC.
    assert "2025-09-03T15:00:00Z to 2025-09-03T15:15:00Z (1 window)" in printed
    command = re.search(r"rewrite the KPI periods they changed .*: (smartpark .*)$", printed, re.M)
    assert command is not None, printed
    assert command.group(1) == "smartpark kpi --follow --cycles 1"
    # Run as printed: a `kpi --follow` cycle at the real now (it only has to come after
    # the data), which re-rolls the window and rewrites the days it changed.
    smartpark(*command.group(1).split()[1:])

    printed = smartpark(*check)
    assert "288 windows: 288 current, 0 dirty" in printed
    assert "dirty (" not in printed
    store = open_store(parse_store_url(store_url), reg)
    try:
        assert stored_kwh(store, D3) == pytest.approx(80 * 10 + 300 + 20 / 5)
        assert stored_kwh(store, D4) == pytest.approx(20 * 4 / 5 + 80 * 10)
    finally:
        store.close()
