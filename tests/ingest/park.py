"""A small park registry shared by the ingest tests, and readings of its meters.

Payloads are built with :mod:`smartpark.testing.payloads`.
"""

from __future__ import annotations

import tomllib
from typing import Any

from smartpark.core import registry
from smartpark.testing import payloads

REGISTRY_TOML = """\
[zone.z]
name = "Zone"

[park.p1]
zone = "z"
name = "Park 1"

[park.p2]
zone = "z"
name = "Park 2"

[enterprise.e1]
park = "p1"
name = "E1"

[enterprise.e2]
park = "p1"
name = "E2"

[enterprise.e3]
park = "p2"
name = "E3"

[gateway.g1]
park = "p1"

[gateway.g2]
park = "p1"

[gateway.g3]
park = "p2"

[meter.m-elec]
enterprise = "e1"
gateway = "g1"
quantity = "electricity_import"

[meter.m-gas]
enterprise = "e1"
gateway = "g1"
quantity = "natural_gas"

[meter.m-power]
enterprise = "e1"
gateway = "g1"
quantity = "active_power"
multiplier = 10.0

[meter.m-water]
enterprise = "e2"
gateway = "g2"
quantity = "fresh_water"

[meter.m-nox]
enterprise = "e3"
gateway = "g3"
quantity = "nox"
"""

REGISTRY_DOC: dict[str, Any] = tomllib.loads(REGISTRY_TOML)

UNITS = {
    "m-elec": ("electricity_import", "kWh"),
    "m-gas": ("natural_gas", "m3"),
    "m-power": ("active_power", "kW"),
    "m-water": ("fresh_water", "m3"),
    "m-nox": ("nox", "mg/m3"),
}


def park_registry() -> registry.Registry:
    return registry.from_dict(REGISTRY_DOC)


def reading(meter: str, ts: Any, value: Any, **over: Any) -> dict[str, Any]:
    """A reading of ``meter`` in its registry quantity and unit; ``over`` replaces fields."""
    quantity, unit = UNITS.get(meter, ("electricity_import", "kWh"))
    out = payloads.reading(meter, ts, value, quantity=quantity, unit=unit)
    out.update(over)
    return out
