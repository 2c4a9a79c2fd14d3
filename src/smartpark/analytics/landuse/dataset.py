"""Everything the land-use rules read about one zone, as plain arrays.

A :class:`Dataset` is the registry's enterprise fields (:class:`Static`), the annual
facts as (enterprises, years) arrays on consecutive calendar years, the yearly energy,
electricity and fresh water, the monthly electricity as (enterprises, months) and the
regions' enclave shares as (regions, parks, years) per family. It is
built from files (:func:`build`) or directly from arrays (tests, benchmarks), so the
rules never depend on where the numbers came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from smartpark.analytics.kpis.attribution import share_matrix, year_fraction
from smartpark.analytics.landuse.cohort import Static
from smartpark.analytics.landuse.facts import FIELDS, Facts
from smartpark.analytics.landuse.monthly import Monthly, month_code
from smartpark.core.errors import AnalyticsError
from smartpark.core.registry import FAMILIES, Lang, Park, Registry, Sharing

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Dataset:
    zone: str
    static: Static
    years: tuple[int, ...]  # consecutive calendar years
    facts: Mapping[str, FloatArray]  # field -> (enterprises, years), NaN missing
    present: BoolArray  # (enterprises, years): a facts row exists
    energy_tce: FloatArray  # (enterprises, years), NaN = incomplete or no data
    electricity_kwh: FloatArray  # (enterprises, years)
    fresh_water_m3: FloatArray  # (enterprises, years)
    monthly_kwh: FloatArray  # (enterprises, months) from month code first_month
    first_month: int
    timezones: Mapping[str, str]  # park id (and zone id) -> time zone
    park_land_m2: Mapping[str, float] = field(default_factory=dict)  # registry land_km2
    # Administrative attribution (analytics/kpis/attribution.py): none without regions.
    region_ids: tuple[str, ...] = ()
    region_timezones: tuple[str, ...] = ()
    region_parks: tuple[str, ...] = ()  # the columns of region_shares
    region_shares: Mapping[str, FloatArray] = field(default_factory=dict)  # family -> (R, P, Y)
    lang: Lang = "en"  # the zone's language (registry), of what is shown in words
    # Where the facts and the months came from: file names, or "store_kpis" (the
    # store's monthly KPIs) and "store_rollups" (computed from its rollups).
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n, y = len(self.static.ids), len(self.years)
        if y and self.years != tuple(range(self.years[0], self.years[0] + y)):
            raise ValueError(f"years must be consecutive, got {self.years}")
        for name, array in [
            *self.facts.items(),
            ("present", self.present),
            ("energy_tce", self.energy_tce),
            ("electricity_kwh", self.electricity_kwh),
            ("fresh_water_m3", self.fresh_water_m3),
        ]:
            if array.shape != (n, y):
                raise ValueError(f"{name}: shape {array.shape}, expected {(n, y)}")
        if self.monthly_kwh.shape[0] != n:
            raise ValueError(f"monthly_kwh: {self.monthly_kwh.shape[0]} rows for {n} enterprises")

    def year_index(self, year: int) -> int:
        if year not in self.years:
            have = f"{self.years[0]}–{self.years[-1]}" if self.years else "none"
            raise AnalyticsError(f"year {year}: no facts for it (facts cover {have})")
        return self.years.index(year)

    def inputs(self, j: int) -> dict[str, FloatArray]:
        """Indicator inputs of year column ``j`` (see indicators.compute)."""
        out = {name: self.facts[name][:, j] for name in FIELDS}
        out["land_m2"] = self.static.land_m2
        out["energy_tce"] = self.energy_tce[:, j]
        out["electricity_kwh"] = self.electricity_kwh[:, j]
        return out

    def months(self, first: int, n_months: int) -> FloatArray:
        """(enterprises, n_months) of monthly kWh from month code ``first``; NaN outside."""
        n = len(self.static.ids)
        out = np.full((n, n_months), np.nan)
        have = self.monthly_kwh.shape[1]
        lo, hi = max(first, self.first_month), min(first + n_months, self.first_month + have)
        if hi > lo:
            out[:, lo - first : hi - first] = self.monthly_kwh[
                :, lo - self.first_month : hi - self.first_month
            ]
        return out


def build(registry: Registry, facts: Facts, monthly: Monthly | None) -> Dataset:
    """A zone's dataset from the registry, its facts and monthly telemetry (may be None)."""
    ids = facts.enterprises
    static = Static.from_registry(registry, ids)
    years = tuple(range(facts.years[0], facts.years[-1] + 1)) if facts.years else ()
    on_years = facts.for_years(years)
    n = len(ids)
    if monthly is None:
        monthly = Monthly(ids, month_code(years[0] if years else 2000, 1), {})
    monthly = monthly.reorder(ids)
    timezones = {p: registry.parks[p].timezone for p in set(static.park)}
    timezones[facts.zone] = registry.zones[facts.zone].timezone
    kwh = monthly.get("electricity_kwh")

    def in_force(park: Park, s: Sharing) -> FloatArray:
        return year_fraction(park, s, years)

    shares = {f: share_matrix(registry, f, in_force, len(years)) for f in FAMILIES}
    return Dataset(
        zone=facts.zone,
        static=static,
        years=years,
        facts=on_years.values,
        present=on_years.present,
        energy_tce=monthly.yearly("energy_tce", years),
        electricity_kwh=monthly.yearly("electricity_kwh", years),
        fresh_water_m3=monthly.yearly("fresh_water_m3", years),
        monthly_kwh=kwh if kwh.shape[1] else np.zeros((n, 0)),
        first_month=monthly.first,
        timezones=timezones,
        park_land_m2={
            p: registry.parks[p].land_km2 * 1e6  # type: ignore[operator]
            for p in set(static.park)
            if registry.parks[p].land_km2 is not None
        },
        region_ids=registry.region_ids,
        region_timezones=tuple(registry.regions[r].timezone for r in registry.region_ids),
        region_parks=registry.park_ids,
        region_shares=shares,
        lang=registry.zones[facts.zone].lang,
    )
