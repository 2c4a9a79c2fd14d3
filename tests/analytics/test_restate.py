"""``smartpark kpi restate`` through real stores: three months restated after the 2023
national grid factor (0.5306) replaced the 2022 one (0.5366), against a hand computation."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.restate import Change, restate, write_record
from smartpark.cli import app
from smartpark.core import logs
from smartpark.core import registry as registry_mod
from smartpark.core.urls import parse_store_url
from smartpark.store import open_store
from smartpark.store.base import KpiRow

from .parks import columns, day_ms

MIN = 60_000
Q = 15 * MIN
OCT, JAN = day_ms(2025, 10, 1), day_ms(2026, 1, 1)
BASE = """
[zone.z1]
name = "Z1"
[park.p1]
zone = "z1"
name = "P1"
[enterprise.e1]
park = "p1"
name = "E1"
[gateway.g1]
park = "p1"
[meter.imp]
enterprise = "e1"
gateway = "g1"
quantity = "electricity_import"
interval_s = 900
"""
BEFORE = (
    BASE
    + """
[park.p1.factors]
factors_version = "cn-2022-national"
grid_tco2_per_mwh = 0.5366
"""
)
AFTER = (
    BASE
    + """
[[park.p1.factors]]
set = "cn-2023-national"
"""
)
# 1 kWh a minute: October and December 44.64 MWh, November 43.2 MWh.
MWH = {"2025-10": 44.64, "2025-11": 43.2, "2025-12": 44.64}


@pytest.fixture(params=["sqlite", "influxdb"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    request.applymarker(pytest.mark.servers)
    influxd = request.getfixturevalue("influxd")
    return str(influxd.store_url(request.getfixturevalue("influx_db")))


def _registries(tmp_path: Path) -> tuple[Path, Path]:
    before, after = tmp_path / "before.toml", tmp_path / "after.toml"
    before.write_text(BEFORE, encoding="utf-8")
    after.write_text(AFTER, encoding="utf-8")
    return before, after


def _history(url: str, path: Path) -> None:
    """Three months of readings and their KPIs, written with the 2022 factor."""
    reg = registry_mod.load(path)
    ts = np.arange(OCT - Q, JAN + 2 * Q, Q)
    store = open_store(parse_store_url(url), reg)
    try:
        store.write(columns(reg, [("imp", int(t), float(t - OCT) / MIN) for t in ts]))
        assert kpi_job(store, reg, OCT, JAN, ["day", "month"], write=True).written > 0
    finally:
        store.close()


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, ["kpi", "restate", *args])
    logs.configure()
    assert result.exit_code == 0, result.output
    return result.stdout


def test_restating_three_months_equals_the_hand_computation(store_url: str, tmp_path: Path) -> None:
    before, after = _registries(tmp_path)
    _history(store_url, before)
    reg = registry_mod.load(after)
    store = open_store(parse_store_url(store_url), reg)
    try:
        dry = restate(store, reg, OCT, JAN)
        assert dry.written == 0
        months = {(m.scope, m.month): m for m in dry.months}
        assert len(months) == 9  # 3 scopes x 3 months
        for scope in ("enterprise", "park", "zone"):
            for month, mwh in MWH.items():
                m = months[(scope, month)]
                assert (m.old_version, m.new_version) == ("cn-2022-national", "cn-2023-national")
                assert m.old_t == pytest.approx(mwh * 0.5366, rel=1e-9)
                assert m.new_t == pytest.approx(mwh * 0.5306, rel=1e-9)
                assert m.old_per_tce == pytest.approx(0.5366 / 0.1229, rel=1e-9)
                assert m.new_per_tce == pytest.approx(0.5306 / 0.1229, rel=1e-9)
        old = {r.kpi: r for r in store.read_kpis(OCT, JAN, scope="park", period="month")}
        assert old["co2_total_t"].value == pytest.approx(44.64 * 0.5366, rel=1e-9)
        assert old["co2_total_t"].factors_version == "cn-2022-national"  # a dry run
    finally:
        store.close()

    common = ["--from", "2025-10-01", "--to", "2026-01-01", "--registry", str(after)]
    common += ["--store", store_url]
    shown = _cli(*common)
    assert "park" in shown
    assert "2025-11" in shown
    assert f"{43.2 * 0.5366:.4f}" in shown
    assert f"{43.2 * 0.5306:.4f}" in shown
    assert "cn-2022-national -> cn-2023-national" in shown
    assert "dry run:" in shown

    record = tmp_path / "restated.csv"
    written = _cli(*common, "--write", "--record", str(record))
    assert f"old and new points in {record}" in written
    with record.open(encoding="utf-8") as f:
        lines = list(csv.DictReader(f))
    assert len(lines) == dry.stored == len(dry.changes)  # every point names its new set
    nov_park = next(
        r
        for r in lines
        if (r["scope"], r["period"], r["kpi"]) == ("park", "month", "co2_total_t")
        and r["start"].startswith("2025-10-31T16:00")
    )
    assert float(nov_park["old_value"]) == pytest.approx(43.2 * 0.5366, rel=1e-9)
    assert float(nov_park["new_value"]) == pytest.approx(43.2 * 0.5306, rel=1e-9)
    assert nov_park["old_version"] == "cn-2022-national"

    store = open_store(parse_store_url(store_url), reg)
    try:
        now = store.read_kpis(OCT, JAN, scope="zone", period="month")
        assert {r.factors_version for r in now} == {"cn-2023-national"}
        co2 = sorted(r.value for r in now if r.kpi == "co2_total_t")
        assert co2 == pytest.approx(sorted(v * 0.5306 for v in MWH.values()), rel=1e-9)
    finally:
        store.close()
    assert "nothing to restate" in _cli(*common, "--write")


def test_a_restatement_without_stored_points_says_so(tmp_path: Path) -> None:
    _, after = _registries(tmp_path)
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    shown = _cli(
        "--from", "2025-10-01", "--to", "2026-01-01", "--registry", str(after), "--store", url
    )
    assert "nothing to restate: no stored KPI points" in shown


def test_the_record_holds_no_formula_and_exact_numbers(tmp_path: Path) -> None:
    """A factor set named like a formula is text in the record; values, negative ones
    too, are the numbers as ``repr`` writes them (``float`` gives them back exactly)."""
    hostile = ('=HYPERLINK("http://x")', "@SUM(1+1)", "-1+1|cmd", "+cmd", "\tx", "\r=1")
    old_value, new_value = -3.5, -0.1 + -0.2  # -0.30000000000000004
    changes = [
        Change(
            KpiRow("park", "p1", "month", "electricity_kwh", OCT, old_value, version),
            KpiRow("park", "p1", "month", "electricity_kwh", OCT, new_value, "cn-2023-national"),
        )
        for version in hostile
    ]
    record = tmp_path / "restated.csv"
    write_record(record, changes)
    with record.open(encoding="utf-8", newline="") as f:
        lines = list(csv.DictReader(f))
    assert [r["old_version"] for r in lines] == ["'" + v for v in hostile]
    assert {r["new_version"] for r in lines} == {"cn-2023-national"}
    assert {r["old_value"] for r in lines} == {"-3.5"}
    assert {r["new_value"] for r in lines} == {"-0.30000000000000004"}
    assert {float(r["new_value"]) for r in lines} == {new_value}
    assert {r["start"] for r in lines} == {"2025-09-30T16:00:00Z"}
    assert record.read_bytes().count(b"\r\n") == 1 + len(hostile)  # CRLF lines, as before
