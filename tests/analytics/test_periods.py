import datetime as dt

import numpy as np
import pytest

from smartpark.analytics import periods
from smartpark.analytics.periods import Grid
from smartpark.core.errors import AnalyticsError

from .parks import DAY_MS, HOUR_MS, day_ms


def test_november_in_shanghai_has_720_hours_30_days_one_month() -> None:
    start, end = day_ms(2026, 11, 1), day_ms(2026, 12, 1)
    assert start == 1_793_462_400_000  # 2026-10-31T16:00Z
    assert periods.boundaries("Asia/Shanghai", "hour", start, end).size == 721
    days = periods.boundaries("Asia/Shanghai", "day", start, end)
    assert days.size == 31
    assert set(np.diff(days).tolist()) == {DAY_MS}
    assert periods.boundaries("Asia/Shanghai", "month", start, end).tolist() == [start, end]


@pytest.mark.parametrize(
    ("year", "month", "days"), [(2027, 2, 28), (2028, 2, 29), (2026, 12, 31), (2026, 4, 30)]
)
def test_month_ends_follow_the_local_calendar(year: int, month: int, days: int) -> None:
    start = day_ms(year, month, 1)
    end = start + 40 * DAY_MS
    months = periods.boundaries("Asia/Shanghai", "month", start, end)
    assert months[0] == start
    assert (months[1] - months[0]) == days * DAY_MS


def test_dst_days_last_23_and_25_hours_in_berlin() -> None:
    tz = "Europe/Berlin"
    spring = periods.boundaries(tz, "day", day_ms(2026, 3, 29, tz), day_ms(2026, 3, 30, tz))
    autumn = periods.boundaries(tz, "day", day_ms(2026, 10, 25, tz), day_ms(2026, 10, 26, tz))
    assert np.diff(spring).tolist() == [23 * HOUR_MS]
    assert np.diff(autumn).tolist() == [25 * HOUR_MS]
    hours = periods.boundaries(tz, "hour", day_ms(2026, 10, 25, tz), day_ms(2026, 10, 26, tz))
    assert hours.size == 26  # 25 hours, the repeated 02:00 included
    assert set(np.diff(hours).tolist()) == {HOUR_MS}


def test_half_hour_zone_hours_start_at_half_past_utc() -> None:
    start = day_ms(2026, 11, 1, "Asia/Kolkata")
    hours = periods.boundaries("Asia/Kolkata", "hour", start, start + DAY_MS)
    assert hours.size == 25
    assert all(h % HOUR_MS == 30 * 60_000 for h in hours.tolist())


def test_only_full_periods_inside_the_range_are_returned() -> None:
    start = day_ms(2026, 11, 1) + 10 * HOUR_MS + 30 * 60_000
    end = day_ms(2026, 11, 1) + 13 * HOUR_MS + 15 * 60_000
    hours = periods.boundaries("Asia/Shanghai", "hour", start, end)
    assert hours.tolist() == [day_ms(2026, 11, 1) + h * HOUR_MS for h in (11, 12, 13)]
    assert periods.boundaries("Asia/Shanghai", "day", start, end).size == 0
    assert periods.boundaries("Asia/Shanghai", "day", end, start).size == 0


def test_grid_rejects_instants_off_the_15_minute_grid() -> None:
    grid = Grid.covering(0, 3 * HOUR_MS)
    assert grid.n_windows == 12
    assert grid.index(np.array([0, HOUR_MS], np.int64)).tolist() == [0, 4]
    with pytest.raises(AnalyticsError, match="15-minute grid"):
        grid.index(np.array([60_000], np.int64))


def test_unknown_period_is_an_error_naming_the_field() -> None:
    with pytest.raises(AnalyticsError, match="period: unknown period 'week'"):
        periods.parse_period("week")


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(AnalyticsError, match="naive"):
        periods.to_ms(dt.datetime(2026, 11, 1))


@pytest.mark.parametrize(
    "tz",
    ["Asia/Shanghai", "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata"],
)
def test_hour_boundaries_equal_a_wall_clock_walk_over_a_year(tz: str) -> None:
    from zoneinfo import ZoneInfo

    start, end = day_ms(2026, 1, 1, tz), day_ms(2027, 1, 1, tz)
    fast = periods.boundaries(tz, "hour", start, end)
    walked: set[int] = set()
    day = dt.date(2026, 1, 1)
    while day < dt.date(2027, 1, 1):
        walked.update(periods._wall_clock_hours(ZoneInfo(tz), day))
        day += dt.timedelta(days=1)
    walked.add(end)
    assert fast.tolist() == sorted(t for t in walked if start <= t <= end)
    assert 8759 <= fast.size - 1 <= 8761
