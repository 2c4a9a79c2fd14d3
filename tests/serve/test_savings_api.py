"""``GET /api/v1/savings``: a project's measured savings from a real ``smartpark serve``
over a SQLite store holding the known case of tests/analytics/savings_case.py, within the
caller's scope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smartpark.core import registry
from smartpark.core.urls import parse_store_url
from smartpark.serve.access import AccessStore
from smartpark.serve.scopes import Grant
from smartpark.store.open import open_store
from tests.analytics import savings_case as case
from tests.serve.conftest import Demo, Server, start_server

FORBIDDEN = {"error": "forbidden", "detail": "not in your scope (or no such id)"}
SPRING = "project=chiller&from=2025-03-01&to=2025-05-01"
GRANTS = {
    "admin": Grant("admin", None),
    "e1": Grant("read", "enterprise:e1"),
    "p2": Grant("read", "park:p2"),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Demo]]:
    tmp = Path(tmp_path_factory.mktemp("savings-api"))
    path = tmp / "registry.toml"
    path.write_text(case.registry_text(), encoding="utf-8")
    demo = Demo(tmp, tmp / "store.db", tmp / "access.db")
    reg = registry.load(path)
    store = open_store(parse_store_url(f"sqlite:///{demo.store}"), reg)
    try:
        case.write(store, reg)
    finally:
        store.close()
    access = AccessStore(demo.access)
    for label, grant in GRANTS.items():
        _, demo.tokens[label] = access.create_token(grant, label)
    access.close()
    for server in start_server(demo, tmp, "--rate", "1000", "--burst", "1000", registry=path):
        yield server, demo


def test_the_enterprise_sees_its_project_months(app: tuple[Server, Demo]) -> None:
    server, demo = app
    r = server.get(f"/api/v1/savings?{SPRING}", demo.tokens["e1"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"] == "CalTRACK daily (eemeter 4.x)"
    assert (body["project"], body["enterprise"], body["unit"]) == ("chiller", "e1", "kWh")
    assert (body["from"], body["to"], body["go_live"]) == ("2025-03-01", "2025-05-01", "2025-01-01")
    known = case.known_avoided()
    assert [m["month"] for m in body["months"]] == ["2025-03", "2025-04"]
    for m in body["months"]:
        assert abs(m["avoided"] - known[m["month"]]) <= m["uncertainty"]
        assert m["avoided_cost_cny"] is None
    assert body["limits"]
    assert body["model"]["baseline_days"] == 365


def test_csv_rows_per_month_and_total(app: tuple[Server, Demo]) -> None:
    server, demo = app
    r = server.get(
        f"/api/v1/savings?{SPRING}", demo.tokens["admin"], headers={"Accept": "text/csv"}
    )
    assert r.status_code == 200
    lines = r.text.splitlines()
    assert lines[0].startswith("project,unit,month,days,days_missing,baseline,actual,avoided")
    assert [line.split(",")[2] for line in lines[1:]] == ["2025-03", "2025-04", "total"]


def test_outside_the_scope_or_unknown_is_the_same_403(app: tuple[Server, Demo]) -> None:
    server, demo = app
    theirs = server.get(f"/api/v1/savings?{SPRING}", demo.tokens["p2"])
    unknown = server.get("/api/v1/savings?project=nothing", demo.tokens["admin"])
    assert (theirs.status_code, theirs.json()) == (403, FORBIDDEN)
    assert (unknown.status_code, unknown.json()) == (403, FORBIDDEN)
    assert server.get(f"/api/v1/savings?{SPRING}").status_code == 401


def test_bad_parameters_and_missing_inputs(app: tuple[Server, Demo]) -> None:
    server, demo = app
    token = demo.tokens["e1"]
    bad_day = server.get("/api/v1/savings?project=chiller&from=March", token)
    assert (bad_day.status_code, bad_day.json()["detail"]) == (
        400,
        "from: a date YYYY-MM-DD, got 'March'",
    )
    assert server.get(f"/api/v1/savings?{SPRING}&park=p1", token).status_code == 400
    assert server.get("/api/v1/savings?project=Bad!", token).status_code == 400
    before = server.get("/api/v1/savings?project=chiller&to=2024-12-01", token)
    assert before.status_code == 400
    assert "leaves no reporting day" in before.json()["detail"]
    later = server.get("/api/v1/savings?project=chiller&from=2025-10-01&to=2025-11-01", token)
    assert later.status_code == 404
    assert later.json()["detail"].startswith(
        "project chiller: no readings of e1-main from 2025-10-01 to 2025-11-01 (since go-live)"
    )
