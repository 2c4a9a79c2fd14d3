"""Item scores, benchmarks and the enterprise score (docs/landuse.md §3), as whole arrays.

- Item score = weight × min(max(value, 0) / benchmark, cap); cap 1.5 (开化县, 2014).
  Enterprise score = Σ items of its profile (0 to 150 points with the default cap).
- Benchmark of an indicator: ``factor`` (2) × the mean over the graded cohort of the
  year it is taken from (the previous year by default, 淮安 2024), or a fixed number a
  zone sets (黄岩区). Only finite values enter a mean.
- An above-scale enterprise with no pollutant data gets the mean ``va_per_pollutant``
  item score of the graded cohort members that have one (黄岩区 practice).

Indicators travel as a matrix (enterprises × ``INDICATORS``), weights likewise: a
profile is one row of weights, and each enterprise takes the row of its profile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics.landuse.indicators import INDICATORS
from smartpark.core.errors import AnalyticsError

PROFILES: Final[Mapping[str, Mapping[str, float]]] = {
    # Zhejiang six indicators (浙政发〔2018〕5号), weights as 黄岩区 applies them.
    "zj6": {
        "tax_per_mu": 30,
        "va_per_mu": 20,
        "va_per_energy": 20,
        "va_per_pollutant": 10,
        "labour_productivity": 10,
        "rd_intensity": 10,
    },
    # Jiangsu resource-use evaluation, weights of 淮安 2024.
    "js3": {"tax_per_mu": 45, "revenue_per_mu": 35, "tax_per_energy": 20},
    # Below-scale enterprises (黄岩区).
    "below": {"tax_per_mu": 50, "tax_per_kwh": 50},
}
ABOVE_PROFILES: Final = ("zj6", "js3")
PROFILE_NAMES: Final = tuple(PROFILES)
DEFAULT_CAP: Final = 1.5
DEFAULT_BENCHMARK_FACTOR: Final = 2.0
POLLUTANT: Final = INDICATORS.index("va_per_pollutant")

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

WEIGHTS: Final = np.array(
    [[PROFILES[p].get(k, 0.0) for k in INDICATORS] for p in PROFILE_NAMES], np.float64
)
WEIGHTS.setflags(write=False)


def profile_code(name: str) -> int:
    if name not in PROFILES:
        raise AnalyticsError(f"profile: unknown profile {name!r} (expected {', '.join(PROFILES)})")
    return PROFILE_NAMES.index(name)


def indicator_matrix(indicators: Mapping[str, FloatArray]) -> FloatArray:
    """(enterprises, INDICATORS) from a mapping of name → (enterprises,)."""
    return np.stack([np.asarray(indicators[k], np.float64) for k in INDICATORS], axis=-1)


def cohort_means(values: FloatArray, cohort: BoolArray) -> FloatArray:
    """Per indicator, the mean of the finite values of ``cohort`` rows (NaN if none)."""
    use = cohort[:, None] & np.isfinite(values)
    counts = use.sum(axis=0)
    sums = np.where(use, values, 0.0).sum(axis=0)
    out = np.full(values.shape[1], np.nan)
    np.divide(sums, counts, out=out, where=counts > 0)
    return out


def item_scores(
    values: FloatArray,
    bench: FloatArray,
    weights: FloatArray,
    cap: float = DEFAULT_CAP,
) -> FloatArray:
    """weight × clip(value / benchmark, 0, cap); NaN where a weighted value is missing.

    Unweighted items are 0. A benchmark that is not positive leaves its items NaN.
    """
    good_bench = bench > 0
    ratio = np.full(values.shape, np.nan)
    np.divide(values, bench, out=ratio, where=good_bench & ~np.isnan(values))
    clipped = np.clip(ratio, 0.0, cap)  # inf → cap, negative → 0, NaN stays
    return np.where(weights > 0, weights * clipped, 0.0)


def fill_pollutant(
    items: FloatArray,
    weights: FloatArray,
    above: BoolArray,
    cohort: BoolArray,
    no_pollutant_data: BoolArray,
) -> tuple[FloatArray, BoolArray, float]:
    """Give above-scale cohort rows without pollutant data the cohort's mean item score.

    Returns the items, which rows were filled, and the mean used (NaN if no cohort
    member has pollutant data, in which case nothing is filled).
    """
    column = items[:, POLLUTANT]
    weighted = weights[:, POLLUTANT] > 0
    have = cohort & weighted & np.isfinite(column)
    mean = float(column[have].mean()) if have.any() else float("nan")
    filled = cohort & above & weighted & no_pollutant_data
    if np.isnan(mean):
        return items, np.zeros_like(filled), mean
    out = items.copy()
    out[filled, POLLUTANT] = mean
    return out, filled, mean


def total(items: FloatArray, weights: FloatArray) -> FloatArray:
    """Σ items of each row; NaN if any weighted item is NaN."""
    missing = (weights > 0) & np.isnan(items)
    score = np.where(weights > 0, items, 0.0).sum(axis=1)
    return np.where(missing.any(axis=1), np.nan, score)
