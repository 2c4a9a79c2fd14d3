"""The registry facts a meter's rollups depend on, as one short hash.

A window's rollup depends on the meter's quantity (counter or gauge, pollutant), its
multiplier, register maximum and interval, whether it is a boundary meter, and for a
pollutant its reference O2 and its stack's O2 and flow meters; and the set of meters
itself (a meter added later has no rollups yet). Nothing else: enterprises, parks,
factors and tariffs are applied when KPIs are computed, so moving a meter to another
enterprise or changing a factor needs no rebuild. Any change of these facts changes
the fingerprint, and rollups built with another fingerprint are never read
(:mod:`.source`): the reader says which command rebuilds them.
"""

from __future__ import annotations

import hashlib
import json

from smartpark.analytics.layout import Layout, per_registry
from smartpark.core.registry import Registry


@per_registry
def fingerprint(registry: Registry) -> str:
    lay = Layout.of(registry)
    facts = [
        [
            mid,
            lay.quantity[code],
            float(lay.multiplier[code]),
            None
            if lay.register_max[code] != lay.register_max[code]
            else float(lay.register_max[code]),
            int(lay.interval_ms[code]),
            bool(lay.boundary[code]),
            _number(float(lay.o2_ref[code])),
            _partner(registry, int(lay.partner_o2[code])),
            _partner(registry, int(lay.partner_flow[code])),
        ]
        for code, mid in enumerate(registry.meter_ids)
    ]
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()[:16]


def _number(x: float) -> float | None:
    return None if x != x else x  # NaN: not set


def _partner(registry: Registry, code: int) -> str | None:
    return registry.meter_ids[code] if code >= 0 else None


__all__ = ["fingerprint"]
