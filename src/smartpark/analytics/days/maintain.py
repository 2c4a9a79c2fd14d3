"""Keep both levels current as readings arrive (each ``smartpark kpi --follow`` cycle).

One cycle: re-roll the dirty 15-minute windows (late readings, of any age), roll up
whatever of ``[since, now)`` is not rolled up yet (the windows that arrived since the
last cycle; the current window too, which its next reading will mark dirty again), then
rebuild the day cells those windows touch that have ended (:func:`~.build.rebuild_touched`;
the day in progress is read from the 15-minute level). The cost follows the new data:
an hour of new readings rolls up an hour (and, once after midnight, rebuilds the day
that ended), a reading a year late re-rolls the windows it changes and the day around
them, and neither reads history back: the store lists the dirty windows alone (SQLite
from an index of them, influxd by filtering its marks itself; docs/store.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from smartpark.analytics.days.build import DaysBuilt, rebuild_touched
from smartpark.analytics.periods import WINDOW_MS, align
from smartpark.analytics.windows.rollups.build import Built, build, reroll_dirty
from smartpark.analytics.windows.rollups.source import current_mask, window_runs
from smartpark.core.registry import Registry
from smartpark.store.base import Store


@dataclass(frozen=True)
class Kept:
    rerolled: Built  # late readings' windows
    added: Built  # windows rolled up for the first time (or again after a registry change)
    days: DaysBuilt  # day cells rebuilt (ended cells the windows above touch)


def keep_current(store: Store, registry: Registry, since_ms: int, now_ms: int) -> Kept:
    rerolled = reroll_dirty(store, registry)
    lo, hi = align(since_ms, now_ms)
    covered, _ = current_mask(store, registry, lo, hi)
    added = Built(0, 0, 0)
    missing = lo + WINDOW_MS * (~covered).nonzero()[0]
    for a, b in window_runs(missing.astype("int64")):
        added += build(store, registry, a, b)
    closed = now_ms // WINDOW_MS * WINDOW_MS
    days = rebuild_touched(store, registry, rerolled.ranges + added.ranges, closed)
    return Kept(rerolled, added, days)


__all__ = ["Kept", "keep_current"]
