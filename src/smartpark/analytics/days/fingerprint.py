"""The registry facts the day rows depend on, as one short hash.

Beyond the 15-minute rollups' facts (:mod:`analytics.windows.rollups.fingerprint`), a
day row depends on the cells (the registry's time zones), the meter's enterprise and
its park's time zone and pollutant limit (exceedance hours), the time-of-use schedule
of its enterprise's electricity tariff (the kWh per period; prices are applied when
KPIs are computed), and which enterprises make up each park and zone (coincident
demand). Factors, prices, output facts and enclave shares are applied later, so
changing them needs no rebuild. Day rows built with another fingerprint are never read
(:mod:`.source`), and the reader names the command that rebuilds them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from smartpark.analytics.layout import Layout, per_registry, timezones
from smartpark.analytics.windows.rollups.fingerprint import fingerprint as window_fingerprint
from smartpark.core.registry import Registry
from smartpark.core.tariffs import ELECTRICITY, Tariff


@per_registry
def fingerprint(registry: Registry) -> str:
    lay = Layout.of(registry)
    meters: list[Any] = []
    for code, mid in enumerate(registry.meter_ids):
        eid = registry.enterprise_ids[int(lay.enterprise[code])]
        park = registry.parks[registry.enterprises[eid].park]
        limit = float(lay.limit[code])
        tariff = registry.tariffs.tariff_for(eid, park.id, ELECTRICITY)
        meters.append(
            [
                mid,
                eid,
                park.timezone,
                None if limit != limit else limit,
                None if tariff is None else _schedule(tariff),
            ]
        )
    facts = {
        "windows": window_fingerprint(registry),
        "timezones": timezones(registry),
        "meters": meters,
        "rows": [f"{s}/{i}" for s, i in lay.row_ids],
        "enterprise_park": lay.ent_park.tolist(),
        "park_zone": lay.park_zone.tolist(),
    }
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()[:16]


def _schedule(tariff: Tariff) -> list[Any]:
    """What of a tariff decides each window's time-of-use period."""
    return [
        [
            v.valid_from.isoformat(),
            None if v.valid_to is None else v.valid_to.isoformat(),
            sorted(d.isoformat() for d in v.holidays),
            sorted([list(key), slots.tobytes().hex()] for key, slots in v.slots.items()),
        ]
        for v in tariff.versions
    ]


__all__ = ["fingerprint"]
