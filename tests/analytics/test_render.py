"""The KPI CSV (``smartpark kpi --format csv``): no cell a formula, numbers as numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io

import numpy as np

from smartpark.analytics.kpis.compute import compute_kpis
from smartpark.analytics.render import to_csv
from smartpark.core.cells import FORMULA_STARTS

from .parks import DAY_MS, columns, day_ms, park_registry

HOSTILE = '=HYPERLINK("http://x")'
JAN = day_ms(2026, 1, 1)
Q = 900_000


def ramp(meter: str, kwh_per_min: float) -> list[tuple[str, int, float]]:
    """A counter rising ``kwh_per_min`` every minute through 1 January, every 15 min."""
    ts = np.arange(JAN, JAN + DAY_MS + Q, Q)
    return [(meter, int(t), (int(t) - JAN) / 60_000 * kwh_per_min) for t in ts]


def test_a_hostile_factors_version_is_text_and_a_net_export_a_negative_number() -> None:
    """The registry names the factor set; a net exporter's ``electricity_kwh`` is < 0."""
    reg = park_registry(
        {"imp": {"quantity": "electricity_import"}, "exp": {"quantity": "electricity_export"}},
        park={"factors": {"factors_version": HOSTILE, "grid_tco2_per_mwh": 0.5}},
    )
    # Import 1 kWh/min, export 2 kWh/min: the day's net purchase is -1 440 kWh.
    readings = columns(reg, ramp("imp", 1.0) + ramp("exp", 2.0))
    table = compute_kpis(reg, readings, JAN, JAN + DAY_MS, ["day"])
    text = to_csv(table, ("electricity_kwh", "co2_scope2_t"))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    lines = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert [(r["scope"], r["id"]) for r in lines] == [
        ("enterprise", "e1"),
        ("park", "p1"),
        ("zone", "z1"),
    ]
    for r in lines:
        assert r["factors_version"] == "'" + HOSTILE
        assert r["start"] == "2026-01-01T00:00:00+08:00"
        assert r["electricity_kwh [kWh]"] == "-1440.0"  # a number, not quoted
        assert r["co2_scope2_t [tCO2]"] == "0.0"
    for cell in (c for r in rows for c in r if c.startswith(FORMULA_STARTS)):
        float(cell)  # only a number may start like a formula


def test_the_kpi_workbook_keeps_a_hostile_factors_version_text_and_numbers_numbers() -> None:
    """The .xlsx has the CSV's columns; text through safe_cell, no cell a formula."""
    from smartpark.analytics.render import to_xlsx
    from tests.workbooks import tables

    reg = park_registry(
        {"imp": {"quantity": "electricity_import"}, "exp": {"quantity": "electricity_export"}},
        park={"factors": {"factors_version": HOSTILE, "grid_tco2_per_mwh": 0.5}},
    )
    readings = columns(reg, ramp("imp", 1.0) + ramp("exp", 2.0))
    table = compute_kpis(reg, readings, JAN, JAN + DAY_MS, ["day"])
    data = to_xlsx(
        table,
        ("electricity_kwh", "co2_scope2_t"),
        scope="park",
        period="day",
        span=("2026-01-01", "2026-01-02"),
        source="raw",
        park="p1",
    )
    (sheet,) = tables(data).values()  # fails on any formula cell
    assert sheet.name == "KPIs"
    assert sheet.lines == [
        "smartpark KPIs per day, 2026-01-01 to 2026-01-02",
        "Scope: park p1 · Period: day · Source: raw readings",
        "Time zone: Asia/Shanghai (dates and times are local) · Incomplete: completeness "
        "below 99 %",
    ]
    assert sheet.header == [
        "Scope", "ID", "Period", "Start", "End", "Factors version", "Incomplete",
        "Net purchased electricity [kWh]", "CO2, scope 2 [tCO2]",
    ]  # fmt: skip
    rows = sheet.records()
    assert [(r["Scope"], r["ID"]) for r in rows] == [
        ("enterprise", "e1"),
        ("park", "p1"),
        ("zone", "z1"),
    ]
    for r, rec in zip(rows, table.records(), strict=True):
        assert r["Factors version"] == "'" + HOSTILE
        assert r["Start"] == dt.datetime(2026, 1, 1)  # a date, local
        assert r["End"] == dt.datetime(2026, 1, 2)
        assert r["Net purchased electricity [kWh]"] == -1440.0  # a number, negative
        assert r["CO2, scope 2 [tCO2]"] == 0.0
        assert r["Incomplete"] is rec["incomplete"]  # a bool
