"""The read API against a real server over a demo-filled store."""

from __future__ import annotations

import csv
import io

from smartpark.analytics.kpis.catalogue import KPIS
from smartpark.core.timestamps import format_rfc3339
from tests.serve.conftest import DAY_END_MS, DAY_START_MS, DEMO_DAY, NEXT_DAY, Demo, Server

KPI = f"/api/v1/kpi?scope=park&id=petrochem&period=day&from={DEMO_DAY}&to={NEXT_DAY}"


def test_kpi_rows_have_the_catalogue_names_and_units(server: Server, demo: Demo) -> None:
    r = server.get(KPI, demo.tokens["petrochem"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["timezone"] == "Asia/Shanghai"
    rows = body["rows"]
    assert rows, "the demo wrote day KPIs for petrochem"
    assert {row["id"] for row in rows} == {"petrochem"}
    assert {row["start"] for row in rows} == {format_rfc3339(DAY_START_MS)}
    by = {row["kpi"]: row for row in rows}
    assert by["co2_total_t"]["unit"] == KPIS["co2_total_t"].unit == "tCO2"
    assert by["co2_total_t"]["value"] > 0
    assert r.headers["x-content-type-options"] == "nosniff"


def test_kpi_filter_and_csv(server: Server, demo: Demo) -> None:
    path = KPI + "&kpi=co2_total_t&kpi=energy_tce"
    r = server.get(path, demo.tokens["petrochem"], headers={"Accept": "text/csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert sorted(row["kpi"] for row in rows) == ["co2_total_t", "energy_tce"]
    assert {row["unit"] for row in rows} == {"tCO2", "tce"}
    json_rows = server.get(path, demo.tokens["petrochem"]).json()["rows"]
    assert [float(row["value"]) for row in rows] == [row["value"] for row in json_rows]


def test_hourly_rows_of_an_enterprise(server: Server, demo: Demo) -> None:
    path = f"/api/v1/kpi?scope=enterprise&id=chem-a&period=hour&from={DEMO_DAY}&to={NEXT_DAY}"
    rows = server.get(path + "&kpi=electricity_kwh", demo.tokens["chem-a"]).json()["rows"]
    assert len(rows) == 24


def test_registry_tree_is_the_callers_part(server: Server, demo: Demo) -> None:
    zone = server.get("/api/v1/registry", demo.tokens["zone"]).json()
    assert [z["id"] for z in zone["zones"]] == ["lanzhou-new-area"]
    assert {p["id"] for p in zone["zones"][0]["parks"]} == {
        "petrochem",
        "new-materials",
        "coop-enclave",
    }
    park = server.get("/api/v1/registry", demo.tokens["petrochem"]).json()
    assert park["zones"][0]["id"] is None  # the zone is not the park caller's
    assert [p["id"] for p in park["zones"][0]["parks"]] == ["petrochem"]
    ent = server.get("/api/v1/registry", demo.tokens["chem-a"]).json()
    parks = ent["zones"][0]["parks"]
    assert [e["id"] for e in parks[0]["enterprises"]] == ["chem-a"]
    assert parks[0]["visible"] is False


def test_alerts_are_filtered_by_scope(server: Server, demo: Demo) -> None:
    mine = server.get("/api/v1/alerts", demo.tokens["petrochem"]).json()["alerts"]
    assert {(a["scope"], a["id"]) for a in mine} == {
        ("park", "petrochem"),
        ("meter", "chem-a-main"),
    }
    every = server.get("/api/v1/alerts", demo.tokens["admin"]).json()["alerts"]
    assert len(every) == 3
    other = server.get("/api/v1/alerts", demo.tokens["materials"]).json()["alerts"]
    assert [(a["scope"], a["id"]) for a in other] == [("park", "new-materials")]


def test_freshness_per_meter_and_gateway(server: Server, demo: Demo) -> None:
    at = format_rfc3339(DAY_END_MS)  # the demo day's end
    rows = server.get(f"/api/v1/freshness?at={at}", demo.tokens["chem-a"]).json()["subjects"]
    meters = [r for r in rows if r["kind"] == "meter"]
    assert meters
    assert all(r["id"].startswith("chem-a") for r in meters)
    assert all(r["last"] is not None for r in meters)
    last_hour = format_rfc3339(DAY_END_MS - 3_600_000)
    assert all(r["last"] >= last_hour for r in meters), meters
    gateways = {r["id"] for r in rows if r["kind"] == "gateway"}
    assert gateways == {"gw-chem-a"}
    long_ago = server.get("/api/v1/freshness?at=2020-01-01T00:00:00Z", demo.tokens["chem-a"])
    assert all(r["last"] is None and r["stale"] for r in long_ago.json()["subjects"])


def test_landuse_grades_of_the_callers_enterprises(server: Server, demo: Demo) -> None:
    zone = server.get("/api/v1/landuse?year=2024", demo.tokens["zone"]).json()
    park = server.get("/api/v1/landuse?year=2024", demo.tokens["petrochem"]).json()
    assert len(zone["enterprises"]) > len(park["enterprises"]) > 0
    assert all(e["park"] == "petrochem" for e in park["enterprises"])
    assert {e["grade"] for e in zone["enterprises"]} <= {"A", "B", "C", "D", "T", "-"}
    assert {k["scope"] for k in park["kpis"]} == {"park"}
    missing = server.get("/api/v1/landuse?year=1990", demo.tokens["zone"])
    assert missing.status_code == 404


def test_catalogue_whoami_and_openapi(server: Server, demo: Demo) -> None:
    kpis = server.get("/api/v1/kpis", demo.tokens["petrochem"]).json()["kpis"]
    line = next(k for k in kpis if k["kpi"] == "carbon_per_energy")["line"]
    assert line["side"] == "below"
    assert line["value"] == 0.20
    me = server.get("/api/v1/whoami", demo.tokens["petrochem"]).json()
    assert me == {"role": "read", "scope": "park:petrochem"}
    spec = server.get("/openapi.json").json()
    assert "/api/v1/kpi" in spec["paths"]


def test_admin_lists_tokens_without_values(server: Server, demo: Demo) -> None:
    r = server.get("/api/v1/tokens", demo.tokens["admin"])
    assert r.status_code == 200
    assert all(t not in r.text for t in demo.tokens.values())
    assert server.get("/api/v1/tokens", demo.tokens["zone"]).status_code == 403
