"""When a schedule is due, and for which period: pure functions of a cadence, a time zone
and an instant that the caller gives (never the wall clock).

A monthly schedule sends the *previous* month on day ``day`` of each month at ``at``
local time (the 1st at 09:00: the report of November on 1 December, 09:00); a weekly
one sends the previous ISO week (Monday to Sunday) on ``weekday`` at ``at``. Each
occurrence is one period with its data range ``[start_ms, end_ms)`` (local midnights)
and the instant ``due_ms`` it falls due.

:func:`due_between` lists the occurrences due in ``(after_ms, until_ms]``; a service
that was down over several due times plans only the latest of them (the caller's
choice, see ``analytics.delivery.service``) and :func:`next_due` says when to wake up.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final, Literal
from zoneinfo import ZoneInfo

from smartpark.analytics.periods import from_ms, to_ms

Every = Literal["month", "week"]
WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_DAY: Final = 28  # every month has it
_AT: Final = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_at(text: str) -> dt.time:
    """``"09:00"`` → 09:00; ``ValueError`` for anything but 24-hour ``HH:MM``."""
    match = _AT.match(text)
    if match is None:
        raise ValueError(f"expected a local time HH:MM (24 h), e.g. '09:00', got {text!r}")
    return dt.time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True, slots=True)
class Cadence:
    """Monthly on day ``day`` (1-28), or weekly on ``day`` = weekday (0 Monday … 6 Sunday),
    at local time ``at``."""

    every: Every
    day: int
    at: dt.time

    def __post_init__(self) -> None:
        limit = MAX_DAY if self.every == "month" else 6
        low = 1 if self.every == "month" else 0
        if not low <= self.day <= limit:
            raise ValueError(f"{self.every}ly cadence: day {self.day} not within [{low}, {limit}]")

    def __str__(self) -> str:
        at = self.at.strftime("%H:%M")
        if self.every == "month":
            return f"monthly on day {self.day} at {at}, for the previous month"
        return f"weekly on {WEEKDAYS[self.day].capitalize()} at {at}, for the previous week"


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One period of a schedule: its key, its data range and when it falls due."""

    period: str  # "2026-11" (month) or "2026-W48" (ISO week)
    start_ms: int  # local midnight starting the period
    end_ms: int  # local midnight ending it (exclusive)
    due_ms: int


def occurrence(cadence: Cadence, timezone: str, first_day: dt.date) -> Occurrence:
    """The occurrence of the period starting on ``first_day`` (a 1st, or a Monday)."""
    zone = ZoneInfo(timezone)
    if cadence.every == "month":
        following = _next_month(first_day)
        period = f"{first_day.year:04d}-{first_day.month:02d}"
        due_day = following.replace(day=cadence.day)
    else:
        following = first_day + dt.timedelta(days=7)
        year, week, _ = first_day.isocalendar()
        period = f"{year:04d}-W{week:02d}"
        due_day = following + dt.timedelta(days=cadence.day)
    return Occurrence(
        period,
        _midnight(first_day, zone),
        _midnight(following, zone),
        to_ms(dt.datetime.combine(due_day, cadence.at, tzinfo=zone)),
    )


def due_between(cadence: Cadence, timezone: str, after_ms: int, until_ms: int) -> list[Occurrence]:
    """The occurrences with ``after_ms < due_ms <= until_ms``, oldest first."""
    out: list[Occurrence] = []
    if until_ms <= after_ms:
        return out
    first = _period_start(cadence, from_ms(after_ms, timezone).date())
    # Go back two periods: an occurrence due just after ``after_ms`` belongs to an
    # earlier period than the one ``after_ms`` falls in.
    first = _step(cadence, first, -2)
    while True:
        occ = occurrence(cadence, timezone, first)
        if occ.due_ms > until_ms:
            return out
        if occ.due_ms > after_ms:
            out.append(occ)
        first = _step(cadence, first, 1)


def next_due(cadence: Cadence, timezone: str, after_ms: int) -> Occurrence:
    """The first occurrence due strictly after ``after_ms``."""
    first = _step(cadence, _period_start(cadence, from_ms(after_ms, timezone).date()), -2)
    while True:
        occ = occurrence(cadence, timezone, first)
        if occ.due_ms > after_ms:
            return occ
        first = _step(cadence, first, 1)


def upcoming(cadence: Cadence, timezone: str, after_ms: int, count: int) -> list[Occurrence]:
    """The next ``count`` occurrences due strictly after ``after_ms``."""
    out: list[Occurrence] = []
    at = after_ms
    for _ in range(count):
        occ = next_due(cadence, timezone, at)
        out.append(occ)
        at = occ.due_ms
    return out


def _period_start(cadence: Cadence, day: dt.date) -> dt.date:
    if cadence.every == "month":
        return day.replace(day=1)
    return day - dt.timedelta(days=day.weekday())


def _step(cadence: Cadence, first_day: dt.date, n: int) -> dt.date:
    if cadence.every == "week":
        return first_day + dt.timedelta(days=7 * n)
    index = first_day.year * 12 + first_day.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _next_month(first_day: dt.date) -> dt.date:
    return dt.date(first_day.year + first_day.month // 12, first_day.month % 12 + 1, 1)


def _midnight(day: dt.date, zone: ZoneInfo) -> int:
    return to_ms(dt.datetime(day.year, day.month, day.day, tzinfo=zone))
