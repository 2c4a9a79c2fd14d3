"""The day windows of a range: from day rows where they are current, else from the
15-minute level.

A cell is read from the store's day rows when its span is complete, carries the
registry's current day fingerprint (:mod:`.fingerprint`) and none of its 15-minute
windows was written since (no dirty window within reach of it, as the rollups count
reach: :func:`~analytics.windows.rollups.source.current_mask`). Every other run of cells
(the edges of a range that cut a cell, the day in progress, cells not built yet) is
read from the 15-minute level (:func:`~analytics.windows.rollups.source.range_windows`:
rollups where current, raw readings elsewhere) and summed into its cells. All give the
same numbers (tests/analytics/test_days_exact.py); the :class:`Source` says which
level each part came from (``smartpark kpi --format json`` prints it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics.days import rows
from smartpark.analytics.days.build import whole_cells
from smartpark.analytics.days.cells import Cells
from smartpark.analytics.days.day_windows import DayWindows, of_windows
from smartpark.analytics.days.fingerprint import fingerprint
from smartpark.analytics.layout import Layout
from smartpark.analytics.windows.rollups.build import in_rolled_spans
from smartpark.analytics.windows.rollups.source import (
    Kind,
    Source,
    last_before,
    range_windows,
    widened,
    window_runs,
)
from smartpark.analytics.windows.stacks import finish_ms
from smartpark.core.errors import AnalyticsError
from smartpark.core.logs import get_logger
from smartpark.core.registry import Registry
from smartpark.store.base import Store
from smartpark.store.rollups import NO_TS

_log = get_logger(__name__)
CHUNK_WINDOWS: Final = 2_000_000  # meters x 15-minute windows read at a time (memory)


def range_days(
    store: Store,
    registry: Registry,
    start_ms: int,
    end_ms: int,
    *,
    meters: npt.NDArray[np.int32] | None = None,
) -> tuple[DayWindows, Source]:
    """Day windows of the cells covering ``[start_ms, end_ms)`` and where they came from.

    ``meters``: only those meters' rows are read, as for ``range_windows``.
    """
    if end_ms <= start_ms:
        raise AnalyticsError(f"range: end {end_ms} must be after start {start_ms}")
    lay = Layout.of(registry)
    cells = Cells.days(registry, start_ms, end_ms)
    current, outdated = current_cells(store, registry, cells)
    parts: list[DayWindows] = []
    kinds: list[tuple[int, int, Kind]] = []
    stale: list[int] = []
    for a, b, stored in _runs(current):
        piece = cells.slice(a, b)
        if stored:
            keys = rows.scope_keys(lay)
            before = (
                last_before(store, registry, piece.start_ms, meters)
                if not parts
                else np.full(lay.n_meters, NO_TS, np.int64)
            )
            parts.append(
                rows.to_day_windows(
                    lay,
                    piece,
                    store.days.read(piece.start_ms, piece.end_ms, meters),
                    store.days.read_scopes(piece.start_ms, piece.end_ms, keys),
                    before,
                )
            )
            kinds.append((piece.start_ms, piece.end_ms, "days"))
        else:
            for chunk in _chunks(piece, lay.n_meters):
                mw, sub = range_windows(
                    store,
                    registry,
                    chunk.start_ms,
                    chunk.end_ms + finish_ms(registry),
                    meters=meters,
                )
                parts.append(of_windows(registry, mw, chunk))
                kinds.extend(
                    (lo, min(hi, chunk.end_ms), kind)
                    for lo, hi, kind in sub.parts
                    if lo < chunk.end_ms
                )
                stale.extend(sub.outdated_days)
    source = Source(tuple(kinds), tuple(stale), tuple(outdated))
    if outdated:
        _log.warning(
            "days_outdated",
            cells=len(outdated),
            reason="day rows built under another registry (meters, time zones, limits, "
            "tariff schedules or membership changed); read from the 15-minute level",
            fix=source.rebuild_hint(),
        )
    return DayWindows.join(parts), source


def current_cells(
    store: Store, registry: Registry, cells: Cells
) -> tuple[npt.NDArray[np.bool_], list[int]]:
    """Per cell: its day rows are complete, current and untouched since; and the cells
    built under another registry (their start ms)."""
    current = np.zeros(cells.n_cells, np.bool_)
    built_ms = np.zeros(cells.n_cells, np.int64)
    outdated: list[int] = []
    fp = fingerprint(registry)
    index = {int(s): k for k, s in enumerate(cells.starts.tolist())}
    for start, span in store.days.spans(cells.start_ms, cells.end_ms).items():
        k = index.get(start)
        if k is None or not span.complete or span.end_ms != int(cells.points[k + 1]):
            continue
        if span.fingerprint != fp:
            outdated.append(start)
            continue
        current[k] = True
        built_ms[k] = span.built_ms
    # A reading written since a cell was built makes it stale, as far as it reaches: a
    # window the rollups count dirty, or one marked after the cell's build (a mark made
    # before it, outside rolled-up spans, was already read by the build).
    dirty, marked = store.rollups.dirty(cells.start_ms, cells.end_ms)
    rolled = in_rolled_spans(store, registry, dirty)
    for a, b in window_runs(dirty):
        run = (dirty >= a) & (dirty < b)
        wa, wb = widened(store, registry, a, b)
        near = (cells.starts < wb) & (cells.points[1:] > wa)
        late = int(marked[run].max()) > built_ms
        current &= ~(near & (late | bool(rolled[run].any())))
    return current, sorted(outdated)


@dataclass(frozen=True)
class DayCoverage:
    """How much of a range's whole cells has current day rows (``smartpark rollup --check``)."""

    cells: int  # whole cells in the range
    current: int  # built with the current registry, untouched since
    stale: int  # built, but readings were written into them since (rebuilt next cycle)
    outdated: int  # built under another registry
    outdated_cells: tuple[int, ...]

    @property
    def missing(self) -> int:
        return self.cells - self.current - self.stale - self.outdated

    @property
    def rebuild_hint(self) -> str:
        """The command that rebuilds the outdated cells."""
        return Source((), (), self.outdated_cells).rebuild_hint()


def coverage(store: Store, registry: Registry, start_ms: int, end_ms: int) -> DayCoverage:
    cells = whole_cells(registry, start_ms, end_ms)
    current, outdated = current_cells(store, registry, cells)
    built = np.zeros(cells.n_cells, np.bool_)
    fp = fingerprint(registry)
    index = {int(s): k for k, s in enumerate(cells.starts.tolist())}
    for start, span in store.days.spans(cells.start_ms, cells.end_ms).items():
        k = index.get(start)
        if k is not None and span.complete and span.fingerprint == fp:
            built[k] = span.end_ms == int(cells.points[k + 1])
    return DayCoverage(
        cells.n_cells,
        int(current.sum()),
        int((built & ~current).sum()),
        len(outdated),
        tuple(outdated),
    )


def _chunks(cells: Cells, n_meters: int) -> list[Cells]:
    """``cells`` in runs of at most about ``CHUNK_WINDOWS`` meter windows (at least one
    cell each): the 15-minute level of a long range is read a piece at a time."""
    per_cell = cells.widths * max(1, n_meters)
    out: list[Cells] = []
    a = 0
    while a < cells.n_cells:
        total = np.cumsum(per_cell[a:])
        b = a + max(1, int(np.searchsorted(total, CHUNK_WINDOWS, side="right")))
        out.append(cells.slice(a, b))
        a = b
    return out


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int, bool]]:
    """Runs of equal ``mask`` as ``(first cell, end cell, value)``."""
    if mask.size == 0:
        return []
    edges = np.flatnonzero(np.diff(mask.astype(np.int8)) != 0) + 1
    starts = np.r_[0, edges]
    ends = np.r_[edges, mask.size]
    return [
        (int(a), int(b), bool(mask[a])) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    ]


__all__ = ["DayCoverage", "coverage", "current_cells", "range_days"]
