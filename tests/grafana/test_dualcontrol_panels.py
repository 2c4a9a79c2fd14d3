"""Dual-control panels: per energy budget, this year's cumulative actual
``energy_target_tce`` against the cumulative plan line, only where the zone names a
targets file, on the zone overview (zone, region and park targets) and the park
dashboards (the park's and its enterprises').

The zone is the dual-control test zone with a second park (tests/serve/targets_app.py);
on data, its 2026 readings go to a real influxd through smartpark's InfluxDB store, the
month KPI rows are written by the KPI job and the plan rows by the real ``smartpark
targets --write``, and the panels' queries run as Grafana sends them.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from smartpark.analytics.dualcontrol.planrows import PLAN_KPI
from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.periods import local_midnight_ms
from smartpark.core import registry
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.grafana import dashboards, scoping
from smartpark.grafana.dualcontrol import ROW
from smartpark.grafana.interpolate import interpolate
from smartpark.store.open import open_store
from smartpark.testing.servers import Influxd
from tests.analytics.dualcontrol.zone import REGISTRY, TZ, energy, write_readings
from tests.serve.targets_app import E1_TCE, P1_TCE, SECOND_PARK, TARGETS, Z1_TCE

TITLE = "energy this year against the plan"


def _zone(folder: Path, targets: str | None = TARGETS, named: bool = True) -> Registry:
    text = REGISTRY + SECOND_PARK
    if not named:
        text = text.replace('dual_control = "targets.toml"\n', "")
    (folder / "registry.toml").write_text(text, encoding="utf-8")
    if targets is not None:
        (folder / "targets.toml").write_text(targets, encoding="utf-8")
    return registry.load(folder / "registry.toml")


def _budget_panels(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``scope id`` -> its panel."""
    return {
        p["title"].split(":")[0]: p
        for p in board["panels"]
        if p["type"] == "timeseries" and TITLE in p["title"]
    }


def test_the_zone_overview_and_each_park_have_their_energy_budgets(tmp_path: Path) -> None:
    reg = _zone(tmp_path)
    zone = dashboards.zone_overview(reg)
    assert ROW in [p["title"] for p in zone["panels"]]
    assert set(_budget_panels(zone)) == {"zone z1", "park p1"}  # p2 has a CO2 budget only
    assert set(_budget_panels(scoping.park_dashboard_for(reg, "p1"))) == {
        "park p1",
        "enterprise e1",
    }
    assert _budget_panels(scoping.park_dashboard_for(reg, "p2")) == {}
    free = dashboards.park_dashboard(reg)  # the zone folder's: every park to choose from
    assert set(_budget_panels(free)) == {"park p1", "enterprise e1"}


def test_no_targets_file_no_panels(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for reg in (_zone(tmp_path / "a", named=False), _zone(tmp_path / "b", targets=None)):
        for board in dashboards.all_dashboards(reg).values():
            assert _budget_panels(board) == {}
            assert ROW not in [p["title"] for p in board["panels"]]
            assert PLAN_KPI not in str(board)


def test_a_panel_draws_the_actual_and_the_dashed_plan_over_this_year(tmp_path: Path) -> None:
    panel = _budget_panels(dashboards.zone_overview(_zone(tmp_path)))["park p1"]
    assert panel["title"] == f"park p1: {TITLE} (tce, 2026 budget {P1_TCE:g})"
    assert panel["timeFrom"] == "now/y"
    actual, plan = panel["targets"]
    assert (actual["alias"], plan["alias"]) == ("actual", "plan")
    assert "\"kpi\" = 'energy_target_tce'" in actual["query"]
    assert f"\"kpi\" = '{PLAN_KPI}'" in plan["query"]
    for t in (actual, plan):
        assert 'cumulative_sum("value")' in t["query"]
        assert "\"scope\" = 'park' AND \"id\" = 'p1' AND \"period\" = 'month'" in t["query"]
    (line,) = panel["fieldConfig"]["overrides"]
    assert line["matcher"]["options"] == "plan"
    assert {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}} in line["properties"]
    assert panel["fieldConfig"]["defaults"]["unit"] == "none"
    assert "smartpark targets --write" in panel["description"]


def _values(influxd: Influxd, db: str, query: str) -> list[tuple[int, float]]:
    body = influxd.query_raw(query, db)
    return [
        (int(row[0]), float(row[1]))
        for r in body["results"]
        for s in r.get("series", [])
        for row in s["values"]
    ]


@pytest.mark.servers
@pytest.mark.parametrize("browser", [TZ, "UTC"])
def test_on_influxd_the_lines_add_up_the_months_by_hand(
    influxd: Influxd, influx_db: str, tmp_path: Path, browser: str
) -> None:
    reg = _zone(tmp_path)
    url = influxd.store_url(influx_db)
    store = open_store(parse_store_url(url), reg)
    try:
        write_readings(store, reg, 2026)
        start = local_midnight_ms(dt.date(2026, 1, 1), TZ)
        kpi_job(
            store, reg, start, local_midnight_ms(dt.date(2026, 7, 1), TZ), ["month"], write=True
        )
    finally:
        store.close()
    done = subprocess.run(
        [sys.executable, "-m", "smartpark", "targets", "--registry",
         str(tmp_path / "registry.toml"), "--store", url, "--as-of", "2026-07-01", "--write",
         "--format", "json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"wrote 36 {PLAN_KPI} row(s)" in done.stderr  # e1, p1, z1: 12 months each
    # Grafana's "this year so far" in the browser's time zone, on June 30 at noon
    year_start = local_midnight_ms(dt.date(2026, 1, 1), browser)
    now = local_midnight_ms(dt.date(2026, 6, 30), TZ) + 12 * 3_600_000
    boards = [dashboards.zone_overview(reg), scoping.park_dashboard_for(reg, "p1")]
    budgets = {"park p1": P1_TCE, "zone z1": Z1_TCE, "enterprise e1": E1_TCE}
    months = [energy(2026, m) for m in range(1, 7)]
    days = [31, 28, 31, 30, 31, 30]
    for board in boards:
        for key, panel in _budget_panels(board).items():
            actual, plan = (
                _values(
                    influxd,
                    influx_db,
                    interpolate(t["query"], from_ms=year_start, to_ms=now, interval_ms=86_400_000,
                                variables={}),
                )
                for t in panel["targets"]
            )  # fmt: skip
            assert [v for _, v in actual] == pytest.approx(
                [sum(months[: k + 1]) for k in range(6)], rel=1e-9
            ), key
            flat = [budgets[key] * sum(days[: k + 1]) / 365 for k in range(6)]
            assert [v for _, v in plan] == pytest.approx(flat, rel=1e-9), key
            assert actual[0][0] == local_midnight_ms(dt.date(2026, 1, 1), TZ)
