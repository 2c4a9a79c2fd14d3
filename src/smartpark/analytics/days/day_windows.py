"""What the KPI engine reads per meter and column: 15-minute windows or day cells.

:class:`DayWindows` carries, per meter and cell (:mod:`.cells`), the fields of
:class:`~analytics.windows.meter_windows.MeterWindows` summed (consumption, integrals,
coverage, mass, counts), their extremes (``vmin``, ``vmax``), the last reading
(``last_ts``, ``register``) and what a cell cannot recover from sums, per window first
and then summed:

* ``exceed_h``: the local hours above the park's limit that begin in the cell (1 at the
  first window of each, :mod:`analytics.windows.stacks`);
* ``kwh``: a boundary import meter's kWh per time-of-use period of its enterprise's
  tariff (the bands the energy charge prices);

and per scope row (enterprises, parks, zones; :class:`~analytics.layout.Layout`):

* ``demand_sum`` / ``demand_peak``: the sum and the largest of the row's coincident
  15-minute demand (the mean of its active power meters, else 4 x its imported kWh;
  a park's is its enterprises' together, so its peak is never the sum of their peaks);
* ``bill_peak_kw`` (enterprises): the largest 4 x imported kWh of a window, the demand
  the tariff bills.

:func:`of_windows` forms them from 15-minute windows, on the windows themselves (hours
need them) or summed into day cells; the day level stores the latter
(:mod:`.rows`), so a month reads 30 columns instead of 2,880 with the same result.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, fields
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics.days.cells import Cells
from smartpark.analytics.layout import Layout, group_sum
from smartpark.analytics.periods import WINDOW_MS
from smartpark.analytics.readings.meters import MISSING_TS
from smartpark.analytics.readings.series import FloatArray, IntArray
from smartpark.analytics.windows.meter_windows import WINDOW_FIELDS, MeterWindows
from smartpark.analytics.windows.stacks import pollutant_windows
from smartpark.core.registry import Registry
from smartpark.core.tariffs import ELECTRICITY, PERIODS, Tariff, window_prices

_SUMS: Final = (
    "consumption",
    "integral",
    "covered",
    "conc_integral",
    "conc_covered",
    "mass_kg",
    "samples",
    "resets",
    "spikes",
)


@dataclass(frozen=True)
class DayWindows:
    """Per meter (rows) or scope row, and cell (columns) of :attr:`cells`."""

    cells: Cells
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
    exceed_h: FloatArray
    kwh: FloatArray  # (time-of-use periods, meters, cells)
    demand_sum: FloatArray  # (scope rows, cells)
    demand_peak: FloatArray  # (scope rows, cells)
    bill_peak_kw: FloatArray  # (enterprises, cells)
    last_ts_before: IntArray  # (meters,): last usable reading before the first cell
    dense_meters: int = 0

    def last_before_points(self) -> IntArray:
        """(meters, cells + 1): the last usable reading strictly before each edge."""
        per_cell = np.where(self.samples > 0, self.last_ts, MISSING_TS)
        stacked = np.concatenate([self.last_ts_before[:, None], per_cell], axis=1)
        return np.maximum.accumulate(stacked, axis=1)

    @classmethod
    def join(cls, parts: list[DayWindows]) -> DayWindows:
        """Adjacent parts (each starting where the one before ends) as one."""
        for a, b in itertools.pairwise(parts):
            if a.cells.end_ms != b.cells.start_ms:
                raise ValueError("DayWindows.join: parts are not adjacent")
        if len(parts) == 1:
            return parts[0]
        points = np.concatenate([parts[0].cells.points, *(p.cells.points[1:] for p in parts[1:])])
        joined = {f: np.concatenate([getattr(p, f) for p in parts], axis=-1) for f in CELL_FIELDS}
        return cls(
            Cells(points),
            **joined,
            last_ts_before=parts[0].last_ts_before,
            dense_meters=sum(p.dense_meters for p in parts),
        )


CELL_FIELDS: Final = tuple(
    f.name for f in fields(DayWindows) if f.name not in ("cells", "last_ts_before", "dense_meters")
)


def of_windows(registry: Registry, mw: MeterWindows, cells: Cells | None = None) -> DayWindows:
    """``mw`` on its own windows (``cells`` None) or summed into ``cells``, which must
    lie inside its grid."""
    lay = Layout.of(registry)
    exceed = np.zeros(mw.consumption.shape)
    pw = pollutant_windows(lay, mw)
    exceed[pw.meters] = pw.exceed_h
    kwh = _tou_kwh(registry, lay, mw)
    demand = lay.lift(_demand(lay, mw))
    bill = 4.0 * group_sum(
        mw.consumption[_import_meters(lay)],
        lay.enterprise[_import_meters(lay)],
        lay.n_ent,
    )
    base = {f: getattr(mw, f) for f in WINDOW_FIELDS}
    if cells is None:
        return DayWindows(
            Cells.of_grid(mw.grid),
            **base,
            exceed_h=exceed,
            kwh=kwh,
            demand_sum=demand,
            demand_peak=demand,
            bill_peak_kw=bill,
            last_ts_before=mw.last_ts_before,
            dense_meters=mw.dense_meters,
        )
    gi = ((cells.points - mw.start_ms) // WINDOW_MS).astype(np.intp)
    if gi[0] < 0 or gi[-1] > mw.n_windows:
        raise ValueError("of_windows: cells reach outside the windows")
    before = mw.last_before_points()[:, gi[0]] if gi[0] > 0 else mw.last_ts_before
    out: dict[str, Any] = {name: _sum(base[name], gi) for name in _SUMS}
    return DayWindows(
        cells,
        **out,
        vmin=_reduce(np.fmin, base["vmin"], gi),
        vmax=_reduce(np.fmax, base["vmax"], gi),
        last_ts=_reduce(np.maximum, base["last_ts"], gi),
        register=_last_value(base["register"], gi),
        exceed_h=_sum(exceed, gi),
        kwh=_sum(kwh, gi),
        demand_sum=_sum(demand, gi),
        demand_peak=_reduce(np.maximum, demand, gi),
        bill_peak_kw=_reduce(np.maximum, bill, gi),
        last_ts_before=before,
        dense_meters=mw.dense_meters,
    )


def _sum(x: npt.NDArray[Any], gi: npt.NDArray[np.intp]) -> npt.NDArray[Any]:
    return _reduce(np.add, x, gi)


def _reduce(op: np.ufunc, x: npt.NDArray[Any], gi: npt.NDArray[np.intp]) -> npt.NDArray[Any]:
    """``op`` over the windows of each cell (last axis); cells are never empty."""
    return np.asarray(op.reduceat(x[..., : gi[-1]], gi[:-1], axis=-1))


def _last_value(register: FloatArray, gi: npt.NDArray[np.intp]) -> FloatArray:
    """Per cell, the register of its last window that has one (NaN: none)."""
    n_w = register.shape[1]
    at = np.where(np.isnan(register), -1, np.arange(n_w)[None, :])
    last = np.maximum.accumulate(at, axis=1)[:, gi[1:] - 1]
    ok = last >= gi[:-1][None, :]
    return np.where(ok, np.take_along_axis(register, np.maximum(last, 0), axis=1), np.nan)


def _import_meters(lay: Layout) -> npt.NDArray[np.int32]:
    """The boundary meters of imported electricity (the tariffed, billed kWh)."""
    return lay.meters_where(lay.of_quantity(ELECTRICITY) & lay.boundary & lay.is_counter)


def _demand(lay: Layout, mw: MeterWindows) -> FloatArray:
    """Per enterprise and window: the 15-minute mean of its boundary active power meters,
    else 4 x its imported kWh."""
    pmeters = lay.meters_where(lay.of_quantity("active_power") & lay.boundary)
    integral = mw.integral[pmeters]
    covered = mw.covered[pmeters]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_kw = np.where(covered > 0, integral / covered, 0.0)
    power_e = group_sum(mean_kw, lay.enterprise[pmeters], lay.n_ent)
    has_power = np.bincount(lay.enterprise[pmeters], minlength=lay.n_ent) > 0
    imports = _import_meters(lay)
    import_e = group_sum(mw.consumption[imports], lay.enterprise[imports], lay.n_ent)
    return np.where(has_power[:, None], power_e, 4.0 * import_e)


def _tou_kwh(registry: Registry, lay: Layout, mw: MeterWindows) -> FloatArray:
    """(periods, meters, windows): each boundary import meter's kWh in the windows of
    each time-of-use period of its enterprise's electricity tariff (none: 0)."""
    out = np.zeros((len(PERIODS), *mw.consumption.shape))
    grid = mw.grid
    # The meters of each (tariff, time zone) share one period per window.
    groups: dict[tuple[str, str], list[int]] = {}
    tariffs: dict[str, Tariff] = {}
    for m in _import_meters(lay).tolist():
        eid = registry.enterprise_ids[int(lay.enterprise[m])]
        park = registry.parks[registry.enterprises[eid].park]
        tariff = registry.tariffs.tariff_for(eid, park.id, ELECTRICITY)
        if tariff is not None:
            tariffs[tariff.id] = tariff
            groups.setdefault((tariff.id, park.timezone), []).append(m)
    for (tid, tz), members in groups.items():
        period = window_prices(tariffs[tid], tz, grid.start_ms, grid.n_windows).period
        rows = np.array(members, np.intp)
        for k in range(len(PERIODS)):
            out[k, rows] = np.where(period[None, :] == k, mw.consumption[rows], 0.0)
    return out


__all__ = ["CELL_FIELDS", "DayWindows", "of_windows"]
