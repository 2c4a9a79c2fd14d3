"""Build land-use datasets from plain arrays, the way tests and benchmarks feed the rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np

from smartpark.analytics.landuse.cohort import Static
from smartpark.analytics.landuse.dataset import Dataset
from smartpark.analytics.landuse.facts import FIELDS
from smartpark.analytics.landuse.indicators import M2_PER_MU


def dates(values: Sequence[dt.date | None]) -> np.ndarray:
    return np.array([np.datetime64(v, "D") if v else np.datetime64("NaT") for v in values])


def static(
    n: int,
    *,
    land_mu: Sequence[float] | float = 10.0,
    scale: Sequence[str | None] | str = "above",
    utility: Sequence[bool] | bool = False,
    production_start: Sequence[dt.date | None] | dt.date = dt.date(2010, 1, 1),
    land_grant: Sequence[dt.date | None] | dt.date | None = dt.date(2008, 1, 1),
    parks: Sequence[str] | None = None,
    **land: Sequence[object],
) -> Static:
    def each(value: object) -> list:
        return list(value) if isinstance(value, list | tuple | np.ndarray) else [value] * n

    scales = each(scale)
    nat = [None] * n
    return Static(
        ids=tuple(f"e{i + 1}" for i in range(n)),
        park=tuple(parks or ["p1"] * n),
        land_m2=np.array(each(land_mu), np.float64) * M2_PER_MU,
        above=np.array([s == "above" for s in scales]),
        below=np.array([s == "below" for s in scales]),
        utility=np.array(each(utility), np.bool_),
        production_start=dates(each(production_start)),
        land_grant=dates(each(land_grant)),
        construction_due=dates(land.get("construction_due", nat)),  # type: ignore[arg-type]
        construction_started=dates(land.get("construction_started", nat)),  # type: ignore[arg-type]
        works_stopped_since=dates(land.get("works_stopped_since", nat)),  # type: ignore[arg-type]
        built_ratio=np.array(land.get("built_ratio", [np.nan] * n), np.float64),
        invested_ratio=np.array(land.get("invested_ratio", [np.nan] * n), np.float64),
    )


def dataset(
    st: Static,
    years: Sequence[int],
    facts: Mapping[str, Sequence[Sequence[float]]],
    *,
    energy_tce: Sequence[Sequence[float]] | None = None,
    electricity_kwh: Sequence[Sequence[float]] | None = None,
    fresh_water_m3: Sequence[Sequence[float]] | None = None,
    present: np.ndarray | None = None,
    monthly_kwh: np.ndarray | None = None,
    first_month: int = 0,
    park_land_m2: Mapping[str, float] | None = None,
) -> Dataset:
    """``facts[field]`` and the yearly arrays are given per year: [[e1, e2, ...], ...]."""
    n, y = len(st.ids), len(years)

    def matrix(rows: Sequence[Sequence[float]] | None, fill: float = np.nan) -> np.ndarray:
        if rows is None:
            return np.full((n, y), fill)
        return np.array(rows, np.float64).reshape(y, n).T.copy()

    arrays = {name: matrix(facts.get(name)) for name in FIELDS}
    return Dataset(
        zone="z1",
        static=st,
        years=tuple(years),
        facts=arrays,
        present=np.ones((n, y), np.bool_) if present is None else present,
        energy_tce=matrix(energy_tce),
        electricity_kwh=matrix(electricity_kwh),
        fresh_water_m3=matrix(fresh_water_m3),
        monthly_kwh=np.zeros((n, 0)) if monthly_kwh is None else monthly_kwh,
        first_month=first_month,
        timezones={"z1": "Asia/Shanghai", **{p: "Asia/Shanghai" for p in st.park}},
        park_land_m2=dict(park_land_m2 or {}),
    )
