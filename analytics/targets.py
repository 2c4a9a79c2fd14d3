"""Reference lines of the zero-carbon park notice (发改环资〔2025〕910号), for display.

The core indicator is ``carbon_per_energy`` (tCO2/tce): at most 0.20 for parks consuming
200 000 - 1 000 000 tce a year, at most 0.30 above that (no line is set below 200 000).
Guiding indicators with their lines: clean energy share >= 90 %, industrial solid waste
utilisation >= 80 %, industrial water reuse >= 80 %.
"""

from __future__ import annotations

from typing import Final, Literal

MS_PER_YEAR: Final = 365.25 * 86_400_000

# KPI -> (comparison, line): the KPI should be "above"/"below" the line.
GUIDING_LINES: Final[dict[str, tuple[Literal["above", "below"], float]]] = {
    "clean_energy_share": ("above", 90.0),
    "solid_waste_utilisation_rate": ("above", 80.0),
    "water_reuse_rate": ("above", 80.0),
}


def carbon_per_energy_line(annual_tce: float) -> float | None:
    """The ``carbon_per_energy`` ceiling for a park consuming ``annual_tce`` a year."""
    if annual_tce > 1_000_000:
        return 0.30
    if annual_tce >= 200_000:
        return 0.20
    return None


def annualised(tce: float, period_ms: int) -> float:
    """Energy of a period scaled to a year (for choosing the line from a month or a day)."""
    return tce * MS_PER_YEAR / period_ms


def meets(kpi: str, value: float, annual_tce: float | None = None) -> bool | None:
    """Whether ``value`` meets its reference line; None when the KPI has none (or no value)."""
    if value != value:  # NaN
        return None
    if kpi == "carbon_per_energy":
        line = carbon_per_energy_line(annual_tce) if annual_tce is not None else None
        return None if line is None else value <= line
    if kpi in GUIDING_LINES:
        side, threshold = GUIDING_LINES[kpi]
        return value >= threshold if side == "above" else value <= threshold
    return None
