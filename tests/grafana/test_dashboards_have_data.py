"""Every panel of every generated dashboard shows data: no panel says "No data" forever.

A dashboard generated from the registry shows only what its scope meters
(smartpark.grafana.needs). Checked two ways:

- from the registry alone: a park's dashboard has a target exactly when the park has a
  boundary meter of what the target reads (the quantity of a reading query, an input of
  a KPI in the analytics catalogue), so the enclave park has no emission panels;
- on data: the real ``smartpark demo`` (one pinned day; it simulates every quantity the
  example registry meters) fills a real influxd, and every InfluxDB target of every
  dashboard the example registry produces (the zone folder's three, one per park) is
  interpolated as Grafana does for the demo's day and must return a non-null value.

Prometheus targets (the operations dashboard's Services row) read the ingest processes'
own metrics, which no meter decides and no Prometheus serves here: they are not run
(tests/grafana/test_prometheus_panels.py checks their metric and label names).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from smartpark.analytics.kpis.catalogue import ALL_KPIS
from smartpark.core import registry
from smartpark.core.registry import POLLUTANTS
from smartpark.grafana import dashboards, scoping
from smartpark.grafana.interpolate import Variable, calculate_interval_ms, interpolate
from smartpark.testing.servers import Influxd

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.toml"
REG = registry.load(EXAMPLE)
DEMO_START = "2026-03-01"  # pinned: never derived from the wall clock
# The KPI periods the demo's one day holds in full (a month row would be partial).
PERIODS = ("day", "hour")

QUANTITY_IN_QUERY = re.compile(r"\"quantity\" = '(\w+)'")
KPI_IN_QUERY = re.compile(r"\"kpi\" = '(\w+)'")
PRODUCTS_IN_QUERY = re.compile(r"\"scope\" = 'product' AND \"id\" =~ /\^\(?([a-z0-9_|-]+)\)?\$/")


def _boards() -> dict[str, dict[str, Any]]:
    """uid → dashboard, for every dashboard of every folder the registry gives."""
    return {b["uid"]: b for folder in scoping.folders(REG) for b in folder.dashboards}


BOARDS = _boards()


def metered(park: str) -> set[str]:
    """The quantities of the park's boundary meters, straight from the registry."""
    return {
        m.quantity
        for m in REG.meters.values()
        if m.role == "boundary" and REG.park_of_meter(m.id) == park
    }


def needs(query: str) -> set[str]:
    """What an InfluxQL target reads: its quantity filter, or its KPIs' catalogue inputs."""
    out = set(QUANTITY_IN_QUERY.findall(query))
    for kpi in KPI_IN_QUERY.findall(query):
        out |= ALL_KPIS[kpi].inputs
    return out


FIXED_SCOPE = re.compile(r"\"scope\" = '(enterprise|park)' AND \"id\" = '([a-z0-9_-]+)'")


def parks_of_products(query: str) -> set[str]:
    """The parks of the products a target reads (none: it reads no product), and of the
    one enterprise or park a dual-control target's panel reads."""
    fixed = {
        ident if scope == "park" else REG.enterprises[ident].park
        for scope, ident in FIXED_SCOPE.findall(query)
    }
    return fixed | {
        REG.park_of_product(p) for ids in PRODUCTS_IN_QUERY.findall(query) for p in ids.split("|")
    }


def _influx_targets(board: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for panel in board["panels"]:
        for t in panel.get("targets", []):
            if t["datasource"]["type"] == "influxdb":
                yield panel, t


def _titles(board: dict[str, Any]) -> set[str]:
    return {p["title"] for p in board["panels"]}


# ------------------------------------------------------------------ from the registry


def test_the_enclave_park_has_no_emission_panels_and_new_materials_none_either():
    assert {"so2", "nox", "particulate"} <= metered("petrochem")
    for park in ("coop-enclave", "new-materials"):
        assert not metered(park) & set(POLLUTANTS), f"the example registry changed: {park}"
    for park in REG.park_ids:
        board = scoping.park_dashboard_for(REG, park)
        titles = " | ".join(_titles(board))
        kpis = {k for _, t in _influx_targets(board) for k in KPI_IN_QUERY.findall(t["query"])}
        for pollutant, title in (("so2", "SO2"), ("nox", "NOx"), ("particulate", "Particulate")):
            has = pollutant in metered(park)
            assert (f"{title} hourly mean" in titles) is has, (park, pollutant)
            assert (f"{pollutant}_exceed_h" in kpis) is has, (park, pollutant)
        assert ("Emissions against limits" in titles) is bool(metered(park) & set(POLLUTANTS))


def test_a_load_curve_only_where_the_park_meters_active_power():
    # The enclave park meters active power (textile-a-power), so it keeps its load curve.
    for park in REG.park_ids:
        titles = " | ".join(_titles(scoping.park_dashboard_for(REG, park)))
        assert ("Load curve" in titles) is ("active_power" in metered(park)), park


@pytest.mark.parametrize("park", REG.park_ids)
def test_a_park_dashboard_has_a_target_exactly_where_the_park_meters_what_it_reads(park):
    board = scoping.park_dashboard_for(REG, park)
    shown = {(p["title"], t["query"]) for p, t in _influx_targets(board)}
    have = metered(park)
    for title, query in shown:
        wants = needs(query)
        assert not wants or wants & have, f"{park}: {title} reads {sorted(wants)}, not metered"
        # a product target reads the park's own products only
        assert parks_of_products(query) <= {park}, f"{park}: {title} reads another park's"
    # ... and leaves out nothing the park can fill: the zone folder's free board has it all
    # (and every park's products: those of another park are not this park's to show)
    for p, t in _influx_targets(BOARDS[dashboards.PARK_UID]):
        wants = needs(t["query"])
        if (not wants or wants & have) and parks_of_products(t["query"]) <= {park}:
            assert (p["title"], t["query"]) in shown, f"{park}: {p['title']} is missing"


def test_the_zone_boards_show_what_the_parks_meter_together():
    together = set().union(*(metered(p) for p in REG.park_ids))
    for uid in (dashboards.ZONE_UID, dashboards.PARK_UID, dashboards.OPS_UID):
        for panel, t in _influx_targets(BOARDS[uid]):
            wants = needs(t["query"])
            assert not wants or wants & together, (uid, panel["title"])
    free = BOARDS[dashboards.PARK_UID]
    assert {f"{t} hourly mean" for t in ("SO2", "NOx", "Particulate")} <= {
        p["title"].split(" (")[0] for p in free["panels"]
    }


# ------------------------------------------------------------------------- on data


@dataclass(frozen=True)
class Demo:
    db: str
    from_ms: int
    to_ms: int


@pytest.fixture(scope="module")
def demo(influxd: Influxd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One simulated day of the example zone, run by the real demo into a fresh database."""
    db = f"dashboards_{uuid.uuid4().hex[:8]}"
    out = tmp_path_factory.mktemp("dashboards-demo")
    influxd.start()
    influxd.create_database(db)
    result = subprocess.run(
        [sys.executable, "-m", "smartpark", "demo", "--start", DEMO_START, "--days", "1",
         "--speed", "40000", "--store", influxd.store_url(db), "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    yield Demo(db, run["start_ms"], run["end_ms"])
    if influxd.running:
        influxd.drop_database(db)


def _values(influxd: Influxd, db: str, influxql: str) -> list[Any]:
    body = influxd.query_raw(influxql, db)
    return [
        v
        for r in body["results"]
        for s in r.get("series", [])
        for row in s["values"]
        for v in row[1:]
        if v is not None
    ]


def _variables(
    influxd: Influxd, demo: Demo, board: dict[str, Any], period: str
) -> dict[str, Variable]:
    """The board's variables as it opens: constants and "All" (each query variable's options
    as influxd lists them, in order, so ``enterprise`` follows ``park``), ``period`` set."""
    out: dict[str, Variable] = {}
    for v in board["templating"]["list"]:
        if v["type"] == "constant":
            out[v["name"]] = Variable(v["query"])
        elif v["type"] == "custom":
            out[v["name"]] = Variable(period if v["name"] == "period" else v["current"]["value"])
        else:
            query = interpolate(
                v["query"],
                from_ms=demo.from_ms,
                to_ms=demo.to_ms,
                interval_ms=60_000,
                variables=out,
            )
            options = [str(x) for x in _values(influxd, demo.db, query)]
            assert options, f"{board['uid']}: variable {v['name']} lists nothing:\n{query}"
            out[v["name"]] = Variable("$__all", regex=True, all_values=options)
    return out


@pytest.fixture(scope="module")
def variables(influxd: Influxd, demo: Demo) -> dict[tuple[str, str], dict[str, Variable]]:
    """(board uid, KPI period) → the board's variables, queried once."""
    return {
        (uid, period): _variables(influxd, demo, board, period)
        for uid, board in BOARDS.items()
        for period in PERIODS
    }


def _graded_without_output(query: str) -> bool:
    """Whether ``query`` reads only the graded value of products whose output is entered
    from a monthly sheet: the demo's one day has no output of theirs to grade by (a
    month row would be partial, and is not written), so it has no such value."""
    ids = [p for found in PRODUCTS_IN_QUERY.findall(query) for p in found.split("|")]
    return (
        bool(ids)
        and KPI_IN_QUERY.findall(query) == ["benchmark_value"]
        and all(REG.products[p].output_meter is None for p in ids)
    )


def _target_months(query: str) -> bool:
    """Whether ``query`` reads a dual-control target's months (its energy against its
    plan): the demo's day has no closed month and writes no plan (``smartpark targets
    --write``)."""
    kpis = KPI_IN_QUERY.findall(query)
    return kpis in (["energy_target_tce"], ["energy_plan_tce"]) and "'month'" in query


def _left_out(query: str) -> bool:
    return _graded_without_output(query) or _target_months(query)


TARGETS = [
    (uid, panel["title"], t["refId"])
    for uid, board in BOARDS.items()
    for panel, t in _influx_targets(board)
    if not _left_out(t["query"])
]


def test_every_dashboard_the_registry_gives_is_checked():
    assert len(BOARDS) == 3 + len(REG.parks)
    assert {uid for uid, _, _ in TARGETS} == set(BOARDS)
    # only the entered-output product's graded value is left out: its limit line is run
    left_out = [
        (uid, p["title"])
        for uid, board in BOARDS.items()
        for p, t in _influx_targets(board)
        if _graded_without_output(t["query"])
    ]
    assert all("graded value against the limit" in title for _, title in left_out)
    assert {(uid, title) for uid, title, _ in TARGETS} >= set(left_out)
    # and the targets' months: every such panel is left out whole
    months = {
        (uid, p["title"])
        for uid, b in BOARDS.items()
        for p, t in _influx_targets(b)
        if _target_months(t["query"])
    }
    assert all("against the plan" in title for _, title in months)
    assert not months & {(uid, title) for uid, title, _ in TARGETS}


@pytest.mark.servers
@pytest.mark.parametrize(("uid", "title", "ref_id"), TARGETS, ids=[":".join(t) for t in TARGETS])
def test_every_target_returns_data_on_the_demo(influxd, demo, variables, uid, title, ref_id):
    board = BOARDS[uid]
    [(panel, target)] = [
        (p, t) for p, t in _influx_targets(board) if p["title"] == title and t["refId"] == ref_id
    ]
    interval = calculate_interval_ms(demo.from_ms, demo.to_ms, min_interval=panel.get("interval"))
    for period in PERIODS if "$period" in target["query"] else PERIODS[:1]:
        rendered = interpolate(
            target["query"],
            from_ms=demo.from_ms,
            to_ms=demo.to_ms,
            interval_ms=interval,
            variables=variables[uid, period],
        )
        assert "$" not in rendered.replace("$/", "/"), rendered
        assert _values(influxd, demo.db, rendered), (
            f"{board['title']} / {title} ({ref_id}, period {period}) has no data on the "
            f"demo:\n{rendered}"
        )
