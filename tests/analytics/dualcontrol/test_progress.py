"""Plan against actual by hand: one enterprise, last year and this year, through SQLite
and a real influxd. The year to date at 2026-07-15 is January to June 2026 (181 days)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from smartpark.analytics.dualcontrol.progress import Progress, Row, run
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.open import open_store
from smartpark.testing.servers import Influxd

from .zone import AS_OF, VALUE_ADDED_2026, co2, energy, write_readings, write_zone

BUDGET_TCE = 3_000.0
BUDGET_CO2 = 12_000.0
INTENSITY = 0.05  # tce per 10k CNY
CO2_INTENSITY = 0.2
PLAN = (300.0, 280.0, 260.0, 240.0, 220.0, 200.0, 200.0, 220.0, 240.0, 260.0, 280.0, 300.0)
TARGETS = f"""
[[target]]
scope = "enterprise"
id = "e1"
year = 2026
energy_tce = {BUDGET_TCE}
co2_t = {BUDGET_CO2}
energy_intensity = {INTENSITY}
co2_intensity = {CO2_INTENSITY}

[[target]]
scope = "park"
id = "p1"
year = 2026
energy_tce = {sum(PLAN)}
plan = {list(PLAN)}
"""
YTD_DAYS = 31 + 28 + 31 + 30 + 31 + 30


@pytest.fixture(params=["sqlite", "influxdb"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'park.db'}"
    influxd: Influxd = request.getfixturevalue("influxd")
    return influxd.store_url(request.getfixturevalue("influx_db"))


def progress(url: str, folder: Path, first_year: int, facts: str | None) -> Progress:
    reg: Registry = write_zone(folder, TARGETS, facts)
    store = open_store(parse_store_url(url), reg)
    try:
        write_readings(store, reg, first_year)
        return run(store, reg, year=2026, as_of=AS_OF)
    finally:
        store.close()


@pytest.fixture
def with_last_year(store_url: str, tmp_path: Path) -> Progress:
    return progress(store_url, tmp_path / "zone", 2025, f"2026,e1,,,{VALUE_ADDED_2026:g},,,,\n")


def row(done: Progress, scope: str, measure: str) -> Row:
    (found,) = [r for r in done.rows if r.scope == scope and r.measure == measure]
    return found


def test_plan_actual_and_last_years_shape_by_hand(with_last_year: Progress) -> None:
    done = with_last_year
    assert (done.closed, str(done.ytd_end)) == (6, "2026-07-01")
    ytd = sum(energy(2026, m) for m in range(1, 7))
    last = [energy(2025, m) for m in range(1, 13)]
    projected = ytd * (1 + sum(last[6:]) / sum(last[:6]))
    e = row(done, "enterprise", "energy_tce")
    assert e.actual_ytd == pytest.approx(ytd, rel=1e-9)
    assert e.plan_ytd == pytest.approx(BUDGET_TCE * sum(last[:6]) / sum(last), rel=1e-9)
    assert e.used_pct == pytest.approx(100 * ytd / BUDGET_TCE, rel=1e-9)
    assert e.projection_method == "last_year_shape"
    assert e.projection == pytest.approx(projected, rel=1e-9)
    assert e.gap == pytest.approx(projected - BUDGET_TCE, rel=1e-9)
    assert e.gap_pct == pytest.approx(100 * (projected - BUDGET_TCE) / BUDGET_TCE, rel=1e-9)
    assert not e.incomplete

    co2_ytd = sum(co2(2026, m) for m in range(1, 7))
    co2_last = [co2(2025, m) for m in range(1, 13)]
    co2_projected = co2_ytd * (1 + sum(co2_last[6:]) / sum(co2_last[:6]))
    c = row(done, "enterprise", "co2_t")
    assert (c.actual_ytd, c.projection) == pytest.approx((co2_ytd, co2_projected), rel=1e-9)
    assert c.gap == pytest.approx(co2_projected - BUDGET_CO2, rel=1e-9)

    va_ytd = VALUE_ADDED_2026 * YTD_DAYS / 365
    i = row(done, "enterprise", "energy_intensity")
    assert i.actual_ytd == pytest.approx(ytd / va_ytd, rel=1e-9)
    assert i.projection == pytest.approx(projected / VALUE_ADDED_2026, rel=1e-9)
    assert i.gap == pytest.approx(projected / VALUE_ADDED_2026 - INTENSITY, rel=1e-9)
    ci = row(done, "enterprise", "co2_intensity")
    assert ci.projection == pytest.approx(co2_projected / VALUE_ADDED_2026, rel=1e-9)

    months = [m for m in done.months if m.scope == "enterprise"]
    assert [m.plan_tce for m in months] == pytest.approx(
        [BUDGET_TCE * v / sum(last) for v in last], rel=1e-9
    )
    assert [m.energy_tce for m in months[:6]] == pytest.approx(
        [energy(2026, m) for m in range(1, 7)], rel=1e-9
    )
    assert all(m.energy_tce is None for m in months[6:])
    assert months[0].value_added == pytest.approx(VALUE_ADDED_2026 * 31 / 365)

    p = row(done, "park", "energy_tce")  # the park is its one enterprise; a given plan
    assert p.plan_ytd == pytest.approx(sum(PLAN[:6]))
    assert p.actual_ytd == pytest.approx(ytd, rel=1e-9)
    assert [m.plan_tce for m in done.months if m.scope == "park"] == list(PLAN)


def test_run_rate_and_flat_plan_without_last_year(store_url: str, tmp_path: Path) -> None:
    done = progress(store_url, tmp_path / "zone", 2026, f"2026,e1,,,{VALUE_ADDED_2026:g},,,,\n")
    ytd = sum(energy(2026, m) for m in range(1, 7))
    e = row(done, "enterprise", "energy_tce")
    assert e.projection_method == "run_rate"
    assert e.projection == pytest.approx(ytd / YTD_DAYS * 365, rel=1e-9)
    assert e.gap == pytest.approx(ytd / YTD_DAYS * 365 - BUDGET_TCE, rel=1e-9)
    assert e.plan_ytd == pytest.approx(BUDGET_TCE * YTD_DAYS / 365, rel=1e-9)
    assert "flat" in e.note
    c = row(done, "enterprise", "co2_t")
    co2_ytd = sum(co2(2026, m) for m in range(1, 7))
    assert c.projection == pytest.approx(co2_ytd / YTD_DAYS * 365, rel=1e-9)
    assert c.projection_method == "run_rate"


def test_missing_value_added_names_the_file_and_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'park.db'}"
    done = progress(url, tmp_path / "zone", 2026, "2025,e1,,,40000,,,,\n")
    i = row(done, "enterprise", "energy_intensity")
    assert (i.actual_ytd, i.projection, i.gap) == (None, None, None)
    assert "value added for 2026 is missing for enterprise(s) e1" in i.note
    assert str(tmp_path / "zone" / "facts.csv") in i.note
    assert "smartpark import facts FILE" in i.note
    assert not math.isnan(row(done, "enterprise", "energy_tce").actual_ytd or math.nan)
