"""Day windows as the store's day rows, and back (store/days.py)."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics.days.cells import Cells
from smartpark.analytics.days.day_windows import DayWindows
from smartpark.analytics.layout import Layout
from smartpark.analytics.readings.series import IntArray
from smartpark.core.tariffs import PERIODS
from smartpark.store.days import METER_FIELDS, SCOPE_FIELDS, DayColumns

_KWH: Final = tuple(f"kwh_{p}" for p in PERIODS)


def scope_keys(lay: Layout) -> tuple[str, ...]:
    """The store's key of each scope row: ``enterprise/<id>``, ``park/<id>``, ``zone/<id>``."""
    return tuple(f"{scope}/{ident}" for scope, ident in lay.row_ids)


def to_rows(dw: DayWindows) -> tuple[DayColumns, DayColumns]:
    """Every (meter, cell) and every (scope row, cell) of ``dw`` as rows."""
    starts = dw.cells.starts
    meters = _rows(starts, dw.consumption.shape[0])
    values: dict[str, npt.NDArray[np.generic]] = {}
    for name in METER_FIELDS:
        if name in _KWH:
            values[name] = dw.kwh[_KWH.index(name)].ravel()
        else:
            values[name] = getattr(dw, name).ravel()
    n_rows = dw.demand_sum.shape[0]
    bill = np.zeros_like(dw.demand_sum)
    bill[: dw.bill_peak_kw.shape[0]] = dw.bill_peak_kw
    scope = {"demand_sum": dw.demand_sum, "demand_peak": dw.demand_peak, "bill_peak_kw": bill}
    scopes = _rows(starts, n_rows)
    return (
        DayColumns(meters[0], meters[1], values),
        DayColumns(scopes[0], scopes[1], {k: v.ravel() for k, v in scope.items()}),
    )


def _rows(starts: IntArray, n: int) -> tuple[npt.NDArray[np.int32], IntArray]:
    return np.repeat(np.arange(n, dtype=np.int32), starts.size), np.tile(starts, n)


def to_day_windows(
    lay: Layout,
    cells: Cells,
    meters: DayColumns,
    scopes: DayColumns,
    last_ts_before: IntArray,
) -> DayWindows:
    """The day windows of ``cells`` from day rows (absent rows: the defaults)."""
    n_c = cells.n_cells
    m_fields: dict[str, Any] = _dense(meters, METER_FIELDS, lay.n_meters, cells)
    s_fields = _dense(scopes, SCOPE_FIELDS, lay.n_rows, cells)
    kwh = np.stack([m_fields.pop(name) for name in _KWH]) if n_c else np.zeros((4, lay.n_meters, 0))
    return DayWindows(
        cells,
        **m_fields,
        kwh=kwh,
        demand_sum=s_fields["demand_sum"],
        demand_peak=s_fields["demand_peak"],
        bill_peak_kw=s_fields["bill_peak_kw"][: lay.n_ent],
        last_ts_before=last_ts_before,
    )


def _dense(
    rows: DayColumns,
    fields: dict[str, tuple[type[np.generic], float | int]],
    n: int,
    cells: Cells,
) -> dict[str, npt.NDArray[Any]]:
    k = np.searchsorted(cells.starts, rows.cell_ms)
    ok = (k < cells.n_cells) & (cells.starts[np.minimum(k, cells.n_cells - 1)] == rows.cell_ms)
    ok &= (rows.key >= 0) & (rows.key < n)
    r, k = rows.key[ok], k[ok]
    out: dict[str, npt.NDArray[Any]] = {}
    for name, (dtype, default) in fields.items():
        column = np.full((n, cells.n_cells), default, dtype)
        column[r, k] = rows.values[name][ok]
        out[name] = column
    return out


__all__ = ["scope_keys", "to_day_windows", "to_rows"]
