"""The columns the KPI engine computes on: 15-minute windows, or cells of local days.

A :class:`Cells` is a run of adjacent columns with edges on the 15-minute grid. Its two
kinds:

* :meth:`Cells.of_grid`: one column per 15-minute window (hours need them);
* :meth:`Cells.days`: one column per *cell*, the stretch between two consecutive local
  midnights of any of the registry's time zones (its parks', zones' and regions'). With
  one time zone a cell is a local day; a second zone whose midnight falls inside a day
  splits it in two. Every day, month and year boundary of every scope is then a cell
  edge, so each of those periods is a whole number of cells, and factor sets, tariff
  versions and enclave agreements (which change at a park's local midnight) are
  constant inside a cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartpark.analytics import periods
from smartpark.analytics.layout import timezones
from smartpark.analytics.periods import WINDOW_MS, Grid, align
from smartpark.analytics.readings.series import IntArray
from smartpark.core.errors import AnalyticsError
from smartpark.core.registry import Registry


@dataclass(frozen=True)
class Cells:
    """Columns ``points[k]`` to ``points[k+1]`` (ascending, on the 15-minute grid)."""

    points: IntArray

    @classmethod
    def of_grid(cls, grid: Grid) -> Cells:
        return cls(grid.points)

    @classmethod
    def days(cls, registry: Registry, start_ms: int, end_ms: int) -> Cells:
        """The cells covering ``[start_ms, end_ms)`` (widened to whole windows); the first
        and last are cut at the range's ends."""
        lo, hi = align(start_ms, end_ms)
        edges = [np.array([lo, hi], np.int64)]
        edges += [periods.boundaries(tz, "day", lo, hi) for tz in timezones(registry)]
        return cls(np.unique(np.concatenate(edges)))

    @property
    def n_cells(self) -> int:
        return int(self.points.size - 1)

    @property
    def start_ms(self) -> int:
        return int(self.points[0])

    @property
    def end_ms(self) -> int:
        return int(self.points[-1])

    @property
    def starts(self) -> IntArray:
        return self.points[:-1]

    @property
    def widths(self) -> IntArray:
        """15-minute windows per cell."""
        return np.diff(self.points) // WINDOW_MS

    @property
    def grid(self) -> Grid:
        """The 15-minute windows the cells cover."""
        return Grid(self.start_ms, (self.end_ms - self.start_ms) // WINDOW_MS)

    def window_index(self) -> npt.NDArray[np.intp]:
        """Each edge's index on :attr:`grid`."""
        return ((self.points - self.start_ms) // WINDOW_MS).astype(np.intp)

    def index(
        self, instants: npt.NDArray[np.int64], what: str = "boundary"
    ) -> npt.NDArray[np.intp]:
        """The edge index of each instant; ``AnalyticsError`` if one is not an edge."""
        k = np.searchsorted(self.points, instants)
        inside = k < self.points.size
        off = ~inside | (self.points[np.minimum(k, self.points.size - 1)] != instants)
        if off.any():
            bad = int(instants[np.argmax(off)])
            raise AnalyticsError(
                f"{what} {bad} is not a cell edge of [{self.start_ms}, {self.end_ms}]; "
                "periods must begin at a local midnight of the registry's time zones"
            )
        return k.astype(np.intp)

    def slice(self, a: int, b: int) -> Cells:
        """The cells between edges ``a`` and ``b`` (edge indices)."""
        return Cells(self.points[a : b + 1])


__all__ = ["Cells"]
