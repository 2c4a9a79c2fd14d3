"""The KPI job (read -> compute -> write back) against a real SQLite store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from smartpark.analytics import compute_kpis, read_range
from smartpark.analytics.jobs import Selection, kpi_job, run_range
from smartpark.core import registry as registry_mod
from smartpark.core.errors import AnalyticsError, ContractError
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store import open_store
from smartpark.store.base import KpiRow, Store

from .parks import DAY_MS, HOUR_MS
from .test_kpi_store import END, EXAMPLE, START, example_readings


@pytest.fixture(scope="module")
def reg() -> Registry:
    return registry_mod.load(EXAMPLE)


@pytest.fixture
def store(reg: Registry, tmp_path: Path):
    the_store = open_store(parse_store_url(f"sqlite:///{tmp_path / 's.db'}"), reg)
    the_store.write(example_readings(reg, START - DAY_MS, END + DAY_MS))
    yield the_store
    the_store.close()


def assert_same_table(got, want) -> None:
    assert [(b.scope, b.period, b.ids) for b in got.blocks] == [
        (b.scope, b.period, b.ids) for b in want.blocks
    ]
    for a, b in zip(got.blocks, want.blocks, strict=True):
        assert np.array_equal(a.starts, b.starts)
        assert a.values.keys() == b.values.keys()
        for kpi in a.values:
            # The job's windows start a few intervals early (staleness), so sums round
            # differently in the last digits.
            np.testing.assert_allclose(
                a.values[kpi], b.values[kpi], rtol=1e-12, atol=1e-9, equal_nan=True, err_msg=kpi
            )


def test_the_job_equals_compute_kpis_on_the_same_data_and_writes_nothing_unless_told(
    reg: Registry, store: Store
) -> None:
    result = kpi_job(store, reg, START, END, ["hour", "day"], write=False)
    readings = read_range(store, reg, START, END)
    want = compute_kpis(reg, readings, START, END, ["hour", "day"])
    assert_same_table(result.table, want)
    assert result.source.summary == "raw"  # nothing rolled up in this store
    assert result.written == 0
    assert store.read_kpis(START, END) == []


def key(row: KpiRow) -> tuple[str, str, str, str, int]:
    return (row.scope, row.id, row.period, row.kpi, row.start_ms)


def test_write_true_writes_exactly_the_rows_of_the_table(reg: Registry, store: Store) -> None:
    result = kpi_job(store, reg, START, END, ["hour", "day"], write=True)
    rows = result.table.rows()
    assert result.written == len(rows) > 0
    stored = store.read_kpis(START - DAY_MS, END + DAY_MS)
    assert sorted(map(key, stored)) == sorted(map(key, rows))
    by_key = {key(r): r.value for r in stored}
    for r in rows:
        assert by_key[key(r)] == pytest.approx(r.value, rel=1e-12)


def test_run_range_parses_dates_and_rfc3339_in_the_selection_time_zone(
    reg: Registry, store: Store
) -> None:
    selection = Selection.check(reg, "hour", "park", "petrochem")
    assert selection.timezone == "Asia/Shanghai"
    dates = run_range(store, reg, selection, "2026-11-01", "2026-11-02", write=False)
    times = run_range(
        store, reg, selection, "2026-11-01T00:00:00+08:00", "2026-10-31T22:00:00Z", write=False
    )
    hours = dates.table.select("park").blocks[0].starts
    assert hours.tolist() == [START + h * HOUR_MS for h in range(24)]
    assert times.table.select("park").blocks[0].starts.tolist() == hours[:6].tolist()


def test_bad_from_and_to_name_the_option(reg: Registry, store: Store) -> None:
    selection = Selection.check(reg, "day", "park")
    with pytest.raises(ContractError) as date:
        run_range(store, reg, selection, "nonsense", "2026-11-02", write=False)
    assert (date.value.field, date.value.reason) == ("--from", "bad_date")
    assert "neither a date (YYYY-MM-DD) nor an RFC 3339 time" in date.value.detail
    with pytest.raises(ContractError) as naive:
        run_range(store, reg, selection, "2026-11-01", "2026-11-02T00:00", write=False)
    assert (naive.value.field, naive.value.reason) == ("--to", "bad_ts")


def test_selection_checks_park_and_kpi_and_picks_the_park_rows(reg: Registry) -> None:
    with pytest.raises(AnalyticsError, match="--park: unknown park 'nowhere'"):
        Selection.check(reg, "day", "park", "nowhere")
    with pytest.raises(AnalyticsError, match="--kpi: unknown KPI 'co2'"):
        Selection.check(reg, "day", "park", None, ["energy_tce", "co2"])
    ents = Selection.check(reg, "day", "enterprise", "petrochem").ids
    assert ents == ["chem-a", "chem-b", "chem-c", "petro-utility"]
    assert Selection.check(reg, "day", "zone", "petrochem").ids == ["lanzhou-new-area"]
    assert Selection.check(reg, "day", "park").ids is None
    assert Selection.check(reg, "day", "park", kpis=["energy_tce"]).columns == ["energy_tce"]
