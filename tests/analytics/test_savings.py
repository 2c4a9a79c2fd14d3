"""Measured savings of a project (analytics/savings) through SQLite and a real influxd:
the known 10 % step at go-live, an independent least-squares baseline as the oracle,
and the messages for missing inputs (tests/analytics/savings_case.py)."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smartpark.analytics.savings import render
from smartpark.analytics.savings.savings import Month, Savings, savings
from smartpark.cli import app
from smartpark.core import registry as registry_mod
from smartpark.core.errors import AnalyticsError, OptionError
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import Store
from smartpark.store.open import open_store
from smartpark.testing.servers import Influxd

from . import savings_case as case

TODAY = dt.date(2025, 9, 1)  # pinned: the park's today when --to is not given


def load(tmp_path: Path, temperature: str | None = None) -> Registry:
    path = tmp_path / "registry.toml"
    path.write_text(
        case.registry_text(temperature) if temperature else case.registry_text(), "utf-8"
    )
    return registry_mod.load(path)


@pytest.fixture(params=["sqlite", "influxdb"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'park.db'}"
    influxd: Influxd = request.getfixturevalue("influxd")
    return influxd.store_url(request.getfixturevalue("influx_db"))


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[tuple[Store, Registry]]:
    reg = load(tmp_path)
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 'park.db'}"), reg)
    yield store, reg
    store.close()


def assert_known_answer(result: Savings) -> None:
    known, oracle, actual = case.known_avoided(), case.oracle_avoided(), case.actual()
    assert [m.month for m in result.months] == list(known)
    for m in result.months:
        assert m.days == len([d for d in case.days(case.GO_LIVE) if f"{d:%Y-%m}" == m.month])
        assert m.days_missing == 0
        assert m.actual == pytest.approx(actual[m.month], rel=1e-9)
        # The 10 % step and the independent baseline, each within the stated uncertainty.
        assert abs(m.avoided - known[m.month]) <= m.uncertainty, m
        assert abs(m.avoided - oracle[m.month]) <= m.uncertainty, m
        assert 0 < m.uncertainty < 0.1 * known[m.month]
        assert m.avoided_pct == pytest.approx(10.0, abs=100 * m.uncertainty / m.baseline)
        assert m.avoided_tce == pytest.approx(m.avoided * 0.0001229)
        assert m.avoided_tco2 == pytest.approx(m.avoided * 0.5e-3)
        assert math.isnan(m.avoided_cost_cny)  # no tariff: no cost, never 0
    total = result.total
    assert total.avoided == pytest.approx(sum(known.values()), abs=total.uncertainty)
    assert total.uncertainty == pytest.approx(
        math.sqrt(sum(m.uncertainty**2 for m in result.months))
    )
    assert any("no cost" in n for n in result.notes)


def test_known_step_and_oracle_through_each_store(store_url: str, tmp_path: Path) -> None:
    reg = load(tmp_path)
    store = open_store(parse_store_url(store_url), reg)
    try:
        case.write(store, reg)
        result = savings(store, reg, "chiller", today=TODAY)
    finally:
        store.close()
    assert (result.first, result.end) == (case.GO_LIVE, TODAY)
    assert result.fit.days == 365
    assert result.fit.cvrmse < 0.05
    assert_known_answer(result)


def test_temperature_file_and_the_command(tmp_path: Path) -> None:
    (tmp_path / "temps.csv").write_text(case.temperature_csv(), "utf-8")
    reg = load(tmp_path, 'temperature_file = "temps.csv"')
    url = f"sqlite:///{tmp_path / 'park.db'}"
    store = open_store(parse_store_url(url), reg)
    try:
        case.write(store, reg, temperature_from=case.END)  # no temperature readings at all
        assert_known_answer(savings(store, reg, "chiller", today=TODAY))
    finally:
        store.close()
    args = ["savings", "--registry", str(tmp_path / "registry.toml"), "--store", url]
    run = CliRunner().invoke(
        app, [*args, "--from", "2025-02-01", "--to", "2025-04-01", "--format", "json"]
    )
    assert run.exit_code == 0, run.output
    (body,) = json.loads(run.stdout)["projects"]
    assert body["method"] == "CalTRACK daily (eemeter 4.x)"
    assert body["limits"]
    assert body["confidence"] == 0.9
    assert [m["month"] for m in body["months"]] == ["2025-02", "2025-03"]
    assert body["months"][0]["avoided_cost_cny"] is None
    csv = CliRunner().invoke(app, [*args, "--to", "2025-03-01", "--format", "csv"])
    assert csv.exit_code == 0, csv.output
    assert csv.stdout.splitlines()[0].startswith("project,unit,month,days,")
    assert [line.split(",")[2] for line in csv.stdout.splitlines()[1:]] == [
        "2025-01",
        "2025-02",
        "total",
    ]


def test_no_temperature_for_the_baseline(sqlite: tuple[Store, Registry]) -> None:
    store, reg = sqlite
    case.write(store, reg, temperature_from=dt.date(2024, 6, 1))
    with pytest.raises(AnalyticsError) as err:
        savings(store, reg, "chiller", today=TODAY)
    message = str(err.value)
    assert "no temperature for 152 of the 365 days" in message
    assert "first 2024-01-01" in message
    assert "temperature meter 'e1-temp' has no readings then" in message
    assert "smartpark import readings" in message


def test_too_short_a_baseline(sqlite: tuple[Store, Registry]) -> None:
    store, reg = sqlite
    case.write(store, reg, energy_from=dt.date(2024, 3, 1))
    with pytest.raises(AnalyticsError, match="too short a baseline: 305 of the 365 days") as err:
        savings(store, reg, "chiller", today=TODAY)
    assert "CalTRACK needs 329" in str(err.value)


def test_no_readings_since_go_live(sqlite: tuple[Store, Registry]) -> None:
    store, reg = sqlite
    case.write(store, reg, until=case.GO_LIVE)
    with pytest.raises(AnalyticsError) as err:
        savings(store, reg, "chiller", today=TODAY)
    assert str(err.value).startswith(
        "project chiller: no readings of e1-main from 2025-01-01 to 2025-09-01 (since go-live)"
    )


def test_a_missing_temperature_file_and_bad_options(tmp_path: Path) -> None:
    reg = load(tmp_path, 'temperature_file = "nowhere.csv"')
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 'park.db'}"), reg)
    try:
        with pytest.raises(AnalyticsError, match=r"cannot read its temperature_file .*nowhere"):
            savings(store, reg, "chiller", today=TODAY)
        with pytest.raises(OptionError, match=r"no project 'nope'.*known: chiller"):
            savings(store, reg, "nope", today=TODAY)
        with pytest.raises(OptionError, match="--to: 2024-06-01 leaves no reporting day"):
            savings(store, reg, "chiller", end=dt.date(2024, 6, 1), today=TODAY)
    finally:
        store.close()


def test_a_month_without_counted_days_is_blank_not_zero() -> None:
    month = render.month_record(Month("2025-01", 0, 31, *([math.nan] * 7)))
    assert (month["days"], month["days_missing"]) == (0, 31)
    assert (month["avoided"], month["avoided_pct"]) == (None, None)
