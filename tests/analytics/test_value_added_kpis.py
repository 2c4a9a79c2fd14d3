"""The KPIs per industrial value added (docs/kpis.md, "Value added"): known answers by
hand, through ``kpi_job`` on SQLite and a real influxd.

Zone z (Asia/Shanghai) > park p1 (region county): enterprises a (1000 kWh an hour), b
(500 kWh an hour) and d (a meter that never moves: no energy); enclave park p2 (region
county, partner region partner: value added 60/40, energy 50/50, CO2 not shared):
enterprise c (2000 kWh an hour). Over 2026, electricity only (registers read every 6
hours), with the default factors (1 kWh = 0.0001229 tce and 0.0005306 tCO2), so a month
of ``h`` hours uses ``h × kWh × 0.0001229`` tce.

Value added (10k CNY) entered per month: a ``2000 + 100 m`` in month ``m``; b 800 every
month but March (not entered); c 3000, and -500 in December (a loss); d nothing.
"""

from __future__ import annotations

import calendar
import math
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.kpis.table import KpiTable
from smartpark.core import registry
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import ReadingColumns
from smartpark.store.open import open_store
from smartpark.store.outputs import OutputRow
from smartpark.testing.servers import Influxd

from .parks import HOUR_MS, day_ms

TCE_PER_KWH = 0.0001229
CO2_PER_KWH = 0.0005306
KWH_PER_HOUR = {"a": 1000.0, "b": 500.0, "c": 2000.0, "d": 0.0}
START, END = day_ms(2026, 1, 1), day_ms(2027, 1, 1)

DOC: dict[str, Any] = {
    "zone": {"z": {"name": "Z"}},
    "region": {
        "county": {"name": "County"},
        "partner": {"name": "Partner", "kind": "city"},
    },
    "park": {
        "p1": {"zone": "z", "name": "P1", "region": "county"},
        "p2": {
            "zone": "z",
            "name": "P2",
            "enclave": True,
            "region": "county",
            "sharing": {
                "partner": "partner",
                "output_value": {"county": 0.6, "partner": 0.4},
                "energy": {"county": 0.5, "partner": 0.5},
            },
        },
    },
    "enterprise": {
        "a": {"park": "p1", "name": "A"},
        "b": {"park": "p1", "name": "B"},
        "c": {"park": "p2", "name": "C"},
        "d": {"park": "p1", "name": "D"},
    },
    "gateway": {"g1": {"park": "p1"}, "g2": {"park": "p2"}},
    "meter": {
        f"{e}-imp": {
            "enterprise": e,
            "gateway": "g2" if e == "c" else "g1",
            "quantity": "electricity_import",
            "interval_s": 21_600,
        }
        for e in KWH_PER_HOUR
    },
}


def hours(m: int) -> int:
    return calendar.monthrange(2026, m)[1] * 24


def energy(e: str, m: int) -> float:
    return hours(m) * KWH_PER_HOUR[e] * TCE_PER_KWH


def co2(e: str, m: int) -> float:
    return hours(m) * KWH_PER_HOUR[e] * CO2_PER_KWH


def va(e: str, m: int) -> float:
    """The entered value added; NaN where none is entered."""
    if e == "a":
        return 2000.0 + 100 * m
    if e == "b":
        return math.nan if m == 3 else 800.0
    if e == "c":
        return -500.0 if m == 12 else 3000.0
    return math.nan


def month_ms(m: int) -> tuple[int, int]:
    return day_ms(2026, m, 1), day_ms(2027, 1, 1) if m == 12 else day_ms(2026, m + 1, 1)


def entered() -> list[OutputRow]:
    return [
        OutputRow(e, "month", *month_ms(m), va(e, m))
        for e in "abc"
        for m in range(1, 13)
        if not math.isnan(va(e, m))
    ]


def readings(reg: Registry) -> ReadingColumns:
    ts = np.arange(START, END + 1, 6 * HOUR_MS, dtype=np.int64)
    steps = np.arange(ts.size, dtype=np.float64)
    codes = reg.meter_code
    return ReadingColumns(
        np.concatenate([np.full(ts.size, codes[f"{e}-imp"]) for e in KWH_PER_HOUR]).astype(
            np.int32
        ),
        np.concatenate([ts] * len(KWH_PER_HOUR)),
        np.concatenate([10.0 + 6 * steps * k for k in KWH_PER_HOUR.values()]),
    )


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("influxdb", marks=pytest.mark.servers)]
)
def table(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KpiTable]:
    """The year's KPIs, computed once per store."""
    reg = registry.from_dict(DOC)
    database = ""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('va') / 'park.db'}"
    else:
        influxd: Influxd = request.getfixturevalue("influxd")
        database = f"test_va_{uuid.uuid4().hex[:12]}"
        influxd.start()
        influxd.create_database(database)
        url = influxd.store_url(database)
    store = open_store(parse_store_url(url), reg)
    try:
        store.write(readings(reg))
        assert store.value_added.replace(entered()) == 0
        yield kpi_job(store, reg, START, END, ["day", "month", "year"], write=False).table
    finally:
        store.close()
        if database:
            influxd.drop_database(database)


def got(t: KpiTable, scope: str, ident: str, kpi: str, m: int | None) -> float:
    if m is None:
        return t.value(scope, ident, "year", START, kpi)  # type: ignore[arg-type]
    return t.value(scope, ident, "month", month_ms(m)[0], kpi)  # type: ignore[arg-type]


def close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9)


def test_an_enterprise_with_constant_energy_and_each_month_entered(table: KpiTable) -> None:
    for m in range(1, 13):
        assert close(got(table, "enterprise", "a", "value_added_10k_cny", m), 2000 + 100 * m)
        assert close(
            got(table, "enterprise", "a", "energy_intensity_va", m), energy("a", m) / va("a", m)
        )
        assert close(
            got(table, "enterprise", "a", "carbon_intensity_va", m), co2("a", m) / va("a", m)
        )
    # the year: 8760 h x 1000 kWh x 0.0001229 = 1076.604 tce over 12 x 2000 + 100 x 78
    assert got(table, "enterprise", "a", "value_added_10k_cny", None) == pytest.approx(31_800)
    assert got(table, "enterprise", "a", "energy_intensity_va", None) == pytest.approx(
        1076.604 / 31_800
    )
    assert got(table, "enterprise", "a", "carbon_intensity_va", None) == pytest.approx(
        8760 * 1000 * CO2_PER_KWH / 31_800
    )
    # a day has no value added
    day = table.value("enterprise", "a", "day", day_ms(2026, 5, 5), "value_added_10k_cny")
    assert math.isnan(day)
    assert math.isnan(table.value("zone", "z", "day", day_ms(2026, 5, 5), "energy_intensity_va"))


def test_a_park_of_two_enterprises_and_a_missing_month(table: KpiTable) -> None:
    for m in range(1, 13):
        p1_energy = energy("a", m) + energy("b", m)  # d used none: its missing figure is no gap
        p1_va = va("a", m) + va("b", m)
        expected = math.nan if m == 3 else p1_energy / p1_va
        assert close(got(table, "park", "p1", "energy_intensity_va", m), expected), m
        assert close(got(table, "park", "p1", "value_added_10k_cny", m), p1_va), m
        zone = (p1_energy + energy("c", m)) / (p1_va + va("c", m))
        assert close(got(table, "zone", "z", "energy_intensity_va", m), zone), m
    # b's March is missing: b, p1, the zone and the region county have no March and no year
    assert math.isnan(got(table, "enterprise", "b", "energy_intensity_va", 3))
    for scope, ident in [("enterprise", "b"), ("park", "p1"), ("zone", "z"), ("region", "county")]:
        assert math.isnan(got(table, scope, ident, "value_added_10k_cny", None)), ident
        assert math.isnan(got(table, scope, ident, "energy_intensity_va", None)), ident
    assert math.isnan(got(table, "region", "county", "energy_intensity_va", 3))
    # d used no energy and has no figure: missing for itself
    assert math.isnan(got(table, "enterprise", "d", "value_added_10k_cny", 6))


def test_a_loss_and_the_regions(table: KpiTable) -> None:
    # c's December: value added -500, no intensity; its year is 11 x 3000 - 500
    assert got(table, "enterprise", "c", "value_added_10k_cny", 12) == -500
    assert math.isnan(got(table, "enterprise", "c", "energy_intensity_va", 12))
    assert got(table, "park", "p2", "value_added_10k_cny", None) == pytest.approx(32_500)
    assert got(table, "park", "p2", "energy_intensity_va", None) == pytest.approx(
        8760 * 2000 * TCE_PER_KWH / 32_500
    )
    for m in (6, 11):
        p1_energy, p1_va = energy("a", m) + energy("b", m), va("a", m) + va("b", m)
        county = (p1_energy + 0.5 * energy("c", m)) / (p1_va + 0.6 * va("c", m))
        assert got(table, "region", "county", "energy_intensity_va", m) == pytest.approx(county)
        county_co2 = (co2("a", m) + co2("b", m) + co2("c", m)) / (p1_va + 0.6 * va("c", m))
        assert got(table, "region", "county", "carbon_intensity_va", m) == pytest.approx(county_co2)
        partner = 0.5 * energy("c", m) / (0.4 * va("c", m))
        assert got(table, "region", "partner", "energy_intensity_va", m) == pytest.approx(partner)
    # the partner takes nothing of p1: its March and year are there
    assert got(table, "region", "partner", "value_added_10k_cny", None) == pytest.approx(
        0.4 * 32_500
    )
