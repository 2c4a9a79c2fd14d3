"""Default KPI coefficients (docs/kpis.md) that a park's registry entry may override.

Each entry: value, unit, source. The set used for a KPI is named by ``factors_version``
so a number can always be traced back to its coefficients. A park has one or more
factor sets (:class:`FactorSet`), each valid for a range of local dates (docs/registry.md);
:data:`FACTOR_SETS` are the published sets a registry entry may name with ``set``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

DEFAULT_FACTORS_VERSION: Final = "cn-2023-national"


@dataclass(frozen=True, slots=True)
class Factor:
    value: float
    unit: str
    source: str


_GB2589 = "GB/T 2589-2020 Appendix A"
_GHG = "GB/T 32150-2015 family (Chinese corporate GHG accounting guidelines)"

DEFAULT_FACTORS: Final[dict[str, Factor]] = {
    # Conversion to standard coal equivalent.
    "electricity_tce_per_kwh": Factor(0.0001229, "tce/kWh", f"{_GB2589}, equivalent value"),
    "natural_gas_tce_per_m3": Factor(0.0012143, "tce/m3", f"{_GB2589}, gas field"),
    "coal_tce_per_t": Factor(0.7143, "tce/t", _GB2589),
    "diesel_tce_per_t": Factor(1.4571, "tce/t", _GB2589),
    "heat_tce_per_gj": Factor(0.03412, "tce/GJ", _GB2589),
    "steam_tce_per_t": Factor(0.1286, "tce/t", f"{_GB2589}, low-pressure steam"),
    # Steam to heat for scope 2: the GB/T 2589 equivalence 0.1286 / 0.03412.
    "steam_gj_per_t": Factor(0.1286 / 0.03412, "GJ/t", _GB2589),
    # CO2 emission factors.
    "grid_tco2_per_mwh": Factor(
        0.5306, "tCO2/MWh", "MEE and NBS, national grid average 2023 (published 2026-01)"
    ),
    # Market-based scope 2 (docs/kpis.md): electricity not covered by certificates.
    "grid_residual_tco2_per_mwh": Factor(
        0.6096,
        "tCO2/MWh",
        "MEE and NBS, national average 2023 excluding market-traded non-fossil electricity",
    ),
    "heat_tco2_per_gj": Factor(0.11, "tCO2/GJ", _GHG),
    "natural_gas_tco2_per_km3": Factor(2.162, "tCO2/1000 m3", _GHG),
    "coal_tco2_per_t": Factor(1.900, "tCO2/t", _GHG),
    "diesel_tco2_per_t": Factor(3.096, "tCO2/t", _GHG),
}

# Default emission limits, GB 13271-2014, new gas-fired boilers (mg/m3).
DEFAULT_LIMITS: Final[dict[str, float]] = {"particulate": 20.0, "so2": 50.0, "nox": 200.0}

_NATIONAL_2022: Final = 0.5366  # MEE and NBS announcement of 2024-12-20
_NATIONAL_2021: Final = 0.5568

FACTOR_SETS: Final[dict[str, dict[str, float]]] = {
    # name -> overrides of DEFAULT_FACTORS; the regional grids of the 2023 announcement.
    DEFAULT_FACTORS_VERSION: {},
    "cn-2022-national": {"grid_tco2_per_mwh": _NATIONAL_2022},
    "cn-2021-national": {"grid_tco2_per_mwh": _NATIONAL_2021},
    "cn-2023-north": {"grid_tco2_per_mwh": 0.6361},
    "cn-2023-northeast": {"grid_tco2_per_mwh": 0.5122},
    "cn-2023-east": {"grid_tco2_per_mwh": 0.5500},
    "cn-2023-central": {"grid_tco2_per_mwh": 0.5271},
    "cn-2023-northwest": {"grid_tco2_per_mwh": 0.5543},
    "cn-2023-south": {"grid_tco2_per_mwh": 0.4042},
    "cn-2023-southwest": {"grid_tco2_per_mwh": 0.2472},
}


@dataclass(frozen=True, slots=True)
class FactorSet:
    """Coefficients valid from ``valid_from`` (inclusive) to ``valid_to`` (exclusive),
    local dates of the park; None is open-ended. ``values`` override the defaults."""

    version: str
    values: Mapping[str, float] = field(default_factory=dict)
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    def factor(self, name: str) -> float:
        return self.values.get(name, DEFAULT_FACTORS[name].value)


DEFAULT_SET: Final = FactorSet(DEFAULT_FACTORS_VERSION)
