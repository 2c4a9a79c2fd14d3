"""Range reads for the KPI engine: the range itself plus each meter's edge readings.

A counter's consumption in the first minutes of a range lies between its last reading
before the range and its first inside it; likewise at the end. :func:`read_range`
therefore fetches, for every meter, the last reading before ``start_ms`` and the first
at or after ``end_ms``, looking in growing windows bounded by ``max_edge_ms`` (a meter
silent for longer has no edge). The engine then apportions the edge intervals, and a
day computed alone equals the same day inside a month. Works on any
:class:`~smartpark.store.Store`.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from smartpark.core.errors import AnalyticsError
from smartpark.core.logs import get_logger
from smartpark.core.registry import Registry
from smartpark.store.base import ReadingColumns, Store

MAX_EDGE_MS: Final = 31 * 86_400_000
_MIN_WINDOW_MS: Final = 15 * 60_000
_GROWTH: Final = 4
_MAX_ROUNDS: Final = 12
_log = get_logger(__name__)


def read_range(
    store: Store,
    registry: Registry,
    start_ms: int,
    end_ms: int,
    *,
    max_edge_ms: int = MAX_EDGE_MS,
    meters: npt.NDArray[np.int32] | None = None,
) -> ReadingColumns:
    """Readings in ``[start_ms, end_ms)`` plus each meter's edge readings, sorted by (meter, ts);
    only those of the meter codes ``meters`` when given."""
    if end_ms <= start_ms:
        raise AnalyticsError(f"range: end {end_ms} must be after start {start_ms}")
    interval_ms = registry.meter_interval_s * 1000
    main = store.read(start_ms, end_ms, meters)
    before = _edge(store, interval_ms, start_ms, "before", max_edge_ms, meters)
    after = _edge(store, interval_ms, end_ms, "after", max_edge_ms, meters)
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
    interval_ms: npt.NDArray[np.int64],
    at_ms: int,
    side: Literal["before", "after"],
    max_ms: int,
    meters: npt.NDArray[np.int32] | None = None,
) -> ReadingColumns:
    """Each meter's reading nearest ``at_ms`` on ``side``.

    Each meter is looked for within two of its intervals first, then in windows four
    times wider, up to ``max_ms``: one store read per distinct window per round, so a
    one-minute meter costs two readings, not a day-long meter's two days.
    """
    span = np.maximum(2 * interval_ms, _MIN_WINDOW_MS)
    missing: npt.NDArray[np.int32] = (
        np.arange(interval_ms.size, dtype=np.int32)
        if meters is None
        else np.unique(meters).astype(np.int32)
    )
    found: list[ReadingColumns] = []
    for _ in range(_MAX_ROUNDS):
        if missing.size == 0:
            break
        for width in np.unique(np.minimum(span[missing], max_ms)).tolist():
            group = missing[np.minimum(span[missing], max_ms) == width]
            if side == "before":
                cols = store.read(at_ms - width, at_ms, group)
            else:
                cols = store.read(at_ms, at_ms + width, group)
            if len(cols):
                # Sorted by (meter, ts): the last of each run (before) or the first (after).
                change = np.flatnonzero(cols.meter[1:] != cols.meter[:-1])
                last = np.append(change, len(cols) - 1)
                found.append(cols.take(last if side == "before" else np.r_[0, change + 1]))
        got = np.concatenate([f.meter for f in found]) if found else np.zeros(0, np.int32)
        exhausted = span[missing] >= max_ms
        missing = np.setdiff1d(missing[~exhausted], got).astype(np.int32)
        span = span * _GROWTH
    if not found:
        return ReadingColumns.empty()
    return ReadingColumns(
        np.concatenate([f.meter for f in found]),
        np.concatenate([f.ts for f in found]),
        np.concatenate([f.value for f in found]),
    )
