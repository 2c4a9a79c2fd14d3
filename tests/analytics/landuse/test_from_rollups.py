"""``smartpark landuse`` on a store of raw counters only: months from the rollups.

Two years of daily counters (each enterprise's main electricity and water meter of the
example zone, scaled from the example's monthly profile) in a real influxd, no
``smartpark kpi --write`` ever run. Without rollups the job says which command to run;
after ``smartpark rollup`` it grades the cohort, with the grades the stored monthly
KPIs (computed from raw readings and written) give.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.landuse.job import Request, run
from smartpark.analytics.periods import local_midnight_ms
from smartpark.cli import app
from smartpark.core import logs, registry
from smartpark.core.errors import AnalyticsError
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store import open_store
from smartpark.store.base import ReadingColumns
from tests.analytics.landuse.example_months import PROFILE
from tests.analytics.landuse.test_example import GRADES
from tests.analytics.landuse.test_job import grades

ROOT = Path(__file__).resolve().parents[3]
DAY_MS = 86_400_000
TZ = "Asia/Shanghai"

pytestmark = pytest.mark.servers


def daily_zone(tmp_path: Path) -> Path:
    """The example zone with only each enterprise's main and water meter, read daily."""
    for name in ("registry.toml", "facts.csv", "tariffs-gansu.toml"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    text = (tmp_path / "registry.toml").read_text(encoding="utf-8")
    sections = re.split(r"(?m)^(?=\[)", text)
    kept = []
    for section in sections:
        header = re.match(r"\[meter\.([\w-]+)\]", section)
        if section.startswith("[product."):
            continue  # products name meters this copy leaves out
        if header is None:
            kept.append(section)
        elif header.group(1).endswith(("-main", "-water")):
            kept.append(re.sub(r"(?m)^interval_s = \d+$", "interval_s = 86400", section))
    (tmp_path / "registry.toml").write_text("".join(kept), encoding="utf-8")
    return tmp_path / "registry.toml"


def readings(reg: Registry, first_day: int, days: int) -> ReadingColumns:
    rng = np.random.default_rng(3)
    meter, ts, value = [], [], []
    for code, mid in enumerate(reg.meter_ids):
        m = reg.meters[mid]
        if m.enterprise not in PROFILE:
            continue  # an enterprise the example months do not run (cement-a)
        kwh, _, water = PROFILE[m.enterprise]
        per_day = (kwh if m.quantity == "electricity_import" else water) / 30.0
        noon = first_day + DAY_MS // 2 + np.arange(days, dtype=np.int64) * DAY_MS
        daily = per_day * rng.uniform(0.9, 1.1, days)
        meter.append(np.full(days, code, np.int32))
        ts.append(noon)
        value.append(1000.0 + np.cumsum(daily))
    return ReadingColumns(np.concatenate(meter), np.concatenate(ts), np.concatenate(value))


def test_landuse_grades_two_years_of_counters_from_rollups(tmp_path, influxd, influx_db):
    path = daily_zone(tmp_path)
    reg = registry.load(path)
    url = influxd.store_url(influx_db)
    first = local_midnight_ms(__import__("datetime").date(2024, 1, 1), TZ)
    days = 732  # 2024-01-01 to 2026-01-02
    store = open_store(parse_store_url(url), reg)
    try:
        store.write(readings(reg, first, days))
    finally:
        store.close()
    request = Request(registry=path, year=2025, store=parse_store_url(url))

    with pytest.raises(AnalyticsError, match="smartpark rollup --from"):
        run(request)

    rolled = CliRunner().invoke(
        app,
        [
            "rollup",
            "--registry",
            str(path),
            "--store",
            url,
            "--from",
            "2023-12-31",
            "--to",
            "2026-01-03",
        ],
    )
    logs.configure()
    assert rolled.exit_code == 0, rolled.output
    assert "rolled up" in rolled.stdout
    from_rollups = run(request)
    got = grades(from_rollups)
    # The cohort the example's monthly file grades is graded: no month missing.
    assert {e for e, g in got.items() if g in "ABCD"} == {
        e for e, g in GRADES.items() if g in "ABCD"
    }, got

    # The same months stored by the raw path (what `kpi --period month --write` stores).
    store = open_store(parse_store_url(url), reg)
    try:
        start = local_midnight_ms(__import__("datetime").date(2024, 1, 1), TZ)
        end = local_midnight_ms(__import__("datetime").date(2026, 1, 1), TZ)
        job = kpi_job(store, reg, start, end, ["month"], write=True, use_rollups=False)
        assert job.written > 0
    finally:
        store.close()
    from_rows = run(request)
    assert grades(from_rows) == got
    ev_a, ev_b = from_rollups.analysis.evaluation, from_rows.analysis.evaluation
    np.testing.assert_allclose(ev_a.score, ev_b.score, rtol=1e-9)
