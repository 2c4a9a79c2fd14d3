"""Every meter's values per 15-minute window: what the KPIs read, and what a rollup stores.

:func:`of_readings` evaluates readings (:mod:`analytics.readings.meters`: counters cleaned and
apportioned, gauges held and integrated, stacks O2-corrected) on the UTC quarter-hour
grid and keeps, per meter and window, exactly the additive and extreme quantities the
KPI formulas of docs/kpis.md need. The same arrays come back from the store's rollups
(:mod:`analytics.windows.rollups`), so the KPI engine (:mod:`analytics.kpis.compute`)
never knows whether a window was computed from raw readings or read from a rollup, and
windows of both kinds can be joined side by side (:meth:`MeterWindows.join`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields
from typing import Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics.layout import Layout
from smartpark.analytics.periods import WINDOW_MS, Grid
from smartpark.analytics.readings import gauges, meters
from smartpark.analytics.readings.meters import MISSING_TS
from smartpark.analytics.readings.series import FloatArray, IntArray, SeriesIndex
from smartpark.store.base import ReadingColumns

MS_PER_H: Final = 3_600_000.0
RESET_REASONS: Final = ("reset", "rollover")
SPIKE_REASONS: Final = ("non_finite", "negative_reading", "isolated_spike")


@dataclass(frozen=True)
class MeterWindows:
    """Per meter (rows, by registry code) and window (columns) of a :class:`Grid`.

    A counter's ``consumption`` is its cleaned, multiplied register difference over the
    window (apportioned by time); a gauge's ``integral`` (value x ms) and ``covered``
    (ms) are its held samples' time integral and coverage, ``vmin``/``vmax`` its extreme
    samples (NaN: none). Boundary pollutant meters also carry the O2-corrected
    concentration's integral and coverage and the mass (kg). ``samples`` counts the
    usable readings in the window, ``resets`` the counter resets and rollovers,
    ``spikes`` the readings dropped (non-finite, negative, isolated spike); ``last_ts``
    is the window's last usable reading (``MISSING_TS``: none), ``register`` the value
    of its last reading as read (NaN: none).
    """

    start_ms: int  # the first window's start (a multiple of WINDOW_MS)
    consumption: FloatArray
    integral: FloatArray
    covered: FloatArray
    vmin: FloatArray
    vmax: FloatArray
    conc_integral: FloatArray
    conc_covered: FloatArray
    mass_kg: FloatArray
    samples: IntArray
    resets: IntArray
    spikes: IntArray
    last_ts: IntArray
    register: FloatArray
    last_ts_before: IntArray  # (meters,): last usable reading before start_ms
    dense_meters: int = 0

    @property
    def n_windows(self) -> int:
        return int(self.consumption.shape[1])

    @property
    def grid(self) -> Grid:
        return Grid(self.start_ms, self.n_windows)

    def last_before_points(self) -> IntArray:
        """(meters, windows + 1): the last usable reading strictly before each grid point."""
        per_window = np.where(self.samples > 0, self.last_ts, MISSING_TS)
        stacked = np.concatenate([self.last_ts_before[:, None], per_window], axis=1)
        return np.maximum.accumulate(stacked, axis=1)

    @classmethod
    def join(cls, parts: list[MeterWindows]) -> MeterWindows:
        """Adjacent parts (each starting where the one before ends) as one."""
        for a, b in itertools.pairwise(parts):
            if a.start_ms + a.n_windows * WINDOW_MS != b.start_ms:
                raise ValueError("MeterWindows.join: parts are not adjacent")
        joined = {f: np.concatenate([getattr(p, f) for p in parts], axis=1) for f in WINDOW_FIELDS}
        return cls(
            parts[0].start_ms,
            **joined,
            last_ts_before=parts[0].last_ts_before,
            dense_meters=sum(p.dense_meters for p in parts),
        )

    @classmethod
    def empty(cls, n_meters: int, grid: Grid) -> MeterWindows:
        """No readings at all: zero sums, NaN extremes, no last reading."""
        shape = (n_meters, grid.n_windows)
        z = np.zeros(shape)
        nan = np.full(shape, np.nan)
        zi = np.zeros(shape, np.int64)
        return cls(
            grid.start_ms,
            consumption=z,
            integral=z.copy(),
            covered=z.copy(),
            vmin=nan,
            vmax=nan.copy(),
            conc_integral=z.copy(),
            conc_covered=z.copy(),
            mass_kg=z.copy(),
            samples=zi,
            resets=zi.copy(),
            spikes=zi.copy(),
            last_ts=np.full(shape, MISSING_TS, np.int64),
            register=nan.copy(),
            last_ts_before=np.full(n_meters, MISSING_TS, np.int64),
        )


WINDOW_FIELDS: Final = tuple(
    f.name
    for f in fields(MeterWindows)
    if f.name not in ("start_ms", "last_ts_before", "dense_meters")
)


def of_readings(
    lay: Layout, cols: ReadingColumns, grid: Grid, *, use_dense: bool = True
) -> MeterWindows:
    """The windows of ``grid`` from readings sorted by (meter, ts).

    ``cols`` should hold each meter's readings over the grid plus a few on each side
    (:func:`~analytics.readings.readers.read_range`): the context the cleaning rules and the
    apportioning at the edges look at. Readings outside the grid inform the windows
    but are never counted in them.
    """
    mg = meters.evaluate(lay, cols, grid, use_dense=use_dense)
    n = lay.n_meters
    points = grid.points
    last = mg.last_ts[:, 1:]
    samples = mg.received
    consumption = np.diff(mg.register, axis=1).astype(np.float64)
    consumption[~lay.is_counter] = 0.0
    vmin, vmax = _extremes(lay, cols, points)
    register = _last_value(cols, n, points)
    return MeterWindows(
        grid.start_ms,
        consumption=consumption,
        integral=np.diff(mg.gauge_g, axis=1),
        covered=np.diff(mg.gauge_h, axis=1),
        vmin=vmin,
        vmax=vmax,
        conc_integral=np.diff(mg.conc_g, axis=1),
        conc_covered=np.diff(mg.conc_h, axis=1),
        mass_kg=np.diff(mg.rate_g, axis=1) / MS_PER_H,
        samples=samples,
        resets=_event_counts(mg.events.by_reason, RESET_REASONS, n, grid),
        spikes=_event_counts(mg.events.by_reason, SPIKE_REASONS, n, grid),
        last_ts=np.where(samples > 0, last, MISSING_TS),
        register=register,
        last_ts_before=mg.last_ts[:, 0].copy(),
        dense_meters=mg.dense_meters,
    )


def _event_counts(
    by_reason: dict[str, tuple[npt.NDArray[np.int32], IntArray]],
    reasons: tuple[str, ...],
    n_meters: int,
    grid: Grid,
) -> IntArray:
    out = np.zeros(n_meters * grid.n_windows, np.int64)
    for reason in reasons:
        if reason not in by_reason:
            continue
        meter, ts = by_reason[reason]
        k = (ts - grid.start_ms) // WINDOW_MS
        ok = (k >= 0) & (k < grid.n_windows)
        flat = meter[ok].astype(np.int64) * grid.n_windows + k[ok]
        out += np.bincount(flat, minlength=out.size)
    return out.reshape(n_meters, grid.n_windows)


def _extremes(lay: Layout, cols: ReadingColumns, points: IntArray) -> tuple[FloatArray, FloatArray]:
    """Smallest and largest finite gauge sample per window (NaN: none; counters: NaN)."""
    shape = (lay.n_meters, points.size - 1)
    vmin, vmax = np.full(shape, np.nan), np.full(shape, np.nan)
    gauge_cols = cols.take(~lay.is_counter[cols.meter])
    gm = np.flatnonzero(~lay.is_counter).astype(np.int32)
    if len(gauge_cols) == 0 or gm.size == 0:
        return vmin, vmax
    index = SeriesIndex.build(gauge_cols, lay.n_meters, presorted=True)
    vmax[gm] = gauges.window_max(index, gauge_cols.value, gm, points)
    vmin[gm] = -gauges.window_max(index, -gauge_cols.value, gm, points)
    return vmin, vmax


def _last_value(cols: ReadingColumns, n_meters: int, points: IntArray) -> FloatArray:
    """The value of each meter's last reading in each window, as read (NaN: none)."""
    out = np.full((n_meters, points.size - 1), np.nan)
    if len(cols) == 0:
        return out
    index = SeriesIndex.build(cols, n_meters, presorted=True)
    present = np.flatnonzero(index.stop > index.first).astype(np.int32)
    before = index.count_before(present.astype(np.intp)[:, None], points[None, :])
    has = before[:, 1:] > before[:, :-1]
    j = np.clip(before[:, 1:] - 1, 0, len(cols) - 1)
    out[present] = np.where(has, cols.value[j], np.nan)
    return out


__all__ = ["WINDOW_FIELDS", "MeterWindows", "of_readings"]
