"""Grafana's macro and variable interpolation, with known answers."""

from __future__ import annotations

import pytest

from smartpark.grafana.interpolate import (
    Variable,
    calculate_interval_ms,
    format_interval,
    interpolate,
    parse_duration,
    round_interval,
)

HOUR = 3_600_000
DAY = 24 * HOUR


@pytest.mark.parametrize(
    ("raw_ms", "rounded_ms"),
    [
        (5, 1),
        (12, 10),
        (1_400, 1_000),
        (8_000, 10_000),
        (20_000, 20_000),
        (60_480, 60_000),  # 7 days / 10 000 points
        (604_800, 600_000),  # 7 days / 1000 points -> 10m
        (86_400, 60_000),  # 1 day / 1000 points -> 1m
        (2_592_000, 1_800_000),  # 30 days / 1000 -> 43.2 min -> 30m
        (DAY, 12 * HOUR),
        (10 * DAY, 7 * DAY),
        (30 * DAY, 30 * DAY),
        (3 * 365 * DAY, 365 * DAY),
    ],
)
def test_round_interval_table(raw_ms, rounded_ms):
    assert round_interval(raw_ms) == rounded_ms


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (500, "500ms"),
        (10_000, "10s"),
        (60_000, "1m"),
        (600_000, "10m"),
        (HOUR, "1h"),
        (DAY, "1d"),
        (90_000, "90s"),
        (365 * DAY, "1y"),
    ],
)
def test_format_interval(ms, text):
    assert format_interval(ms) == text
    assert parse_duration(text) == ms


def test_interval_for_a_week_is_ten_minutes():
    assert calculate_interval_ms(0, 7 * DAY) == 600_000


def test_interval_never_below_the_minimum():
    assert calculate_interval_ms(0, HOUR) == 10_000  # datasource default 10s
    assert calculate_interval_ms(0, 7 * DAY, min_interval="1h") == HOUR


def test_interval_rejects_empty_range():
    with pytest.raises(ValueError, match="empty time range"):
        calculate_interval_ms(5, 5)


def test_time_filter_and_interval_macros():
    q = 'SELECT mean("value") FROM "energy" WHERE $timeFilter GROUP BY time($__interval)'
    out = interpolate(q, from_ms=1000, to_ms=2000, interval_ms=HOUR, variables={})
    assert out == (
        'SELECT mean("value") FROM "energy" WHERE time >= 1000ms and time <= 2000ms '
        "GROUP BY time(1h)"
    )


def test_multi_value_variable_becomes_a_regex_group():
    park = Variable(["petrochem", "new-materials"], regex=True)
    out = interpolate(
        '"park" =~ /^$park$/', from_ms=0, to_ms=1, interval_ms=1, variables={"park": park}
    )
    assert out == '"park" =~ /^(petrochem|new-materials)$/'


def test_all_expands_to_every_option_and_single_values_are_escaped():
    all_parks = Variable("$__all", regex=True, all_values=["a", "b", "c"])
    one = Variable(["a.b"], regex=True)
    q = "/^${park}$/ [[one]]"
    out = interpolate(
        q, from_ms=0, to_ms=1, interval_ms=1, variables={"park": all_parks, "one": one}
    )
    assert out == r"/^(a|b|c)$/ a\.b"


def test_single_value_variable_is_substituted_as_is():
    out = interpolate(
        "\"period\" = '$period' $unknown",
        from_ms=0,
        to_ms=1,
        interval_ms=1,
        variables={"period": Variable("day")},
    )
    assert out == "\"period\" = 'day' $unknown"


def test_range_bounds_are_epoch_milliseconds():
    q = "time > ${__to}ms - 15m AND time <= $__to AND time >= ${__from}ms"
    out = interpolate(q, from_ms=1000, to_ms=2000, interval_ms=1, variables={})
    assert out == "time > 2000ms - 15m AND time <= 2000 AND time >= 1000ms"
