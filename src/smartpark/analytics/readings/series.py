"""Readings sorted by (meter, ts), with vectorized "last reading at or before t" lookups.

Every per-meter question the engine asks (the counter value at a period boundary, the
gauge integral up to it, the number of samples before it) is a lookup of many
``(meter, instant)`` pairs in one sorted array. Packing ``meter`` and ``ts`` into one
int64 key turns all of them into a single :func:`numpy.searchsorted` call.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt

from smartpark.core.errors import AnalyticsError
from smartpark.store.base import ReadingColumns

_TS_BITS: Final = 42  # 2**42 ms is 139 years of range
_TS_SPAN: Final = 1 << _TS_BITS

_F = TypeVar("_F", np.float64, np.longdouble)
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]


def sort_readings(cols: ReadingColumns) -> ReadingColumns:
    """``cols`` sorted by (meter, ts) (stable); a no-op copy-free check when already sorted."""
    if len(cols) < 2:
        return cols
    m, t = cols.meter, cols.ts
    in_order = (m[1:] > m[:-1]) | ((m[1:] == m[:-1]) & (t[1:] >= t[:-1]))
    if bool(in_order.all()):
        return cols
    return cols.take(np.lexsort((t, m)))


@dataclass(frozen=True)
class SeriesIndex:
    """Readings sorted by (meter, ts) and the per-meter slices ``first[m]:stop[m]``."""

    cols: ReadingColumns
    n_meters: int
    first: IndexArray
    stop: IndexArray

    @classmethod
    def build(cls, cols: ReadingColumns, n_meters: int, presorted: bool = False) -> SeriesIndex:
        if not presorted:
            cols = sort_readings(cols)
        n = len(cols)
        if n == 0:
            empty = np.zeros(n_meters, np.intp)
            return cls(cols, n_meters, empty, empty.copy())
        m = cols.meter
        if int(m[0]) < 0 or int(m[-1]) >= n_meters:
            raise AnalyticsError(f"meter: code out of range [0, {n_meters}) in readings")
        # Sorted: one run per present meter; an absent meter gets an empty slice where it
        # would be.
        starts = np.flatnonzero(m[1:] != m[:-1]) + 1
        starts = np.concatenate([[0], starts]).astype(np.intp)
        ends = np.append(starts[1:], n).astype(np.intp)
        present = m[starts]
        run = np.searchsorted(present, np.arange(n_meters))
        first = np.where(run < starts.size, starts[np.minimum(run, starts.size - 1)], n)
        stop = first.copy()
        stop[present] = ends
        return cls(cols, n_meters, first.astype(np.intp), stop)

    @cached_property
    def origin(self) -> int:
        """Just before the earliest reading: every key's time part is >= 1."""
        if len(self.cols) == 0:
            return 0
        origin = int(self.cols.ts.min()) - 1
        if int(self.cols.ts.max()) - origin >= _TS_SPAN:
            raise AnalyticsError("ts: readings span more than 139 years")
        return origin

    @cached_property
    def keys(self) -> IntArray:
        """``meter << 42 | (ts - origin)``: one sorted int64 key per reading."""
        return (self.cols.meter.astype(np.int64) << _TS_BITS) | (self.cols.ts - self.origin)

    def __len__(self) -> int:
        return len(self.cols)

    def _query(self, meters: npt.ArrayLike, instants: npt.ArrayLike) -> IntArray:
        rel = np.clip(np.asarray(instants, np.int64) - self.origin, 0, _TS_SPAN - 1)
        return (np.asarray(meters, np.int64) << _TS_BITS) | rel

    def last_at_or_before(self, meters: npt.ArrayLike, instants: npt.ArrayLike) -> IndexArray:
        """Index of each meter's last reading with ``ts <= instant`` (``first - 1`` if none).

        ``meters`` and ``instants`` broadcast: ``(M, 1)`` with ``(P,)`` gives an M x P table.
        """
        q = self._query(meters, instants)
        return np.searchsorted(self.keys, q.ravel(), side="right").reshape(q.shape) - 1

    def count_before(self, meters: npt.ArrayLike, instants: npt.ArrayLike) -> IndexArray:
        """Index of each meter's first reading with ``ts >= instant`` (``stop`` if none)."""
        q = self._query(meters, instants)
        return np.searchsorted(self.keys, q.ravel(), side="left").reshape(q.shape)

    @property
    def starts(self) -> IndexArray:
        """Start index of every non-empty series, ascending."""
        return self.first[self.stop > self.first]

    def same_series_as_next(self) -> npt.NDArray[np.bool_]:
        """True where reading ``i + 1`` belongs to the same meter as reading ``i``."""
        m = self.cols.meter
        out = np.zeros(len(m), np.bool_)
        out[:-1] = m[1:] == m[:-1]
        return out


def segmented_cumsum(x: npt.NDArray[_F], starts: IndexArray) -> npt.NDArray[_F]:
    """Inclusive cumulative sum restarting at each series start, up to a per-series constant.

    ``starts`` are the sorted start indices of the non-empty series (``starts[0] == 0``).
    Subtracting the running total at each start before summing keeps the running sum at
    the series' own magnitude, so differences inside a series keep full precision however
    many series precede it. Rounding leaves a tiny constant offset per series: use only
    differences of values of the same series.
    """
    if x.size == 0:
        return x.copy()
    seg = np.add.reduceat(x, starts)
    shifted = x.copy()
    shifted[starts[1:]] -= np.cumsum(seg)[:-1]
    return np.cumsum(shifted)
