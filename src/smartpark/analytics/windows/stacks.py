"""Pollutant mass and exceedance hours per boundary pollutant meter and window.

The enterprise KPIs ``so2_kg``, ``nox_exceed_h``, ... (docs/kpis.md) sum, window by
window, each boundary pollutant meter's mass (the time integral of its mass rate, O2
corrected, :mod:`analytics.readings.emissions`) and its exceedance flags (1 at the first
window of each local hour whose mean corrected concentration is above the park's
limit). :func:`pollutant_windows` gives these per meter; the day level sums them per
cell (:mod:`analytics.days.day_windows`), :mod:`analytics.kpis.compute` per enterprise
and :mod:`analytics.days.stacks` per emission point.
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
from smartpark.analytics.layout import Layout, timezones
from smartpark.analytics.periods import Grid
from smartpark.analytics.readings.series import FloatArray
from smartpark.analytics.windows.meter_windows import MeterWindows
from smartpark.core.registry import Registry

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


def cems_meters(registry: Registry) -> npt.NDArray[np.int32]:
    """The meter codes :func:`stack_totals` needs: the pollutant gauges and their stacks'
    O2 and flow meters (a reader may read only these)."""
    lay = Layout.of(registry)
    wanted = lay.pollutant & lay.boundary
    for partner in (lay.partner_o2, lay.partner_flow):
        wanted[partner[partner >= 0]] = True
    return np.flatnonzero(wanted).astype(np.int32)


__all__ = [
    "PollutantWindows",
    "cems_meters",
    "finish_ms",
    "pollutant_windows",
]
