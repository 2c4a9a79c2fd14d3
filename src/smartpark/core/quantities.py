"""The quantity catalogue and unit conversions (docs/contract.md).

Every quantity smartpark knows has a kind (the InfluxDB measurement), a nature
(``counter`` = cumulative register, ``gauge`` = instantaneous), a canonical unit, and the
units it accepts with their exact factor to the canonical one. An unknown quantity or
unit is an error naming the value, never a guess.

Quantities are also numbered (``code``): the position in :data:`QUANTITIES`, stable
within a release, used for the int32 code arrays of the columnar paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from smartpark.core.errors import ContractError

Kind = Literal["energy", "water", "emissions", "waste", "production"]
Nature = Literal["counter", "gauge"]

KINDS: Final[tuple[Kind, ...]] = ("energy", "water", "emissions", "waste", "production")

# Factor families: accepted unit -> multiply by this to get the canonical unit.
_KWH = {"kWh": 1.0, "Wh": 1e-3, "MWh": 1e3, "GWh": 1e6}
_KW = {"kW": 1.0, "W": 1e-3, "MW": 1e3}
_M3 = {"m3": 1.0, "L": 1e-3, "km3": 1e3}
_GAS_M3 = {"m3": 1.0, "Nm3": 1.0, "km3": 1e3, "Nkm3": 1e3}
_TONNE = {"t": 1.0, "kg": 1e-3}
_GJ = {"GJ": 1.0, "MJ": 1e-3, "kJ": 1e-6, "TJ": 1e3}
_M3H = {"m3/h": 1.0, "Nm3/h": 1.0, "m3/s": 3600.0, "L/s": 3.6, "km3/h": 1e3}
_MG_M3 = {"mg/m3": 1.0, "ug/m3": 1e-3, "g/m3": 1e3}
_PERCENT = {"%": 1.0}
_CNY = {"CNY": 1.0, "10k CNY": 1e4}
_M_S = {"m/s": 1.0}
_DEG_C = {"degC": 1.0}
_KPA = {"kPa": 1.0, "Pa": 1e-3, "hPa": 0.1, "MPa": 1e3}
_MG_L = {"mg/L": 1.0, "g/m3": 1.0, "ug/L": 1e-3, "g/L": 1e3}
_PH = {"pH": 1.0}


@dataclass(frozen=True, slots=True)
class Quantity:
    """One measured quantity: its name, kind, nature and units."""

    name: str
    kind: Kind
    nature: Nature
    canonical_unit: str
    units: dict[str, float] = field(hash=False)
    code: int = 0

    def __post_init__(self) -> None:
        if self.units.get(self.canonical_unit) != 1.0:
            raise ValueError(f"{self.name}: canonical unit must convert with factor 1.0")

    def factor(self, unit: str) -> float:
        """Factor that converts ``unit`` into the canonical unit; ``ContractError`` if unknown."""
        try:
            return self.units[unit]
        except (KeyError, TypeError):
            accepted = ", ".join(sorted(self.units))
            raise ContractError(
                "bad_unit",
                "unit",
                f"unit {unit!r} not accepted for {self.name} (accepted: {accepted})",
            ) from None

    def to_canonical(self, value: float, unit: str) -> float:
        return value * self.factor(unit)

    def from_canonical(self, value: float, unit: str) -> float:
        return value / self.factor(unit)


_SPECS: Final[list[tuple[str, Kind, Nature, str, dict[str, float]]]] = [
    ("electricity_import", "energy", "counter", "kWh", _KWH),
    ("electricity_export", "energy", "counter", "kWh", _KWH),
    ("green_electricity_import", "energy", "counter", "kWh", _KWH),
    ("pv_generation", "energy", "counter", "kWh", _KWH),
    ("wind_generation", "energy", "counter", "kWh", _KWH),
    ("active_power", "energy", "gauge", "kW", _KW),
    ("natural_gas", "energy", "counter", "m3", _GAS_M3),
    ("steam", "energy", "counter", "t", _TONNE),
    ("heat", "energy", "counter", "GJ", _GJ),
    ("diesel", "energy", "counter", "t", _TONNE),
    ("coal", "energy", "counter", "t", _TONNE),
    ("fresh_water", "water", "counter", "m3", _M3),
    ("recycled_water", "water", "counter", "m3", _M3),
    ("wastewater_discharge", "water", "counter", "m3", _M3),
    ("water_flow", "water", "gauge", "m3/h", _M3H),
    ("so2", "emissions", "gauge", "mg/m3", _MG_M3),
    ("nox", "emissions", "gauge", "mg/m3", _MG_M3),
    ("particulate", "emissions", "gauge", "mg/m3", _MG_M3),
    ("flue_gas_flow", "emissions", "gauge", "m3/h", _M3H),
    ("o2", "emissions", "gauge", "%", _PERCENT),
    ("output_value", "production", "counter", "CNY", _CNY),
    ("solid_waste_generated", "waste", "counter", "t", _TONNE),
    ("solid_waste_utilised", "waste", "counter", "t", _TONNE),
    # Added for HJ 212 data loggers (CEMS flue gas and wastewater); appended, so the codes
    # of the quantities above do not move.
    ("co", "emissions", "gauge", "mg/m3", _MG_M3),
    ("flue_gas_velocity", "emissions", "gauge", "m/s", _M_S),
    ("flue_gas_temperature", "emissions", "gauge", "degC", _DEG_C),
    ("flue_gas_pressure", "emissions", "gauge", "kPa", _KPA),  # static (gauge) pressure
    ("flue_gas_humidity", "emissions", "gauge", "%", _PERCENT),
    ("wastewater_flow", "water", "gauge", "m3/h", _M3H),
    ("cod", "water", "gauge", "mg/L", _MG_L),  # chemical oxygen demand
    ("nh3_n", "water", "gauge", "mg/L", _MG_L),  # ammonia nitrogen
    ("ph", "water", "gauge", "pH", _PH),
    # A production line's output counter (docs/registry.md, products): tonnes of product.
    ("product_output", "production", "counter", "t", {**_TONNE, "kt": 1e3}),
    # Outdoor air temperature, the driver of an energy-saving project's baseline
    # (docs/savings.md); stored with the energy it explains.
    ("ambient_temperature", "energy", "gauge", "degC", _DEG_C),
]

QUANTITIES: Final[tuple[Quantity, ...]] = tuple(
    Quantity(name, kind, nature, unit, dict(units), code)
    for code, (name, kind, nature, unit, units) in enumerate(_SPECS)
)
BY_NAME: Final[dict[str, Quantity]] = {q.name: q for q in QUANTITIES}
QUANTITY_NAMES: Final[tuple[str, ...]] = tuple(q.name for q in QUANTITIES)

# (quantity name, unit) -> (quantity code, factor): one dict lookup validates both.
UNIT_TABLE: Final[dict[tuple[str, str], tuple[int, float]]] = {
    (q.name, unit): (q.code, factor) for q in QUANTITIES for unit, factor in q.units.items()
}


def get(name: str) -> Quantity:
    """The quantity called ``name``; ``ContractError(unknown_quantity)`` if there is none."""
    try:
        return BY_NAME[name]
    except (KeyError, TypeError):
        raise ContractError("unknown_quantity", "quantity", f"unknown quantity {name!r}") from None
