"""Per-meter windows as the store's rollup rows, and back (store/rollups.py ``FIELDS``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from smartpark.analytics.periods import WINDOW_MS, Grid
from smartpark.analytics.windows.meter_windows import MeterWindows
from smartpark.store.rollups import FIELDS, RollupColumns


def to_rows(mw: MeterWindows) -> RollupColumns:
    """Every (meter, window) of ``mw`` as a row, sorted by (meter, window)."""
    n_m, n_w = mw.consumption.shape
    meter = np.repeat(np.arange(n_m, dtype=np.int32), n_w)
    window = np.tile(mw.start_ms + WINDOW_MS * np.arange(n_w, dtype=np.int64), n_m)
    values = {name: getattr(mw, name).ravel() for name in FIELDS}
    return RollupColumns(meter, window, values)


def to_windows(
    rows: RollupColumns, n_meters: int, grid: Grid, last_ts_before: npt.NDArray[np.int64]
) -> MeterWindows:
    """The windows of ``grid`` from rollup rows (absent rows: the defaults)."""
    out = MeterWindows.empty(n_meters, grid)
    k = (rows.window_ms - grid.start_ms) // WINDOW_MS
    ok = (k >= 0) & (k < grid.n_windows)
    m, k = rows.meter[ok], k[ok]
    for name in FIELDS:
        getattr(out, name)[m, k] = rows.values[name][ok]
    out.last_ts_before[:] = last_ts_before
    return out


__all__ = ["to_rows", "to_windows"]
