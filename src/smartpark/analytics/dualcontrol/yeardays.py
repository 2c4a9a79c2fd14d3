"""Days of months and years: the weights that spread a year over its months."""

from __future__ import annotations

import calendar
import datetime as dt


def month_days(year: int) -> list[int]:
    """The days of each month of ``year``."""
    return [calendar.monthrange(year, m)[1] for m in range(1, 13)]


def year_days(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def days_before(year: int, months: int) -> int:
    """Days of the first ``months`` months of ``year``."""
    return sum(month_days(year)[:months])


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)
