"""Product output entered from statistics (docs/store.md, "Product output").

A product's output for a local day or month (``smartpark import output``): one row per
product and period, the value in the product's unit. A row replaces every stored row of
its product that it overlaps (a corrected sheet replaces its periods; a month replaces
the days inside it and the other way round), so importing a sheet twice leaves the
store as it was. Output metered by a counter is a reading like any other (quantity
``product_output``), not stored here.
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
MEASUREMENT: Final = "product_output"
_MAX_PERIOD_MS: Final = 32 * 86_400_000  # a month and a day of time-zone slack


@dataclass(frozen=True, slots=True)
class OutputRow:
    product: str
    period: OutputPeriod
    start_ms: int  # the local day or month, [start_ms, end_ms)
    end_ms: int
    value: float  # output in the product's unit, > 0

    def overlaps(self, other: OutputRow) -> bool:
        return (
            self.product == other.product
            and self.start_ms < other.end_ms
            and other.start_ms < self.end_ms
        )


def check_output_rows(rows: Sequence[OutputRow]) -> None:
    """``ValueError`` naming the first row a store must refuse: a bad product id or
    period, an empty or overlong span, output not finite and > 0, two rows overlapping."""
    for k, r in enumerate(rows):
        if not is_valid_id(r.product):
            raise ValueError(f"row {k}: product {r.product!r} is not a valid id")
        if r.period not in OUTPUT_PERIODS:
            raise ValueError(f"row {k}: period {r.period!r} not one of day, month")
        if not 0 < r.end_ms - r.start_ms <= _MAX_PERIOD_MS:
            raise ValueError(f"row {k}: [{r.start_ms}, {r.end_ms}) is no day or month")
        if not (math.isfinite(r.value) and r.value > 0):
            raise ValueError(f"row {k}: output must be finite and > 0, got {r.value!r}")
    ordered = sorted(rows, key=lambda r: (r.product, r.start_ms))
    for a, b in pairwise(ordered):
        if a.overlaps(b):
            raise ValueError(f"rows of {a.product} overlap at {b.start_ms}")


def overlapped(stored: Sequence[OutputRow], rows: Sequence[OutputRow]) -> list[OutputRow]:
    """The ``stored`` rows that some row of ``rows`` overlaps (to be replaced)."""
    by_product: dict[str, list[OutputRow]] = {}
    for r in rows:
        by_product.setdefault(r.product, []).append(r)
    return [s for s in stored if any(s.overlaps(r) for r in by_product.get(s.product, ()))]


def search_range(rows: Sequence[OutputRow]) -> tuple[int, int]:
    """A time range holding the start of every stored row that ``rows`` may overlap."""
    return (
        min(r.start_ms for r in rows) - _MAX_PERIOD_MS,
        max(r.end_ms for r in rows),
    )


class OutputStore(Protocol):
    def replace(self, rows: Sequence[OutputRow]) -> int:
        """Store ``rows`` (:func:`check_output_rows` first: nothing is written when a row
        is refused), each replacing the stored rows of its product it overlaps; returns
        how many stored rows were replaced. Durable when it returns."""
        ...

    def read(
        self, start_ms: int, end_ms: int, products: Collection[str] | None = None
    ) -> list[OutputRow]:
        """The rows of ``products`` (None: all) overlapping ``[start_ms, end_ms)``, sorted
        by (product, start)."""
        ...
