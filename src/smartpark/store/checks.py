"""What every store accepts: the same rules for InfluxDB and SQLite.

A batch that breaks them is refused whole with :class:`StoreRejectedError` naming the
field and position, before anything is written; retrying it cannot help (ingest
bisects and dead-letters). A KPI row is storable exactly when it can be written as an
InfluxDB point (:mod:`smartpark.store.lineprotocol` rules), so both stores agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, get_args

import numpy as np
import numpy.typing as npt

from smartpark.core.errors import StoreRejectedError
from smartpark.store.base import KpiRow, Period, ReadingColumns, Scope
from smartpark.store.days import METER_FIELDS, SCOPE_FIELDS, DayColumns
from smartpark.store.lineprotocol import escape, string_field
from smartpark.store.rollups import non_default

SCOPES: Final[tuple[str, ...]] = get_args(Scope)
PERIODS: Final[tuple[str, ...]] = get_args(Period)


def check_readings(readings: ReadingColumns, n_meters: int) -> None:
    """Meter codes index the registry and values are finite, or StoreRejectedError."""
    if len(readings) == 0:
        return
    meter = readings.meter
    outside = (meter < 0) | (meter >= n_meters)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise StoreRejectedError(
            f"meter: code {int(meter[i])} at position {i} not in the registry "
            f"({int(outside.sum())} such readings)"
        )
    finite = np.isfinite(readings.value)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise StoreRejectedError(
            f"value: {float(readings.value[i])!r} at position {i} is not finite "
            f"({int((~finite).sum())} such readings)"
        )


def check_kpi_rows(rows: Sequence[KpiRow]) -> None:
    """Scope, period, id and kpi are storable tags and the value is finite."""
    seen: set[tuple[str, str, str, str]] = set()
    for i, row in enumerate(rows):
        try:
            if row.scope not in SCOPES:
                raise ValueError(f"scope {row.scope!r} not one of {', '.join(SCOPES)}")
            if row.period not in PERIODS:
                raise ValueError(f"period {row.period!r} not one of {', '.join(PERIODS)}")
            tags = (row.scope, row.id, row.period, row.kpi)
            if tags not in seen:
                escape(row.id, "tag_value")
                escape(row.kpi, "tag_value")
                seen.add(tags)
            if row.factors_version:
                string_field(row.factors_version)
            if not np.isfinite(row.value):
                raise ValueError(f"value {row.value!r} is not finite")
            if not isinstance(row.start_ms, int | np.integer):
                raise ValueError(f"start_ms {row.start_ms!r} is not an integer")
        except (ValueError, TypeError) as exc:
            raise StoreRejectedError(f"kpi row {i} {row!r}: {exc}") from None


def non_finite(
    values: dict[str, npt.NDArray[np.generic]],
    fields: dict[str, tuple[type[np.generic], float | int]],
) -> tuple[str, int] | None:
    """The first (field, row) of rows as columns whose value is NaN or infinite, where
    not a NaN at a NaN default (a value that is left out); None if there is none."""
    for name, (dtype, default) in fields.items():
        column = values[name]
        if dtype is np.float64:
            bad = ~np.isfinite(column) & non_default(column, default)
            if bad.any():
                return name, int(np.flatnonzero(bad)[0])
    return None


def check_day_rows(
    cells: npt.NDArray[np.int64],
    meters: DayColumns,
    scopes: DayColumns,
    scope_keys: tuple[str, ...],
    n_meters: int,
) -> None:
    """What a day-level write (:meth:`~smartpark.store.days.DayStore.write`) must hold:
    ascending cell edges, every row at the start of one of those cells, meter codes in
    the registry, scope rows of storable keys of ``scope_keys``, every field there and
    of the row count, values finite (a NaN at a NaN default aside)."""
    if cells.ndim != 1 or (cells.size > 1 and not (np.diff(cells) > 0).all()):
        raise StoreRejectedError(f"day cells: edges must ascend, got {cells[:8].tolist()}…")
    starts = cells[:-1]
    for what, rows, fields, n_keys in (
        ("day meter", meters, METER_FIELDS, n_meters),
        ("day scope", scopes, SCOPE_FIELDS, len(scope_keys)),
    ):
        n = len(rows)
        missing = sorted(set(fields) - set(rows.values))
        if missing:
            raise StoreRejectedError(f"{what} rows: no column {', '.join(missing)}")
        for name, column in (("cell_ms", rows.cell_ms), *rows.values.items()):
            if column.shape != (n,):
                raise StoreRejectedError(f"{what} rows: {name} has shape {column.shape}, not {n}")
        outside = (rows.key < 0) | (rows.key >= n_keys)
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise StoreRejectedError(
                f"{what} row {i}: key {int(rows.key[i])} not in 0..{n_keys - 1}"
            )
        at = np.searchsorted(starts, rows.cell_ms).clip(max=max(len(starts) - 1, 0))
        off = starts[at] != rows.cell_ms if len(starts) else np.ones(n, np.bool_)
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise StoreRejectedError(
                f"{what} row {i}: cell_ms {int(rows.cell_ms[i])} starts none of the cells written"
            )
        bad = non_finite(rows.values, fields)
        if bad is not None:
            name, i = bad
            raise StoreRejectedError(
                f"{what} row {i}: {name} {float(rows.values[name][i])!r} is not finite"
            )
    for k in np.unique(scopes.key).tolist():
        try:
            escape(scope_keys[k], "tag_value")
        except ValueError as exc:
            raise StoreRejectedError(f"day scope key {k}: {exc}") from None


def day_rows_to_write(
    cells: npt.NDArray[np.int64],
    meters: DayColumns,
    scopes: DayColumns,
    scope_keys: tuple[str, ...],
    n_meters: int,
) -> tuple[npt.NDArray[np.int64], DayColumns, DayColumns]:
    """:func:`check_day_rows`, then the edges as int64 and the rows worth storing (a row
    with every field at its default is none): what every store's day write starts with."""
    cells = np.asarray(cells, np.int64)
    check_day_rows(cells, meters, scopes, scope_keys, n_meters)
    return (
        cells,
        meters.take(meters.informative(METER_FIELDS)),
        scopes.take(scopes.informative(SCOPE_FIELDS)),
    )
