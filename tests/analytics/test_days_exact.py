"""KPIs from day cells equal KPIs from 15-minute windows, for every KPI, scope and
day, month and year (docs/kpis.md, "Day level").

The 15-minute engine is the oracle (itself equal to the raw readings evaluated at once,
tests/analytics/test_rollups_exact.py); the day cells are the same windows summed per
cell (:func:`~analytics.days.day_windows.of_windows`), as the day level stores them. The
registry (tests/analytics/days_registry.py) has parks in five time zones (+05:45,
+05:30, DST at -03:30 and in Europe), tariff versions changing mid-month with a holiday,
a factor-set change and an enclave agreement starting mid-month, green certificates.
"""

from __future__ import annotations

import numpy as np
import pytest

from smartpark.analytics.days.cells import Cells
from smartpark.analytics.days.day_windows import DayWindows, of_windows
from smartpark.analytics.kpis.compute import kpis_of_days, kpis_of_windows
from smartpark.analytics.layout import Layout
from smartpark.analytics.periods import Grid
from smartpark.analytics.readings.series import sort_readings
from smartpark.analytics.windows import meter_windows

from .days_registry import days_registry
from .parks import day_ms
from .test_rollups_exact import assert_same, random_readings

DATA_FROM, DATA_TO = day_ms(2026, 11, 28), day_ms(2027, 1, 4)
START, END = day_ms(2026, 11, 30), day_ms(2027, 1, 2)


@pytest.fixture(scope="module")
def windows() -> meter_windows.MeterWindows:
    reg = days_registry()
    readings = sort_readings(random_readings(reg, DATA_FROM, DATA_TO, 11))
    return meter_windows.of_readings(Layout.of(reg), readings, Grid.covering(START, END))


def test_cells_split_days_at_every_time_zone_midnight() -> None:
    reg = days_registry()
    cells = Cells.days(reg, START, END)
    # Six zones' midnights (+08, +05:45, +01, -03:30, +05:30; the zone and a region at
    # +08 and +05:30 add none): five cells a day, edges on the 15-minute grid.
    assert np.all(cells.points % (15 * 60_000) == 0)
    assert cells.n_cells == pytest.approx(5 * (END - START) / 86_400_000, abs=5)
    assert int(cells.widths.sum()) == (END - START) // (15 * 60_000)
    for tz in ("Asia/Shanghai", "Asia/Kathmandu", "America/St_Johns", "Asia/Kolkata"):
        cells.index(np.array([day_ms(2026, 12, 1, tz), day_ms(2027, 1, 1, tz)], np.int64))


def test_day_and_month_kpis_from_day_cells_equal_those_from_windows(
    windows: meter_windows.MeterWindows,
) -> None:
    reg = days_registry()
    want = kpis_of_windows(reg, windows, START, END, ["day", "month"])
    dw = of_windows(reg, windows, Cells.days(reg, START, END))
    got = kpis_of_days(reg, dw, START, END, ["day", "month"])
    assert any(b.period == "month" and b.scope == "region" for b in want.blocks)
    assert assert_same(got, want) > 10_000
    # The factor set and the tariff versions do change inside the month.
    versions = {v for b in got.blocks if b.period == "month" for v in b.factors_versions}
    assert any(">" in v for v in versions)


def test_day_cells_joined_from_parts_equal_one_piece(windows: meter_windows.MeterWindows) -> None:
    reg = days_registry()
    cells = Cells.days(reg, START, END)
    cut = cells.n_cells // 3
    parts = [
        of_windows(reg, windows, cells.slice(0, cut)),
        of_windows(reg, windows, cells.slice(cut, cells.n_cells)),
    ]
    whole = of_windows(reg, windows, cells)
    joined = DayWindows.join(parts)
    assert_same(
        kpis_of_days(reg, joined, START, END, ["day", "month"]),
        kpis_of_days(reg, whole, START, END, ["day", "month"]),
        rtol=0.0,
    )


def test_hours_are_refused_on_day_cells(windows: meter_windows.MeterWindows) -> None:
    reg = days_registry()
    dw = of_windows(reg, windows, Cells.days(reg, START, END))
    with pytest.raises(Exception, match="cell edge"):
        kpis_of_days(reg, dw, START, END, ["hour"])


@pytest.mark.parametrize(
    ("first", "last"),
    [
        # Both spring-forward days (23 hours): St John's on 8 March, Berlin on 29 March.
        ((2026, 3, 5), (2026, 4, 2)),
        # Both fall-back days (25 hours): Berlin on 25 October, St John's on 1 November.
        ((2026, 10, 23), (2026, 11, 4)),
    ],
)
def test_days_across_clock_changes_from_day_cells_equal_those_from_windows(
    first: tuple[int, int, int], last: tuple[int, int, int]
) -> None:
    reg = days_registry()
    start, end = day_ms(*first), day_ms(*last)
    readings = sort_readings(random_readings(reg, start - 2 * 86_400_000, end + 86_400_000, 5))
    mw = meter_windows.of_readings(Layout.of(reg), readings, Grid.covering(start, end))
    cells = Cells.days(reg, start, end)
    want = kpis_of_windows(reg, mw, start, end, ["day"])
    got = kpis_of_days(reg, of_windows(reg, mw, cells), start, end, ["day"])
    berlin = next(b for b in got.blocks if b.timezone == "Europe/Berlin" and b.scope == "park")
    hours = {round(float(h)) for h in (berlin.ends - berlin.starts) / 3_600_000}
    assert hours & {23, 25}
    assert assert_same(got, want) > 1_000
