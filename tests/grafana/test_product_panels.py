"""Unit-product energy panels: per product its graded value against its limit line, and
the level each product reached, only for the products of a dashboard's parks.

The registry and the product KPI rows are those of the serve tests
(tests/serve/products_app.py: two products in two parks, the numbers worked out by
hand); the queries run on a real influxd the rows were written to through smartpark's
own InfluxDB store.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from typing import Any

import pytest

from smartpark.analytics.kpis.catalogue import ALL_KPIS
from smartpark.analytics.periods import local_midnight_ms
from smartpark.core import registry
from smartpark.core.urls import parse_store_url
from smartpark.grafana import dashboards, scoping
from smartpark.grafana.interpolate import Variable, interpolate
from smartpark.grafana.products import ROW
from smartpark.store.open import open_store
from smartpark.testing.servers import Influxd
from tests.serve.products_app import CLINKER_LIMIT, FEB, MAR, REGISTRY, TZ, rows

REG = registry.from_dict(tomllib.loads(REGISTRY))
TREND = re.compile(r"^(.*): graded value against the limit")
APR = local_midnight_ms(dt.date(2024, 4, 1), TZ)


def panels(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["title"]: p for p in board["panels"]}


def trends(board: dict[str, Any]) -> list[str]:
    """The products (by name) whose graded value the board draws."""
    return [m.group(1) for p in board["panels"] if (m := TREND.match(p["title"]))]


def level_table(board: dict[str, Any]) -> dict[str, Any]:
    (table,) = [p for p in board["panels"] if p["title"].startswith("Level reached per product")]
    return table


def test_a_registry_without_products_has_no_product_panels():
    data = tomllib.loads(REGISTRY)
    del data["product"]
    for board in dashboards.all_dashboards(registry.from_dict(data)).values():
        assert ROW not in panels(board)
        assert "'product'" not in str(board)


def test_a_park_dashboard_has_its_own_products_and_no_other_parks():
    cement = scoping.park_dashboard_for(REG, "cement")
    assert trends(cement) == ["Clinker line 1"]
    assert "al-liquid" not in str(cement)
    assert "Potline" not in str(cement)
    metals = scoping.park_dashboard_for(REG, "metals")
    assert trends(metals) == ["Potline aluminium"]
    assert "clinker" not in str(metals).lower().replace("gb 16780", "")
    depot = scoping.park_dashboard_for(REG, "depot")  # makes no product
    assert ROW not in panels(depot)
    assert trends(depot) == []
    # the zone folder's boards: every product; the overview only their levels
    assert trends(dashboards.park_dashboard(REG)) == ["Potline aluminium", "Clinker line 1"]
    overview = dashboards.zone_overview(REG)
    assert trends(overview) == []
    assert "/^(al-liquid|clinker)$/" in level_table(overview)["targets"][0]["query"]


def test_the_graded_value_is_drawn_against_the_limit_line():
    panel = next(
        p
        for p in scoping.park_dashboard_for(REG, "cement")["panels"]
        if p["title"].startswith("Clinker line 1")
    )
    assert panel["title"] == (
        "Clinker line 1: graded value against the limit (GB 16780-2021 clinker, kgce/t)"
    )
    value, limit = panel["targets"]
    for target, kpi in ((value, "benchmark_value"), (limit, "limit_value")):
        assert "\"scope\" = 'product'" in target["query"]
        assert '"id" =~ /^clinker$/' in target["query"]
        assert f"\"kpi\" = '{kpi}'" in target["query"]
        assert "\"period\" = '$period'" in target["query"]
    assert (value["alias"], limit["alias"]) == ("Clinker line 1", "limit (level 3)")
    (line,) = panel["fieldConfig"]["overrides"]
    assert line["matcher"] == {"id": "byName", "options": "limit (level 3)"}
    props = {p["id"]: p["value"] for p in line["properties"]}
    assert props["color"] == {"mode": "fixed", "fixedColor": "red"}
    assert props["custom.lineStyle"]["fill"] == "dash"
    # the catalogue's words, then the levels corrected for the plant (117 x K = 118.6)
    spec = ALL_KPIS["benchmark_value"]
    assert f"benchmark_value ({spec.unit}): {spec.description}." in panel["description"]
    assert (
        "level 1 <= 100, level 2 <= 107, level 3 (the limit, red dashed) <= 118.6"
        in (panel["description"])
    )
    assert panel["fieldConfig"]["defaults"]["thresholds"]["steps"] == [
        {"color": "green", "value": None}
    ]


def test_the_level_table_names_products_and_colours_levels():
    table = level_table(scoping.park_dashboard_for(REG, "metals"))
    assert table["type"] == "table"
    (target,) = table["targets"]
    assert target["resultFormat"] == "table"
    assert "\"kpi\" = 'benchmark_level'" in target["query"]
    assert '"id" =~ /^(al-liquid)$/' in target["query"]
    by_field = {o["matcher"]["options"]: o["properties"] for o in table["fieldConfig"]["overrides"]}
    level = {p["id"]: p["value"] for p in by_field["last"]}
    (mapping,) = level["mappings"]
    assert mapping["options"]["4"] == {"text": "above the limit", "color": "red", "index": 3}
    assert mapping["options"]["1"]["color"] == "green"
    assert level["custom.cellOptions"] == {"type": "color-background"}
    names = {p["id"]: p["value"] for p in by_field["id"]}
    assert names["mappings"][0]["options"] == {
        "al-liquid": {"text": "Potline aluminium", "index": 0}
    }


@pytest.mark.servers
def test_the_panels_read_the_product_rows_the_store_writes(influxd: Influxd, influx_db: str):
    store = open_store(parse_store_url(influxd.store_url(influx_db)), REG)
    try:
        store.write_kpis(rows())
    finally:
        store.close()
    board = dashboards.park_dashboard(REG)

    def run(target: dict[str, Any]) -> list[dict[str, Any]]:
        query = interpolate(
            target["query"],
            from_ms=FEB,
            to_ms=APR - 1,
            interval_ms=3_600_000,
            variables={"period": Variable("month")},
        )
        return influxd.query(influx_db, query)

    clinker = next(p for p in board["panels"] if p["title"].startswith("Clinker line 1"))
    value, limit = (run(t) for t in clinker["targets"])
    assert [(r["time"], r["value"]) for r in value] == [(FEB, 100), (MAR, 110)]
    assert [r["value"] for r in limit] == pytest.approx([CLINKER_LIMIT, CLINKER_LIMIT])
    al = next(p for p in board["panels"] if p["title"].startswith("Potline aluminium"))
    # March has no output: no graded value, the limit line goes on
    assert [(r["time"], r["value"]) for r in run(al["targets"][0])] == [(FEB, 13_500)]
    assert len(run(al["targets"][1])) == 2
    latest = {r["id"]: r["last"] for r in run(level_table(board)["targets"][0])}
    assert latest == {"clinker": 3, "al-liquid": 4}
