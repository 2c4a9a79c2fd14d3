"""Cumulative registers into consumption per 15-minute window.

Rules, applied per meter on readings sorted by (meter, ts):

1. Readings that cannot be a register value are dropped with a counted reason:
   ``non_finite``, ``negative_reading``, ``duplicate_ts`` (the later one is kept), and
   ``isolated_spike``: an interior reading outside the range of its two neighbours
   while those neighbours themselves are in order (``100, 150, 1e9, 200`` or
   ``100, 150, 0, 200``). Dropping it leaves the consumption between the neighbours
   unchanged; a real reset (``150, 20, 50``) has out-of-order neighbours and is kept.
2. Deltas between consecutive readings. A negative delta is a **rollover** when the
   meter has ``register_max`` and the register went from its upper half to its lower
   half (consumption ``new + register_max - old``), otherwise a **reset** (the new
   reading is the consumption since the reset). A negative delta within
   ``JITTER_REL`` of the reading is register noise and counts as zero.
3. Deltas are multiplied by the meter's ``multiplier`` (CT ratio).
4. The cleaned register ``R(t)`` (a running sum in extended precision, so a window's
   difference keeps its digits after months of readings) is piecewise linear between
   readings; consumption in ``[a, b)`` is ``R(b) - R(a)``, i.e. a delta that straddles a boundary is
   apportioned by time. Before a meter's first reading and after its last, ``R`` is
   flat: nothing is invented outside the readings. A range read that includes each
   meter's last reading before the range and first after it therefore apportions the
   edge intervals too, and a day computed alone equals the same day inside a month.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics.readings.series import FloatArray, IntArray, SeriesIndex, segmented_cumsum
from smartpark.store.base import ReadingColumns

JITTER_REL: Final = 1e-9
DROP_REASONS: Final = ("non_finite", "negative_reading", "duplicate_ts", "isolated_spike")


@dataclass(frozen=True)
class Events:
    """Readings a cleaning step acted on: ``reason -> (meter codes, timestamps)``."""

    by_reason: dict[str, tuple[npt.NDArray[np.int32], IntArray]] = field(default_factory=dict)

    def add(self, reason: str, meter: npt.NDArray[np.int32], ts: IntArray) -> None:
        if reason in self.by_reason:
            old_m, old_t = self.by_reason[reason]
            meter, ts = np.concatenate([old_m, meter]), np.concatenate([old_t, ts])
        self.by_reason[reason] = (meter, ts)

    def count(self, reason: str) -> int:
        return int(self.by_reason.get(reason, (np.zeros(0),))[0].size)


@dataclass(frozen=True)
class CleanCounters:
    """Cleaned counter readings: ``delta[i]`` is the consumption over ``(ts[i-1], ts[i]]``."""

    index: SeriesIndex
    delta: FloatArray  # 0 at each series' first reading
    register: npt.NDArray[np.longdouble]  # cleaned cumulative consumption (extended
    # precision; a per-series offset is arbitrary)
    events: Events

    def consumption_at(
        self, meters: npt.NDArray[np.int32], points: IntArray
    ) -> npt.NDArray[np.longdouble]:
        """``R_m(t)`` for every meter (rows) and instant (columns): differences are consumption."""
        index = self.index
        rows = meters.astype(np.intp)[:, None]
        if len(index) == 0:
            return np.zeros((meters.size, points.size), np.longdouble)
        j = index.last_at_or_before(rows, points[None, :])
        first, stop = index.first[rows], index.stop[rows]
        empty = stop == first
        last = stop - 1
        before = j < first
        after = j >= last
        jc = np.clip(j, 0, len(index) - 2) if len(index) > 1 else np.zeros_like(j)
        t = index.cols.ts
        t0 = t[jc].astype(np.float64)
        span = (t[np.minimum(jc + 1, len(index) - 1)] - t[jc]).astype(np.float64)
        span[span <= 0] = 1.0
        frac = (points[None, :] - t0) / span
        inside = self.register[jc] + self.delta[np.minimum(jc + 1, len(index) - 1)] * frac
        out = np.where(before, self.register[np.minimum(first, len(index) - 1)], inside)
        out = np.where(after, self.register[np.clip(last, 0, len(index) - 1)], out)
        return np.where(empty, 0.0, out)


def clean(
    cols: ReadingColumns,
    n_meters: int,
    multiplier: FloatArray,
    register_max: FloatArray,
) -> CleanCounters:
    """Clean counter readings (sorted by (meter, ts)) and compute per-reading deltas.

    ``multiplier`` and ``register_max`` are indexed by meter code; ``register_max`` is
    NaN where the register does not roll over.
    """
    events = Events()
    m, t, v = cols.meter, cols.ts, cols.value
    drop = ~np.isfinite(v)
    events.add("non_finite", m[drop], t[drop])
    negative = ~drop & (v < 0)
    events.add("negative_reading", m[negative], t[negative])
    drop |= negative
    cols = cols.take(~drop)
    m, t, v = cols.meter, cols.ts, cols.value

    duplicate = np.zeros(len(cols), np.bool_)
    duplicate[:-1] = (m[1:] == m[:-1]) & (t[1:] == t[:-1])
    events.add("duplicate_ts", m[duplicate], t[duplicate])
    if duplicate.any():
        cols = cols.take(~duplicate)
        m, t, v = cols.meter, cols.ts, cols.value

    spike = np.zeros(len(cols), np.bool_)
    if len(cols) > 2:
        interior = (m[1:-1] == m[:-2]) & (m[1:-1] == m[2:])
        prev_v, this_v, next_v = v[:-2], v[1:-1], v[2:]
        spike[1:-1] = interior & (prev_v <= next_v) & ((this_v > next_v) | (this_v < prev_v))
    events.add("isolated_spike", m[spike], t[spike])
    if spike.any():
        cols = cols.take(~spike)
        m, t, v = cols.meter, cols.ts, cols.value

    index = SeriesIndex.build(cols, n_meters)
    delta = np.zeros(len(cols))
    if len(cols) > 1:
        same = m[1:] == m[:-1]
        prev_v, new_v = v[:-1], v[1:]
        raw = new_v - prev_v
        jitter = (raw < 0) & (raw >= -JITTER_REL * np.abs(prev_v))
        raw[jitter] = 0.0
        falling = same & (raw < 0)
        top = register_max[m[1:]]
        rolled = falling & (prev_v >= top / 2) & (new_v < top / 2)  # NaN top: never
        reset = falling & ~rolled
        raw = np.where(rolled, new_v + top - prev_v, raw)
        raw = np.where(reset, new_v, raw)
        delta[1:] = np.where(same, raw * multiplier[m[1:]], 0.0)
        events.add("rollover", m[1:][rolled], t[1:][rolled])
        events.add("reset", m[1:][reset], t[1:][reset])
    # Extended precision: a window's consumption is a difference of this running sum,
    # which after weeks of readings is far larger than one window's share.
    register = segmented_cumsum(delta.astype(np.longdouble), index.starts)
    return CleanCounters(index, delta, register, events)
