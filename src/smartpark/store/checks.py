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

from smartpark.core.errors import StoreRejectedError
from smartpark.store.base import KpiRow, Period, ReadingColumns, Scope
from smartpark.store.lineprotocol import escape, string_field

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
