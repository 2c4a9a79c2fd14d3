"""Pollutant codes of HJ 212 loggers -> smartpark quantities and the units the codes use.

Units are the standard's for ``-Rtd``/``-Avg``/``-Min``/``-Max`` (HJ 212-2017 Appendix B;
HJ/T 212-2005 Appendix for the old codes); ``-Cou`` (interval totals: kg, m3) is parsed but
not stored (docs/gateway.md). The 2005 codes were checked against a public code table
(lingkejia/bocon-operation-app ``src/lib/polcodeList05.js``): 01 烟尘 particulate, 02 SO2,
03 NOx, 04 CO, B02 废气 flue-gas flow, S01 O2, S02 flow velocity, S03 temperature, S05
humidity, S08 烟气压力 pressure; water B01 wastewater, 011 COD, 060 NH3-N, 001 pH.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from smartpark.core import quantities


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    quantity: str
    unit: str  # one of the quantity's accepted units
    name: str


def _codes(*rows: tuple[str, str, str, str]) -> dict[str, Code]:
    out = {}
    for code, quantity, unit, name in rows:
        quantities.get(quantity).factor(unit)  # a wrong row fails at import, not at run time
        out[code] = Code(code, quantity, unit, name)
    return out


CODES: Final[dict[str, Code]] = _codes(
    # flue gas, HJ 212-2017
    ("a21026", "so2", "mg/m3", "SO2"),
    ("a21002", "nox", "mg/m3", "NOx"),
    ("a34013", "particulate", "mg/m3", "particulate (烟尘)"),
    ("a19001", "o2", "%", "O2"),
    ("a00000", "flue_gas_flow", "m3/s", "flue-gas flow (废气)"),
    ("a01011", "flue_gas_velocity", "m/s", "flue-gas velocity"),
    ("a01012", "flue_gas_temperature", "degC", "flue-gas temperature"),
    ("a01013", "flue_gas_pressure", "kPa", "flue-gas pressure"),
    ("a01014", "flue_gas_humidity", "%", "flue-gas humidity"),
    ("a21005", "co", "mg/m3", "CO"),
    # flue gas, HJ/T 212-2005
    ("01", "particulate", "mg/m3", "particulate (烟尘), 2005"),
    ("02", "so2", "mg/m3", "SO2, 2005"),
    ("03", "nox", "mg/m3", "NOx, 2005"),
    ("04", "co", "mg/m3", "CO, 2005"),
    ("B02", "flue_gas_flow", "m3/s", "flue-gas flow (废气), 2005"),
    ("S01", "o2", "%", "O2, 2005"),
    ("S02", "flue_gas_velocity", "m/s", "flue-gas velocity, 2005"),
    ("S03", "flue_gas_temperature", "degC", "flue-gas temperature, 2005"),
    ("S05", "flue_gas_humidity", "%", "flue-gas humidity, 2005"),
    ("S08", "flue_gas_pressure", "kPa", "flue-gas pressure, 2005"),
    # wastewater, HJ 212-2017
    ("w00000", "wastewater_flow", "L/s", "wastewater flow"),
    ("w01018", "cod", "mg/L", "COD"),
    ("w21003", "nh3_n", "mg/L", "NH3-N"),
    ("w01001", "ph", "pH", "pH"),
    # wastewater, HJ/T 212-2005
    ("B01", "wastewater_flow", "L/s", "wastewater flow (污水), 2005"),
    ("011", "cod", "mg/L", "COD, 2005"),
    ("060", "nh3_n", "mg/L", "NH3-N, 2005"),
    ("001", "ph", "pH", "pH, 2005"),
)
