"""Administrative attribution (docs/kpis.md, "Regions"): known answers by hand.

Zone z > park ``own`` (region host-county) and enclave park ``enc`` (region host-county,
partner partner-city: output value 40/60, energy 50/50, CO2 not shared). host-county's
parent is host-city. Over one day, with the default coefficients (1000 kWh = 0.1229 tce
and 0.5306 tCO2):

=========  =======  ==========  =========  =====
park       kWh      tce         CNY        m3
=========  =======  ==========  =========  =====
own        1000     0.1229      200 000    0
enc        2000     0.2458      500 000    100
=========  =======  ==========  =========  =====
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from smartpark.analytics import jobs, landuse
from smartpark.analytics.kpis.compute import compute_kpis
from smartpark.analytics.kpis.table import KpiTable
from smartpark.analytics.landuse.facts import parse as parse_facts
from smartpark.core import registry
from smartpark.core.errors import AnalyticsError, ConfigError
from smartpark.core.registry import Registry
from smartpark.store.checks import check_kpi_rows
from smartpark.store.sqlite import SqliteStore

from .parks import DAY_MS, columns, day_ms

START = day_ms(2026, 11, 1)
TCE_PER_KWH = 0.0001229
CO2_PER_KWH = 0.0005306


def doc(sharing: Any) -> dict[str, Any]:
    return {
        "zone": {"z": {"name": "Z"}},
        "region": {
            "host-city": {"name": "Host City", "kind": "city"},
            "host-county": {"name": "Host County", "parent": "host-city"},
            "partner-city": {"name": "Partner City", "kind": "city"},
        },
        "park": {
            "own": {"zone": "z", "name": "Own", "region": "host-county"},
            "enc": {
                "zone": "z",
                "name": "Enclave",
                "enclave": True,
                "region": "host-county",
                "sharing": sharing,
            },
        },
        "enterprise": {
            "e-own": {"park": "own", "name": "E"},
            "e-enc": {"park": "enc", "name": "F"},
        },
        "gateway": {"g-own": {"park": "own"}, "g-enc": {"park": "enc"}},
        "meter": {
            f"{q}-{p}": {"enterprise": f"e-{p}", "gateway": f"g-{p}", "quantity": q}
            for p in ("own", "enc")
            for q in ("electricity_import", "output_value", "fresh_water")
        },
    }


SHARES = {
    "output_value": {"host-county": 0.4, "partner-city": 0.6},
    "energy": {"host-county": 0.5, "partner-city": 0.5},
}


def run(reg: Registry, days: int = 1) -> KpiTable:
    per_day = {
        "own": {"electricity_import": 1000.0, "output_value": 200_000.0, "fresh_water": 0.0},
        "enc": {"electricity_import": 2000.0, "output_value": 500_000.0, "fresh_water": 100.0},
    }
    rows = [
        (f"{q}-{p}", START + d * DAY_MS, v * d)
        for p, qs in per_day.items()
        for q, v in qs.items()
        for d in range(days + 1)
    ]
    return compute_kpis(reg, columns(reg, rows), START, START + days * DAY_MS, ["day"])


def value(table: KpiTable, scope: str, ident: str, kpi: str, day: int = 0) -> float:
    return table.value(scope, ident, "day", START + day * DAY_MS, kpi)  # type: ignore[arg-type]


def test_enclave_40_60_output_and_50_50_energy_match_the_hand_computation() -> None:
    t = run(registry.from_dict(doc({"partner": "partner-city", **SHARES})))
    # Parks and the zone: whole, as before.
    assert value(t, "park", "enc", "energy_tce") == pytest.approx(2000 * TCE_PER_KWH)
    assert value(t, "park", "enc", "output_value_cny") == pytest.approx(500_000)
    assert value(t, "zone", "z", "energy_tce") == pytest.approx(3000 * TCE_PER_KWH)
    assert value(t, "zone", "z", "output_value_cny") == pytest.approx(700_000)
    for kpi in ("energy_tce", "output_value_cny", "co2_total_t", "fresh_water_m3"):
        parks = value(t, "park", "own", kpi) + value(t, "park", "enc", kpi)
        assert value(t, "zone", "z", kpi) == pytest.approx(parks)
    # Host county: its own park plus what it keeps of the enclave.
    host_tce = 1000 * TCE_PER_KWH + 0.5 * 2000 * TCE_PER_KWH
    assert value(t, "region", "host-county", "energy_tce") == pytest.approx(host_tce)
    assert value(t, "region", "host-county", "electricity_kwh") == pytest.approx(2000)
    assert value(t, "region", "host-county", "output_value_cny") == pytest.approx(400_000)
    assert value(t, "region", "host-county", "co2_total_t") == pytest.approx(3000 * CO2_PER_KWH)
    assert value(t, "region", "host-county", "fresh_water_m3") == pytest.approx(100)
    # The ratio is formed from the region's sums, not averaged.
    assert value(t, "region", "host-county", "energy_intensity") == pytest.approx(
        host_tce / 400_000 * 1e4
    )
    # Partner city: its shares of the enclave, nothing of CO2 (not shared) or water.
    assert value(t, "region", "partner-city", "energy_tce") == pytest.approx(1000 * TCE_PER_KWH)
    assert value(t, "region", "partner-city", "output_value_cny") == pytest.approx(300_000)
    assert value(t, "region", "partner-city", "co2_total_t") == pytest.approx(0.0)
    assert value(t, "region", "partner-city", "energy_intensity") == pytest.approx(
        1000 * TCE_PER_KWH / 300_000 * 1e4
    )
    # The parent city adds its county's figures.
    for kpi in ("energy_tce", "output_value_cny", "co2_total_t"):
        assert value(t, "region", "host-city", kpi) == pytest.approx(
            value(t, "region", "host-county", kpi)
        )
        # One level of regions divides the zone total exactly: nothing counted twice.
        regions = value(t, "region", "host-county", kpi) + value(t, "region", "partner-city", kpi)
        assert regions == pytest.approx(value(t, "zone", "z", kpi))
    # Coincident demand does not divide by agreement.
    assert "peak_demand_kw" not in {r.kpi for r in t.rows() if r.scope == "region"}


def test_shares_follow_their_dates() -> None:
    sharing = {
        "partner": "partner-city",
        "periods": [{"valid_from": day_ms_date(2), **SHARES}],
    }
    t = run(registry.from_dict(doc(sharing)), days=3)
    partner = [value(t, "region", "partner-city", "output_value_cny", d) for d in range(3)]
    assert partner == pytest.approx([0.0, 300_000.0, 300_000.0])
    host = [value(t, "region", "host-county", "output_value_cny", d) for d in range(3)]
    assert host == pytest.approx([700_000.0, 400_000.0, 400_000.0])


def day_ms_date(day: int) -> dt.date:
    return dt.date(2026, 11, day)


def t_registry() -> Registry:
    return registry.from_dict(doc({"partner": "partner-city", **SHARES}))


def test_region_rows_are_storable(tmp_path: Path) -> None:
    t = run(t_registry())
    rows = [r for r in t.rows() if r.scope == "region"]
    check_kpi_rows(rows)
    with SqliteStore(tmp_path / "kpi.db", t_registry()) as store:
        store.write_kpis(rows)
        back = store.read_kpis(START, START + DAY_MS, scope="region")
    assert {(r.id, r.kpi) for r in back} == {(r.id, r.kpi) for r in rows}


def test_bad_regions_and_sharing_are_all_reported_at_once_with_their_paths() -> None:
    bad = doc(
        {
            "partner": "partner-city",
            "periods": [
                {"valid_from": day_ms_date(1), "output_value": {"host-county": 0.4}},
                {"valid_from": day_ms_date(2), "energy": {"partner-city": 0.5}},
                {"valid_to": day_ms_date(3), "energy": {"host-county": 0.5, "partner-city": 0.5}},
            ],
        }
    )
    bad["region"]["host-city"]["parent"] = "host-county"  # a cycle
    bad["park"]["lost"] = {"zone": "z", "name": "Lost"}  # no region
    with pytest.raises(ConfigError) as err:
        registry.from_dict(bad)
    text = str(err.value)
    for expected in (
        "park.enc.sharing.periods[0].output_value: shares must sum to 1, got 0.4",
        "park.enc.sharing.periods[1].energy: shares must sum to 1, got 0.5",
        "region.host-city.parent: cycle host-city -> host-county -> host-city",
        "park.lost.region: missing required key",
        "park.enc.sharing.periods[0].valid_from: overlaps park.enc.sharing.periods[2] "
        "(valid to 2026-11-03)",
    ):
        assert expected in text, (expected, text)


def test_landuse_shares_tax_and_revenue_but_land_stays_with_the_host() -> None:
    shares = {**SHARES, "tax": {"host-county": 0.2, "partner-city": 0.8}}
    half_year = {
        "partner": "partner-city",
        "periods": [{"valid_from": dt.date(2025, 7, 2), **shares}],
    }
    for sharing, partner_part in (({"partner": "partner-city", **shares}, 1.0), (half_year, 0.5)):
        d = doc(sharing)
        d["enterprise"]["e-own"]["land_m2"] = 10_000.0
        d["enterprise"]["e-enc"]["land_m2"] = 20_000.0
        reg = registry.from_dict(d)
        csv = (
            "year,enterprise,tax,revenue,value_added,employees,rd_spend,pollutant_t\n"
            "2025,e-own,100,1000,300,10,1,0\n"
            "2025,e-enc,50,500,200,10,1,0\n"
        )
        data = landuse.build(reg, parse_facts(csv, reg), None)
        rows = {(r.id, r.kpi): r.value for r in landuse.analyse(data, 2025).year_rows()}
        # 2025 has 365 days; the half-year agreement runs from 2 July: 183 of them.
        part = partner_part if partner_part == 1.0 else 183 / 365
        assert rows["partner-city", "shared_tax"] == pytest.approx(0.8 * 50 * part)
        assert rows["host-county", "shared_tax"] == pytest.approx(100 + 50 * (1 - 0.8 * part))
        assert rows["partner-city", "shared_revenue"] == pytest.approx(0.6 * 500 * part)
        assert rows["host-city", "shared_revenue"] == pytest.approx(1500 - 0.6 * 500 * part)
        # Land is not in the agreement: it stays whole with the host, and so do the grades.
        assert rows["partner-city", "shared_land_mu"] == 0.0
        assert rows["host-county", "shared_land_mu"] == pytest.approx(30_000 * 15 / 10_000)
        total = rows["host-county", "shared_tax"] + rows["partner-city", "shared_tax"]
        assert total == pytest.approx(150)


def test_the_region_scope_of_smartpark_kpi() -> None:
    reg = t_registry()
    chosen = jobs.Selection.check(reg, "day", "region", park="enc")
    assert chosen.ids == ["host-city", "host-county", "partner-city"]
    assert jobs.Selection.check(reg, "day", "region", park="own").ids == [
        "host-city",
        "host-county",
    ]
    plain = registry.from_dict({"zone": {"z": {"name": "Z"}}})
    with pytest.raises(AnalyticsError, match="--scope: the registry defines no regions"):
        jobs.Selection.check(plain, "day", "region")
