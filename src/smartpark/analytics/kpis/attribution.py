"""Administrative attribution: a region's KPIs from its parks and enclave agreements.

A region's figures (docs/kpis.md, "Regions") are the sums of its own parks, its
sub-regions' and its shares of enclave parks hosted elsewhere, minus the shares it gives
away: per KPI family (:data:`FAMILY`) a park row counts with the weight

* the partner's share ``s`` of the agreement in force for the partner region,
* ``1 - s`` for the park's own region (its statistics owner),

added up the region's chain of parents. KPIs outside the shared families (water, waste,
pollutants) stay whole with the owner; data quality counts every meter a region's figures
rest on. Ratios are then formed from the region's sums (never averaged). A zone adds its
parks whole: regions are a second view and never enter a zone total.

Shares are effective-dated by local date (the park's time zone); a period during which an
agreement changes takes each window's share (the time-weighted mean of the period).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from smartpark.analytics import periods
from smartpark.analytics.days.cells import Cells
from smartpark.analytics.readings.series import FloatArray, IntArray
from smartpark.core.registry import FAMILIES, Park, Registry, Sharing
from smartpark.core.tariffs import PERIODS

Weight = Literal["output_value", "energy", "co2", "owner", "quality"]

# Each summed KPI (and the hidden sums behind the ratios, names with "_") -> its weight.
FAMILY: Final[Mapping[str, Weight]] = {
    **dict.fromkeys(
        (
            "electricity_kwh",
            "pv_kwh",
            "wind_kwh",
            "energy_tce",
            "energy_target_tce",
            "feedstock_tce",
            "new_renewable_tce",
            "_renewable_tce",
            "_clean_tce",
            *(f"electricity_kwh_{p}" for p in PERIODS),
            "electricity_cost_cny",
            "gas_cost_cny",
            "energy_cost_cny",
            "peak_shift_saving_cny",
        ),
        "energy",
    ),
    **dict.fromkeys(("co2_scope1_t", "co2_scope2_t", "co2_scope2_market_t", "co2_total_t"), "co2"),
    **dict.fromkeys(("output_value_cny", "value_added_10k_cny"), "output_value"),
    **dict.fromkeys(
        (
            "fresh_water_m3",
            "_recycled_water",
            "wastewater_m3",
            "_solid_waste_generated",
            "_solid_waste_utilised",
            "water_cost_cny",
            *(f"{p}_{k}" for p in ("so2", "nox", "particulate") for k in ("kg", "exceed_h")),
        ),
        "owner",
    ),
    **dict.fromkeys(
        ("_completeness_got", "_completeness_want", "resets", "spikes_dropped", "stale_meters"),
        "quality",
    ),
}
# Ratio KPI -> (numerator sums, denominator sums, scale), formed from the region's sums.
RATIOS: Final[Mapping[str, tuple[tuple[str, ...], tuple[str, ...], float]]] = {
    "renewable_share": (("_renewable_tce",), ("energy_tce",), 100.0),
    "clean_energy_share": (("_clean_tce",), ("energy_tce",), 100.0),
    "carbon_per_energy": (("co2_total_t",), ("energy_tce",), 1.0),
    "carbon_intensity": (("co2_total_t",), ("output_value_cny",), 1e4),
    "energy_intensity": (("energy_tce",), ("output_value_cny",), 1e4),
    "energy_intensity_va": (("energy_target_tce",), ("value_added_10k_cny",), 1.0),
    "carbon_intensity_va": (("co2_total_t",), ("value_added_10k_cny",), 1.0),
    "water_reuse_rate": (("_recycled_water",), ("_recycled_water", "fresh_water_m3"), 100.0),
    "water_intensity": (("fresh_water_m3",), ("output_value_cny",), 1e4),
    "solid_waste_utilisation_rate": (
        ("_solid_waste_utilised",),
        ("_solid_waste_generated",),
        100.0,
    ),
    "completeness": (("_completeness_got",), ("_completeness_want",), 100.0),
    "peak_share": (
        ("electricity_kwh_sharp", "electricity_kwh_peak"),
        tuple(f"electricity_kwh_{p}" for p in PERIODS),
        100.0,
    ),
    "cost_per_output": (("energy_cost_cny", "water_cost_cny"), ("output_value_cny",), 1e4),
}
# Coincident demand does not divide by agreement: not given for regions.
NOT_ATTRIBUTED: Final = ("peak_demand_kw", "load_factor")
_EARLIEST: Final = int(np.iinfo(np.int64).min)
_LATEST: Final = int(np.iinfo(np.int64).max)


@dataclass(frozen=True)
class Attribution:
    """Per region row (sorted ids) and weight: each park's weight per window."""

    ids: tuple[str, ...]
    timezones: tuple[str, ...]
    weights: Mapping[Weight, FloatArray]  # (regions, parks, columns)
    widths: IntArray  # 15-minute windows per column

    @classmethod
    def of(cls, reg: Registry, cells: Cells) -> Attribution:
        """The weights on the KPI columns (15-minute windows or day cells)."""
        starts = cells.starts

        def in_force(park: Park, s: Sharing) -> FloatArray:
            lo = _midnight(s.valid_from, park.timezone, _EARLIEST)
            hi = _midnight(s.valid_to, park.timezone, _LATEST)
            return ((starts >= lo) & (starts < hi)).astype(np.float64)

        shared: tuple[Weight, ...] = ("output_value", "energy", "co2", "owner")
        weights = {k: share_matrix(reg, k, in_force, cells.n_cells) for k in shared}
        anything = weights["output_value"] + weights["energy"] + weights["co2"] + weights["owner"]
        weights["quality"] = (anything > 0).astype(np.float64)
        ids = reg.region_ids
        return cls(ids, tuple(reg.regions[r].timezone for r in ids), weights, cells.widths)

    @property
    def row_ids(self) -> tuple[tuple[Literal["region"], str], ...]:
        return tuple(("region", r) for r in self.ids)

    def period_weights(self, gi: npt.NDArray[np.intp]) -> dict[Weight, FloatArray]:
        """Per weight: (regions, parks, periods), each period's time-weighted mean."""
        width = self.widths[: gi[-1]].astype(np.float64)
        n = np.add.reduceat(width, gi[:-1])
        return {
            k: np.add.reduceat(w[:, :, : gi[-1]] * width, gi[:-1], axis=2) / n
            for k, w in self.weights.items()
        }

    def values(
        self, park_values: Mapping[str, FloatArray], gi: npt.NDArray[np.intp]
    ) -> dict[str, FloatArray]:
        """Every KPI (and hidden sum) of every region row over the periods of ``gi``,
        from the park rows' values (parks x periods)."""
        w = self.period_weights(gi)
        out: dict[str, FloatArray] = {}
        for name, weight in FAMILY.items():
            if name not in park_values:
                continue
            v = park_values[name][None, :, :]
            share = w[weight]
            # NaN (unknown, e.g. an unpriced cost) carries where the park counts at all.
            out[name] = np.where(share > 0, share * v, 0.0).sum(axis=1)
        for name, (num, den, scale) in RATIOS.items():
            if all(k in out for k in (*num, *den)):
                top = sum((out[k] for k in num), start=np.zeros_like(out[den[0]]))
                bottom = sum((out[k] for k in den), start=np.zeros_like(out[den[0]]))
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[name] = np.where(bottom > 0, top / bottom * scale, np.nan)
        shape = (len(self.ids), gi.size - 1)
        for name in NOT_ATTRIBUTED:
            out[name] = np.full(shape, np.nan)
        return out

    def versions(
        self, park_versions: npt.NDArray[np.object_], gi: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.object_]:
        """Per region and period: the factor versions of the parks it draws on, joined."""
        draws = self.period_weights(gi)["quality"] > 0
        out = np.empty((len(self.ids), gi.size - 1), dtype=object)
        for r in range(len(self.ids)):
            for k in range(gi.size - 1):
                parks = np.flatnonzero(draws[r, :, k])
                out[r, k] = ",".join(sorted({str(park_versions[p, k]) for p in parks}))
        return out


def share_matrix(
    reg: Registry, family: str, in_force: Callable[[Park, Sharing], FloatArray], n: int
) -> FloatArray:
    """(regions, parks, n): each park's weight in each region for ``family`` (one of
    :data:`~smartpark.core.registry.FAMILIES`, or ``owner``: not shared), where
    ``in_force`` gives the fraction of each of the ``n`` columns (windows, years) an
    agreement period covers. The owner's chain gets 1 - the partner's share, the
    partner's chain the share."""
    code = {r: i for i, r in enumerate(reg.region_ids)}
    out = np.zeros((len(code), len(reg.park_ids), n))
    for p, pid in enumerate(reg.park_ids):
        park = reg.parks[pid]
        if park.region is None:
            continue
        given = np.zeros(n)
        for s in park.sharing:
            part = in_force(park, s) * (s.partner_share(family) if family in FAMILIES else 0.0)
            out[[code[r] for r in reg.region_chain(s.partner)], p] += part
            given += part
        out[[code[r] for r in reg.region_chain(park.region)], p] += 1.0 - given
    return out


def year_fraction(park: Park, s: Sharing, years: tuple[int, ...]) -> FloatArray:
    """Per calendar year: the fraction of its days the agreement period ``s`` covers."""
    out = np.zeros(len(years))
    for k, y in enumerate(years):
        lo, hi = dt.date(y, 1, 1), dt.date(y + 1, 1, 1)
        a, b = max(lo, s.valid_from or lo), min(hi, s.valid_to or hi)
        out[k] = max(0, (b - a).days) / (hi - lo).days
    return out


def _midnight(day: dt.date | None, timezone: str, default: int) -> int:
    return default if day is None else periods.local_midnight_ms(day, timezone)


__all__ = ["FAMILY", "NOT_ATTRIBUTED", "RATIOS", "Attribution", "share_matrix", "year_fraction"]
