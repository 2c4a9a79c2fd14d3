"""Screen readings before they enter the outbox: non-finite, impossible, or in a bad unit.

Applied to every driver's output (vectorized); a rejected reading becomes a
:class:`~gateway.drivers.base.MeterError` (counted and logged with its meter id) and is
never published as data.
"""

from __future__ import annotations

import numpy as np

from smartpark.core import quantities
from smartpark.gateway.drivers.base import BAD_UNIT, IMPOSSIBLE, NON_FINITE, MeterError
from smartpark.gateway.readings import ReadingBatch

# Quantities whose value may be negative (a power meter reading export as negative; a
# flue's static pressure is usually below the ambient; a winter stack can read below 0 degC).
SIGNED = frozenset({"active_power", "flue_gas_pressure", "flue_gas_temperature"})
# Upper bounds in the canonical unit.
MAXIMUM = {"o2": 100.0, "flue_gas_humidity": 100.0, "ph": 14.0}


def screen(batch: ReadingBatch) -> tuple[ReadingBatch, list[MeterError]]:
    """The readings that may be published, and an error for each one that may not."""
    n = len(batch)
    if n == 0:
        return batch, []
    table = quantities.UNIT_TABLE
    factor = np.fromiter(
        (
            table.get((q, u), (-1, np.nan))[1]
            for q, u in zip(batch.quantity.tolist(), batch.unit.tolist(), strict=True)
        ),
        dtype=np.float64,
        count=n,
    )
    bad_unit = np.isnan(factor)
    non_finite = ~np.isfinite(batch.value) & ~bad_unit
    canonical = np.where(bad_unit | non_finite, 0.0, batch.value * np.nan_to_num(factor))
    signed = np.isin(batch.quantity, list(SIGNED))
    impossible = ~bad_unit & ~non_finite & ((canonical < 0) & ~signed)
    for name, top in MAXIMUM.items():
        impossible |= (batch.quantity == name) & (canonical > top) & ~bad_unit
    bad = bad_unit | non_finite | impossible
    if not bad.any():
        return batch, []
    errors = []
    for i in np.flatnonzero(bad).tolist():
        meter, q, u, v = batch.meter[i], batch.quantity[i], batch.unit[i], float(batch.value[i])
        if bad_unit[i]:
            errors.append(MeterError(meter, BAD_UNIT, f"unit {u!r} not accepted for {q}"))
        elif non_finite[i]:
            errors.append(MeterError(meter, NON_FINITE, f"{q} value {v!r} is not finite"))
        else:
            errors.append(MeterError(meter, IMPOSSIBLE, f"{q} value {v!r} {u} is impossible"))
    return batch.select(~bad), errors
