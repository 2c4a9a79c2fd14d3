"""Calendar periods in a time zone as int64 epoch-ms boundary arrays.

Hours, days, months and years are the park's wall-clock periods (``zoneinfo``): a day in a
zone with daylight saving lasts 23 or 25 hours, a month ends where the local calendar
says. Only *full* periods inside a range are returned, so a value computed for a
period is never a fragment of it (and writing it back never overwrites a whole period
with a part).

All KPI arithmetic runs on a 15-minute grid (the demand window), or on day cells that
are unions of its windows (:mod:`analytics.days.cells`). Every real time zone offset
since 1972 is a multiple of 15 minutes, so every period boundary falls on the grid;
:meth:`Grid.index` refuses one that does not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from smartpark.core.errors import AnalyticsError, ContractError
from smartpark.core.timestamps import parse_rfc3339

PeriodName = Literal["hour", "day", "month", "year"]
PERIODS: Final[tuple[PeriodName, ...]] = get_args(PeriodName)
WINDOW_MS: Final = 15 * 60 * 1000  # the demand window and the grid step
HOUR_MS: Final = 3_600_000

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_ms(moment: dt.datetime) -> int:
    """Epoch ms of an aware datetime."""
    if moment.tzinfo is None:
        raise AnalyticsError(f"naive datetime {moment.isoformat()}: a time zone is required")
    return (moment - _EPOCH) // dt.timedelta(milliseconds=1)


def from_ms(ms: int, timezone: str) -> dt.datetime:
    """The wall-clock datetime of an epoch-ms instant in ``timezone``."""
    return (_EPOCH + dt.timedelta(milliseconds=ms)).astimezone(_zone(timezone))


def local_midnight_ms(day: dt.date, timezone: str) -> int:
    """Epoch ms of the start of ``day`` (local midnight, or the first instant after it)."""
    return to_ms(dt.datetime(day.year, day.month, day.day, tzinfo=_zone(timezone)))


def parse_instant(text: str, timezone: str, option: str) -> int:
    """Epoch ms of a date (local midnight in ``timezone``) or an RFC 3339 time.

    ``ContractError`` with ``field`` = ``option``: reason ``bad_ts`` for a malformed
    RFC 3339 time, ``bad_date`` for text that is neither (its ``detail`` says so).
    """
    if "T" in text.upper():
        return parse_rfc3339(text, option)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ContractError(
            "bad_date", option, f"{text!r} is neither a date (YYYY-MM-DD) nor an RFC 3339 time"
        ) from None
    return local_midnight_ms(day, timezone)


@lru_cache(maxsize=64)
def _zone(timezone: str) -> ZoneInfo:
    return ZoneInfo(timezone)


def boundaries(
    timezone: str, period: PeriodName, start_ms: int, end_ms: int
) -> npt.NDArray[np.int64]:
    """Sorted boundaries of the full ``period``\\ s inside ``[start_ms, end_ms)``.

    ``out[k]`` to ``out[k+1]`` is one period; fewer than two boundaries means no full
    period fits. Every boundary ``b`` satisfies ``start_ms <= b <= end_ms``.
    """
    if period not in PERIODS:
        raise AnalyticsError(f"period: unknown period {period!r} (expected one of {PERIODS})")
    if end_ms <= start_ms:
        return np.zeros(0, np.int64)
    zone = _zone(timezone)
    first = from_ms(start_ms, timezone).date() - dt.timedelta(days=1)
    last = from_ms(end_ms, timezone).date() + dt.timedelta(days=1)
    if period == "hour":
        candidates = _hour_starts(zone, first, last)
    elif period == "day":
        candidates = [
            _start_of(zone, first + dt.timedelta(days=n)) for n in range((last - first).days + 1)
        ]
    elif period == "month":
        candidates = []
        month = dt.date(first.year, first.month, 1)
        while month <= last:
            candidates.append(_start_of(zone, month))
            month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    else:
        candidates = [_start_of(zone, dt.date(y, 1, 1)) for y in range(first.year, last.year + 2)]
    out = np.unique(np.asarray(candidates, dtype=np.int64))
    return out[(out >= start_ms) & (out <= end_ms)]


def kpi_bounds(
    timezone: str, period: PeriodName, start_ms: int, end_ms: int, *, open_end: bool = False
) -> npt.NDArray[np.int64]:
    """:func:`boundaries`, and with ``open_end`` the period in progress at ``end_ms``
    ending there (a KPI table's month so far)."""
    pb = boundaries(timezone, period, start_ms, end_ms)
    if open_end and pb.size and pb[-1] < end_ms:
        pb = np.append(pb, np.int64(end_ms))
    return pb


_SPAN_MS: Final[dict[str, int]] = {
    "hour": 2 * HOUR_MS,
    "day": 2 * 86_400_000,
    "month": 32 * 86_400_000,
    "year": 367 * 86_400_000,
}


def enclosing(timezone: str, period: PeriodName, start_ms: int, end_ms: int) -> tuple[int, int]:
    r"""The first and last boundary of the ``period``\ s that ``[start_ms, end_ms)`` touches."""
    pad = _SPAN_MS[period]
    bounds = boundaries(timezone, period, start_ms - pad, end_ms + pad)
    first = bounds[bounds <= start_ms][-1]
    last = bounds[bounds >= end_ms][0]
    return int(first), int(last)


def _start_of(zone: ZoneInfo, day: dt.date) -> int:
    return to_ms(dt.datetime(day.year, day.month, day.day, tzinfo=zone))


def _hour_starts(zone: ZoneInfo, first: dt.date, last: dt.date) -> list[int]:
    """Instants where a local hour begins, both folds included (DST repeats an hour).

    A day of exactly 24 hours has one offset throughout: its hours are arithmetic. Only
    the days of a clock change walk the wall clock hour by hour.
    """
    out: list[int] = []
    day = first
    start = _start_of(zone, day)
    while day <= last:
        following = day + dt.timedelta(days=1)
        end = _start_of(zone, following)
        if end - start == 24 * HOUR_MS:
            out.extend(range(start, end, HOUR_MS))
        else:
            out.extend(_wall_clock_hours(zone, day))
        day, start = following, end
    return out


def _wall_clock_hours(zone: ZoneInfo, day: dt.date) -> list[int]:
    out: list[int] = []
    for hour in range(24):
        for fold in (0, 1):
            local = dt.datetime(day.year, day.month, day.day, hour, tzinfo=zone, fold=fold)
            # A wall-clock time that does not exist (spring forward) maps to the instant
            # after the gap; it is the same instant as the next hour and dedupes.
            if local.astimezone(dt.UTC).astimezone(zone).minute == 0:
                out.append(to_ms(local))
    return out


def align(start_ms: int, end_ms: int) -> tuple[int, int]:
    """``[start_ms, end_ms)`` widened to whole 15-minute windows."""
    return start_ms // WINDOW_MS * WINDOW_MS, -(-end_ms // WINDOW_MS) * WINDOW_MS


@dataclass(frozen=True, slots=True)
class Grid:
    """The 15-minute windows covering a range: ``points[k]`` to ``points[k+1]``."""

    start_ms: int
    n_windows: int

    @classmethod
    def covering(cls, start_ms: int, end_ms: int) -> Grid:
        first, last = align(start_ms, end_ms)
        return cls(first, max(0, (last - first) // WINDOW_MS))

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.n_windows * WINDOW_MS

    @property
    def points(self) -> npt.NDArray[np.int64]:
        return self.start_ms + WINDOW_MS * np.arange(self.n_windows + 1, dtype=np.int64)

    def index(
        self, instants: npt.NDArray[np.int64], what: str = "boundary"
    ) -> npt.NDArray[np.intp]:
        """Grid point index of each instant; ``AnalyticsError`` if one is off the grid."""
        offset = instants - self.start_ms
        off_grid = (offset % WINDOW_MS != 0) | (offset < 0) | (offset > self.n_windows * WINDOW_MS)
        if off_grid.any():
            bad = int(instants[np.argmax(off_grid)])
            raise AnalyticsError(
                f"{what} {bad} is not on the 15-minute grid of "
                f"[{self.start_ms}, {self.end_ms}]; time zones must have 15-minute offsets"
            )
        return (offset // WINDOW_MS).astype(np.intp)


def parse_period(value: str) -> PeriodName:
    if value not in PERIODS:
        raise AnalyticsError(
            f"period: unknown period {value!r} (expected one of {', '.join(PERIODS)})"
        )
    return value
