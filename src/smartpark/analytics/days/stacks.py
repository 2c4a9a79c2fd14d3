"""Pollutant mass and exceedance hours per emission point (stack), as the KPIs count them.

:func:`stack_totals` sums each boundary pollutant meter's mass and exceedance hours
(:mod:`analytics.windows.stacks`, carried per cell by the day level) per emission point
(the enterprise and the meter's ``stack``) over a range, so an enterprise's stacks add
up to its KPIs. Pollutant meters without a ``stack`` form one point of their
enterprise, with stack id "". The monthly report reads them from the day level
(:func:`stack_totals_of` on :func:`~analytics.days.source.range_days`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smartpark.analytics.days import day_windows
from smartpark.analytics.days.day_windows import DayWindows
from smartpark.analytics.layout import Layout, group_sum
from smartpark.analytics.periods import Grid
from smartpark.analytics.readings.series import FloatArray, sort_readings
from smartpark.analytics.windows import meter_windows
from smartpark.analytics.windows.stacks import cems_meters, finish_ms
from smartpark.core.errors import AnalyticsError
from smartpark.core.registry import POLLUTANTS, Registry
from smartpark.store.base import ReadingColumns


@dataclass(frozen=True)
class StackTotals:
    """Per emission point (sorted by enterprise, then stack): totals over the range."""

    enterprise: tuple[str, ...]
    stack: tuple[str, ...]  # "" for the enterprise's pollutant meters without a stack
    kg: dict[str, FloatArray]  # pollutant -> mass per point; NaN where not metered
    exceed_h: dict[str, FloatArray]  # pollutant -> exceedance hours; NaN where not metered
    readings: npt.NDArray[np.int64]  # pollutant readings inside the range per point


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
    grid = Grid.covering(start_ms, end_ms + finish_ms(registry))
    mw = meter_windows.of_readings(lay, cols, grid, use_dense=use_dense)
    return stack_totals_of(registry, day_windows.of_windows(registry, mw), start_ms, end_ms)


def stack_totals_of(registry: Registry, dw: DayWindows, start_ms: int, end_ms: int) -> StackTotals:
    """:func:`stack_totals` from day windows (15-minute or day cells) covering the range,
    whose ends must be cell edges."""
    lay = Layout.of(registry)
    ends = dw.cells.index(np.array([start_ms, end_ms], np.int64), "stack range")
    meters = lay.meters_where(lay.pollutant & lay.boundary)
    pol = [registry.meters[registry.meter_ids[m]] for m in meters.tolist()]
    key = [(m.enterprise, m.stack or "") for m in pol]
    points = sorted(set(key))
    code = np.array([points.index(k) for k in key], np.intp)
    window = slice(int(ends[0]), int(ends[1]))
    kg: dict[str, FloatArray] = {}
    exceed: dict[str, FloatArray] = {}
    mass, exceed_h = dw.mass_kg[meters], dw.exceed_h[meters]
    for name in POLLUTANTS:
        of_q = np.array([lay.quantity[m] == name for m in meters.tolist()], np.bool_)
        metered = np.bincount(code[of_q], minlength=len(points)) > 0
        per_kg = group_sum(mass[of_q][:, window], code[of_q], len(points)).sum(axis=1)
        per_h = group_sum(exceed_h[of_q][:, window], code[of_q], len(points)).sum(axis=1)
        kg[name] = np.where(metered, per_kg, np.nan)
        exceed[name] = np.where(metered, per_h, np.nan)
    samples = dw.samples[meters][:, window].sum(axis=1)
    counts = np.bincount(code, weights=samples, minlength=len(points)).astype(np.int64)
    return StackTotals(tuple(e for e, _ in points), tuple(s for _, s in points), kg, exceed, counts)


__all__ = ["StackTotals", "stack_totals", "stack_totals_of"]
