"""(Re)build rollups: a range day by day, and the windows late readings touched.

:func:`build` rolls ``[start, end)`` up in pieces of whole UTC days (memory stays that of
one piece of readings): each piece's readings with their context are evaluated
(:func:`~analytics.windows.meter_windows.of_readings`) and replace the day's rollups in one store
operation, stamped with the registry's fingerprint. A day built alone equals the same
day inside a longer build (the context readings of :mod:`analytics.readings.readers`).

:func:`reroll_dirty` keeps rollups current: every reading write marks its 15-minute
windows dirty (store/rollups.py), and it re-rolls every dirty window, however late its
reading arrived (the store lists them without reading the clean ones). The windows a
new reading changes reach beyond its own: a counter's consumption is apportioned
between the readings around it, and a reading decides whether its neighbours are
spikes. So each run of dirty windows is widened to the context readings around it (per
meter, the readings :func:`~analytics.readings.readers.read_range` brings) and the widened range
is rebuilt; the marks seen are then cleared (a write racing the rebuild leaves its
window dirty). Only windows inside rolled-up spans are re-rolled; marks elsewhere are
just cleared (a later :func:`build` of those reads the readings anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics.layout import Layout
from smartpark.analytics.periods import Grid, align
from smartpark.analytics.readings.readers import read_range
from smartpark.analytics.windows import meter_windows
from smartpark.analytics.windows.rollups.fingerprint import fingerprint
from smartpark.analytics.windows.rollups.rows import to_rows
from smartpark.analytics.windows.rollups.source import widened, window_runs
from smartpark.core.errors import AnalyticsError
from smartpark.core.logs import get_logger
from smartpark.core.registry import Registry
from smartpark.store.base import Store
from smartpark.store.rollups import DAY_MS, RollupSpan

_log = get_logger(__name__)
CHUNK_READINGS: Final = 2_000_000  # readings per build piece (memory: a few hundred MB)
MAX_CHUNK_DAYS: Final = 31


@dataclass(frozen=True)
class Built:
    """What a build or re-roll did."""

    windows: int  # 15-minute windows rebuilt
    rows: int  # rollup rows written (meters x windows with something to say)
    readings: int  # raw readings read, context included
    ranges: tuple[tuple[int, int], ...] = ()  # the ranges rebuilt

    def __add__(self, other: Built) -> Built:
        return Built(
            self.windows + other.windows,
            self.rows + other.rows,
            self.readings + other.readings,
            self.ranges + other.ranges,
        )


def build_range(store: Store, registry: Registry, start_ms: int, end_ms: int, fp: str) -> Built:
    """Rebuild ``[start_ms, end_ms)`` (window-aligned) in one piece."""
    dirty_w, dirty_m = store.rollups.dirty(start_ms, end_ms)
    cols = read_range(store, registry, start_ms, end_ms)
    mw = meter_windows.of_readings(Layout.of(registry), cols, Grid.covering(start_ms, end_ms))
    rows = to_rows(mw)
    store.rollups.write(start_ms, end_ms, rows, fp)
    store.rollups.clear_dirty(dirty_w, dirty_m)
    written = int(rows.informative().sum())
    return Built(mw.n_windows, written, len(cols), ((start_ms, end_ms),))


def build(
    store: Store,
    registry: Registry,
    start_ms: int,
    end_ms: int,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Built:
    """Rebuild the rollups of ``[start_ms, end_ms)`` (widened to whole windows), in
    pieces of whole UTC days holding about ``CHUNK_READINGS`` readings (one day for a
    thousand one-minute meters, a month at most); ``progress(done_ms, total_ms)`` after
    each piece."""
    if end_ms <= start_ms:
        raise AnalyticsError(f"range: end {end_ms} must be after start {start_ms}")
    start_ms, end_ms = align(start_ms, end_ms)
    fp = fingerprint(registry)
    per_day = float((DAY_MS / (registry.meter_interval_s * 1000)).sum())
    days = int(min(MAX_CHUNK_DAYS, max(1, CHUNK_READINGS // max(per_day, 1.0))))
    total = Built(0, 0, 0)
    a = start_ms
    while a < end_ms:
        b = min(end_ms, (a // DAY_MS + days) * DAY_MS)
        done = build_range(store, registry, a, b, fp)
        total += done
        _log.debug("rollup_day_built", start_ms=a, end_ms=b, rows=done.rows, readings=done.readings)
        if progress is not None:
            progress(b - start_ms, end_ms - start_ms)
        a = b
    return total


def reroll_dirty(store: Store, registry: Registry) -> Built:
    """Re-roll the dirty windows (of any age) that lie in rolled-up spans, each run
    widened to the readings around it; clear the marks seen."""
    dirty_w, dirty_m = store.rollups.dirty()
    if dirty_w.size == 0:
        return Built(0, 0, 0)
    fp = fingerprint(registry)
    rolled = in_rolled_spans(store, registry, dirty_w)
    total = Built(0, 0, 0)
    for a, b in window_runs(dirty_w[rolled]):
        lo, hi = widened(store, registry, a, b)
        done = build_range(store, registry, lo, hi, fp)
        total += done
    store.rollups.clear_dirty(dirty_w, dirty_m)
    if total.windows:
        _log.info("rollups_rerolled", ranges=len(total.ranges), windows=total.windows)
    return total


def in_rolled_spans(
    store: Store, registry: Registry, window_ms: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Per window (ascending): inside a complete span rolled up with the current registry."""
    if window_ms.size == 0:
        return np.zeros(0, np.bool_)
    fp = fingerprint(registry)
    spans = _spans_of_days(store, window_ms)
    return np.array(
        [
            (s := spans.get(int(w) // DAY_MS * DAY_MS)) is not None
            and s.complete
            and s.fingerprint == fp
            and s.lo_ms <= w < s.hi_ms
            for w in window_ms.tolist()
        ],
        np.bool_,
    )


def _spans_of_days(store: Store, window_ms: npt.NDArray[np.int64]) -> dict[int, RollupSpan]:
    """The spans of the UTC days holding ``window_ms`` (ascending), read run of days by
    run of days: a reading a year late does not read the spans of the year between."""
    days = np.unique(window_ms // DAY_MS) * DAY_MS
    out: dict[int, RollupSpan] = {}
    for run in np.split(days, np.flatnonzero(np.diff(days) != DAY_MS) + 1):
        out.update(store.rollups.spans(int(run[0]), int(run[-1]) + DAY_MS))
    return out


__all__ = ["Built", "build", "build_range", "in_rolled_spans", "reroll_dirty"]
