"""Figures entered per id and period from statistics (docs/store.md, "Product output",
"Value added").

Two series share this machinery, each a :class:`Series` naming its table (SQLite) or
measurement (InfluxDB), its id column and what it may hold:

- :data:`PRODUCT_OUTPUT`: a product's output for a local day or month (``smartpark
  import output``), in the product's unit, > 0. Output metered by a counter is a reading
  like any other (quantity ``product_output``), not stored here;
- :data:`VALUE_ADDED`: an enterprise's industrial value added (工业增加值) for a local
  month (``smartpark import value-added``), 10k CNY, any finite value (a loss can make
  it 0 or negative).

One row per id and period. A row replaces every stored row of its id that it overlaps
(a corrected sheet replaces its periods; a month replaces the days inside it and the
other way round), so importing a sheet twice leaves the store as it was.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final, Literal, Protocol

from smartpark.core.ids import is_valid_id

OutputPeriod = Literal["day", "month"]
OUTPUT_PERIODS: Final[tuple[OutputPeriod, ...]] = ("day", "month")
_MAX_PERIOD_MS: Final = 32 * 86_400_000  # a month and a day of time-zone slack


@dataclass(frozen=True, slots=True)
class Series:
    """Where a series is stored and what its rows may hold."""

    name: str  # the SQLite table and the InfluxDB measurement
    key: str  # the id's column (SQLite) and tag (InfluxDB)
    what: str  # the figure, in messages
    periods: tuple[OutputPeriod, ...]
    positive: bool  # values must be > 0; else any finite value


PRODUCT_OUTPUT: Final = Series("product_output", "product", "output", OUTPUT_PERIODS, True)
VALUE_ADDED: Final = Series("value_added", "enterprise", "value added", ("month",), False)


@dataclass(frozen=True, slots=True)
class OutputRow:
    """One figure of a series: its id (a product, an enterprise), period and value."""

    id: str
    period: OutputPeriod
    start_ms: int  # the local day or month, [start_ms, end_ms)
    end_ms: int
    value: float  # in the series' unit (the product's; 10k CNY of value added)

    @property
    def product(self) -> str:
        """The id, as product output names it."""
        return self.id

    def overlaps(self, other: OutputRow) -> bool:
        return self.id == other.id and self.start_ms < other.end_ms and other.start_ms < self.end_ms


def check_rows(series: Series, rows: Sequence[OutputRow]) -> None:
    """``ValueError`` naming the first row a store of ``series`` must refuse: a bad id or
    period, an empty or overlong span, a value not finite (or, where the series wants it,
    not > 0), two rows overlapping."""
    for k, r in enumerate(rows):
        if not is_valid_id(r.id):
            raise ValueError(f"row {k}: {series.key} {r.id!r} is not a valid id")
        if r.period not in series.periods:
            raise ValueError(f"row {k}: period {r.period!r} not one of {', '.join(series.periods)}")
        if not 0 < r.end_ms - r.start_ms <= _MAX_PERIOD_MS:
            raise ValueError(f"row {k}: [{r.start_ms}, {r.end_ms}) is no day or month")
        if not math.isfinite(r.value) or (series.positive and r.value <= 0):
            wanted = "finite and > 0" if series.positive else "finite"
            raise ValueError(f"row {k}: {series.what} must be {wanted}, got {r.value!r}")
    ordered = sorted(rows, key=lambda r: (r.id, r.start_ms))
    for a, b in pairwise(ordered):
        if a.overlaps(b):
            raise ValueError(f"rows of {a.id} overlap at {b.start_ms}")


def overlapped(stored: Sequence[OutputRow], rows: Sequence[OutputRow]) -> list[OutputRow]:
    """The ``stored`` rows that some row of ``rows`` overlaps (to be replaced)."""
    by_id: dict[str, list[OutputRow]] = {}
    for r in rows:
        by_id.setdefault(r.id, []).append(r)
    return [s for s in stored if any(s.overlaps(r) for r in by_id.get(s.id, ()))]


def search_range(rows: Sequence[OutputRow]) -> tuple[int, int]:
    """A time range holding the start of every stored row that ``rows`` may overlap."""
    return (
        min(r.start_ms for r in rows) - _MAX_PERIOD_MS,
        max(r.end_ms for r in rows),
    )


def sort_rows(rows: Collection[OutputRow]) -> list[OutputRow]:
    """``rows`` in the order every read answers: by (id, start)."""
    return sorted(rows, key=lambda r: (r.id, r.start_ms))


class OutputStore(Protocol):
    def replace(self, rows: Sequence[OutputRow]) -> int:
        """Store ``rows`` (:func:`check_rows` first: nothing is written when a row is
        refused), each replacing the stored rows of its id it overlaps; returns how many
        stored rows were replaced. Durable when it returns."""
        ...

    def read(
        self, start_ms: int, end_ms: int, ids: Collection[str] | None = None
    ) -> list[OutputRow]:
        """The rows of ``ids`` (None: all) overlapping ``[start_ms, end_ms)``, sorted by
        (id, start)."""
        ...
