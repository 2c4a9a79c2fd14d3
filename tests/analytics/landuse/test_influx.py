"""``smartpark landuse`` end to end on a real influxd: monthly KPIs in, park KPIs out.

The job itself on influxd is tested in test_job.py; this shows the command wires it up.
"""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from smartpark.analytics.landuse import render
from smartpark.analytics.landuse.job import Request, run
from smartpark.cli import app
from smartpark.core import logs, registry
from smartpark.core.urls import parse_store_url
from smartpark.store import open_store
from tests.analytics.landuse import example_months

ROOT = Path(__file__).resolve().parents[3]
REGISTRY = ROOT / "examples" / "registry.toml"

pytestmark = pytest.mark.servers


def test_landuse_command_reads_monthly_kpis_from_influxd_and_writes_park_kpis(influxd, influx_db):
    reg = registry.load(REGISTRY)
    url = influxd.store_url(influx_db)
    store = open_store(parse_store_url(url), reg)
    try:
        store.write_kpis(example_months.kpi_rows())
    finally:
        store.close()

    args = ["landuse", "--registry", str(REGISTRY), "--year", "2025", "--store", url]
    result = CliRunner().invoke(app, [*args, "--write", "--format", "json"], env={"COLUMNS": "200"})
    logs.configure()  # the command logged to CliRunner's stderr, closed now
    assert result.exit_code == 0, result.output
    done = run(Request(registry=REGISTRY, year=2025, store=parse_store_url(url)))
    assert result.stdout == render.to_json(render.landuse_payload(render.select(done.analysis)))
    rows = len(done.analysis.kpi_rows())
    assert f"wrote {rows} land-use KPI rows to {url}" in result.stderr

    store = open_store(parse_store_url(url), reg)
    try:
        year = store.read_kpis(0, 2**62, scope="zone", period="year")
    finally:
        store.close()
    assert {r.kpi: r.value for r in year} == pytest.approx(
        {r.kpi: r.value for r in done.analysis.year_rows() if r.scope == "zone"}, rel=1e-12
    )
