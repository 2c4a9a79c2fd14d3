"""The faults the demo stages on purpose, so its summary can show they are handled.

- one gateway drops offline for an hour of simulated time and catches up from its outbox;
- one energy counter resets to zero (a meter replaced or its register cleared);
- one CEMS NOx meter runs above its park's limit for two hours.

The last two edit simulated readings as a real meter would produce them; the first is
done by the runner (it stops that gateway's publisher for the hour).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smartpark.core.registry import Registry
from smartpark.gateway.drivers.simulator import SimMeter, values
from smartpark.gateway.readings import ReadingBatch

HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class Faults:
    offline_gateway: str
    offline_from_ms: int
    offline_to_ms: int
    reset_meter: str
    reset_at_ms: int
    reset_offset: float  # the register value the reset takes away
    exceed_meter: str
    exceed_from_ms: int
    exceed_to_ms: int
    exceed_value: float  # mg/m3 during the exceedance

    def apply(self, batch: ReadingBatch) -> ReadingBatch:
        """The simulated readings with the counter reset and the exceedance staged."""
        if not len(batch):
            return batch
        value = batch.value.copy()
        reset = (batch.meter == self.reset_meter) & (batch.ts >= self.reset_at_ms)
        value[reset] = np.round(np.maximum(value[reset] - self.reset_offset, 0.0), 3)
        exceed = (
            (batch.meter == self.exceed_meter)
            & (batch.ts >= self.exceed_from_ms)
            & (batch.ts < self.exceed_to_ms)
        )
        value[exceed] = self.exceed_value
        return ReadingBatch(batch.meter, batch.quantity, batch.unit, batch.ts, value)


def plan(registry: Registry, sims: dict[str, SimMeter], start_ms: int, end_ms: int) -> Faults:
    """Pick deterministic places for the faults inside ``[start_ms, end_ms)``."""
    span = end_ms - start_ms
    gateways = registry.gateway_ids
    offline = gateways[len(gateways) // 2]
    off_from = start_ms + (span // 3) // HOUR_MS * HOUR_MS
    counters = [
        m.id
        for m in registry.meters.values()
        if m.quantity == "electricity_import"
        and m.role == "boundary"
        and m.register_max is None
        and m.gateway != offline
    ]
    reset_meter = counters[-1]
    reset_at = start_ms + (span // 2) // HOUR_MS * HOUR_MS + 30 * 60_000
    before_reset = values(sims[reset_meter], np.array([reset_at - 1], dtype=np.int64))[0]
    nox = sorted(m.id for m in registry.meters.values() if m.quantity == "nox")
    exceed_meter = nox[0]
    park = registry.parks[registry.park_of_meter(exceed_meter)]
    ex_from = start_ms + (2 * span // 3) // HOUR_MS * HOUR_MS
    return Faults(
        offline_gateway=offline,
        offline_from_ms=off_from,
        offline_to_ms=off_from + HOUR_MS,
        reset_meter=reset_meter,
        reset_at_ms=reset_at,
        reset_offset=float(before_reset),
        exceed_meter=exceed_meter,
        exceed_from_ms=ex_from,
        exceed_to_ms=ex_from + 2 * HOUR_MS,
        exceed_value=1.8 * park.limits["nox"],
    )
