"""Land-use KPIs through a real influxd: monthly enterprise KPIs in, park KPIs out."""

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smartpark.analytics.landuse import monthly
from smartpark.analytics.landuse.park import start_ms
from smartpark.cli import app
from smartpark.core import logs, registry
from smartpark.core.urls import parse_store_url
from smartpark.store import open_store
from smartpark.store.base import KpiRow
from tests.analytics.landuse import example_months

ROOT = Path(__file__).resolve().parents[3]
REGISTRY = ROOT / "examples" / "registry.toml"

pytestmark = pytest.mark.servers


def test_landuse_reads_monthly_kpis_from_influxd_and_writes_park_kpis(influxd, influx_db):
    reg = registry.load(REGISTRY)
    url = influxd.store_url(influx_db)
    m = example_months.build()
    rows = []
    for i, ident in enumerate(m.enterprises):
        for k in range(m.n_months):
            code = m.first + k
            start = start_ms(code // 12, code % 12 + 1, "Asia/Shanghai")
            if math.isnan(m.values["electricity_kwh"][i, k]):
                continue  # no meter yet
            for q in monthly.QUANTITIES:
                rows.append(
                    KpiRow("enterprise", ident, "month", q, start, float(m.values[q][i, k]))
                )
            rows.append(KpiRow("enterprise", ident, "month", "completeness", start, 100.0))
    store = open_store(parse_store_url(url), reg)
    try:
        store.write_kpis(rows)
    finally:
        store.close()

    args = ["landuse", "--registry", str(REGISTRY), "--year", "2025", "--store", url]
    from_store = CliRunner().invoke(app, [*args, "--write", "--format", "json"])
    from_csv = CliRunner().invoke(
        app, [*args, "--monthly", str(ROOT / "examples" / "monthly-energy.csv"), "--format", "json"]
    )
    logs.configure()  # the command logged to CliRunner's stderr, closed now
    assert from_store.exit_code == 0, from_store.output
    assert from_csv.exit_code == 0, from_csv.output
    via_store, via_csv = json.loads(from_store.stdout), json.loads(from_csv.stdout)
    assert via_store["enterprises"] == via_csv["enterprises"]
    assert via_store["flags"] == via_csv["flags"]

    store = open_store(parse_store_url(url), reg)
    try:
        year = store.read_kpis(0, 2**62, scope="zone", period="year")
        month = store.read_kpis(0, 2**62, scope="park", period="month")
    finally:
        store.close()
    written = {r.kpi: r.value for r in year}
    printed = {k["kpi"]: k["value"] for k in via_store["kpis"] if k["scope"] == "zone"}
    assert written == pytest.approx(printed, rel=1e-12)
    assert written["grade_share_D"] == pytest.approx(100 / 7)
    assert len(month) == 24 * 3 * 6
