"""Instantaneous readings into time integrals, means and maxima per 15-minute window.

A gauge sample stands for the value from its timestamp until the next sample of the
same meter, for at most ``HOLD_INTERVALS`` times the meter's interval (a gap longer
than that is uncovered time, not the last value held forever); the last sample of a
meter holds for one interval. The integral ``G_m(t) = sum_i v_i * |[t_i, t_i + w_i) ∩
(-inf, t)|`` and the covered time ``H_m(t)`` are exact piecewise-linear functions, so a
sample whose hold straddles a boundary is split by time, and a window's time-weighted
mean is ``(G(b) - G(a)) / (H(b) - H(a))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics.readings.series import FloatArray, IntArray, SeriesIndex, segmented_cumsum

HOLD_INTERVALS: Final = 2


@dataclass(frozen=True)
class Held:
    """Gauge samples with their hold durations: ``value[i]`` holds for ``hold_ms[i]``."""

    index: SeriesIndex
    value: FloatArray  # 0 where invalid
    hold_ms: FloatArray  # 0 where invalid
    integral: FloatArray  # exclusive per-series running sum of value * hold
    covered: FloatArray  # exclusive per-series running sum of hold

    def integral_at(
        self, meters: npt.NDArray[np.int32], points: IntArray
    ) -> tuple[FloatArray, FloatArray]:
        """``(G, H)``: integral (value x ms) and covered ms up to each instant, M x P."""
        n = len(self.index)
        shape = (meters.size, points.size)
        if n == 0:
            return np.zeros(shape), np.zeros(shape)
        rows = meters.astype(np.intp)[:, None]
        j = self.index.last_at_or_before(rows, points[None, :])
        none = j < self.index.first[rows]
        jc = np.clip(j, 0, n - 1)
        into = np.clip(points[None, :] - self.index.cols.ts[jc], 0, None).astype(np.float64)
        part = np.minimum(into, self.hold_ms[jc])
        # Before a meter's first sample: its base (cumulative sums carry a per-series offset).
        base = np.minimum(self.index.first[rows], n - 1)
        g = np.where(none, self.integral[base], self.integral[jc] + self.value[jc] * part)
        h = np.where(none, self.covered[base], self.covered[jc] + part)
        return g, h


def hold(
    index: SeriesIndex,
    value: FloatArray,
    interval_ms: IntArray,
    valid: npt.NDArray[np.bool_] | None = None,
) -> Held:
    """Hold each sample until the next (capped); ``interval_ms`` is indexed by meter code."""
    m, t = index.cols.meter, index.cols.ts
    nominal = interval_ms[m].astype(np.float64)
    w = nominal.copy()
    same = index.same_series_as_next()
    gap = np.zeros(len(t))
    gap[:-1] = t[1:] - t[:-1]
    w[same] = np.minimum(gap[same], HOLD_INTERVALS * nominal[same])
    good = np.isfinite(value) if valid is None else valid & np.isfinite(value)
    w = np.where(good, w, 0.0)
    v = np.where(good, value, 0.0)
    vw = v * w
    starts = index.starts
    return Held(
        index,
        v,
        w,
        segmented_cumsum(vw, starts) - vw,
        segmented_cumsum(w, starts) - w,
    )


def window_integrals(
    held: Held, meters: npt.NDArray[np.int32], points: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Integral (value x ms) and covered ms of each meter in each window, M x W."""
    g, h = held.integral_at(meters, points)
    return np.diff(g, axis=1), np.diff(h, axis=1)


def window_max(
    index: SeriesIndex, value: FloatArray, meters: npt.NDArray[np.int32], points: IntArray
) -> FloatArray:
    """Largest sample of each meter with ``points[k] <= ts < points[k+1]``; NaN if none."""
    lo = index.count_before(meters.astype(np.intp)[:, None], points[None, :])
    start, stop = lo[:, :-1].ravel(), lo[:, 1:].ravel()
    padded = np.append(np.where(np.isfinite(value), value, -np.inf), -np.inf)
    # Interleaved (start, stop) pairs: every other reduceat segment is exactly [start, stop).
    pairs = np.column_stack([start, stop]).ravel()
    out = np.maximum.reduceat(padded, pairs)[::2] if pairs.size else np.zeros(0)
    out = np.where((stop > start) & np.isfinite(out), out, np.nan)
    return out.reshape(meters.size, points.size - 1)
