"""Unit-product energy graded against the limit standards: known answers by hand.

A cement clinker line at 2,100 m (GB 16780-2021, level 3 corrected for altitude) with a
metered output counter, and an aluminium smelter (GB 21346-2022, AC electricity per
tonne of aluminium liquid) whose output is entered per month; constant hourly rates
over 2026, so every month's and the year's figures follow from the rates by hand.
Through SQLite and a real influxd, from raw readings and from the day level.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from smartpark.analytics.days import build as days_build
from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.kpis.table import KpiTable
from smartpark.analytics.windows.rollups.build import build
from smartpark.core import registry as registry_mod
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import ReadingColumns, Store
from smartpark.store.open import open_store
from smartpark.store.outputs import OutputRow

from .parks import HOUR_MS, day_ms
from .test_rollups_store import store_url  # noqa: F401 (the fixture: sqlite, influxdb)

# GB/T 2589 coefficients of the default factor set (core/factors.py), by hand.
EL_TCE, COAL_TCE = 0.0001229, 0.7143
# The clinker line: per hour, Jan-Nov and December (more coal: worse).
CLINKER_T_H, EL_KWH_H = 100.0, 5_500.0
COAL_T_H = {"jan_nov": 14.0, "dec": 15.5}
# The smelter: 550,000 kWh/h; entered output 1,000 t per day of each month.
ALU_KWH_H, ALU_T_DAY = 550_000.0, 1_000.0
# The altitude factor at 2,100 m: K = 1.179 - 0.211 P / 101325, P of the standard
# atmosphere: 101325 (1 - 2.25577e-5 x 2100)^5.25588 = 78,513.1 Pa.
P_2100 = 101_325.0 * (1.0 - 2.25577e-5 * 2100.0) ** 5.25588
K_2100 = 1.179 - 0.211 * P_2100 / 101_325.0
START, END = day_ms(2026, 1, 1), day_ms(2027, 1, 1)


def products_registry() -> Registry:
    meter = {"gateway": "gw", "interval_s": 3600}
    cement, alu = {**meter, "enterprise": "cement-a"}, {**meter, "enterprise": "alu-a"}
    return registry_mod.from_dict(
        {
            "zone": {"z": {"name": "Z", "timezone": "Asia/Shanghai"}},
            "park": {"p": {"zone": "z", "name": "P"}},
            "enterprise": {
                "cement-a": {"park": "p", "name": "Cement A"},
                "alu-a": {"park": "p", "name": "Alu A"},
            },
            "gateway": {"gw": {"park": "p"}},
            "meter": {
                "cement-a-el": {**cement, "quantity": "electricity_import"},
                "cement-a-coal": {**cement, "quantity": "coal"},
                "cement-a-out": {**cement, "quantity": "product_output"},
                "alu-a-el": {**alu, "quantity": "electricity_import"},
            },
            "product": {
                "clinker": {
                    "enterprise": "cement-a",
                    "standard": "GB 16780-2021",
                    "category": "clinker",
                    "output_meter": "cement-a-out",
                    "inputs": {"altitude_m": 2100},
                },
                "aluminium": {
                    "enterprise": "alu-a",
                    "standard": "GB 21346-2022",
                    "category": "aluminium_liquid",
                    "unit": "t",
                },
            },
        }
    )


def readings(reg: Registry) -> ReadingColumns:
    """Hourly registers from 2025-12-31 to 2027-01-02 at the constant rates."""
    ts = np.arange(START - 24 * HOUR_MS, END + 24 * HOUR_MS + 1, HOUR_MS, dtype=np.int64)
    hours = (ts - ts[0]) / HOUR_MS
    dec = day_ms(2026, 12, 1)
    coal_rate = np.where(ts <= dec, COAL_T_H["jan_nov"], COAL_T_H["dec"])
    coal = np.concatenate([[0.0], np.cumsum(coal_rate[1:] * 1.0)])  # t in the hour ending
    series = {
        "cement-a-el": EL_KWH_H * hours,
        "cement-a-coal": coal,
        "cement-a-out": CLINKER_T_H * hours,
        "alu-a-el": ALU_KWH_H * hours,
    }
    code = reg.meter_code
    return ReadingColumns(
        np.concatenate([np.full(ts.size, code[m], np.int32) for m in series]),
        np.concatenate([ts] * len(series)),
        np.concatenate(list(series.values())),
    )


def month_rows(months: range) -> list[OutputRow]:
    out = []
    for m in months:
        a = day_ms(2026, m, 1)
        b = day_ms(2026 + m // 12, m % 12 + 1, 1)
        days = (b - a) // (24 * HOUR_MS)
        out.append(OutputRow("aluminium", "month", a, b, ALU_T_DAY * days))
    return out


@pytest.fixture
def stored(store_url: str) -> Iterator[tuple[Store, Registry]]:  # noqa: F811
    reg = products_registry()
    store = open_store(parse_store_url(store_url), reg)
    try:
        store.write(readings(reg))
        assert store.outputs.replace(month_rows(range(1, 13))) == 0
        yield store, reg
    finally:
        store.close()


def value(table: KpiTable, product: str, period: Any, start: int, kpi: str) -> float:
    return table.value("product", product, period, start, kpi)


def clinker_by_hand(coal_t_h: float, hours: int) -> dict[str, float]:
    tce = hours * (EL_KWH_H * EL_TCE + coal_t_h * COAL_TCE)
    output = hours * CLINKER_T_H
    return {"tce": tce, "output": output, "unit": 1000.0 * tce / output}


def check_known_answers(table: KpiTable) -> None:
    nov, dec = day_ms(2026, 11, 1), day_ms(2026, 12, 1)
    # Clinker, November: 720 h x (5,500 x 0.0001229 + 14 x 0.7143) = 7,686.828 tce;
    # 72,000 t; 106.7615 kgce/t: level 2 (<= 107), 6.7615 above level 1 (100).
    h = clinker_by_hand(14.0, 720)
    assert h["unit"] == pytest.approx(106.7615, abs=1e-9)
    assert value(table, "clinker", "month", nov, "product_energy_tce") == pytest.approx(h["tce"])
    assert value(table, "clinker", "month", nov, "product_output") == pytest.approx(72_000.0)
    assert value(table, "clinker", "month", nov, "unit_energy_kgce") == pytest.approx(106.7615)
    assert value(table, "clinker", "month", nov, "benchmark_value") == pytest.approx(106.7615)
    assert value(table, "clinker", "month", nov, "benchmark_level") == 2
    assert value(table, "clinker", "month", nov, "gap_to_next_level") == pytest.approx(6.7615)
    # The limit at 2,100 m: 117 x K, K = 1.0155: 118.81 kgce/t.
    assert round(K_2100, 5) == 1.01550
    assert value(table, "clinker", "month", nov, "limit_value") == pytest.approx(117 * K_2100)
    # December: 744 h at 15.5 t/h of coal: 117.476 kgce/t, above 117 but within the
    # corrected limit 118.81: level 3 (level 4 without the altitude correction).
    h = clinker_by_hand(15.5, 744)
    assert h["unit"] == pytest.approx(117.476, abs=1e-9)
    assert value(table, "clinker", "month", dec, "unit_energy_kgce") == pytest.approx(117.476)
    assert value(table, "clinker", "month", dec, "benchmark_level") == 3
    assert value(table, "clinker", "month", dec, "gap_to_next_level") == pytest.approx(10.476)
    # The smelter, November: 720 h x 550,000 kWh = 396 GWh for 30,000 t entered:
    # 13,200 kWh/t, level 3 (13,000 < x <= 13,350), 200 above level 2; 1,622.28 kgce/t.
    assert value(table, "aluminium", "month", nov, "product_output") == 30_000.0
    assert value(table, "aluminium", "month", nov, "product_electricity_kwh") == pytest.approx(
        396e6
    )
    assert value(table, "aluminium", "month", nov, "unit_electricity_kwh") == pytest.approx(13_200)
    assert value(table, "aluminium", "month", nov, "benchmark_value") == pytest.approx(13_200)
    assert value(table, "aluminium", "month", nov, "benchmark_level") == 3
    assert value(table, "aluminium", "month", nov, "gap_to_next_level") == pytest.approx(200)
    assert value(table, "aluminium", "month", nov, "limit_value") == 13_350
    assert value(table, "aluminium", "month", nov, "unit_energy_kgce") == pytest.approx(1622.28)


def check_year(table: KpiTable) -> None:
    # 2026: 8,016 h (Jan-Nov) at 14 t/h of coal and 744 h at 15.5.
    jan_nov, dec = clinker_by_hand(14.0, 8016), clinker_by_hand(15.5, 744)
    tce = jan_nov["tce"] + dec["tce"]
    unit = 1000.0 * tce / (8760 * CLINKER_T_H)
    assert unit == pytest.approx(107.6715, abs=1e-4)  # (85,580.02 + 8,740.21) / 876
    assert value(table, "clinker", "year", START, "unit_energy_kgce") == pytest.approx(unit)
    assert value(table, "clinker", "year", START, "benchmark_level") == 3  # just above 107
    assert value(table, "aluminium", "year", START, "product_output") == 365_000.0
    assert value(table, "aluminium", "year", START, "unit_electricity_kwh") == pytest.approx(13_200)


def test_known_answers_from_raw_readings(stored: tuple[Store, Registry]) -> None:
    store, reg = stored
    job = kpi_job(store, reg, START, END, ["month", "year"], write=False, use_rollups=False)
    check_known_answers(job.table)
    check_year(job.table)
    # KPI rows at scope product are written and read back like any KPI.
    written = kpi_job(store, reg, START, END, ["month"], write=True, use_rollups=False).written
    assert written > 0
    rows = store.read_kpis(START, END, "product", "month", kpis=["benchmark_level"])
    assert {(r.id, r.start_ms, r.value) for r in rows if r.start_ms == day_ms(2026, 11, 1)} == {
        ("clinker", day_ms(2026, 11, 1), 2.0),
        ("aluminium", day_ms(2026, 11, 1), 3.0),
    }


def test_known_answers_from_the_day_level(stored: tuple[Store, Registry]) -> None:
    store, reg = stored
    build(store, reg, START - 24 * HOUR_MS, END + 24 * HOUR_MS)
    days_build.build(store, reg, START, END)
    job = kpi_job(store, reg, START, END, ["month", "year"], write=False)
    assert job.source.as_json()["levels"] == ["days"]
    check_known_answers(job.table)
    check_year(job.table)


def test_missing_output_has_no_unit_value(stored: tuple[Store, Registry]) -> None:
    store, reg = stored
    # Re-entering November as days, one day short: November and the year have no output.
    nov = day_ms(2026, 11, 1)
    days = [
        OutputRow("aluminium", "day", nov + d * 24 * HOUR_MS, nov + (d + 1) * 24 * HOUR_MS, 1e3)
        for d in range(29)
    ]
    assert store.outputs.replace(days) == 1  # the November month row
    job = kpi_job(store, reg, START, END, ["month", "year"], write=False, use_rollups=False)
    for period, start in (("month", nov), ("year", START)):
        for kpi in ("product_output", "unit_electricity_kwh", "benchmark_level"):
            assert math.isnan(value(job.table, "aluminium", period, start, kpi)), (period, kpi)
        assert value(job.table, "aluminium", period, start, "product_electricity_kwh") > 0
    # The 30th day entered: November is whole again, from its days.
    last = OutputRow("aluminium", "day", nov + 29 * 24 * HOUR_MS, day_ms(2026, 12, 1), 1e3)
    store.outputs.replace([last])
    job = kpi_job(store, reg, START, END, ["month"], write=False, use_rollups=False)
    check_known_answers(job.table)


def test_a_line_standing_still_has_no_unit_value(stored: tuple[Store, Registry]) -> None:
    """A metered month with energy and no output: missing, never infinite or zero."""
    store, reg = stored
    reg_code = reg.meter_code["cement-a-out"]
    nov, dec = day_ms(2026, 11, 1), day_ms(2026, 12, 1)
    ts = np.arange(nov, dec + 1, HOUR_MS, dtype=np.int64)
    flat = np.full(ts.size, CLINKER_T_H * ((nov - START) / HOUR_MS + 24))
    store.write(ReadingColumns(np.full(ts.size, reg_code, np.int32), ts, flat))
    job = kpi_job(store, reg, START, END, ["month"], write=False, use_rollups=False)
    assert value(job.table, "clinker", "month", nov, "product_output") == 0.0
    assert value(job.table, "clinker", "month", nov, "product_energy_tce") > 0
    for kpi in ("unit_energy_kgce", "benchmark_value", "benchmark_level", "gap_to_next_level"):
        assert math.isnan(value(job.table, "clinker", "month", nov, kpi)), kpi


def test_output_without_energy_readings_is_not_graded(stored: tuple[Store, Registry]) -> None:
    """Output entered for a month with no energy readings: no unit value, never level 1."""
    store, reg = stored
    jan27 = month_rows(range(1, 2))[0]
    later = OutputRow("aluminium", "month", day_ms(2027, 2, 1), day_ms(2027, 3, 1), 28e3)
    store.outputs.replace([later])
    job = kpi_job(
        store, reg, day_ms(2027, 2, 1), day_ms(2027, 3, 1), ["month"], write=False,
        use_rollups=False,
    )  # fmt: skip
    start = day_ms(2027, 2, 1)
    assert value(job.table, "aluminium", "month", start, "product_output") == 28e3
    assert value(job.table, "aluminium", "month", start, "product_electricity_kwh") == 0
    assert value(job.table, "aluminium", "month", start, "completeness") == 0
    for kpi in ("unit_energy_kgce", "unit_electricity_kwh", "benchmark_level"):
        assert math.isnan(value(job.table, "aluminium", "month", start, kpi)), kpi
    assert jan27.value == 31e3  # January as entered, untouched by February's row
    assert store.outputs.read(START, day_ms(2026, 2, 1)) == [jan27]
