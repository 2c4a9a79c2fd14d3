"""Range reads for the KPI engine: the range itself plus each meter's edge readings.

A counter's consumption in the first minutes of a range lies between its last reading
before the range and its first inside it; likewise at the end. :func:`read_range`
therefore fetches, for every meter, the last reading before ``start_ms`` and the first
at or after ``end_ms`` (looking back/ahead in growing windows, bounded by
``max_edge_ms``), so the engine apportions the edge intervals and a day computed alone
equals the same day inside a month. Works on any :class:`~smartpark.store.Store`.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from analytics.errors import AnalyticsError
from smartpark.logs import get_logger
from smartpark.registry import Registry
from smartpark.store.base import ReadingColumns, Store

MAX_EDGE_MS: Final = 31 * 86_400_000
_GROWTH: Final = 4
_log = get_logger(__name__)


def read_range(
    store: Store,
    registry: Registry,
    start_ms: int,
    end_ms: int,
    *,
    max_edge_ms: int = MAX_EDGE_MS,
) -> ReadingColumns:
    """Readings in ``[start_ms, end_ms)`` plus each meter's edge readings, sorted by (meter, ts)."""
    if end_ms <= start_ms:
        raise AnalyticsError(f"range: end {end_ms} must be after start {start_ms}")
    n_meters = len(registry.meter_ids)
    first_window = max(3_600_000, 2 * int(registry.meter_interval_s.max(initial=60)) * 1000)
    main = store.read(start_ms, end_ms)
    before = _edge(store, n_meters, start_ms, "before", first_window, max_edge_ms)
    after = _edge(store, n_meters, end_ms, "after", first_window, max_edge_ms)
    parts = [before, main, after]
    meter = np.concatenate([p.meter for p in parts])
    # Per meter: edge before < range < edge after, so a stable sort on the meter suffices.
    order = np.argsort(meter, kind="stable")
    out = ReadingColumns(
        meter[order],
        np.concatenate([p.ts for p in parts])[order],
        np.concatenate([p.value for p in parts])[order],
    )
    _log.debug(
        "kpi_range_read",
        start_ms=start_ms,
        end_ms=end_ms,
        readings=len(main),
        edges_before=len(before),
        edges_after=len(after),
    )
    return out


def _edge(
    store: Store,
    n_meters: int,
    at_ms: int,
    side: Literal["before", "after"],
    first_window_ms: int,
    max_ms: int,
) -> ReadingColumns:
    """Each meter's reading nearest ``at_ms`` on ``side``, searched in growing windows."""
    missing: npt.NDArray[np.int32] = np.arange(n_meters, dtype=np.int32)
    found: list[ReadingColumns] = []
    span = first_window_ms
    while missing.size and span <= max_ms * _GROWTH:
        span = min(span, max_ms)
        if side == "before":
            cols = store.read(at_ms - span, at_ms, missing)
        else:
            cols = store.read(at_ms, at_ms + span, missing)
        if len(cols):
            # Sorted by (meter, ts): the last of each run (before) or the first (after).
            change = np.flatnonzero(cols.meter[1:] != cols.meter[:-1])
            pick = np.append(change, len(cols) - 1) if side == "before" else np.r_[0, change + 1]
            edge = cols.take(pick)
            found.append(edge)
            missing = np.setdiff1d(missing, edge.meter).astype(np.int32)
        if span >= max_ms:
            break
        span *= _GROWTH
    if not found:
        return ReadingColumns.empty()
    return ReadingColumns(
        np.concatenate([f.meter for f in found]),
        np.concatenate([f.ts for f in found]),
        np.concatenate([f.value for f in found]),
    )
