"""Region land-use figures (docs/landuse.md, "Regions and enclave shares") as KpiRows.

Grading stays per enterprise and per mu of the land it occupies: an enclave agreement
never moves land or changes a grade. What it divides is reported beside the grades, per
region and year (scope ``region``, period ``year``): each region's share of the parks'
sums, by family of :data:`~smartpark.core.registry.FAMILIES` (an agreement period that
covers part of a year counts for its share of the days):

- ``shared_tax`` (tax), ``shared_revenue`` and ``shared_value_added`` (output value),
  10k CNY, over the enterprises with a number;
- ``shared_energy_tce`` (energy), tce, over the enterprises with a yearly value;
- ``shared_land_mu`` (land), mu, of the enterprises' land.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from smartpark.analytics.landuse.dataset import Dataset, FloatArray
from smartpark.analytics.landuse.park import start_ms
from smartpark.store.base import KpiRow

# KPI -> (family, the per-enterprise figure it sums).
SHARED: Final = {
    "shared_tax": ("tax", "tax"),
    "shared_revenue": ("output_value", "revenue"),
    "shared_value_added": ("output_value", "value_added"),
    "shared_energy_tce": ("energy", "energy_tce"),
    "shared_land_mu": ("land", "land_mu"),
}


def _figure(data: Dataset, name: str, j: int) -> FloatArray:
    if name == "energy_tce":
        return data.energy_tce[:, j]
    if name == "land_mu":
        return np.where(data.static.land_mu > 0, data.static.land_mu, 0.0)
    return data.facts[name][:, j]


def year_rows(data: Dataset, year: int) -> list[KpiRow]:
    """The shared figures of every region of ``data`` for ``year`` (none without regions)."""
    if not data.region_ids:
        return []
    j = data.year_index(year)
    park_code = {p: k for k, p in enumerate(data.region_parks)}
    ent_park = np.array([park_code[p] for p in data.static.park], np.intp)
    rows: list[KpiRow] = []
    columns: dict[str, FloatArray] = {}
    for kpi, (family, name) in SHARED.items():
        values = _figure(data, name, j)
        have = ~np.isnan(values)
        per_park = np.bincount(
            ent_park[have], weights=values[have], minlength=len(data.region_parks)
        )
        columns[kpi] = data.region_shares[family][:, :, j] @ per_park
    for r, ident in enumerate(data.region_ids):
        start = start_ms(year, 1, data.region_timezones[r])
        for kpi, values in columns.items():
            rows.append(KpiRow("region", ident, "year", kpi, start, float(values[r])))
    return rows
