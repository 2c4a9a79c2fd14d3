"""The rule that keeps a panel: a target only where its scope meters what it needs."""

from __future__ import annotations

from typing import Any

import pytest

from smartpark.core import registry
from smartpark.grafana import dashboards
from smartpark.grafana.kpis import kpi_query, kpi_timeseries
from smartpark.grafana.needs import Metered, shown
from smartpark.grafana.panels import PromQuery, Query, Row, stat, text, timeseries


def _registry(meters: dict[str, dict[str, Any]]) -> registry.Registry:
    return registry.from_dict(
        {
            "zone": {"z": {"name": "Z"}},
            "park": {"p": {"zone": "z", "name": "P"}, "q": {"zone": "z", "name": "Q"}},
            "enterprise": {"e": {"park": "p", "name": "E"}, "f": {"park": "q", "name": "F"}},
            "gateway": {"g": {"park": "p"}, "h": {"park": "q"}},
            "meter": {
                mid: {"enterprise": "e", "gateway": "g", **table} for mid, table in meters.items()
            },
        }
    )


REG = _registry(
    {
        "main": {"quantity": "electricity_import"},
        "line": {"quantity": "natural_gas", "role": "sub"},
        "water": {"quantity": "fresh_water"},
        "power": {"quantity": "active_power", "enterprise": "f", "gateway": "h"},
    }
)


def test_a_scope_meters_the_quantities_of_its_boundary_meters():
    assert Metered.of(REG, ["p"]).quantities == {"electricity_import", "fresh_water"}
    assert Metered.of(REG, ["q"]).quantities == {"active_power"}
    assert Metered.of(REG).quantities == {"electricity_import", "fresh_water", "active_power"}
    with pytest.raises(ValueError, match="unknown park"):
        Metered.of(REG, ["nope"])


def test_targets_panels_and_rows_without_data_are_left_out():
    gas = Query("SELECT 1", needs=frozenset({"natural_gas"}))
    power = Query("SELECT 2", needs=frozenset({"active_power", "electricity_import"}))
    anything = Query("SELECT 3")
    items = [
        Row("kept"),
        timeseries("two of three", [gas, power, anything]),
        Row("empty"),
        stat("gas only", gas),
        Row("services"),
        stat("prometheus", PromQuery("up")),
        text("about", "no target"),
        Row("last, empty"),
    ]
    out = shown(items, Metered.of(REG, ["p"]))
    assert [(type(i).__name__, i.title) for i in out] == [
        ("Row", "kept"),
        ("Panel", "two of three"),
        ("Row", "services"),
        ("Panel", "prometheus"),
        ("Panel", "about"),
    ]
    assert [q.influxql for q in out[1].queries] == ["SELECT 2", "SELECT 3"]


def test_a_kpi_panel_left_with_fewer_kpis_describes_only_those():
    panel = kpi_timeseries(
        "Water",
        [
            kpi_query("park", "fresh_water_m3", "$park"),
            kpi_query("park", "wastewater_m3", "$park"),
        ],
    )
    assert "wastewater_m3" in panel.description
    [kept] = shown([panel], Metered.of(REG, ["p"]))
    assert [q.kpi for q in kept.queries] == ["fresh_water_m3"]  # type: ignore[attr-defined]
    assert "fresh_water_m3" in kept.description
    assert "wastewater_m3" not in kept.description


def test_a_park_without_stacks_or_power_meters_gets_neither_panel():
    def titles(park: str) -> str:
        return " | ".join(p["title"] for p in dashboards.park_dashboard(REG, [park])["panels"])

    for absent in ("hourly mean", "Exceedance", "Emissions against limits", "Load curve"):
        assert absent not in titles("p")
    assert "Load curve" in titles("q")
