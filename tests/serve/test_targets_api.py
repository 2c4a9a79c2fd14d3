"""``GET /api/v1/targets``: plan against actual of the dual-control targets the caller
sees, as JSON, CSV and .xlsx, on a real server (tests/serve/targets_app.py has the zone
and the numbers worked out by hand)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from smartpark.core.workbook import MEDIA_TYPE
from tests.serve.conftest import Demo, Server
from tests.serve.targets_app import (
    E1_TCE,
    P1_TCE,
    PROJECTED,
    YTD,
    YTD_DAYS,
    Z1_TCE,
    served,
)
from tests.workbooks import tables

AS_OF = "as_of=2026-07-01"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Demo]]:
    yield from served(Path(tmp_path_factory.mktemp("targets-api")))


def _get(app: tuple[Server, Demo], who: str, query: str, **kw: object) -> httpx.Response:
    server, demo = app
    return server.get(f"/api/v1/targets?{query}", demo.tokens[who], **kw)


def _targets(body: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(r["scope"], r["id"], r["measure"]) for r in body["rows"]}


def test_the_zone_sees_every_target_with_the_figures_by_hand(app: tuple[Server, Demo]) -> None:
    r = _get(app, "zone", f"year=2026&{AS_OF}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert _targets(body) == {
        ("enterprise", "e1", "energy_tce"),
        ("enterprise", "e1", "co2_t"),
        ("park", "p1", "energy_tce"),
        ("zone", "z1", "energy_tce"),
        ("park", "p2", "co2_t"),
    }
    (zone,) = body["zones"]
    assert zone == {
        "zone": "z1",
        "year": 2026,
        "as_of": "2026-07-01",
        "ytd_end": "2026-07-01",
        "closed_months": 6,
        "notes": [],
    }
    rows = {(x["scope"], x["id"], x["measure"]): x for x in body["rows"]}
    e1 = rows[("enterprise", "e1", "energy_tce")]
    assert e1["zone"] == "z1"
    assert e1["actual_ytd"] == pytest.approx(YTD, rel=1e-9)
    assert e1["plan_ytd"] == pytest.approx(E1_TCE * YTD_DAYS / 365, rel=1e-9)
    assert e1["used_pct"] == pytest.approx(100 * YTD / E1_TCE, rel=1e-9)
    assert e1["projection_method"] == "run_rate"
    assert e1["projection"] == pytest.approx(PROJECTED, rel=1e-9)
    assert e1["gap"] == pytest.approx(PROJECTED - E1_TCE, rel=1e-9)
    assert "flat" in e1["note"]  # no last year: the plan is flat, and says so
    assert rows[("park", "p1", "energy_tce")]["gap"] == pytest.approx(PROJECTED - P1_TCE)
    assert rows[("zone", "z1", "energy_tce")]["gap"] == pytest.approx(PROJECTED - Z1_TCE)
    p2 = rows[("park", "p2", "co2_t")]
    # nothing metered: no actual and no gap (never a 0 that looks on target), and why
    assert (p2["actual_ytd"], p2["gap"]) == (None, None)
    assert "no readings in month(s) 1, 2, 3, 4, 5, 6 of 2026" in p2["note"]
    months = [m for m in body["months"] if (m["scope"], m["id"]) == ("enterprise", "e1")]
    assert [m["month"] for m in months] == [f"2026-{k:02d}" for k in range(1, 13)]


@pytest.mark.parametrize(
    ("who", "seen"),
    [
        ("p1", {("enterprise", "e1"), ("park", "p1")}),
        ("p2", {("park", "p2")}),
        ("e1", {("enterprise", "e1")}),
        ("admin", {("enterprise", "e1"), ("park", "p1"), ("zone", "z1"), ("park", "p2")}),
    ],
)
def test_a_caller_sees_the_targets_of_the_scope_rows_it_sees(
    app: tuple[Server, Demo], who: str, seen: set[tuple[str, str]]
) -> None:
    r = _get(app, who, f"year=2026&{AS_OF}")
    assert r.status_code == 200, r.text
    assert {(s, i) for s, i, _ in _targets(r.json())} == seen
    assert {(m["scope"], m["id"]) for m in r.json()["months"]} <= seen


def test_csv_and_xlsx_by_format_or_accept(app: tuple[Server, Demo]) -> None:
    r = _get(app, "p1", f"year=2026&{AS_OF}&format=csv")
    assert r.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(r.text)))
    assert {(x["scope"], x["id"]) for x in lines} == {("enterprise", "e1"), ("park", "p1")}
    e1 = next(x for x in lines if x["id"] == "e1" and x["measure"] == "energy_tce")
    assert float(e1["projection"]) == pytest.approx(PROJECTED, rel=1e-9)
    assert e1["projection_method"] == "run_rate"
    by_accept = _get(app, "p1", f"year=2026&{AS_OF}", headers={"Accept": "text/csv"})
    assert by_accept.text == r.text
    book = _get(app, "p1", f"year=2026&{AS_OF}&format=xlsx")
    assert book.headers["content-type"] == MEDIA_TYPE
    (sheet,) = tables(book.content).values()
    rows = sheet.records()
    assert {(x["scope"], x["id"]) for x in rows} == {("enterprise", "e1"), ("park", "p1")}
    park = next(x for x in rows if x["id"] == "p1")
    assert park["budget"] == P1_TCE
    assert park["actual_ytd"] == pytest.approx(YTD, rel=1e-9)
    json_anyway = _get(app, "p1", f"year=2026&{AS_OF}&format=json", headers={"Accept": "text/csv"})
    assert json_anyway.json()["rows"]


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ("as_of=2026-13-01", 400, "as_of: a date YYYY-MM-DD"),
        ("year=2026&as_of=2025-12-31", 400, "as_of: 2025-12-31 is before 2026 began"),
        ("year=1999", 400, "year:"),
        ("year=2026&format=pdf", 400, "format:"),
        ("year=2026&zone=z1", 400, "unknown parameter"),
        ("year=2026&year=2027", 400, "parameter year given twice"),
    ],
)
def test_bad_parameters_are_refused(
    app: tuple[Server, Demo], query: str, status: int, detail: str
) -> None:
    r = _get(app, "zone", query)
    assert r.status_code == status, r.text
    assert detail in r.json()["detail"]


def test_no_token_is_401(app: tuple[Server, Demo]) -> None:
    server, _ = app
    assert server.get(f"/api/v1/targets?year=2026&{AS_OF}").status_code == 401
