"""The day level through real stores (SQLite and a real influxd).

Both levels built as ``smartpark rollup`` builds them; day and month KPIs then read day
rows alone (JSON ``source``: ``days``) and equal the raw computation to 1e-9 on a
registry of five time zones, tariff versions and a holiday, a factor-set and an enclave
change mid-month (tests/analytics/days_registry.py); a range that cuts days reads its
edges from the 15-minute level; a change of a pollutant limit (what the day rows
depend on) is detected, the days are read from the 15-minute level meanwhile and the
rebuild command is named; a rebuild that fails midway is never read as built.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from smartpark.analytics.days import build as days_build
from smartpark.analytics.days import source as days_source
from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.windows.rollups.build import build
from smartpark.core.errors import StoreError
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import Store
from smartpark.store.days import METER_FIELDS, SCOPE_FIELDS, DayColumns
from smartpark.store.open import open_store

from .days_registry import days_registry
from .parks import HOUR_MS, day_ms
from .test_rollups_exact import assert_same, random_readings
from .test_rollups_store import store_url  # noqa: F401 (the fixture: sqlite, influxdb)

DATA_FROM, DATA_TO = day_ms(2026, 11, 27), day_ms(2027, 1, 5)
START, END = day_ms(2026, 11, 30), day_ms(2027, 1, 3)


@pytest.fixture
def built(store_url: str) -> Iterator[tuple[Store, Registry, str]]:  # noqa: F811
    reg = days_registry()
    store = open_store(parse_store_url(store_url), reg)
    try:
        store.write(random_readings(reg, DATA_FROM, DATA_TO, 21))
        build(store, reg, DATA_FROM, DATA_TO)
        done = days_build.build(store, reg, DATA_FROM, DATA_TO)
        assert done.cells > 5 * 35
        assert done.meter_rows > 0
        yield store, reg, store_url
    finally:
        store.close()


def kpis(store: Store, reg: Registry, start: int = START, end: int = END, **kw: Any) -> Any:
    return kpi_job(store, reg, start, end, ["day", "month"], write=False, **kw)


def test_days_and_months_from_day_rows_equal_raw(built: tuple[Store, Registry, str]) -> None:
    store, reg, _ = built
    job = kpis(store, reg)
    assert job.source.as_json()["levels"] == ["days"]
    assert any(b.period == "month" and b.scope == "region" for b in job.table.blocks)
    raw = kpis(store, reg, use_rollups=False)
    assert raw.source.summary == "raw"
    assert assert_same(job.table, raw.table) > 10_000
    # A range that cuts days: the cut cells come from the 15-minute level.
    cut = kpis(store, reg, START + 5 * HOUR_MS, END - 7 * HOUR_MS)
    assert cut.source.summary == "mixed"
    assert set(cut.source.as_json()["levels"]) == {"days", "rollups"}
    raw_cut = kpis(store, reg, START + 5 * HOUR_MS, END - 7 * HOUR_MS, use_rollups=False)
    assert_same(cut.table, raw_cut.table)
    cov = days_source.coverage(store, reg, DATA_FROM, DATA_TO)
    assert cov.current == cov.cells > 0
    assert cov.missing == 0


def test_a_limit_change_is_detected_and_named(
    built: tuple[Store, Registry, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _store, _reg, url = built
    changed = days_registry(limits={"nox": 30.0, "so2": 35.0})
    store2 = open_store(parse_store_url(url), changed)
    # The month is then read from the 15-minute level, here a few days at a time.
    monkeypatch.setattr(days_source, "CHUNK_WINDOWS", 3 * 96 * len(changed.meter_ids))
    try:
        job = kpis(store2, changed)
        assert "days" not in job.source.as_json()["levels"]
        assert job.source.outdated_cells
        assert job.source.rebuild_hint().startswith("smartpark rollup --from ")
        assert_same(job.table, kpis(store2, changed, use_rollups=False).table)
        cov = days_source.coverage(store2, changed, DATA_FROM, DATA_TO)
        assert cov.outdated == cov.cells
        assert cov.current == 0
        assert cov.rebuild_hint.startswith("smartpark rollup --from 2026-11-2")
        days_build.build(store2, changed, DATA_FROM, DATA_TO)
        assert kpis(store2, changed).source.as_json()["levels"] == ["days"]
    finally:
        store2.close()


def test_a_rebuild_that_fails_midway_is_never_read_as_built(
    built: tuple[Store, Registry, str],
) -> None:
    store, reg, _ = built
    good = kpis(store, reg).table
    cells = days_build.whole_cells(reg, day_ms(2026, 12, 10), day_ms(2026, 12, 12))
    values = {name: np.array([default], dtype) for name, (dtype, default) in METER_FIELDS.items()}
    values["consumption"][:] = 1.0
    bad = DayColumns(
        np.array([10_000], np.int32),  # a meter code outside the registry
        cells.starts[:1].copy(),
        values,
    )
    with pytest.raises(StoreError):
        store.days.write(cells.points, bad, DayColumns.empty(SCOPE_FIELDS), (), "x")
    job = kpis(store, reg)
    assert_same(job.table, good)
