"""Park and zone land-use KPIs (docs/landuse.md §5) computed by hand."""

import dataclasses
import datetime as dt
import math
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from smartpark.analytics.landuse import idle, park
from smartpark.analytics.landuse.evaluation import Config, evaluate
from smartpark.analytics.landuse.monthly import month_code
from tests.analytics.landuse.build import dataset, static

NAN = math.nan
FIRST = month_code(2023, 1)


def two_parks():
    st = static(3, land_mu=[10, 20, 30], parks=["p1", "p1", "p2"])
    kwh = np.full((3, 36), 1000.0)
    kwh[2, -3:] = 100.0  # e3 stopped Oct-Dec 2025
    return dataset(
        st,
        (2025,),
        {
            "revenue": [[1000, NAN, 3000]],
            "value_added": [[500, 400, NAN]],
            "tax": [[1, 1, 1]],
        },
        energy_tce=[[50, 0, 100]],
        fresh_water_m3=[[1000, 2000, 500]],
        monthly_kwh=kwh,
        first_month=FIRST,
        park_land_m2={"p2": 1e6},
    )


def by_key(rows):
    return {(r.scope, r.id, r.period, r.kpi, r.start_ms): r.value for r in rows}


def year_start(year):
    return int(dt.datetime(year, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp() * 1000)


def test_year_rows_known_answers():
    data = two_parks()
    ev = evaluate(data, 2025, Config(profile="js3"))
    ev = dataclasses.replace(ev, grade=np.array([0, -1, 3]))
    detection = idle.detect(data, month_code(2025, 12), 2025)
    rows = park.year_rows(data, ev, detection)
    assert all(r.period == "year" and r.start_ms == year_start(2025) for r in rows)
    v = {(r.id, r.kpi): r.value for r in rows}
    # p1: 0.1 (100 M CNY) on 30 mu = 0.02 km2; p2: 0.3 on its registry land of 1 km2
    assert v["p1", "land_output_rate"] == pytest.approx(5.0)
    assert v["p2", "land_output_rate"] == pytest.approx(0.3)
    assert v["z1", "land_output_rate"] == pytest.approx(0.4 / 1.02)
    # only e1 has both value added and energy > 0; p2 has none, so no row
    assert v["p1", "energy_output_rate"] == pytest.approx(10.0)
    assert ("p2", "energy_output_rate") not in v
    assert v["z1", "energy_output_rate"] == pytest.approx(10.0)
    # (500 + 400) × 10 000 CNY / (1000 + 2000) m3; e3 has no value added
    assert v["p1", "water_output_rate"] == pytest.approx(3000.0)
    assert v["z1", "water_output_rate"] == pytest.approx(3000.0)
    assert [v["p1", f"grade_share_{g}"] for g in "ABCD"] == [100.0, 0.0, 0.0, 0.0]
    assert [v["z1", f"grade_share_{g}"] for g in "ABCD"] == [50.0, 0.0, 0.0, 50.0]
    assert v["z1", "graded_enterprises"] == 2
    assert v["p2", "flagged_land_mu_suspected_idle"] == pytest.approx(30.0)
    assert v["p1", "flagged_land_mu_suspected_idle"] == 0.0
    assert v["z1", "flagged_enterprises_suspected_idle"] == 1
    assert v["z1", "flagged_land_mu_stopped_1y"] == 0.0


def test_month_rows_count_idle_enterprises_per_month():
    data = two_parks()
    detection = idle.detect(data, month_code(2025, 12), 2025)
    rows = park.month_rows(data, detection)
    # 24 months × 3 groups × 6 KPIs
    assert len(rows) == 24 * 3 * 6
    v = by_key(rows)
    start = int(dt.datetime(2025, 11, 1, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp() * 1000)
    assert v["park", "p2", "month", "idle_enterprises_stopped", start] == 1
    assert v["park", "p2", "month", "idle_enterprises_suspected_idle", start] == 0  # 2 months
    dec = int(dt.datetime(2025, 12, 1, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp() * 1000)
    assert v["park", "p2", "month", "idle_enterprises_suspected_idle", dec] == 1
    assert v["zone", "z1", "month", "flagged_land_mu_suspected_idle", dec] == pytest.approx(30)
    assert v["park", "p1", "month", "idle_enterprises_stopped", dec] == 0
    assert v["zone", "z1", "month", "idle_enterprises_tested", dec] == 3


def test_start_ms_is_local_midnight():
    assert park.start_ms(2025, 1, "Asia/Shanghai") == 1735660800000  # 2024-12-31T16:00Z
    assert park.start_ms(2025, 1, "UTC") == 1735689600000
