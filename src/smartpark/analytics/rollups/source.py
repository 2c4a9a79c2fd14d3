"""The per-meter windows of a range: from rollups where they are current, raw elsewhere.

A window is read from the store's rollups when its UTC day's span is complete, covers
it, carries the registry's current fingerprint, and the window is not dirty (no
reading was written into it since it was rolled up). Every other window is evaluated
from raw readings (:func:`~analytics.readers.read_range`, context included). The two
kinds give the same numbers (tests/analytics/test_rollups_exact.py), so a KPI over a
range that is only partly rolled up is still exact; :class:`Source` says which windows
came from where (``smartpark kpi --format json`` prints it as ``source``), and days
rolled up under another registry are reported with the command that rebuilds them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from smartpark.analytics import windows
from smartpark.analytics.kpis import STALE_INTERVALS
from smartpark.analytics.layout import Layout
from smartpark.analytics.periods import WINDOW_MS, Grid
from smartpark.analytics.readers import read_range
from smartpark.analytics.rollups.fingerprint import fingerprint
from smartpark.analytics.rollups.rows import to_windows
from smartpark.analytics.windows import MeterWindows
from smartpark.core.logs import get_logger
from smartpark.core.registry import Registry
from smartpark.store.base import Store
from smartpark.store.rollups import DAY_MS, NO_TS

_log = get_logger(__name__)
Kind = Literal["rollups", "raw"]


@dataclass(frozen=True)
class Source:
    """Which windows of a range came from rollups and which from raw readings."""

    parts: tuple[tuple[int, int, Kind], ...]  # [start, end) ranges in order
    outdated_days: tuple[int, ...] = ()  # UTC days rolled up under another registry

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
            "rollup_windows": self.windows("rollups"),
            "raw_windows": self.windows("raw"),
            "parts": [{"from_ms": a, "to_ms": b, "source": k} for a, b, k in self.parts],
            "outdated_days": [_day(d) for d in self.outdated_days],
        }


def rebuild_hint(outdated_days: tuple[int, ...]) -> str:
    """The command that rebuilds rollups of ``outdated_days``."""
    first, last = _day(outdated_days[0]), _day(outdated_days[-1] + DAY_MS)
    return f"smartpark rollup --from {first}T00:00:00Z --to {last}T00:00:00Z"


def _day(day_ms: int) -> str:
    return dt.datetime.fromtimestamp(day_ms / 1000, dt.UTC).date().isoformat()


def range_windows(
    store: Store,
    registry: Registry,
    start_ms: int,
    end_ms: int,
    *,
    use_rollups: bool = True,
    meters: npt.NDArray[np.int32] | None = None,
) -> tuple[MeterWindows, Source]:
    """Windows covering ``[start_ms, end_ms)``, starting early enough to know each
    meter's last reading before the range (staleness), and where they came from.

    ``meters``: only those meters' readings are read (the rest stay empty), for readers
    that need a few meters (the monthly report's stacks).
    """
    lay = Layout.of(registry)
    lookback = STALE_INTERVALS * int(lay.interval_ms.max(initial=0))
    lo = (start_ms - lookback) // WINDOW_MS * WINDOW_MS
    hi = -(-end_ms // WINDOW_MS) * WINDOW_MS
    grid = Grid.covering(lo, hi)
    covered = np.zeros(grid.n_windows, np.bool_)
    outdated: list[int] = []
    if use_rollups:
        fp = fingerprint(registry)
        for day, span in sorted(store.rollups.spans(lo, hi).items()):
            if not span.complete:
                continue
            if span.fingerprint != fp:
                outdated.append(day)
                continue
            a = max(span.lo_ms, lo)
            b = min(span.hi_ms, hi)
            if b > a:
                covered[(a - lo) // WINDOW_MS : (b - lo) // WINDOW_MS] = True
        dirty, _ = store.rollups.dirty(lo, hi)
        covered[(dirty - lo) // WINDOW_MS] = False
    parts: list[MeterWindows] = []
    kinds: list[tuple[int, int, Kind]] = []
    for a, b, is_rolled in _runs(covered, lo):
        if is_rolled:
            rows = store.rollups.read(a, b, meters)
            no_ts = np.full(lay.n_meters, NO_TS, np.int64)
            parts.append(to_windows(rows, lay.n_meters, Grid.covering(a, b), no_ts))
            kinds.append((a, b, "rollups"))
        else:
            cols = read_range(store, registry, a, b, meters=meters)
            parts.append(windows.of_readings(lay, cols, Grid.covering(a, b)))
            kinds.append((a, b, "raw"))
    source = Source(tuple(kinds), tuple(outdated))
    if outdated:
        _log.warning(
            "rollups_outdated",
            days=len(outdated),
            reason="rolled up under another registry (meters, multipliers, intervals or "
            "stacks changed); read from raw readings instead",
            fix=rebuild_hint(source.outdated_days),
        )
    _log.debug(
        "kpi_sources",
        kind=source.summary,
        rollup_windows=source.windows("rollups"),
        raw_windows=source.windows("raw"),
        parts=len(kinds),
    )
    return MeterWindows.join(parts), source


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


__all__ = ["Source", "range_windows", "rebuild_hint"]
