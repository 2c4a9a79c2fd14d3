"""The KPI-engine adapter: real compute_kpis output → monthly arrays, via table and store."""

import math

import numpy as np
import pytest

from smartpark.analytics.kpis.compute import compute_kpis
from smartpark.analytics.landuse import telemetry
from smartpark.analytics.landuse.monthly import month_code
from smartpark.store.sqlite import SqliteStore
from tests.analytics.parks import HOUR_MS, columns, day_ms, park_registry

NAN = math.nan
HOURLY = {"interval_s": 3600}


@pytest.fixture(scope="module")
def engine():
    """e1 draws 10 kWh/h in January and March, 1 kWh/h in February (hourly counter);
    its water meter is silent from 10 to 20 March, so March is incomplete."""
    reg = park_registry(
        {
            "m": {"quantity": "electricity_import", **HOURLY},
            "w": {"quantity": "fresh_water", **HOURLY},
        }
    )
    start, feb, mar, end = (day_ms(2025, m, 1) for m in (1, 2, 3, 4))
    gap = (day_ms(2025, 3, 10), day_ms(2025, 3, 20))
    rows, kwh, water = [], 0.0, 0.0
    for ts in range(start, end + HOUR_MS, HOUR_MS):
        rows.append(("m", ts, kwh))
        if not gap[0] <= ts < gap[1]:
            rows.append(("w", ts, water))
        kwh += 1.0 if feb <= ts < mar else 10.0
        water += 2.0
    table = compute_kpis(reg, columns(reg, rows), start, end, ["month"], scopes=["enterprise"])
    return reg, table


def test_monthly_from_table_maps_local_months_and_drops_incomplete_ones(engine):
    _, table = engine
    monthly = telemetry.monthly_from_table(table, ("e1", "e2"))
    assert monthly.first == month_code(2025, 1)
    kwh = monthly.values["electricity_kwh"]
    np.testing.assert_allclose(kwh[0], [7440.0, 672.0, NAN])
    assert np.isnan(kwh[1]).all()  # an enterprise the engine did not report
    np.testing.assert_allclose(monthly.values["fresh_water_m3"][0, :2], [1488.0, 1344.0])
    np.testing.assert_allclose(
        monthly.values["energy_tce"][0, :2], [7440 * 1.229e-4, 672 * 1.229e-4]
    )
    trusting = telemetry.monthly_from_table(table, ("e1",), min_completeness=0.0)
    np.testing.assert_allclose(trusting.values["electricity_kwh"][0], [7440.0, 672.0, 7440.0])


def test_stored_rows_give_the_same_months(engine, tmp_path):
    reg, table = engine
    with SqliteStore(tmp_path / "kpi.db", reg) as store:
        store.write_kpis(table.rows())
        stored = telemetry.read_monthly(
            store, reg, ("e1",), month_code(2024, 12), month_code(2025, 3)
        )
    assert stored.first == month_code(2024, 12)
    direct = telemetry.monthly_from_table(table, ("e1",))
    for q, values in stored.values.items():
        assert np.isnan(values[0, 0])  # December 2024 was not computed
        np.testing.assert_array_equal(values[:, 1:], direct.values[q])
