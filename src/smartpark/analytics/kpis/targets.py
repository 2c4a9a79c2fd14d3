"""The reference lines of the zero-carbon park notice (发改环资〔2025〕910号): the only place
they are written down; the CLI, the demo, the report and the Grafana dashboards read them
from here.

The core indicator is ``carbon_per_energy`` (tCO2/tce): at most 0.20 for parks consuming
200 000 - 1 000 000 tce a year, at most 0.30 for parks consuming 1 000 000 tce or more.
The notice sets no tier of its own below 200 000 tce; smartpark holds such parks to the
stricter 0.20 line (docs/kpis.md says why), so every park has exactly one line. A period
shorter than a year is annualised over a 365.25-day year to choose the tier. Guiding
indicators with their lines: clean energy share >= 90 %, industrial solid waste
utilisation >= 80 %, industrial water reuse >= 80 %.
"""

from __future__ import annotations

from typing import Final, Literal

MS_PER_YEAR: Final = 365.25 * 86_400_000

CARBON_PER_ENERGY_LINE: Final = 0.20
"""tCO2/tce: the line of parks below 1 000 000 tce a year (also those below 200 000)."""
CARBON_PER_ENERGY_LINE_LARGE: Final = 0.30
"""tCO2/tce: the line of parks consuming at least ``LARGE_PARK_TCE`` a year."""
LARGE_PARK_TCE: Final = 1_000_000.0

# KPI -> (comparison, line): the KPI should be "above"/"below" the line.
GUIDING_LINES: Final[dict[str, tuple[Literal["above", "below"], float]]] = {
    "clean_energy_share": ("above", 90.0),
    "solid_waste_utilisation_rate": ("above", 80.0),
    "water_reuse_rate": ("above", 80.0),
}


def carbon_per_energy_line(annual_tce: float) -> float:
    """The ``carbon_per_energy`` ceiling for a park consuming ``annual_tce`` a year."""
    return CARBON_PER_ENERGY_LINE_LARGE if annual_tce >= LARGE_PARK_TCE else CARBON_PER_ENERGY_LINE


def annualised(tce: float, period_ms: int) -> float:
    """Energy of a period scaled to a year (for choosing the line from a month or a day)."""
    return tce * MS_PER_YEAR / period_ms


def meets(kpi: str, value: float, annual_tce: float | None = None) -> bool | None:
    """Whether ``value`` meets its reference line; None when the KPI has none (or no value)."""
    if value != value:  # NaN
        return None
    if kpi == "carbon_per_energy":
        if annual_tce is None:
            return None
        return bool(value <= carbon_per_energy_line(annual_tce))
    if kpi in GUIDING_LINES:
        side, threshold = GUIDING_LINES[kpi]
        return value >= threshold if side == "above" else value <= threshold
    return None
