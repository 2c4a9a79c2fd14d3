"""Due times and periods, known answers with pinned instants (never the wall clock)."""

from __future__ import annotations

import datetime as dt

import pytest

from smartpark.analytics.delivery.due import (
    Cadence,
    due_between,
    next_due,
    occurrence,
    parse_at,
    upcoming,
)
from tests.analytics.delivery.conftest import shanghai_ms

SH = "Asia/Shanghai"
MONTHLY = Cadence("month", 1, dt.time(9, 0))
WEEKLY_MONDAY = Cadence("week", 0, dt.time(9, 0))
MIN = 60_000


def test_the_monthly_report_falls_due_on_the_1st_at_0900_shanghai_for_the_previous_month():
    due = shanghai_ms(2026, 12, 1, 9, 0)
    assert due_between(MONTHLY, SH, due - 1, due) == [occurrence(MONTHLY, SH, dt.date(2026, 11, 1))]
    [occ] = due_between(MONTHLY, SH, due - 1, due)
    assert occ.period == "2026-11"
    assert occ.due_ms == due == 1_796_086_800_000  # 2026-12-01T01:00:00Z
    assert occ.start_ms == shanghai_ms(2026, 11, 1)
    assert occ.end_ms == shanghai_ms(2026, 12, 1)
    # a minute before it is nothing, at the minute it is due
    assert due_between(MONTHLY, SH, due - 2 * MIN, due - MIN) == []
    assert next_due(MONTHLY, SH, due - MIN) == occ
    assert next_due(MONTHLY, SH, due).period == "2026-12"
    assert next_due(MONTHLY, SH, due).due_ms == shanghai_ms(2027, 1, 1, 9, 0)


def test_january_is_due_in_february_and_december_in_the_next_year():
    jan = next_due(MONTHLY, SH, shanghai_ms(2027, 1, 15))
    assert (jan.period, jan.due_ms) == ("2027-01", shanghai_ms(2027, 2, 1, 9, 0))
    dec = next_due(MONTHLY, SH, shanghai_ms(2026, 12, 20))
    assert (dec.period, dec.due_ms) == ("2026-12", shanghai_ms(2027, 1, 1, 9, 0))
    assert dec.end_ms == shanghai_ms(2027, 1, 1)
    on_the_5th = Cadence("month", 5, dt.time(18, 30))
    feb = next_due(on_the_5th, SH, shanghai_ms(2027, 3, 1))
    assert (feb.period, feb.due_ms) == ("2027-02", shanghai_ms(2027, 3, 5, 18, 30))
    assert feb.end_ms - feb.start_ms == 28 * 86_400_000


def test_weekly_on_monday_sends_the_previous_iso_week():
    monday = shanghai_ms(2026, 11, 30, 9, 0)  # Monday
    occ = next_due(WEEKLY_MONDAY, SH, monday - 1)
    assert occ.period == "2026-W48"
    assert occ.start_ms == shanghai_ms(2026, 11, 23)  # Monday of the week before
    assert occ.end_ms == shanghai_ms(2026, 11, 30)
    assert occ.due_ms == monday
    later = upcoming(WEEKLY_MONDAY, SH, monday, 2)
    assert [o.period for o in later] == ["2026-W49", "2026-W50"]
    assert [o.due_ms for o in later] == [shanghai_ms(2026, 12, 7, 9), shanghai_ms(2026, 12, 14, 9)]


def test_weekly_on_wednesday_still_sends_the_last_full_week():
    wednesday = Cadence("week", 2, dt.time(7, 15))
    occ = next_due(wednesday, SH, shanghai_ms(2026, 12, 1))  # a Tuesday
    assert occ.period == "2026-W48"
    assert occ.due_ms == shanghai_ms(2026, 12, 2, 7, 15)
    assert (occ.start_ms, occ.end_ms) == (shanghai_ms(2026, 11, 23), shanghai_ms(2026, 11, 30))


def test_iso_weeks_across_the_year_end():
    occ = next_due(WEEKLY_MONDAY, SH, shanghai_ms(2026, 12, 30))
    assert occ.period == "2026-W53"  # 2026 has 53 ISO weeks: Dec 28 - Jan 3
    assert occ.due_ms == shanghai_ms(2027, 1, 4, 9)
    assert next_due(WEEKLY_MONDAY, SH, occ.due_ms).period == "2027-W01"


def test_a_service_down_over_three_due_times_sees_all_three_in_order():
    # the caller plans the latest only (service.py); due_between lists them all
    down = shanghai_ms(2026, 11, 29, 12)
    back = shanghai_ms(2026, 12, 16, 12)
    due = due_between(WEEKLY_MONDAY, SH, down, back)
    assert [o.period for o in due] == ["2026-W48", "2026-W49", "2026-W50"]
    assert due_between(WEEKLY_MONDAY, SH, back, back) == []
    assert due_between(MONTHLY, SH, shanghai_ms(2026, 9, 15), shanghai_ms(2026, 12, 1, 9)) == [
        next_due(MONTHLY, SH, shanghai_ms(2026, 9, 15)),
        next_due(MONTHLY, SH, shanghai_ms(2026, 10, 15)),
        next_due(MONTHLY, SH, shanghai_ms(2026, 11, 15)),
    ]


def test_local_time_follows_the_zone_dst_included():
    berlin = "Europe/Berlin"
    # 2026-03-29 is the spring-forward Sunday: March has 743 hours in Berlin
    occ = next_due(MONTHLY, berlin, to_utc(2026, 3, 10))
    assert occ.period == "2026-03"
    assert occ.end_ms - occ.start_ms == (31 * 24 - 1) * 3_600_000
    assert occ.due_ms == to_utc(2026, 4, 1, 7)  # 09:00 CEST = 07:00 UTC
    nov = next_due(MONTHLY, berlin, to_utc(2026, 11, 10))
    assert nov.due_ms == to_utc(2026, 12, 1, 8)  # 09:00 CET = 08:00 UTC


def to_utc(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp() * 1000)  # type: ignore[misc]


@pytest.mark.parametrize("text", ["9:00", "24:00", "09:60", "0900", "09:00:00", ""])
def test_at_is_a_24_hour_hh_mm(text):
    with pytest.raises(ValueError, match="HH:MM"):
        parse_at(text)
    assert parse_at("23:59") == dt.time(23, 59)


def test_a_cadence_refuses_a_day_some_months_lack():
    with pytest.raises(ValueError, match="not within"):
        Cadence("month", 29, dt.time(9))
    with pytest.raises(ValueError, match="not within"):
        Cadence("week", 7, dt.time(9))
