"""Range reads for the KPI engine: the range itself plus each meter's edge readings.

A counter's consumption in the first minutes of a range lies between its last reading
before the range and its first inside it; likewise at the end. Whether those edge
readings are kept (an isolated spike is dropped), and whether the first delta is a
reset, depends on their own neighbours. :func:`read_range` therefore fetches, for every
meter, its last ``CONTEXT`` readings before ``start_ms`` and its first ``CONTEXT`` at or
after ``end_ms``, looking in growing windows bounded by ``max_edge_ms`` (a meter silent
for longer has no edge). The engine then cleans and apportions the edges exactly as it
would inside a longer range: a day computed alone equals the same day inside a month,
and a 15-minute rollup built from one day equals the same window built from a year
(only a run of three or more consecutive dropped readings at an edge could differ).
Works on any :class:`~smartpark.store.Store`.
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
CONTEXT: Final = 3  # readings read on each side of a range, per meter
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


def edge_readings(
    store: Store,
    registry: Registry,
    at_ms: int,
    side: Literal["before", "after"],
    *,
    max_edge_ms: int = MAX_EDGE_MS,
    meters: npt.NDArray[np.int32] | None = None,
) -> ReadingColumns:
    """Each meter's ``CONTEXT`` readings nearest ``at_ms`` on ``side``, sorted by (meter, ts)."""
    interval_ms = registry.meter_interval_s * 1000
    cols = _edge(store, interval_ms, at_ms, side, max_edge_ms, meters)
    return cols.take(np.lexsort((cols.ts, cols.meter)))


def _edge(
    store: Store,
    interval_ms: npt.NDArray[np.int64],
    at_ms: int,
    side: Literal["before", "after"],
    max_ms: int,
    meters: npt.NDArray[np.int32] | None = None,
) -> ReadingColumns:
    """Each meter's ``CONTEXT`` readings nearest ``at_ms`` on ``side`` (fewer if it has none).

    Each meter is looked for within ``CONTEXT + 1`` of its intervals first, then in
    windows four times wider, up to ``max_ms``: one store read per distinct window per
    round, so a one-minute meter costs a few readings, not a day-long meter's days.
    """
    span = np.maximum((CONTEXT + 1) * interval_ms, _MIN_WINDOW_MS)
    missing: npt.NDArray[np.int32] = (
        np.arange(interval_ms.size, dtype=np.int32)
        if meters is None
        else np.unique(meters).astype(np.int32)
    )
    found: list[ReadingColumns] = []
    for _ in range(_MAX_ROUNDS):
        if missing.size == 0:
            break
        widths = np.minimum(span[missing], max_ms)
        done: list[npt.NDArray[np.int32]] = []
        for width in np.unique(widths).tolist():
            group = missing[widths == width]
            if side == "before":
                cols = store.read(at_ms - width, at_ms, group)
            else:
                cols = store.read(at_ms, at_ms + width, group)
            picked, complete = _nearest(cols, side)
            # A meter is done when it has its context or its window can grow no more.
            final = np.zeros(interval_ms.size, np.bool_)
            final[complete] = True
            if width >= max_ms:
                final[group] = True
            found.append(picked.take(final[picked.meter]))
            done.append(group[final[group]])
        missing = np.setdiff1d(missing, np.concatenate(done)).astype(np.int32)
        span = span * _GROWTH
    if not found:
        return ReadingColumns.empty()
    return ReadingColumns(
        np.concatenate([f.meter for f in found]),
        np.concatenate([f.ts for f in found]),
        np.concatenate([f.value for f in found]),
    )


def _nearest(
    cols: ReadingColumns, side: Literal["before", "after"]
) -> tuple[ReadingColumns, npt.NDArray[np.int32]]:
    """Per meter of ``cols`` (sorted by (meter, ts)) its last (before) or first (after)
    ``CONTEXT`` readings, and the meters that have that many."""
    n = len(cols)
    if n == 0:
        return cols, np.zeros(0, np.int32)
    starts = np.flatnonzero(np.r_[True, cols.meter[1:] != cols.meter[:-1]])
    ends = np.append(starts[1:], n)
    run = np.repeat(np.arange(starts.size), ends - starts)
    pos = np.arange(n) - starts[run]
    keep = pos >= (ends - starts)[run] - CONTEXT if side == "before" else pos < CONTEXT
    complete = cols.meter[starts[(ends - starts) >= CONTEXT]]
    return cols.take(keep), complete.astype(np.int32)
