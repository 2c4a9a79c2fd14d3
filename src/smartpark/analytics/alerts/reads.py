"""Range reads shared by the rules of one evaluation run.

Several rules often ask the store for the same range (a completeness rule per meter and
one per enterprise read the same hour of every meter). :class:`SharedReads` wraps a
store for one run: a read that a remembered read covers — same or wider time range, a
superset of the meters — is sliced from it in memory instead of asking the store again.
It remembers the last ``keep`` reads only, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartpark.store.base import KpiRow, Period, ReadingColumns, Scope, Store
from smartpark.store.days import DayStore
from smartpark.store.outputs import OutputStore
from smartpark.store.rollups import RollupStore


@dataclass(frozen=True)
class _Read:
    start_ms: int
    end_ms: int
    member: npt.NDArray[np.bool_]  # by meter code
    cols: ReadingColumns


class SharedReads:
    """A read-only :class:`Store` view remembering its last few range reads."""

    def __init__(self, store: Store, n_meters: int, keep: int = 2) -> None:
        self.store = store
        self.n_meters = n_meters
        self.keep = keep
        self._reads: list[_Read] = []
        self.hits = 0
        self.misses = 0

    @property
    def rollups(self) -> RollupStore:
        return self.store.rollups

    @property
    def days(self) -> DayStore:
        return self.store.days

    @property
    def outputs(self) -> OutputStore:
        return self.store.outputs

    @property
    def value_added(self) -> OutputStore:
        return self.store.value_added

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> ReadingColumns:
        wanted = np.zeros(self.n_meters, np.bool_)
        if meters is None:
            wanted[:] = True
        else:
            wanted[meters] = True
        for r in self._reads:
            if r.start_ms <= start_ms and end_ms <= r.end_ms and not (wanted & ~r.member).any():
                self.hits += 1
                c = r.cols
                # Sorted by (meter, ts) stays sorted under a mask.
                return c.take(wanted[c.meter] & (c.ts >= start_ms) & (c.ts < end_ms))
        self.misses += 1
        cols = self.store.read(start_ms, end_ms, meters)
        self._reads = [_Read(start_ms, end_ms, wanted, cols), *self._reads][: self.keep]
        return cols

    def read_kpis(
        self,
        start_ms: int,
        end_ms: int,
        scope: Scope | None = None,
        period: Period | None = None,
        *,
        ids: Collection[str] | None = None,
        kpis: Collection[str] | None = None,
    ) -> list[KpiRow]:
        return self.store.read_kpis(start_ms, end_ms, scope, period, ids=ids, kpis=kpis)

    def version(self) -> int | None:
        return self.store.version()

    def reading_span(
        self, meters: npt.NDArray[np.int32]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        return self.store.reading_span(meters)

    def write(self, readings: ReadingColumns) -> None:
        raise TypeError("alert evaluation never writes readings")

    def write_kpis(self, rows: list[KpiRow]) -> None:
        raise TypeError("alert evaluation never writes KPIs")

    def close(self) -> None:
        """The wrapped store belongs to the caller."""
