"""The day level as the stores hold it: rows per meter and cell, per scope and cell
(docs/store.md, "Day level").

A *cell* is the stretch between two consecutive local midnights of the registry's time
zones (one local day when every park, zone and region keeps one time zone; a day split
in two where a second zone's midnight falls inside it). A cell is named by its start
(epoch ms) and ends where the next begins (:attr:`DaySpan.end_ms`).

* **meter rows** (:data:`METER_FIELDS`): per meter and cell, the sums, extremes and
  counts of its 15-minute windows in the cell (the rollup fields of
  :mod:`smartpark.store.rollups`), the hours above its limit and the imported kWh per
  time-of-use period of its enterprise's tariff;
* **scope rows** (:data:`SCOPE_FIELDS`): per enterprise, park and zone (a text key,
  ``enterprise/<id>``) and cell, the sum and the largest of its coincident 15-minute
  demand, and an enterprise's largest billed demand (4 x its imported kWh of a window);
* **spans** (:class:`DaySpan`), one per cell: its end, the fingerprint of what the rows
  were built from, and ``complete`` (False while a rebuild of the cell is under way: a
  reader then treats the cell as not built, so a crash mid-rebuild is never read as a
  finished day).

A field at its default may be left out of a row, and a row with every field at its
default may be left out of the store: absence reads back as the defaults. The store
never interprets the fields; :mod:`smartpark.analytics.days` builds and reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from smartpark.store.rollups import FIELDS as WINDOW_FIELDS
from smartpark.store.rollups import non_default

# field -> (numpy dtype, default); the order of the SQLite columns.
METER_FIELDS: Final[dict[str, tuple[type[np.generic], float | int]]] = {
    **WINDOW_FIELDS,
    "exceed_h": (np.float64, 0.0),
    "kwh_sharp": (np.float64, 0.0),
    "kwh_peak": (np.float64, 0.0),
    "kwh_flat": (np.float64, 0.0),
    "kwh_valley": (np.float64, 0.0),
}
SCOPE_FIELDS: Final[dict[str, tuple[type[np.generic], float | int]]] = {
    "demand_sum": (np.float64, 0.0),
    "demand_peak": (np.float64, 0.0),
    "bill_peak_kw": (np.float64, 0.0),
}
METER_MEASUREMENT: Final = "day_meter_cell"
SCOPE_MEASUREMENT: Final = "day_scope_cell"
SPAN_MEASUREMENT: Final = "day_span"


@dataclass(frozen=True)
class DayColumns:
    """Day-level rows as columns, sorted by (key, cell_ms). ``key`` is a meter code
    (index into ``Registry.meter_ids``) for meter rows, an index into the ``keys`` the
    caller passed for scope rows."""

    key: npt.NDArray[np.int32]
    cell_ms: npt.NDArray[np.int64]
    values: dict[str, npt.NDArray[np.generic]]  # every name of its FIELDS

    def __len__(self) -> int:
        return int(self.key.shape[0])

    @classmethod
    def empty(cls, fields: dict[str, tuple[type[np.generic], float | int]]) -> DayColumns:
        return cls(
            np.zeros(0, np.int32),
            np.zeros(0, np.int64),
            {name: np.zeros(0, dtype) for name, (dtype, _) in fields.items()},
        )

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_] | slice) -> DayColumns:
        return DayColumns(
            self.key[index], self.cell_ms[index], {k: v[index] for k, v in self.values.items()}
        )

    def informative(
        self, fields: dict[str, tuple[type[np.generic], float | int]]
    ) -> npt.NDArray[np.bool_]:
        """Rows with at least one field away from its default (the rest need no row)."""
        out = np.zeros(len(self), np.bool_)
        for name, (_, default) in fields.items():
            out |= non_default(self.values[name], default)
        return out


Fields = dict[str, tuple[type[np.generic], float | int]]
_LE: Final[dict[type[np.generic], str]] = {np.int64: "<i8", np.float64: "<f8"}


def cell_runs(
    rows: DayColumns, keys: npt.NDArray[np.int64], most: int
) -> list[npt.NDArray[np.intp]]:
    """How a day is stored as columns (sqlite_days.py, influx_days.py): the row indices
    of each cell, in ``keys`` order, in runs of at most ``most`` rows."""
    order = np.lexsort((keys, rows.cell_ms))
    breaks = np.flatnonzero(np.diff(rows.cell_ms[order])) + 1
    return [
        cell[a : a + most]
        for cell in (np.split(order, breaks) if order.size else [])
        for a in range(0, cell.size, most)
    ]


def column_bytes(values: npt.NDArray[np.generic], dtype: type[np.generic]) -> bytes:
    """A column as stored: little-endian int64 or float64 (NaN as NaN)."""
    return np.ascontiguousarray(values, _LE[dtype]).tobytes()


def column_of(data: bytes, dtype: type[np.generic]) -> npt.NDArray[np.generic]:
    """The column :func:`column_bytes` stored, in the machine's order."""
    return np.frombuffer(data, _LE[dtype]).astype(dtype)


@dataclass(frozen=True, slots=True)
class DaySpan:
    """The built cell ``[cell_ms, end_ms)``."""

    cell_ms: int
    end_ms: int
    fingerprint: str
    complete: bool
    built_ms: int


class DayStore(Protocol):
    """The day-level tables of a store (``store.days``)."""

    def write(
        self,
        cells: npt.NDArray[np.int64],
        meters: DayColumns,
        scopes: DayColumns,
        scope_keys: tuple[str, ...],
        fingerprint: str,
    ) -> None:
        """Replace every row of the cells ``cells[k]..cells[k+1]`` (their edges, ascending)
        by ``meters`` and ``scopes`` (``scopes.key`` indexes ``scope_keys``) and record
        their spans with ``fingerprint``; a crash leaves the touched cells incomplete,
        never half old and half new."""
        ...

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> DayColumns:
        """Meter rows with ``start_ms <= cell_ms < end_ms`` (of ``meters`` only, if given)."""
        ...

    def read_scopes(self, start_ms: int, end_ms: int, scope_keys: tuple[str, ...]) -> DayColumns:
        """Scope rows with ``start_ms <= cell_ms < end_ms`` of the keys ``scope_keys``
        (``key`` indexes it; rows of other keys are left out)."""
        ...

    def spans(self, start_ms: int, end_ms: int) -> dict[int, DaySpan]:
        """The spans of the cells with ``start_ms <= cell_ms < end_ms``, by cell start."""
        ...


__all__ = [
    "METER_FIELDS",
    "METER_MEASUREMENT",
    "SCOPE_FIELDS",
    "SCOPE_MEASUREMENT",
    "SPAN_MEASUREMENT",
    "DayColumns",
    "DaySpan",
    "DayStore",
    "Fields",
    "cell_runs",
    "column_bytes",
    "column_of",
]
