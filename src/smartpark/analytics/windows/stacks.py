"""Pollutant mass and exceedance hours per emission point (stack), as the KPIs count them.

The enterprise KPIs ``so2_kg``, ``nox_exceed_h``, ... (docs/kpis.md) sum, window by
window, each boundary pollutant meter's mass (the time integral of its mass rate, O2
corrected, :mod:`analytics.readings.emissions`) and its exceedance flags (1 at the first window of
each local hour whose mean corrected concentration is above the park's limit).
:func:`pollutant_windows` gives these per meter; :mod:`analytics.kpis.compute` sums them per
enterprise and :func:`stack_totals` per emission point (the enterprise and the meter's
``stack``) over a range, so an enterprise's stacks add up to its KPIs. Pollutant meters
without a ``stack`` form one point of their enterprise, with stack id "".
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from smartpark.analytics import periods
from smartpark.analytics.layout import Layout, group_sum, timezones
from smartpark.analytics.periods import Grid
from smartpark.analytics.readings.series import FloatArray, sort_readings
from smartpark.analytics.windows import meter_windows
from smartpark.analytics.windows.meter_windows import MeterWindows
from smartpark.core.errors import AnalyticsError
from smartpark.core.registry import POLLUTANTS, Registry
from smartpark.store.base import ReadingColumns

_SAMPLE_YEARS: Final = range(1990, 2051)


def finish_ms(registry: Registry) -> int:
    """How far past a range's end the readers read windows, so that the exceedance hours
    that begin inside it are finished: an hour, where one time zone's midnight can cut
    another's hour (offsets that differ by a part of an hour: +05:45 beside +08:00), so
    that an hour above the limit counts in the period where it begins whatever range
    was asked for; else nothing."""
    return _finish(tuple(timezones(registry)))


@functools.lru_cache(maxsize=64)
def _finish(zones: tuple[str, ...]) -> int:
    minutes: set[int] = set()
    for tz in zones:
        zone = ZoneInfo(tz)
        for year in _SAMPLE_YEARS:
            for month in (1, 4, 7, 10):
                offset = dt.datetime(year, month, 1, tzinfo=zone).utcoffset()
                minutes.add(int(offset.total_seconds()) // 60 % 60 if offset else 0)
    return periods.HOUR_MS if len(minutes) > 1 else 0


@dataclass(frozen=True)
class PollutantWindows:
    """Per boundary pollutant meter (rows) and grid window (columns)."""

    meters: npt.NDArray[np.int32]  # meter codes
    mass_kg: FloatArray
    exceed_h: FloatArray  # 1.0 at the first window of each exceeding local hour


def pollutant_windows(lay: Layout, mw: MeterWindows) -> PollutantWindows:
    pm = lay.meters_where(lay.pollutant & lay.boundary)
    conc_i, conc_h = mw.conc_integral[pm], mw.conc_covered[pm]
    return PollutantWindows(pm, mw.mass_kg[pm], _exceed_windows(lay, pm, conc_i, conc_h, mw.grid))


def _exceed_windows(
    lay: Layout,
    pol_meters: npt.NDArray[np.int32],
    conc_i: FloatArray,
    conc_h: FloatArray,
    grid: Grid,
) -> FloatArray:
    """1.0 at the first window of each local hour whose mean concentration exceeds the limit."""
    out = np.zeros((pol_meters.size, grid.n_windows))
    tz_of = np.array([lay.row_tz[lay.enterprise[m]] for m in pol_meters.tolist()], dtype=object)
    for tz in sorted(set(tz_of.tolist())):
        rows = np.flatnonzero(tz_of == tz)
        hb = periods.boundaries(tz, "hour", grid.start_ms, grid.end_ms)
        if hb.size < 2:
            continue
        gi = grid.index(hb, "hour boundary")
        i_h = np.add.reduceat(conc_i[rows][:, : gi[-1]], gi[:-1], axis=1)
        h_h = np.add.reduceat(conc_h[rows][:, : gi[-1]], gi[:-1], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = i_h / h_h
        limit = lay.limit[pol_meters[rows]][:, None]
        flag = (h_h > 0) & (mean > limit)
        block = out[rows]
        block[:, gi[:-1]] = flag
        out[rows] = block
    return out


@dataclass(frozen=True)
class StackTotals:
    """Per emission point (sorted by enterprise, then stack): totals over the range."""

    enterprise: tuple[str, ...]
    stack: tuple[str, ...]  # "" for the enterprise's pollutant meters without a stack
    kg: dict[str, FloatArray]  # pollutant -> mass per point; NaN where not metered
    exceed_h: dict[str, FloatArray]  # pollutant -> exceedance hours; NaN where not metered
    readings: npt.NDArray[np.int64]  # pollutant readings inside the range per point


def cems_meters(registry: Registry) -> npt.NDArray[np.int32]:
    """The meter codes :func:`stack_totals` needs: the pollutant gauges and their stacks'
    O2 and flow meters (a reader may read only these)."""
    lay = Layout.of(registry)
    wanted = lay.pollutant & lay.boundary
    for partner in (lay.partner_o2, lay.partner_flow):
        wanted[partner[partner >= 0]] = True
    return np.flatnonzero(wanted).astype(np.int32)


def stack_totals(
    registry: Registry,
    readings: ReadingColumns,
    start_ms: int,
    end_ms: int,
    *,
    use_dense: bool = True,
) -> StackTotals:
    """Each stack's pollutant mass (kg) and exceedance hours over ``[start_ms, end_ms)``.

    ``readings`` as for :func:`~analytics.kpis.compute.compute_kpis` (codes into
    ``registry.meter_ids``, edges included, e.g. from
    :func:`~analytics.readings.readers.read_range`);
    the range must start and end on the 15-minute grid, as KPI periods do.
    """
    if end_ms <= start_ms:
        raise AnalyticsError(f"range: end {end_ms} must be after start {start_ms}")
    lay = Layout.of(registry)
    wanted = np.zeros(lay.n_meters, np.bool_)
    wanted[cems_meters(registry)] = True
    cols = sort_readings(readings.take(wanted[readings.meter]))
    grid = Grid.covering(start_ms, end_ms)
    mw = meter_windows.of_readings(lay, cols, grid, use_dense=use_dense)
    return stack_totals_of(registry, mw, start_ms, end_ms)


def stack_totals_of(
    registry: Registry, mw: MeterWindows, start_ms: int, end_ms: int
) -> StackTotals:
    """:func:`stack_totals` from per-meter windows covering the range (raw or rollups)."""
    lay = Layout.of(registry)
    ends = mw.grid.index(np.array([start_ms, end_ms], np.int64), "stack range")
    pw = pollutant_windows(lay, mw)
    pol = [registry.meters[registry.meter_ids[m]] for m in pw.meters.tolist()]
    key = [(m.enterprise, m.stack or "") for m in pol]
    points = sorted(set(key))
    code = np.array([points.index(k) for k in key], np.intp)
    window = slice(int(ends[0]), int(ends[1]))
    kg: dict[str, FloatArray] = {}
    exceed: dict[str, FloatArray] = {}
    for name in POLLUTANTS:
        of_q = np.array([lay.quantity[m] == name for m in pw.meters.tolist()], np.bool_)
        metered = np.bincount(code[of_q], minlength=len(points)) > 0
        per_kg = group_sum(pw.mass_kg[of_q][:, window], code[of_q], len(points)).sum(axis=1)
        per_h = group_sum(pw.exceed_h[of_q][:, window], code[of_q], len(points)).sum(axis=1)
        kg[name] = np.where(metered, per_kg, np.nan)
        exceed[name] = np.where(metered, per_h, np.nan)
    samples = mw.samples[pw.meters][:, window].sum(axis=1)
    counts = np.bincount(code, weights=samples, minlength=len(points)).astype(np.int64)
    return StackTotals(tuple(e for e, _ in points), tuple(s for _, s in points), kg, exceed, counts)


__all__ = [
    "PollutantWindows",
    "StackTotals",
    "cems_meters",
    "finish_ms",
    "pollutant_windows",
    "stack_totals",
    "stack_totals_of",
]
