"""Rollups as the stores hold them: one row per meter and 15-minute window (docs/store.md).

A rollup row carries the per-window quantities of :mod:`smartpark.analytics.windows.meter_windows`
(:data:`FIELDS`); a field at its default (0, NaN, or :data:`NO_TS` for ``last_ts``) may be
left out of a row, and a row with every field at its default may be left out of the
store: absence reads back as the defaults. Next to the rows, each store keeps

* **spans** (:class:`RollupSpan`), one per UTC day: the part ``[lo_ms, hi_ms)`` of the
  day whose rows are complete, the registry fingerprint they were built with, and
  ``complete`` (False while a rebuild of the day is under way: a reader then treats the
  day as not rolled up, so a crash mid-rebuild is never read as a finished day);
* **dirty windows**: every reading write marks its 15-minute windows (``marked`` = the
  write's wall-clock ms); a maintainer that re-rolls a window clears it by recording
  the mark it saw as ``done``. A window is dirty while ``marked > done``, so a write
  racing the maintainer leaves it dirty for the next cycle. The stores list the dirty
  windows of any age without reading the clean ones back (SQLite: a partial index of
  the dirty rows; InfluxDB: influxd evaluates ``marked > done`` itself), so a
  maintainer can re-roll a reading however late it arrives.

The store never interprets the fields; :mod:`smartpark.analytics.windows.rollups` builds and
reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

WINDOW_MS: Final = 15 * 60 * 1000
DAY_MS: Final = 86_400_000
NO_TS: Final = int(np.iinfo(np.int64).min // 4)  # last_ts of a window without readings

# field -> (numpy dtype, default); the order of the SQLite columns.
FIELDS: Final[dict[str, tuple[type[np.generic], float | int]]] = {
    "consumption": (np.float64, 0.0),
    "integral": (np.float64, 0.0),
    "covered": (np.float64, 0.0),
    "vmin": (np.float64, float("nan")),
    "vmax": (np.float64, float("nan")),
    "conc_integral": (np.float64, 0.0),
    "conc_covered": (np.float64, 0.0),
    "mass_kg": (np.float64, 0.0),
    "samples": (np.int64, 0),
    "resets": (np.int64, 0),
    "spikes": (np.int64, 0),
    "last_ts": (np.int64, NO_TS),
    "register": (np.float64, float("nan")),
}
MEASUREMENT: Final = "rollup"
SPAN_MEASUREMENT: Final = "rollup_span"
DIRTY_MEASUREMENT: Final = "rollup_dirty"


@dataclass(frozen=True)
class RollupColumns:
    """Rollup rows as columns, sorted by (meter, window_ms); meter codes index
    ``Registry.meter_ids``."""

    meter: npt.NDArray[np.int32]
    window_ms: npt.NDArray[np.int64]
    values: dict[str, npt.NDArray[np.generic]]  # every name of FIELDS

    def __len__(self) -> int:
        return int(self.meter.shape[0])

    @classmethod
    def empty(cls) -> RollupColumns:
        return cls(
            np.zeros(0, np.int32),
            np.zeros(0, np.int64),
            {name: np.zeros(0, dtype) for name, (dtype, _) in FIELDS.items()},
        )

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_] | slice) -> RollupColumns:
        return RollupColumns(
            self.meter[index], self.window_ms[index], {k: v[index] for k, v in self.values.items()}
        )

    def informative(self) -> npt.NDArray[np.bool_]:
        """Rows with at least one field away from its default (the rest need no row)."""
        out = np.zeros(len(self), np.bool_)
        for name, (_, default) in FIELDS.items():
            out |= non_default(self.values[name], default)
        return out


def non_default(values: npt.NDArray[np.generic], default: float | int) -> npt.NDArray[np.bool_]:
    """True where ``values`` differ from ``default`` (NaN equals a NaN default)."""
    if isinstance(default, float) and default != default:
        return np.asarray(~np.isnan(values.astype(np.float64)), np.bool_)
    return np.asarray(values != default, np.bool_)


@dataclass(frozen=True, slots=True)
class RollupSpan:
    """The rolled-up part ``[lo_ms, hi_ms)`` of the UTC day starting at ``day_ms``."""

    day_ms: int
    lo_ms: int
    hi_ms: int
    fingerprint: str
    complete: bool
    built_ms: int


def days_of(start_ms: int, end_ms: int) -> list[int]:
    """The UTC days (start ms) that ``[start_ms, end_ms)`` touches."""
    first = start_ms // DAY_MS * DAY_MS
    return list(range(first, end_ms, DAY_MS)) if end_ms > start_ms else []


def merged_spans(
    old: dict[int, RollupSpan], start_ms: int, end_ms: int, fingerprint: str, built_ms: int
) -> list[RollupSpan]:
    """The day spans after ``[start_ms, end_ms)`` was rebuilt with ``fingerprint``: a
    complete span of the same fingerprint that touches the new part is extended, any
    other is replaced by the new part."""
    out: list[RollupSpan] = []
    for day in days_of(start_ms, end_ms):
        lo, hi = max(start_ms, day), min(end_ms, day + DAY_MS)
        prev = old.get(day)
        if (
            prev is not None
            and prev.complete
            and prev.fingerprint == fingerprint
            and prev.lo_ms <= hi
            and lo <= prev.hi_ms
        ):
            lo, hi = min(lo, prev.lo_ms), max(hi, prev.hi_ms)
        out.append(RollupSpan(day, lo, hi, fingerprint, True, built_ms))
    return out


def windows_of(ts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The distinct 15-minute windows (start ms) of some timestamps."""
    return np.unique(ts // WINDOW_MS) * WINDOW_MS


class RollupStore(Protocol):
    """The rollup tables of a store (``store.rollups``)."""

    def write(self, start_ms: int, end_ms: int, rows: RollupColumns, fingerprint: str) -> None:
        """Replace every row in ``[start_ms, end_ms)`` (window-aligned) by ``rows`` and
        mark the range rolled up with ``fingerprint``; a crash leaves the touched days
        incomplete, never half old and half new."""
        ...

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> RollupColumns:
        """Rows with ``start_ms <= window_ms < end_ms`` (of ``meters`` only, if given)."""
        ...

    def spans(self, start_ms: int, end_ms: int) -> dict[int, RollupSpan]:
        """The spans of the UTC days ``[start_ms, end_ms)`` touches, by day."""
        ...

    def dirty(
        self, start_ms: int | None = None, end_ms: int | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``(window_ms, marked)`` of the dirty windows with ``start_ms <= window_ms <
        end_ms``, ascending; a bound left out is open (no bounds: every dirty window,
        however old)."""
        ...

    def clear_dirty(self, window_ms: npt.NDArray[np.int64], marked: npt.NDArray[np.int64]) -> None:
        """Record the marks seen (``done = marked``): those windows are clean unless
        written again since."""
        ...


__all__ = [
    "DAY_MS",
    "FIELDS",
    "NO_TS",
    "WINDOW_MS",
    "RollupColumns",
    "RollupSpan",
    "RollupStore",
    "days_of",
    "merged_spans",
    "non_default",
    "windows_of",
]
