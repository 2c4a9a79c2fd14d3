"""The per-meter windows of a range: from rollups where they are current, raw elsewhere.

A window is read from the store's rollups when its UTC day's span is complete, covers
it, carries the registry's current fingerprint, and the window is not dirty (no
reading was written into it since it was rolled up). Every other window is evaluated
from raw readings (:func:`~analytics.readings.readers.read_range`, context included). The two
kinds give the same numbers (tests/analytics/test_rollups_exact.py), so a KPI over a
range that is only partly rolled up is still exact; :class:`Source` says which windows
came from where (``smartpark kpi --format json`` prints it as ``source``), and days
rolled up under another registry are reported with the command that rebuilds them.
:func:`coverage` (``smartpark rollup --check``) also names the dirty windows, which
:data:`REROLL_COMMAND` re-rolls.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from smartpark.analytics.layout import Layout
from smartpark.analytics.periods import WINDOW_MS, Grid, align
from smartpark.analytics.readings.readers import edge_readings, read_range
from smartpark.analytics.windows import meter_windows
from smartpark.analytics.windows.meter_windows import MeterWindows
from smartpark.analytics.windows.rollups.fingerprint import fingerprint
from smartpark.analytics.windows.rollups.rows import to_windows
from smartpark.core.errors import AnalyticsError
from smartpark.core.logs import get_logger
from smartpark.core.registry import Registry
from smartpark.store.base import Store
from smartpark.store.rollups import DAY_MS, NO_TS

_log = get_logger(__name__)
Kind = Literal["days", "rollups", "raw"]


@dataclass(frozen=True)
class Source:
    """Which parts of a range came from day rows (analytics/days), from 15-minute
    rollups and from raw readings."""

    parts: tuple[tuple[int, int, Kind], ...]  # [start, end) ranges in order
    outdated_days: tuple[int, ...] = ()  # UTC days rolled up under another registry
    outdated_cells: tuple[int, ...] = ()  # day cells (start ms) built under another one

    def windows(self, kind: Kind) -> int:
        return sum((b - a) // WINDOW_MS for a, b, k in self.parts if k == kind)

    @property
    def summary(self) -> str:
        """``rollups``, ``raw`` or ``mixed``."""
        kinds = {k for _, _, k in self.parts}
        return kinds.pop() if len(kinds) == 1 else "mixed"

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.summary,
            "levels": sorted({k for _, _, k in self.parts}),
            "day_windows": self.windows("days"),
            "rollup_windows": self.windows("rollups"),
            "raw_windows": self.windows("raw"),
            "parts": [{"from_ms": a, "to_ms": b, "source": k} for a, b, k in self.parts],
            "outdated_days": [_day(d) for d in self.outdated_days],
            "outdated_cells": [_instant(c) for c in self.outdated_cells],
        }

    def rebuild_hint(self) -> str:
        """The command that rebuilds every outdated day and cell (both levels)."""
        starts = [*self.outdated_days, *self.outdated_cells]
        first = min(starts) // DAY_MS * DAY_MS
        last = max(starts) // DAY_MS * DAY_MS + 2 * DAY_MS  # a cell ends within a day
        return rebuild_hint((first, last - DAY_MS))


# What re-rolls dirty windows and rewrites the KPI periods their readings changed: one
# cycle of ``smartpark kpi --follow`` (its default --period, day; a running one does it
# every cycle).
REROLL_COMMAND: Final = "smartpark kpi --follow --cycles 1"


def rebuild_hint(outdated_days: tuple[int, ...]) -> str:
    """The command that rebuilds rollups of ``outdated_days``."""
    first, last = _day(outdated_days[0]), _day(outdated_days[-1] + DAY_MS)
    return f"smartpark rollup --from {first}T00:00:00Z --to {last}T00:00:00Z"


def _day(day_ms: int) -> str:
    return dt.datetime.fromtimestamp(day_ms / 1000, dt.UTC).date().isoformat()


def _instant(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def runs_text(runs: tuple[tuple[int, int], ...], shown: int = 5) -> str:
    """Runs of windows as ``2025-09-02T19:00:00Z to 2025-09-02T19:30:00Z (2 windows)``,
    the first ``shown`` of them and how many more."""
    parts = [
        f"{_instant(a)} to {_instant(b)} ({(b - a) // WINDOW_MS} "
        f"window{'s' if b - a > WINDOW_MS else ''})"
        for a, b in runs[:shown]
    ]
    more = f" and {len(runs) - shown} more runs" if len(runs) > shown else ""
    return "; ".join(parts) + more


def range_windows(
    store: Store,
    registry: Registry,
    start_ms: int,
    end_ms: int,
    *,
    use_rollups: bool = True,
    meters: npt.NDArray[np.int32] | None = None,
) -> tuple[MeterWindows, Source]:
    """Windows covering ``[start_ms, end_ms)`` (whole windows) and where they came from.

    ``meters``: only those meters' readings are read (the rest stay empty), for readers
    that need a few meters (the monthly report's stacks).
    """
    if end_ms <= start_ms:
        raise AnalyticsError(f"range: end {end_ms} must be after start {start_ms}")
    lay = Layout.of(registry)
    lo, hi = align(start_ms, end_ms)
    covered = np.zeros((hi - lo) // WINDOW_MS, np.bool_)
    outdated: list[int] = []
    if use_rollups:
        covered, outdated = current_mask(store, registry, lo, hi)
    parts: list[MeterWindows] = []
    kinds: list[tuple[int, int, Kind]] = []
    for a, b, is_rolled in _runs(covered, lo):
        if is_rolled:
            rows = store.rollups.read(a, b, meters)
            # Staleness needs each meter's last reading before the range; a raw part
            # knows it from its context readings, a first rolled-up part asks for it.
            before = (
                last_before(store, registry, a, meters)
                if not parts
                else np.full(lay.n_meters, NO_TS, np.int64)
            )
            parts.append(to_windows(rows, lay.n_meters, Grid.covering(a, b), before))
            kinds.append((a, b, "rollups"))
        else:
            cols = read_range(store, registry, a, b, meters=meters)
            parts.append(meter_windows.of_readings(lay, cols, Grid.covering(a, b)))
            kinds.append((a, b, "raw"))
    source = Source(tuple(kinds), tuple(outdated))
    if outdated:
        _log.warning(
            "rollups_outdated",
            days=len(outdated),
            reason="rolled up under another registry (meters, multipliers, intervals or "
            "stacks changed); read from raw readings instead",
            fix=source.rebuild_hint(),
        )
    _log.debug(
        "kpi_sources",
        kind=source.summary,
        rollup_windows=source.windows("rollups"),
        raw_windows=source.windows("raw"),
        parts=len(kinds),
    )
    return MeterWindows.join(parts), source


def current_mask(
    store: Store, registry: Registry, lo: int, hi: int
) -> tuple[npt.NDArray[np.bool_], list[int]]:
    """Per window of ``[lo, hi)`` (window-aligned): rolled up, current and not touched by
    a later write; and the UTC days rolled up under another registry."""
    covered = np.zeros((hi - lo) // WINDOW_MS, np.bool_)
    outdated: list[int] = []
    fp = fingerprint(registry)
    for day, span in sorted(store.rollups.spans(lo, hi).items()):
        if not span.complete:
            continue
        if span.fingerprint != fp:
            outdated.append(day)
            continue
        a, b = max(span.lo_ms, lo), min(span.hi_ms, hi)
        if b > a:
            covered[(a - lo) // WINDOW_MS : (b - lo) // WINDOW_MS] = True
    # A late reading changes its own window and those up to the readings around it.
    dirty, _ = store.rollups.dirty(lo, hi)
    for a, b in window_runs(dirty[covered[(dirty - lo) // WINDOW_MS]]):
        wa, wb = widened(store, registry, a, b)
        covered[max(0, (wa - lo) // WINDOW_MS) : max(0, (wb - lo) // WINDOW_MS)] = False
    return covered, outdated


def window_runs(window_ms: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """Contiguous runs of 15-minute windows (start ms, ascending) as ``[start, end)``."""
    if window_ms.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(window_ms) != WINDOW_MS) + 1
    starts = np.r_[window_ms[:1], window_ms[breaks]]
    ends = np.r_[window_ms[breaks - 1], window_ms[-1:]] + WINDOW_MS
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def widened(store: Store, registry: Registry, a: int, b: int) -> tuple[int, int]:
    """``[a, b)`` widened to whole windows reaching the context readings (those
    :func:`~analytics.readings.readers.read_range` brings) of the meters that reported in it:
    the windows a reading written into ``[a, b)`` can change."""
    cols = read_range(store, registry, a, b)
    inside = (cols.ts >= a) & (cols.ts < b)
    reported = np.zeros(len(registry.meter_ids), np.bool_)
    reported[cols.meter[inside]] = True
    near = cols.take(reported[cols.meter])
    if len(near) == 0:
        return a, b
    return align(min(a, int(near.ts.min())), max(b, int(near.ts.max()) + 1))


def last_before(
    store: Store, registry: Registry, at_ms: int, meters: npt.NDArray[np.int32] | None
) -> npt.NDArray[np.int64]:
    """Each meter's last usable reading before ``at_ms`` (its context readings, cleaned)."""
    lay = Layout.of(registry)
    cols = edge_readings(store, registry, at_ms, "before", meters=meters)
    return meter_windows.of_readings(lay, cols, Grid(at_ms, 0)).last_ts_before


def _runs(covered: npt.NDArray[np.bool_], lo: int) -> list[tuple[int, int, bool]]:
    """Runs of equal ``covered`` as ``(start ms, end ms, covered)``."""
    if covered.size == 0:
        return []
    edges = np.flatnonzero(np.diff(covered.astype(np.int8)) != 0) + 1
    starts = np.r_[0, edges]
    ends = np.r_[edges, covered.size]
    return [
        (lo + int(a) * WINDOW_MS, lo + int(b) * WINDOW_MS, bool(covered[a]))
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    ]


@dataclass(frozen=True)
class Coverage:
    """How much of a range is rolled up (``smartpark rollup --check``)."""

    windows: int  # 15-minute windows in the range
    current: int  # rolled up with the current registry and not dirty
    dirty: int  # rolled up, but readings were written into them since
    outdated: int  # rolled up under another registry
    outdated_days: tuple[int, ...]
    dirty_runs: tuple[tuple[int, int], ...]  # the dirty windows, as [start, end) runs

    @property
    def missing(self) -> int:
        return self.windows - self.current - self.dirty - self.outdated


def coverage(store: Store, registry: Registry, start_ms: int, end_ms: int) -> Coverage:
    lo, hi = align(start_ms, end_ms)
    n = (hi - lo) // WINDOW_MS
    state = np.zeros(n, np.int8)  # 0 missing, 1 current, 2 outdated
    fp = fingerprint(registry)
    outdated: list[int] = []
    for day, span in sorted(store.rollups.spans(lo, hi).items()):
        a, b = max(span.lo_ms, lo), min(span.hi_ms, hi)
        if not span.complete or b <= a:
            continue
        state[(a - lo) // WINDOW_MS : (b - lo) // WINDOW_MS] = 1 if span.fingerprint == fp else 2
        if span.fingerprint != fp:
            outdated.append(day)
    dirty_w, _ = store.rollups.dirty(lo, hi)
    dirty_w = dirty_w[state[(dirty_w - lo) // WINDOW_MS] == 1]
    return Coverage(
        n,
        int((state == 1).sum()) - dirty_w.size,
        dirty_w.size,
        int((state == 2).sum()),
        tuple(outdated),
        tuple(window_runs(dirty_w)),
    )


__all__ = [
    "REROLL_COMMAND",
    "Coverage",
    "Source",
    "coverage",
    "current_mask",
    "last_before",
    "range_windows",
    "rebuild_hint",
    "runs_text",
    "widened",
    "window_runs",
]
