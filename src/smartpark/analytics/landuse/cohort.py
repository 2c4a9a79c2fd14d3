"""Who is graded in a year (docs/landuse.md §3): the graded cohort, class T, the excluded.

- Graded cohort: above-scale enterprises, and below-scale ones with land_mu ≥ 3.
- Class ``T`` (not graded): utilities; less than 2 years since ``production_start``;
  less than 3 years since ``land_grant``. Years are counted to the end of the evaluated
  year (midnight of 1 January after it): production that started on 2024-01-01 has had
  2 years by the end of 2025, production that started on 2024-01-02 has not.
- Excluded (not graded, not T): below-scale under 3 mu; no land area or zero land; no
  ``scale``; no ``production_start`` (never guessed). A missing ``land_grant`` (rented
  land) skips the land-grant test.

:class:`Static` holds the registry's enterprise fields as arrays (dates as
``datetime64[D]``, NaT when absent); :func:`classify` returns one status code per
enterprise, vectorized.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics.landuse.indicators import M2_PER_MU
from smartpark.core.registry import Registry

MIN_BELOW_SCALE_MU: Final = 3.0
MIN_PRODUCTION_YEARS: Final = 2
MIN_LAND_GRANT_YEARS: Final = 3

# Status codes of classify(); COHORT is graded, T_* are class T, the rest excluded.
COHORT: Final = 0
T_UTILITY: Final = 1
T_NEW_PRODUCTION: Final = 2
T_NEW_LAND: Final = 3
EXCLUDED_NO_LAND: Final = 4
EXCLUDED_NO_SCALE: Final = 5
EXCLUDED_NO_PRODUCTION_START: Final = 6
EXCLUDED_SMALL_BELOW: Final = 7
T_CODES: Final = frozenset({T_UTILITY, T_NEW_PRODUCTION, T_NEW_LAND})

DateArray = npt.NDArray[np.datetime64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _dates(values: list[dt.date | None]) -> DateArray:
    return np.array([np.datetime64(v, "D") if v else np.datetime64("NaT") for v in values])


@dataclass(frozen=True)
class Static:
    """The registry's enterprise facts as arrays, in the order of ``ids``."""

    ids: tuple[str, ...]
    park: tuple[str, ...]
    land_m2: FloatArray  # NaN when unknown
    above: BoolArray
    below: BoolArray
    utility: BoolArray
    production_start: DateArray
    land_grant: DateArray
    construction_due: DateArray
    construction_started: DateArray
    works_stopped_since: DateArray
    built_ratio: FloatArray
    invested_ratio: FloatArray

    @property
    def land_mu(self) -> FloatArray:
        return self.land_m2 / M2_PER_MU

    @classmethod
    def from_registry(cls, registry: Registry, ids: tuple[str, ...]) -> Static:
        es = [registry.enterprises[i] for i in ids]

        def num(values: list[float | None]) -> FloatArray:
            return np.array([np.nan if v is None else v for v in values], np.float64)

        return cls(
            ids=ids,
            park=tuple(e.park for e in es),
            land_m2=num([e.land_m2 for e in es]),
            above=np.array([e.scale == "above" for e in es], np.bool_),
            below=np.array([e.scale == "below" for e in es], np.bool_),
            utility=np.array([e.utility for e in es], np.bool_),
            production_start=_dates([e.production_start for e in es]),
            land_grant=_dates([e.land_grant for e in es]),
            construction_due=_dates([e.construction_due for e in es]),
            construction_started=_dates([e.construction_started for e in es]),
            works_stopped_since=_dates([e.works_stopped_since for e in es]),
            built_ratio=num([e.built_ratio for e in es]),
            invested_ratio=num([e.invested_ratio for e in es]),
        )


def year_end(year: int) -> np.datetime64:
    """The end of ``year``: 1 January of the next year, 00:00."""
    return np.datetime64(dt.date(year + 1, 1, 1), "D")


def years_before(moment: np.datetime64, years: int) -> np.datetime64:
    """The same calendar day ``years`` earlier (29 February → 28 February)."""
    day = moment.astype(dt.date)
    try:
        earlier = day.replace(year=day.year - years)
    except ValueError:
        earlier = day.replace(year=day.year - years, day=28)
    return np.datetime64(earlier, "D")


def classify(static: Static, year: int) -> npt.NDArray[np.int8]:
    """One status code per enterprise for ``year`` (see the module docstring)."""
    end = year_end(year)
    # NaT compares False, so a missing land_grant never makes an enterprise T.
    new_production = static.production_start > years_before(end, MIN_PRODUCTION_YEARS)
    new_land = static.land_grant > years_before(end, MIN_LAND_GRANT_YEARS)
    land_mu = static.land_mu
    conditions = [
        static.utility,
        ~(land_mu > 0),
        ~(static.above | static.below),
        np.isnat(static.production_start),
        new_production,
        new_land,
        static.below & (land_mu < MIN_BELOW_SCALE_MU),
    ]
    choices = [
        T_UTILITY,
        EXCLUDED_NO_LAND,
        EXCLUDED_NO_SCALE,
        EXCLUDED_NO_PRODUCTION_START,
        T_NEW_PRODUCTION,
        T_NEW_LAND,
        EXCLUDED_SMALL_BELOW,
    ]
    return np.select(conditions, choices, COHORT).astype(np.int8)


def describe(static: Static, i: int, code: int, year: int) -> str:
    """Why enterprise ``i`` is not in the graded cohort (empty for COHORT)."""
    end = f"the end of {year}"
    if code == T_UTILITY:
        return "utility (water, power or gas supplier)"
    if code == T_NEW_PRODUCTION:
        return (
            f"production since {static.production_start[i]}, "
            f"less than {MIN_PRODUCTION_YEARS} years by {end}"
        )
    if code == T_NEW_LAND:
        return (
            f"land granted {static.land_grant[i]}, less than {MIN_LAND_GRANT_YEARS} years by {end}"
        )
    if code == EXCLUDED_NO_LAND:
        return "no land area (land_m2 missing or 0)"
    if code == EXCLUDED_NO_SCALE:
        return "no scale (above/below) in the registry"
    if code == EXCLUDED_NO_PRODUCTION_START:
        return "no production_start in the registry"
    if code == EXCLUDED_SMALL_BELOW:
        return f"below scale on {static.land_mu[i]:.2f} mu (< {MIN_BELOW_SCALE_MU:g} mu)"
    return ""
