"""A registry that exercises everything the day level must carry exactly.

The random meters of test_rollups_exact (gaps, resets, rollovers, spikes, sub meters,
stacks with O2 and flow) over parks at +08:00, +05:45 (with a NOx limit), +01:00/+02:00
with DST, -03:30/-02:30 with DST and +05:30; and on top: time-of-use tariffs whose
versions change mid-month (with a holiday and a capacity charge), a gas tariff, a
factor-set change mid-month, green certificates, and regions with an enclave whose
sharing changes mid-month.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from smartpark.core import registry as registry_mod
from smartpark.core.registry import Registry

from .parks import TZ
from .test_cost import TARIFFS
from .test_rollups_exact import METERS

PARKS: dict[str, str] = {
    "p1": TZ,
    "p2": "Asia/Kathmandu",
    "p3": "Europe/Berlin",
    "p4": "America/St_Johns",
    "p5": "Asia/Kolkata",
}
ENTERPRISE_PARK = {"a": "p1", "b": "p2", "c": "p3", "d": "p4", "e": "p5"}
SETS = [
    {"factors_version": "old", "grid_tco2_per_mwh": 0.5366, "valid_to": dt.date(2026, 12, 16)},
    {"factors_version": "new", "grid_tco2_per_mwh": 0.5306, "valid_from": dt.date(2026, 12, 16)},
]
SHARES = {
    "output_value": {"home": 0.4, "partner": 0.6},
    "energy": {"home": 0.5, "partner": 0.5},
    "co2": {"home": 0.7, "partner": 0.3},
}


def days_registry(
    meters: dict[str, dict[str, Any]] = METERS, *, limits: dict[str, float] | None = None
) -> Registry:
    parks: dict[str, Any] = {}
    for pid, tz in PARKS.items():
        parks[pid] = {"zone": "z1", "name": pid, "timezone": tz, "region": "home"}
    parks["p1"]["factors"] = SETS
    parks["p2"] |= {"limits": limits or {"nox": 40.0, "so2": 35.0}}
    parks["p3"] |= {
        "enclave": True,
        "sharing": {
            "partner": "partner",
            "periods": [{"valid_from": dt.date(2026, 12, 12), **SHARES}],
        },
    }
    enterprises: dict[str, Any] = {e: {"park": p, "name": e} for e, p in ENTERPRISE_PARK.items()}
    enterprises["a"]["green_certificates"] = {"2026-12": 40.0, "2027-01": 15.0}
    doc = {
        "zone": {"z1": {"name": "Z1", "timezone": TZ}},
        "region": {
            "home": {"name": "Home", "kind": "city", "timezone": TZ},
            "partner": {"name": "Partner", "kind": "city", "timezone": "Asia/Kolkata"},
        },
        "park": parks,
        "enterprise": enterprises,
        "gateway": {f"g-{e}": {"park": p} for e, p in ENTERPRISE_PARK.items()},
        "meter": {
            mid: {**table, "gateway": f"g-{table['enterprise']}"} for mid, table in meters.items()
        },
    }
    tariffs = {
        "park": {p: {"electricity_import": "tou", "natural_gas": "gas"} for p in PARKS},
        "enterprise": {"c": {"electricity_import": "tou-kva", "transformer_kva": 1250.0}},
        "tariff": TARIFFS["tariff"],
    }
    return registry_mod.attach_tariffs(registry_mod.from_dict(doc), tariffs)
