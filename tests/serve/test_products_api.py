"""Products in the read API: ``/api/v1/products`` and ``/api/v1/kpi?scope=product``,
within the caller's scope, against a real server (tests/serve/products_app.py)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartpark.core.timestamps import format_rfc3339
from tests.serve.conftest import Demo, Server
from tests.serve.products_app import CLINKER_LIMIT, FEB, MAR, served

MONTHS = "period=month&from=2024-02-01&to=2024-04-01"
FORBIDDEN = {"error": "forbidden", "detail": "not in your scope (or no such id)"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Demo]]:
    yield from served(Path(tmp_path_factory.mktemp("products-api")))


def ids(server: Server, demo: Demo, who: str) -> list[str]:
    r = server.get("/api/v1/products", demo.tokens[who])
    assert r.status_code == 200, r.text
    return [p["id"] for p in r.json()["products"]]


def test_a_caller_lists_the_products_of_its_own_enterprises(app: tuple[Server, Demo]) -> None:
    server, demo = app
    assert ids(server, demo, "admin") == ["al-liquid", "clinker"]
    assert ids(server, demo, "zone") == ["al-liquid", "clinker"]
    assert ids(server, demo, "cement") == ["clinker"]
    assert ids(server, demo, "metals") == ["al-liquid"]
    assert ids(server, demo, "alu-a") == ["al-liquid"]


def test_a_product_says_what_it_is_graded_against_with_its_corrected_levels(
    app: tuple[Server, Demo],
) -> None:
    server, demo = app
    body = server.get("/api/v1/products", demo.tokens["cement"]).json()
    (clinker,) = body["products"]
    assert {k: clinker[k] for k in ("enterprise", "park", "unit", "standard", "category")} == {
        "enterprise": "cement-a",
        "park": "cement",
        "unit": "t",
        "standard": "GB 16780-2021",
        "category": "clinker",
    }
    assert (clinker["name"], clinker["name_zh"]) == ("Clinker line 1", "1号熟料线")
    assert (clinker["indicator"], clinker["value_unit"]) == ("unit_energy", "kgce/t")
    # GB 16780-2021 5.3: above 1,500 m only level 3 is corrected, x K (by hand: 118.57)
    assert (clinker["level_1"], clinker["level_2"]) == (100.0, 107.0)
    assert math.isclose(clinker["level_3"], 117 * (1.179 - 0.211 * 79_500 / 101_325))
    assert math.isclose(clinker["level_3"], 118.5735, abs_tol=1e-4)
    assert clinker["correction"] == "altitude"
    assert clinker["inputs"] == {"altitude_m": 2000.0, "pressure_pa": 79500.0}
    assert (clinker["output"], clinker["output_meter"]) == ("metered", "cement-a-clinker")
    assert clinker["checked"] is False
    assert clinker["source"].startswith("secondary:")
    (al,) = server.get("/api/v1/products", demo.tokens["metals"]).json()["products"]
    assert (al["level_1"], al["level_2"], al["level_3"]) == (12950.0, 13000.0, 13350.0)
    assert (al["value_unit"], al["output"], al["output_meter"]) == ("kWh/t", "entered", None)


def test_products_as_csv(app: tuple[Server, Demo]) -> None:
    server, demo = app
    r = server.get("/api/v1/products", demo.tokens["zone"], headers={"Accept": "text/csv"})
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["id"] for row in rows] == ["al-liquid", "clinker"]
    assert "inputs" not in rows[0]  # a table is no CSV cell
    assert rows[0]["level_3"] == "13350.0"


def test_product_kpi_rows_come_in_the_products_own_units(app: tuple[Server, Demo]) -> None:
    server, demo = app
    r = server.get(f"/api/v1/kpi?scope=product&id=clinker&{MONTHS}", demo.tokens["cement"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["scope"], body["id"], body["timezone"]) == ("product", "clinker", "Asia/Shanghai")
    march = {row["kpi"]: row for row in body["rows"] if row["start"] == format_rfc3339(MAR)}
    assert {k: (v["value"], v["unit"]) for k, v in march.items()} == {
        "product_output": (10_000.0, "t"),
        "product_energy_tce": (1_100.0, "tce"),
        "unit_energy_kgce": (110.0, "kgce/t"),
        "benchmark_value": (110.0, "kgce/t"),
        "limit_value": (CLINKER_LIMIT, "kgce/t"),
        "benchmark_level": (3.0, "level"),
        "gap_to_next_level": (3.0, "kgce/t"),
    }
    assert {row["start"] for row in body["rows"]} == {format_rfc3339(FEB), format_rfc3339(MAR)}
    path = f"/api/v1/kpi?scope=product&id=al-liquid&{MONTHS}&kpi=benchmark_value&kpi=limit_value"
    rows = server.get(path, demo.tokens["alu-a"]).json()["rows"]
    # February graded above the limit; March has energy and no output: no graded value
    assert [(r["kpi"], r["value"], r["unit"]) for r in rows] == [
        ("benchmark_value", 13_500.0, "kWh/t"),
        ("limit_value", 13_350.0, "kWh/t"),
        ("limit_value", 13_350.0, "kWh/t"),
    ]


def test_another_parks_product_is_forbidden_like_an_unknown_one(app: tuple[Server, Demo]) -> None:
    server, demo = app
    theirs = server.get(f"/api/v1/kpi?scope=product&id=al-liquid&{MONTHS}", demo.tokens["cement"])
    unknown = server.get(f"/api/v1/kpi?scope=product&id=no-such&{MONTHS}", demo.tokens["cement"])
    assert theirs.status_code == unknown.status_code == 403
    assert theirs.json() == unknown.json() == FORBIDDEN
    mine = server.get(f"/api/v1/kpi?scope=product&id=clinker&{MONTHS}", demo.tokens["alu-a"])
    assert mine.status_code == 403
    # a product id is no enterprise, park or zone id, nor the other way round
    wrong = server.get(f"/api/v1/kpi?scope=enterprise&id=clinker&{MONTHS}", demo.tokens["admin"])
    assert wrong.status_code == 403
    park = server.get(f"/api/v1/kpi?scope=product&id=cement&{MONTHS}", demo.tokens["cement"])
    assert park.status_code == 403


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("scope=product&id=../clinker", "id"),
        ("scope=product&id=Clinker", "id"),
        ("scope=product&id=clinker%00", "id"),
        ("scope=product&id=" + "a" * 65, "id"),
        ("scope=products&id=clinker", "scope"),
        ("scope=product&id=clinker&id=al-liquid", "given twice"),
        ("scope=product&id=clinker&product=clinker", "unknown parameter"),
        ("scope=product&id=clinker&kpi=benchmark-value", "kpi"),
    ],
)
def test_hostile_queries_are_refused_with_a_reason(
    app: tuple[Server, Demo], query: str, reason: str
) -> None:
    server, demo = app
    r = server.get(f"/api/v1/kpi?{query}&{MONTHS}", demo.tokens["admin"])
    assert r.status_code == 400, (query, r.text)
    assert r.json()["error"] == "bad_request"
    assert reason in r.json()["detail"]
    assert "../" not in r.text
    assert "Clinker" not in r.text


def test_the_products_route_takes_no_parameters_and_a_token(app: tuple[Server, Demo]) -> None:
    server, demo = app
    r = server.get("/api/v1/products?park=metals", demo.tokens["cement"])
    assert r.status_code == 400
    assert "unknown parameter" in r.json()["detail"]
    assert server.get("/api/v1/products").status_code == 401


def test_the_catalogue_lists_the_product_kpis(app: tuple[Server, Demo]) -> None:
    server, demo = app
    kpis = server.get("/api/v1/kpis", demo.tokens["cement"]).json()["kpis"]
    product = {k["kpi"]: k for k in kpis if k["group"] == "product"}
    assert {"benchmark_value", "limit_value", "benchmark_level", "product_output"} <= set(product)
    assert product["benchmark_level"]["unit"] == "level"
    assert [k["kpi"] for k in kpis].count("completeness") == 1
