"""(Re)build day rows: a range cell by cell, from the 15-minute level.

:func:`build` writes the day rows of every whole cell inside a range, in pieces of
whole cells (a week for a thousand one-minute meters, a month at most): each piece's
15-minute windows are read where they are current in the rollups and evaluated from raw
readings elsewhere (:func:`~analytics.windows.rollups.source.range_windows`), summed
into cells (:func:`~.day_windows.of_windows`) and replace the cells' rows in one store
operation, stamped with the registry's fingerprint (:mod:`.fingerprint`).

:func:`rebuild_touched` keeps them current: the cells that a cycle's re-rolled or newly
rolled windows touch are rebuilt, once they have ended (the day in progress is read
from the 15-minute level until then).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np

from smartpark.analytics.days import rows
from smartpark.analytics.days.cells import Cells
from smartpark.analytics.days.day_windows import of_windows
from smartpark.analytics.days.fingerprint import fingerprint
from smartpark.analytics.layout import Layout
from smartpark.analytics.periods import align
from smartpark.analytics.windows.rollups.source import range_windows
from smartpark.analytics.windows.stacks import finish_ms
from smartpark.core.errors import AnalyticsError
from smartpark.core.logs import get_logger
from smartpark.core.registry import Registry
from smartpark.store.base import Store
from smartpark.store.days import METER_FIELDS, SCOPE_FIELDS

_log = get_logger(__name__)
PIECE_WINDOWS: Final = 1_000_000  # meters x 15-minute windows per piece (memory)
MAX_PIECE_CELLS: Final = 31
_PAD_MS: Final = 2 * 86_400_000


@dataclass(frozen=True)
class DaysBuilt:
    """What a day build did."""

    cells: int  # cells rebuilt
    meter_rows: int  # meter rows with something to say
    scope_rows: int

    def __add__(self, other: DaysBuilt) -> DaysBuilt:
        return DaysBuilt(
            self.cells + other.cells,
            self.meter_rows + other.meter_rows,
            self.scope_rows + other.scope_rows,
        )


def whole_cells(registry: Registry, start_ms: int, end_ms: int) -> Cells:
    """The cells lying wholly inside ``[start_ms, end_ms)`` (none: a single edge)."""
    lo, hi = align(start_ms, end_ms)
    around = Cells.days(registry, lo - _PAD_MS, hi + _PAD_MS).points
    inside = around[(around >= lo) & (around <= hi)]
    return Cells(inside if inside.size else np.zeros(1, np.int64) + lo)


def build_cells(store: Store, registry: Registry, cells: Cells, fp: str) -> DaysBuilt:
    """Rebuild ``cells`` in one piece."""
    mw, _ = range_windows(store, registry, cells.start_ms, cells.end_ms + finish_ms(registry))
    dw = of_windows(registry, mw, cells)
    meters, scopes = rows.to_rows(dw)
    keys = rows.scope_keys(Layout.of(registry))
    store.days.write(cells.points, meters, scopes, keys, fp)
    return DaysBuilt(
        cells.n_cells,
        int(meters.informative(METER_FIELDS).sum()),
        int(scopes.informative(SCOPE_FIELDS).sum()),
    )


def build(
    store: Store,
    registry: Registry,
    start_ms: int,
    end_ms: int,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> DaysBuilt:
    """Rebuild the day rows of the whole cells in ``[start_ms, end_ms)``;
    ``progress(done_ms, total_ms)`` after each piece."""
    if end_ms <= start_ms:
        raise AnalyticsError(f"range: end {end_ms} must be after start {start_ms}")
    cells = whole_cells(registry, start_ms, end_ms)
    fp = fingerprint(registry)
    lay = Layout.of(registry)
    per_cell = max(1, lay.n_meters) * 96
    step = int(min(MAX_PIECE_CELLS, max(1, PIECE_WINDOWS // per_cell)))
    total = DaysBuilt(0, 0, 0)
    for a in range(0, cells.n_cells, step):
        piece = cells.slice(a, min(cells.n_cells, a + step))
        total += build_cells(store, registry, piece, fp)
        if progress is not None:
            progress(piece.end_ms - cells.start_ms, cells.end_ms - cells.start_ms)
    return total


def rebuild_touched(
    store: Store, registry: Registry, ranges: Iterable[tuple[int, int]], closed_ms: int
) -> DaysBuilt:
    """Rebuild every cell that ended by ``closed_ms`` and touches one of ``ranges``."""
    spans = sorted(ranges)
    if not spans:
        return DaysBuilt(0, 0, 0)
    lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
    edges = Cells.days(registry, lo - _PAD_MS, max(hi, lo) + _PAD_MS).points
    touched = np.zeros(edges.size - 1, np.bool_)
    for a, b in spans:
        touched |= (edges[:-1] < b) & (edges[1:] > a)
    touched &= edges[1:] <= closed_ms
    fp = fingerprint(registry)
    total = DaysBuilt(0, 0, 0)
    k = np.flatnonzero(touched)
    for run in np.split(k, np.flatnonzero(np.diff(k) != 1) + 1) if k.size else []:
        total += build_cells(store, registry, Cells(edges[run[0] : run[-1] + 2]), fp)
    if total.cells:
        _log.info("days_rebuilt", cells=total.cells)
    return total


__all__ = ["DaysBuilt", "build", "build_cells", "rebuild_touched", "whole_cells"]
