"""The period a page shows: a local day, month or year, with its neighbours.

A page takes exactly one of ``day=YYYY-MM-DD``, ``month=YYYY-MM`` or ``year=YYYY``
(none: the month in progress in the scope's time zone). The years are those the
report takes (1900-2199). Each period knows its bounds in a time zone, the finer
period its chart is drawn in (hours of a day, days of a month, months of a year), its
previous and next, and the query that names it in a link.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final, Literal

from smartpark.analytics.periods import PeriodName, from_ms, local_midnight_ms
from smartpark.core.errors import OptionError

Kind = Literal["day", "month", "year"]
KINDS: Final[tuple[Kind, ...]] = ("day", "month", "year")
FINER: Final[dict[Kind, PeriodName]] = {"day": "hour", "month": "day", "year": "month"}
FIRST_YEAR, LAST_YEAR = 1900, 2199
_PATTERNS: Final = {
    "day": re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "year": re.compile(r"^(\d{4})$"),
}


@dataclass(frozen=True, slots=True)
class PagePeriod:
    kind: Kind
    first: dt.date  # the period's first day

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.first.isoformat()
        if self.kind == "month":
            return self.first.strftime("%Y-%m")
        return str(self.first.year)

    @property
    def query(self) -> str:
        """``month=2026-12``: the query parameter that names this period."""
        return f"{self.kind}={self.label}"

    @property
    def finer(self) -> PeriodName:
        return FINER[self.kind]

    @property
    def following_first(self) -> dt.date:
        if self.kind == "day":
            return self.first + dt.timedelta(days=1)
        if self.kind == "month":
            return (self.first + dt.timedelta(days=32)).replace(day=1)
        return self.first.replace(year=self.first.year + 1)

    def bounds(self, timezone: str) -> tuple[int, int]:
        """Epoch ms of the local start of this period and of the next."""
        return (
            local_midnight_ms(self.first, timezone),
            local_midnight_ms(self.following_first, timezone),
        )

    def previous(self) -> PagePeriod | None:
        if self.kind == "day":
            first = self.first - dt.timedelta(days=1)
        elif self.kind == "month":
            first = (self.first - dt.timedelta(days=1)).replace(day=1)
        else:
            first = self.first.replace(year=self.first.year - 1)
        return PagePeriod(self.kind, first) if first.year >= FIRST_YEAR else None

    def next(self) -> PagePeriod | None:
        first = self.following_first
        return PagePeriod(self.kind, first) if first.year <= LAST_YEAR else None

    def as_kind(self, kind: Kind) -> PagePeriod:
        """The ``kind`` period containing this period's first day (the period tabs)."""
        if kind == "day":
            return PagePeriod("day", self.first)
        if kind == "month":
            return PagePeriod("month", self.first.replace(day=1))
        return PagePeriod("year", self.first.replace(month=1, day=1))


def parse(
    day: str | None, month: str | None, year: str | None, timezone: str, now_ms: int
) -> PagePeriod:
    """The period the query names; :class:`OptionError` naming the parameter when it is
    malformed or more than one is given."""
    given = {k: v for k, v in (("day", day), ("month", month), ("year", year)) if v is not None}
    if len(given) > 1:
        raise OptionError(f"give one of day, month or year, not {' and '.join(given)}")
    if not given:
        today = from_ms(now_ms, timezone).date()
        return PagePeriod("month", today.replace(day=1))
    kind: Kind = next(k for k in KINDS if k in given)
    text = given[kind]
    match = _PATTERNS[kind].match(text)
    try:
        if match is None:
            raise ValueError(text)
        y, m, d = ([int(g) for g in match.groups()] + [1, 1])[:3]
        first = dt.date(y, m, d)
    except ValueError:
        raise OptionError(_expected(kind, text)) from None
    if not FIRST_YEAR <= first.year <= LAST_YEAR:
        raise OptionError(_expected(kind, text))
    return PagePeriod(kind, first)


def _expected(kind: str, text: str) -> str:
    shape = {"day": "YYYY-MM-DD", "month": "YYYY-MM", "year": "YYYY"}[kind]
    return f"{kind}: expected {shape} of the years {FIRST_YEAR}-{LAST_YEAR}, got {text!r}"


__all__ = ["FINER", "KINDS", "Kind", "PagePeriod", "parse"]
