"""A page's KPIs: stored rows for a period that ended, computed for one in progress.

On the serve demo's store (one simulated day, DEMO_DAY), with the clock pinned: every
expectation follows from DEMO_DAY, never from today.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator

import pytest

from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.periods import local_midnight_ms
from smartpark.core.registry import load
from smartpark.core.urls import parse_store_url
from smartpark.serve.figures import Figures, Wanted, figures
from smartpark.serve.period import PagePeriod
from smartpark.store.base import Store
from smartpark.store.open import open_store
from tests.serve.conftest import DAY_START_MS, DEMO_DAY, REGISTRY, TIMEZONE, Demo

DAY = dt.date.fromisoformat(DEMO_DAY)
PARK = Wanted("park", "petrochem", (("enterprise", ("chem-a", "chem-b")),), "month", "day")


@pytest.fixture(scope="module")
def store(demo: Demo) -> Iterator[Store]:
    s = open_store(parse_store_url(f"sqlite:///{demo.store}"), load(REGISTRY))
    try:
        yield s
    finally:
        s.close()


def at(day: dt.date, hour: int = 0) -> int:
    return local_midnight_ms(day, TIMEZONE) + hour * 3_600_000


def of(store: Store, wanted: Wanted, period: PagePeriod, now: int) -> Figures:
    reg = load(REGISTRY)
    return figures(store, reg, wanted, period.bounds(TIMEZONE), TIMEZONE, now)


def stored_value(store: Store, scope: str, ident: str, period: str, start: int, kpi: str) -> float:
    rows = store.read_kpis(start, start + 1, scope, period, ids=(ident,), kpis=(kpi,))  # type: ignore[arg-type]
    assert len(rows) == 1
    return rows[0].value


def test_a_day_that_ended_is_read_as_stored(store: Store) -> None:
    wanted = Wanted("park", "petrochem", (("enterprise", ("chem-a",)),), "day", "hour")
    fig = of(store, wanted, PagePeriod("day", DAY), at(DAY + dt.timedelta(days=5)))
    assert (fig.source, fig.partial) == ("stored", False)
    for scope, ident in (("park", "petrochem"), ("enterprise", "chem-a")):
        expected = stored_value(store, scope, ident, "day", DAY_START_MS, "energy_tce")
        assert fig.of(scope, ident, "energy_tce") == expected
    assert len(fig.series_starts) == 24  # its hours
    assert fig.series_starts[0] == DAY_START_MS


def test_the_month_in_progress_is_computed_to_the_last_midnight(store: Store) -> None:
    now = at(DAY + dt.timedelta(days=3), hour=15)
    fig = of(store, PARK, PagePeriod("month", DAY.replace(day=1)), now)
    assert (fig.source, fig.partial) == ("computed", True)
    assert fig.end_ms == at(DAY + dt.timedelta(days=3))
    # the only day with readings is DEMO_DAY: the month so far is that day, exactly
    day_tce = stored_value(store, "park", "petrochem", "day", DAY_START_MS, "energy_tce")
    assert math.isclose(fig.of("park", "petrochem", "energy_tce"), day_tce, rel_tol=1e-9)
    chem_b = stored_value(store, "enterprise", "chem-b", "day", DAY_START_MS, "energy_tce")
    assert math.isclose(fig.of("enterprise", "chem-b", "energy_tce"), chem_b, rel_tol=1e-9)
    # one series value per day so far; the simulated day is the one fully read (the
    # demo's hand-read sheet adds a reading or two on another day)
    assert len(fig.series_starts) == (DAY + dt.timedelta(days=3) - DAY.replace(day=1)).days
    completeness = fig.series["completeness"]
    assert max(completeness) == completeness[fig.series_starts.index(DAY_START_MS)] > 90


def test_the_year_in_progress_includes_the_month_so_far(store: Store) -> None:
    now = at(DAY + dt.timedelta(days=2))
    year = Wanted("park", "petrochem", (), "year", "month")
    fig = of(store, year, PagePeriod("year", DAY.replace(month=1, day=1)), now)
    assert fig.partial
    day_tce = stored_value(store, "park", "petrochem", "day", DAY_START_MS, "energy_tce")
    assert math.isclose(fig.of("park", "petrochem", "energy_tce"), day_tce, rel_tol=1e-9)
    assert at(DAY.replace(day=1)) in fig.series_starts  # this month, partial, in the chart


def test_the_figures_equal_the_kpi_job_on_the_same_range(store: Store) -> None:
    """The oracle: kpi_job over the month so far, read directly."""
    now = at(DAY + dt.timedelta(days=1))
    fig = of(store, PARK, PagePeriod("month", DAY.replace(day=1)), now)
    start = at(DAY.replace(day=1))
    table = kpi_job(store, load(REGISTRY), start, now, ("month",), write=False, open_end=True).table
    for kpi in ("energy_tce", "co2_total_t", "completeness", "electricity_cost_cny"):
        assert fig.of("park", "petrochem", kpi) == table.value(
            "park", "petrochem", "month", start, kpi
        )


def test_a_period_not_begun_has_no_figures(store: Store) -> None:
    fig = of(store, PARK, PagePeriod("month", DAY.replace(day=1)), at(DAY.replace(day=1)))
    assert (fig.source, fig.values, fig.partial) == ("none", {}, True)


def test_a_past_month_without_stored_rows_is_computed_and_reads_nothing(store: Store) -> None:
    before = (DAY.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    fig = of(store, PARK, PagePeriod("month", before), at(DAY + dt.timedelta(days=40)))
    assert (fig.source, fig.partial) == ("computed", False)
    assert fig.of("park", "petrochem", "completeness") == 0
