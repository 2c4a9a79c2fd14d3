"""The fast path for regular data: meters that share one timestamp row, as a matrix.

Meters polled on the same schedule report at the same instants. Their readings,
sorted by (meter, ts), are then a ``k x n`` matrix (a free reshape when they are
adjacent), and everything that depends only on the timestamps (the reading before each
grid point, the interpolation fractions, hold durations, sample counts) is computed
once for the row instead of once per reading. The arithmetic is exactly that of
:mod:`analytics.readings.counters` and :mod:`analytics.readings.gauges`; rows that need the general
rules' reading-dropping (non-finite, negative or isolated-spike readings) are handed
back to the general path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics.readings.counters import JITTER_REL
from smartpark.analytics.readings.gauges import HOLD_INTERVALS
from smartpark.analytics.readings.series import FloatArray, IndexArray, IntArray, SeriesIndex


@dataclass(frozen=True)
class Block:
    """``values[r, i]`` is meter ``meters[r]`` at ``ts[i]``; ``ts`` strictly increasing."""

    meters: npt.NDArray[np.int32]
    ts: IntArray
    values: FloatArray

    def rows(self, keep: npt.NDArray[np.bool_]) -> Block:
        return Block(self.meters[keep], self.ts, self.values[keep])


# A lone meter is worth a block of its own only when its row is long enough to amortize
# the per-block overhead; shorter ones go to the general path, vectorized over all meters.
MIN_LONE_READINGS: Final = 10_000


# Reference rows tried per reading count before the remaining meters go general.
MAX_REFERENCES: Final = 4


def find_blocks(index: SeriesIndex, candidates: npt.NDArray[np.bool_]) -> list[Block]:
    """Group candidate meters (mask by code) whose timestamps are identical, two or more readings.

    Per reading count, up to ``MAX_REFERENCES`` reference rows are tried (a meter that
    missed one poll and made up another does not spoil the group); meters matching none,
    and a lone meter with fewer than ``MIN_LONE_READINGS``, stay on the general path.
    """
    counts = index.stop - index.first
    blocks: list[Block] = []
    cols = index.cols
    for n in np.unique(counts[candidates & (counts >= 2)]).tolist():
        meters = np.flatnonzero(candidates & (counts == n)).astype(np.int32)
        starts = index.first[meters]
        k = meters.size
        if bool((np.diff(starts) == n).all()):  # adjacent: views, no copy
            lo = int(starts[0])
            ts_mat = cols.ts[lo : lo + k * n].reshape(k, n)
            values = cols.value[lo : lo + k * n].reshape(k, n)
        else:
            take = starts[:, None] + np.arange(n)
            ts_mat, values = cols.ts[take], cols.value[take]
        left = np.arange(k)
        for _ in range(MAX_REFERENCES):
            if left.size == 0:
                break
            ts_row = ts_mat[left[0]]
            same = (ts_mat[left] == ts_row).all(axis=1)
            rows, left = left[same], left[~same]
            if not bool((np.diff(ts_row) > 0).all()):
                continue
            if rows.size < 2 and n < MIN_LONE_READINGS:
                continue
            if rows.size == k:
                blocks.append(Block(meters, ts_row.copy(), values))
            else:
                blocks.append(Block(meters[rows], ts_row.copy(), values[rows]))
    return blocks


@dataclass(frozen=True)
class RowLookup:
    """Where each grid point falls in a block's timestamp row."""

    j: IndexArray  # last reading with ts <= point (-1 if none)
    before: IndexArray  # readings with ts < point

    @classmethod
    def of(cls, ts: IntArray, points: IntArray) -> RowLookup:
        return cls(
            np.searchsorted(ts, points, side="right") - 1, np.searchsorted(ts, points, side="left")
        )


def screen_counter_rows(values: FloatArray) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """``(anomalous, falls)`` per row.

    *anomalous*: readings the general path would drop (non-finite, negative, isolated
    spike). *falls*: some reading is below the one before (reset, rollover or noise).
    A row that never falls has its minimum first and cannot hold an isolated spike (a
    spike falls on one side), so only falling rows are searched in detail.
    """
    falls = np.asarray((values[:, 1:] < values[:, :-1]).any(axis=1), np.bool_)
    with np.errstate(invalid="ignore", over="ignore"):
        anomalous = ~np.isfinite(values.sum(axis=1)) | (values[:, 0] < 0)
    detail = np.flatnonzero(falls & ~anomalous)
    if detail.size:
        v = values[detail]
        bad = (v < 0).any(axis=1)
        if v.shape[1] > 2:
            prev_v, this_v, next_v = v[:, :-2], v[:, 1:-1], v[:, 2:]
            spike = (prev_v <= next_v) & ((this_v > next_v) | (this_v < prev_v))
            bad |= spike.any(axis=1)
        anomalous[detail] = bad
    return np.asarray(anomalous, np.bool_), falls


@dataclass(frozen=True)
class DenseCounters:
    register_at: npt.NDArray[np.floating[Any]]  # (k, P)
    reset_at: tuple[IndexArray, IndexArray]  # (row, column) of resets
    rollover_at: tuple[IndexArray, IndexArray]


def counters(
    block: Block,
    multiplier: FloatArray,
    register_max: FloatArray,
    points: IntArray,
    look: RowLookup,
    falls: npt.NDArray[np.bool_],
) -> DenseCounters:
    """Counter rules of :mod:`analytics.readings.counters` on a clean block
    (``multiplier`` etc. per row).

    ``falls`` is per row, from :func:`screen_counter_rows`.

    A row that never falls needs no deltas at all: its cleaned register is the reading
    itself (times the multiplier), so only the grid points are gathered. Rows with a
    fall (reset, rollover or noise) take the full delta-and-cumsum route.
    """
    v, ts = block.values, block.ts
    n = ts.size
    j = look.j
    jc = np.clip(j, 0, n - 2)
    frac = (points - ts[jc]) / (ts[jc + 1] - ts[jc]).astype(np.float64)
    steady = np.flatnonzero(~falls)
    out = np.empty((v.shape[0], points.size))
    if steady.size:
        at = v[steady[:, None], jc[None, :]]
        nxt = v[steady[:, None], jc[None, :] + 1]
        first, last = v[steady, :1], v[steady, -1:]
        reg = at - first + (nxt - at) * frac
        reg = np.where(j < 0, 0.0, reg)
        reg = np.where(j >= n - 1, last - first, reg)
        out[steady] = reg * multiplier[steady, None]
    none = np.zeros(0, np.intp)
    resets, rollovers = (none, none), (none, none)
    falling_rows = np.flatnonzero(falls)
    if falling_rows.size:
        sub = _falling_rows(
            v[falling_rows], ts, multiplier[falling_rows], register_max[falling_rows], points, look
        )
        out[falling_rows] = sub.register_at
        resets = (falling_rows[sub.reset_at[0]], sub.reset_at[1])
        rollovers = (falling_rows[sub.rollover_at[0]], sub.rollover_at[1])
    return DenseCounters(out, resets, rollovers)


def _falling_rows(
    v: FloatArray,
    ts: IntArray,
    multiplier: FloatArray,
    register_max: FloatArray,
    points: IntArray,
    look: RowLookup,
) -> DenseCounters:
    n = ts.size
    prev_v, new_v = v[:, :-1], v[:, 1:]
    raw = new_v - prev_v
    falling = (raw < 0) & (raw < -JITTER_REL * np.abs(prev_v))
    raw[(raw < 0) & ~falling] = 0.0
    top = register_max[:, None]
    rolled = falling & (prev_v >= top / 2) & (new_v < top / 2)
    reset = falling & ~rolled
    raw = np.where(rolled, new_v + top - prev_v, raw)
    raw = np.where(reset, new_v, raw)
    delta = raw * multiplier[:, None]
    register = np.zeros(v.shape, np.longdouble)  # as in analytics.readings.counters
    np.cumsum(delta.astype(np.longdouble), axis=1, out=register[:, 1:])
    j = look.j
    jc = np.clip(j, 0, n - 2)
    frac = (points - ts[jc]) / (ts[jc + 1] - ts[jc]).astype(np.float64)
    out = register[:, jc] + delta[:, jc] * frac
    out[:, j < 0] = register[:, :1]
    out[:, j >= n - 1] = register[:, -1:]
    r_row, r_col = np.nonzero(reset)
    o_row, o_col = np.nonzero(rolled)
    return DenseCounters(out, (r_row, r_col + 1), (o_row, o_col + 1))


def hold_row(ts: IntArray, interval_ms: FloatArray) -> FloatArray:
    """Hold durations over one ts row for rows of the given nominal intervals.

    Shape (1, n) when every row has the same interval (broadcasts), else (k, n).
    """
    intervals = np.unique(interval_ms)
    rows = intervals[:, None] if intervals.size == 1 else interval_ms[:, None]
    w = np.empty((rows.shape[0], ts.size))
    w[:, :-1] = np.minimum(np.diff(ts)[None, :], HOLD_INTERVALS * rows)
    w[:, -1:] = rows
    return w


def integrals(
    values: FloatArray, ts: IntArray, hold: FloatArray, points: IntArray, look: RowLookup
) -> tuple[FloatArray, FloatArray]:
    """``(G, H)`` of :class:`analytics.readings.gauges.Held` at ``points`` for every row,
    (k, P) each."""
    valid = np.isfinite(values)
    all_valid = bool(valid.all())
    if all_valid and hold.shape[0] == 1:
        return _shared_hold_integrals(values, ts, hold[0], points, look)
    w = hold if all_valid else np.where(valid, hold, 0.0)
    v = values if all_valid else np.where(valid, values, 0.0)
    vw = v * w
    g_cum = np.cumsum(vw, axis=1)
    g_cum -= vw
    h_cum = np.cumsum(w, axis=1)
    h_cum -= w
    j = look.j
    jc = np.clip(j, 0, ts.size - 1)
    into = np.clip(points - ts[jc], 0, None).astype(np.float64)
    part = np.minimum(into[None, :], w[:, jc])
    g = g_cum[:, jc] + v[:, jc] * part
    h = h_cum[:, jc] + part
    g[:, j < 0] = 0.0
    h = np.broadcast_to(h, g.shape).copy()
    h[:, j < 0] = 0.0
    return g, h


def _shared_hold_integrals(
    values: FloatArray, ts: IntArray, w: FloatArray, points: IntArray, look: RowLookup
) -> tuple[FloatArray, FloatArray]:
    """All samples valid, one hold row: sums between grid points by ``reduceat``, no cumsum.

    ``G(b_p) = sum_{i < j_p} v_i w_i + v_{j_p} * part_p``; the sums over the runs between
    consecutive ``j_p`` are one ``reduceat`` of the values (of ``v * w`` when the hold
    varies), written as k x P instead of k x n.
    """
    n = ts.size
    j = look.j
    jc = np.clip(j, 0, n - 1)
    into = np.clip(points - ts[jc], 0, None).astype(np.float64)
    part = np.minimum(into, w[jc])
    steady = bool((w[:-1] == w[0]).all())
    base = values if steady else values * w[None, :]
    edges = np.concatenate([[0], jc]).astype(np.intp)
    seg = np.add.reduceat(base, edges, axis=1)[:, :-1]
    seg[:, np.diff(edges) == 0] = 0.0  # reduceat gives base[i] for an empty run
    before = np.cumsum(seg, axis=1)
    if steady:
        before *= w[0]
    g = before + values[:, jc] * part[None, :]
    w_cum = np.cumsum(w) - w
    h = np.broadcast_to(w_cum[jc] + part, g.shape).copy()
    g[:, j < 0] = 0.0
    h[:, j < 0] = 0.0
    return g, h


def row_counts(look: RowLookup) -> IndexArray:
    """Readings per window (same for every row of the block)."""
    return np.diff(look.before)


def last_before(ts: IntArray, look: RowLookup, missing: int) -> IntArray:
    """Timestamp of the last reading strictly before each point (``missing`` if none)."""
    k = look.before - 1
    return np.where(k >= 0, ts[np.clip(k, 0, ts.size - 1)], missing)


def partner_rows(block: Block, partner: npt.NDArray[np.int64]) -> IndexArray:
    """Row of each row's partner meter in the block, or -1 where the partner is elsewhere."""
    row_of = np.full(int(max(block.meters.max(), partner.max(initial=0))) + 1, -1, np.intp)
    row_of[block.meters] = np.arange(block.meters.size)
    p = partner[block.meters]
    return np.where(p >= 0, row_of[np.clip(p, 0, row_of.size - 1)], -1)


__all__ = [
    "Block",
    "DenseCounters",
    "RowLookup",
    "counters",
    "find_blocks",
    "hold_row",
    "integrals",
    "last_before",
    "partner_rows",
    "row_counts",
    "screen_counter_rows",
]
