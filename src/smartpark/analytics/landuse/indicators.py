"""Per-mu indicators per enterprise and year (docs/landuse.md §2), as whole arrays.

Every input is an array of one shape (enterprises, or enterprises × years); every output
has that shape too. An indicator is NaN where an input is missing or its denominator is
not positive: the evaluation turns that into a visible "not graded: reason", never a
zero. One exception: ``va_per_pollutant`` of an enterprise that discharged 0 t with a
positive value added is +inf (it earns the capped item score), and inf never enters a
benchmark mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt

M2_PER_MU: Final = 10_000 / 15  # 1 mu ≈ 666.67 m2; exactly 1 500 mu per km2

INDICATORS: Final = (
    "tax_per_mu",
    "revenue_per_mu",
    "va_per_mu",
    "va_per_energy",
    "tax_per_energy",
    "tax_per_kwh",
    "va_per_pollutant",
    "labour_productivity",
    "rd_intensity",
)
UNITS: Final = {
    "tax_per_mu": "10k CNY/mu",
    "revenue_per_mu": "10k CNY/mu",
    "va_per_mu": "10k CNY/mu",
    "va_per_energy": "10k CNY/tce",
    "tax_per_energy": "10k CNY/tce",
    "tax_per_kwh": "CNY/kWh",
    "va_per_pollutant": "10k CNY/t",
    "labour_productivity": "10k CNY/person",
    "rd_intensity": "fraction",
}
# What each indicator divides: (numerator, denominator) input names, for explanations.
FORMULAS: Final = {
    "tax_per_mu": ("tax", "land_mu"),
    "revenue_per_mu": ("revenue", "land_mu"),
    "va_per_mu": ("value_added", "land_mu"),
    "va_per_energy": ("value_added", "energy_tce"),
    "tax_per_energy": ("tax", "energy_tce"),
    "tax_per_kwh": ("tax", "electricity_kwh"),
    "va_per_pollutant": ("value_added", "pollutant_t"),
    "labour_productivity": ("value_added", "employees"),
    "rd_intensity": ("rd_spend", "revenue"),
}

FloatArray = npt.NDArray[np.float64]


def ratio(num: FloatArray, den: FloatArray, on_zero: float = np.nan) -> FloatArray:
    """``num / den`` where ``den > 0``; ``on_zero`` where ``den == 0 < num``; else NaN.

    ``0 / 0`` with ``on_zero`` set is 0 (nothing produced, nothing discharged).
    """
    num, den = np.broadcast_arrays(np.asarray(num, np.float64), np.asarray(den, np.float64))
    out = np.full(num.shape, np.nan)
    ok = den > 0  # False for NaN
    np.divide(num, den, out=out, where=ok)
    if not np.isnan(on_zero):
        zero = den == 0
        out[zero & (num > 0)] = on_zero
        out[zero & (num == 0)] = 0.0
    out[np.isnan(num)] = np.nan
    return out


def compute(inputs: Mapping[str, FloatArray]) -> dict[str, FloatArray]:
    """All indicators from ``inputs``: land_m2, the facts fields, energy_tce, electricity_kwh."""
    land_mu = np.asarray(inputs["land_m2"], np.float64) / M2_PER_MU
    tax = inputs["tax"]
    revenue = inputs["revenue"]
    va = inputs["value_added"]
    energy = inputs["energy_tce"]
    return {
        "tax_per_mu": ratio(tax, land_mu),
        "revenue_per_mu": ratio(revenue, land_mu),
        "va_per_mu": ratio(va, land_mu),
        "va_per_energy": ratio(va, energy),
        "tax_per_energy": ratio(tax, energy),
        "tax_per_kwh": ratio(np.asarray(tax) * 10_000.0, inputs["electricity_kwh"]),
        "va_per_pollutant": ratio(va, inputs["pollutant_t"], on_zero=np.inf),
        "labour_productivity": ratio(va, inputs["employees"]),
        "rd_intensity": ratio(inputs["rd_spend"], revenue),
    }
