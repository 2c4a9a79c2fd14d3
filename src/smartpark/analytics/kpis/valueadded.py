"""Industrial value added (工业增加值) per scope row and KPI period (docs/kpis.md, "Value
added"), the denominator of ``energy_intensity_va`` and ``carbon_intensity_va``.

Value added comes only from the monthly figures entered per enterprise
(``smartpark import value-added``, ``store.value_added``): an enterprise's period holds
the sum of its figures inside the period when they cover it whole (a month, a year of
12 months), else it is missing (NaN, never zero) — a day or an hour has none. A park or
zone sums its enterprises' figures; it is missing when an enterprise of it that used
energy in the period (``energy_tce`` > 0) has no figure, and when none of its
enterprises has one. Regions weight the parks' sums (analytics/kpis/attribution.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from smartpark.analytics.layout import Layout
from smartpark.analytics.products.outputs import entered
from smartpark.analytics.readings.series import FloatArray, IntArray
from smartpark.core.registry import Registry
from smartpark.store.outputs import OutputRow


def value_added(
    registry: Registry,
    lay: Layout,
    rows: Sequence[OutputRow],
    bounds: IntArray,
    energy_tce: FloatArray,
) -> FloatArray:
    """Value added (10k CNY) of every enterprise, park and zone row per period
    ``bounds[k]..bounds[k+1]``; ``energy_tce`` is every row's energy of those periods."""
    per_ent = np.array(
        [entered(rows, e, bounds) for e in registry.enterprise_ids], np.float64
    ).reshape(lay.n_ent, bounds.size - 1)
    known = ~np.isnan(per_ent)
    lacking = ~known & (energy_tce[: lay.n_ent] > 0)
    total = lay.lift(np.where(known, per_ent, 0.0))
    have = lay.lift(known.astype(np.float64))
    gaps = lay.lift(lacking.astype(np.float64))
    out: FloatArray = np.where((gaps > 0) | (have == 0), np.nan, total)
    out[: lay.n_ent] = per_ent
    return out
