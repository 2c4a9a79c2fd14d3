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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from smartpark.analytics import periods
from smartpark.analytics.periods import Grid
from smartpark.analytics.series import FloatArray
from smartpark.core.registry import FAMILIES, Registry
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
    "output_value_cny": "output_value",
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
    weights: Mapping[Weight, FloatArray]  # (regions, parks, windows)

    @classmethod
    def of(cls, reg: Registry, grid: Grid) -> Attribution:
        ids = reg.region_ids
        code = {r: i for i, r in enumerate(ids)}
        n_w = grid.n_windows
        starts = grid.points[:-1]
        shape = (len(ids), len(reg.park_ids), n_w)
        shared: tuple[Weight, ...] = ("output_value", "energy", "co2", "owner")
        weights: dict[Weight, FloatArray] = {k: np.zeros(shape) for k in shared}
        for p, pid in enumerate(reg.park_ids):
            park = reg.parks[pid]
            if park.region is None:
                continue
            owner = [code[r] for r in reg.region_chain(park.region)]
            partner_share = {f: np.zeros(n_w) for f in FAMILIES}
            partners: list[int] = []
            for s in park.sharing:
                lo = _midnight(s.valid_from, park.timezone, _EARLIEST)
                hi = _midnight(s.valid_to, park.timezone, _LATEST)
                in_force = (starts >= lo) & (starts < hi)
                for f in FAMILIES:
                    partner_share[f][in_force] = s.partner_share(f)
                partners = [code[r] for r in reg.region_chain(s.partner)]
            for weight, share in weights.items():
                given = partner_share[weight] if weight in FAMILIES else np.zeros(n_w)
                share[owner, p] += 1.0 - given
                if partners:
                    share[partners, p] += given
        weights["quality"] = (
            (weights["output_value"] + weights["energy"] + weights["co2"] + weights["owner"]) > 0
        ).astype(np.float64)
        return cls(ids, tuple(reg.regions[r].timezone for r in ids), weights)

    @property
    def row_ids(self) -> tuple[tuple[Literal["region"], str], ...]:
        return tuple(("region", r) for r in self.ids)

    def period_weights(self, gi: npt.NDArray[np.intp]) -> dict[Weight, FloatArray]:
        """Per weight: (regions, parks, periods), each period's time-weighted mean."""
        n = np.diff(gi).astype(np.float64)
        return {
            k: np.add.reduceat(w[:, :, : gi[-1]], gi[:-1], axis=2) / n
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


def _midnight(day: dt.date | None, timezone: str, default: int) -> int:
    return default if day is None else periods.local_midnight_ms(day, timezone)


__all__ = ["FAMILY", "NOT_ATTRIBUTED", "RATIOS", "Attribution"]
