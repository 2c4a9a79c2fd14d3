"""Entered figures (store/outputs.py: product output, value added) placed in KPI periods.

A period's figure is the sum of the entered rows inside it when they cover it whole (a
month from its month row, or from a row for each of its days); otherwise it has none
(NaN: *missing*, never zero).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from smartpark.analytics.readings.series import FloatArray, IntArray
from smartpark.store.outputs import OutputRow


def entered(rows: Sequence[OutputRow], ident: str, bounds: IntArray) -> FloatArray:
    """The figure of ``ident`` (a product, an enterprise) per period
    ``bounds[k]..bounds[k+1]``; NaN where the entered rows do not cover the period whole."""
    mine = [r for r in rows if r.id == ident]
    starts = np.array([r.start_ms for r in mine], np.int64)
    ends = np.array([r.end_ms for r in mine], np.int64)
    values = np.array([r.value for r in mine], np.float64)
    a, b = bounds[:-1, None], bounds[1:, None]
    inside = (starts[None, :] >= a) & (ends[None, :] <= b)
    covered = (inside * (ends - starts)[None, :]).sum(axis=1)
    total = (inside * values[None, :]).sum(axis=1)
    out: FloatArray = np.where(covered == np.diff(bounds), total, np.nan)
    return out
