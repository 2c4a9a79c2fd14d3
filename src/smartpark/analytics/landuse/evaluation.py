"""The per-mu evaluation of one zone and year: indicators → scores → grades.

:func:`evaluate` runs docs/landuse.md §2–3 over all enterprises at once and returns an
:class:`Evaluation` holding every intermediate array (indicators, benchmarks, item
scores, score, rank, grade) plus, for each enterprise that is not graded, the reason
in words. Nothing is graded silently: no facts row, a missing input or a year without
energy data each give "not graded: <reason>".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from smartpark.analytics.landuse import cohort, grades, indicators, scoring
from smartpark.analytics.landuse.dataset import Dataset
from smartpark.core.errors import AnalyticsError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Evaluation.status beyond the cohort codes: in the cohort but not scorable.
NO_FACTS = 20
MISSING_INPUT = 21


@dataclass(frozen=True)
class Config:
    """How a zone evaluates; every field has the docs/landuse.md default."""

    profile: str = "zj6"  # for above-scale enterprises: zj6 or js3
    cap: float = scoring.DEFAULT_CAP
    benchmark_factor: float = scoring.DEFAULT_BENCHMARK_FACTOR
    fixed_benchmarks: Mapping[str, float] = field(default_factory=dict)
    shares: tuple[float, float, float, float] = grades.DEFAULT_SHARES
    rounding: grades.Rounding = "floor"

    def __post_init__(self) -> None:
        if self.profile not in scoring.ABOVE_PROFILES:
            raise AnalyticsError(
                f"profile: expected one of {', '.join(scoring.ABOVE_PROFILES)}, "
                f"got {self.profile!r}"
            )
        if not self.cap > 0 or not self.benchmark_factor > 0:
            raise AnalyticsError("cap and benchmark_factor must be > 0")
        grades.check_shares(self.shares)
        for name, value in self.fixed_benchmarks.items():
            if name not in indicators.INDICATORS:
                raise AnalyticsError(f"benchmarks.{name}: unknown indicator")
            if not value > 0:
                raise AnalyticsError(f"benchmarks.{name}: must be > 0, got {value!r}")


@dataclass(frozen=True)
class Evaluation:
    year: int
    ids: tuple[str, ...]
    config: Config
    status: npt.NDArray[np.int8]  # cohort codes, NO_FACTS or MISSING_INPUT
    profile: IntArray  # index into scoring.PROFILE_NAMES, -1 for none
    values: FloatArray  # (enterprises, INDICATORS)
    benchmarks: FloatArray  # (INDICATORS,)
    benchmark_source: tuple[str, ...]  # per indicator, in words
    items: FloatArray  # (enterprises, INDICATORS): weighted item scores, 0 if unweighted
    pollutant_filled: BoolArray  # the item is the cohort mean (no pollutant data)
    pollutant_mean: float
    score: FloatArray  # NaN when not graded
    rank: IntArray  # 1 = best, 0 = not graded
    grade: IntArray  # 0..3 = A..D, -1 = not graded
    reasons: tuple[str, ...]  # "" when graded
    notes: tuple[str, ...]

    @property
    def graded(self) -> BoolArray:
        return self.grade >= 0

    def grade_letter(self, i: int) -> str:
        code = int(self.grade[i])
        if code >= 0:
            return grades.GRADES[code]
        return "T" if int(self.status[i]) in cohort.T_CODES else "-"


def _weights(data: Dataset, profile: str) -> tuple[IntArray, FloatArray]:
    static = data.static
    code = np.where(
        static.above,
        scoring.profile_code(profile),
        np.where(static.below, scoring.profile_code("below"), -1),
    ).astype(np.int64)
    weights = np.where(code[:, None] >= 0, scoring.WEIGHTS[np.maximum(code, 0)], 0.0)
    return code, weights


def _values(data: Dataset, j: int) -> FloatArray:
    return scoring.indicator_matrix(indicators.compute(data.inputs(j)))


def evaluate(data: Dataset, year: int, config: Config | None = None) -> Evaluation:
    """Grade the zone of ``data`` for ``year`` (docs/landuse.md §2–3)."""
    config = config or Config()
    j = data.year_index(year)
    notes: list[str] = []
    status = cohort.classify(data.static, year)
    present = data.present[:, j]
    in_cohort = (status == cohort.COHORT) & present
    profile, weights = _weights(data, config.profile)
    values = _values(data, j)
    bench, source = _benchmarks(data, j, values, in_cohort, config, notes)
    items = scoring.item_scores(values, bench, weights, config.cap)
    no_pollutant = np.isnan(data.facts["pollutant_t"][:, j])
    items, filled, mean = scoring.fill_pollutant(
        items, weights, data.static.above, in_cohort, no_pollutant
    )
    score = scoring.total(items, weights)
    score = np.where(in_cohort, score, np.nan)
    rank, grade = grades.assign(score, config.shares, config.rounding)
    status = status.copy()
    status[(status == cohort.COHORT) & ~present] = NO_FACTS
    status[in_cohort & np.isnan(score)] = MISSING_INPUT
    reasons = _reasons(data, j, status, weights, values, items, year)
    if filled.any():
        notes.append(
            f"{int(filled.sum())} above-scale enterprise(s) without pollutant data got the "
            f"cohort's mean va_per_pollutant item score {mean:.3f}"
        )
    return Evaluation(
        year=year,
        ids=data.static.ids,
        config=config,
        status=status,
        profile=profile,
        values=values,
        benchmarks=bench,
        benchmark_source=source,
        items=items,
        pollutant_filled=filled,
        pollutant_mean=mean,
        score=score,
        rank=rank,
        grade=grade,
        reasons=reasons,
        notes=tuple(notes),
    )


def _benchmarks(
    data: Dataset,
    j: int,
    values: FloatArray,
    in_cohort: BoolArray,
    config: Config,
    notes: list[str],
) -> tuple[FloatArray, tuple[str, ...]]:
    year = data.years[j]
    factor = config.benchmark_factor
    current = scoring.cohort_means(values, in_cohort)
    previous = np.full_like(current, np.nan)
    if j > 0 and data.present[:, j - 1].any():
        prev_cohort = (cohort.classify(data.static, year - 1) == cohort.COHORT) & data.present[
            :, j - 1
        ]
        previous = scoring.cohort_means(_values(data, j - 1), prev_cohort)
    else:
        notes.append(f"no facts for {year - 1}: benchmarks use the {year} cohort mean")
    use_previous = ~np.isnan(previous)
    bench = factor * np.where(use_previous, previous, current)
    sources = [
        f"{factor:g} × {year - 1 if prev else year} cohort mean" for prev in use_previous.tolist()
    ]
    used = scoring.WEIGHTS.max(axis=0) > 0
    if j > 0 and data.present[:, j - 1].any():
        fallback = [
            indicators.INDICATORS[k]
            for k in np.flatnonzero(~use_previous & used)
            if indicators.INDICATORS[k] not in config.fixed_benchmarks
        ]
        if fallback:
            notes.append(
                f"no {year - 1} cohort values for {', '.join(fallback)}: "
                f"their benchmarks use the {year} cohort mean"
            )
    for name, value in config.fixed_benchmarks.items():
        k = indicators.INDICATORS.index(name)
        bench[k] = value
        sources[k] = "fixed by the zone"
    return bench, tuple(sources)


def _reasons(
    data: Dataset,
    j: int,
    status: npt.NDArray[np.int8],
    weights: FloatArray,
    values: FloatArray,
    items: FloatArray,
    year: int,
) -> tuple[str, ...]:
    inputs = data.inputs(j)
    out = [""] * len(status)
    for i in np.flatnonzero(status != cohort.COHORT).tolist():
        code = int(status[i])
        if code == NO_FACTS:
            out[i] = f"no facts row for {year}"
        elif code == MISSING_INPUT:
            out[i] = _missing_inputs(inputs, i, weights[i], values[i], items[i])
        else:
            out[i] = cohort.describe(data.static, i, code, year)
    return tuple(out)


def _missing_inputs(
    inputs: Mapping[str, FloatArray],
    i: int,
    weights: FloatArray,
    values: FloatArray,
    items: FloatArray,
) -> str:
    """Why the weighted items of one enterprise could not all be scored."""
    parts: list[str] = []
    for k in np.flatnonzero((weights > 0) & np.isnan(items)).tolist():
        name = indicators.INDICATORS[k]
        if np.isnan(values[k]):
            num, den = indicators.FORMULAS[name]
            bad = []
            for term in (num, den):
                raw = inputs["land_m2"] if term == "land_mu" else inputs[term]
                v = float(raw[i])
                if np.isnan(v):
                    bad.append(f"{term} missing")
                elif term == den and v <= 0:
                    bad.append(f"{term} = {v:g}")
            if name == "va_per_pollutant" and bad == ["pollutant_t missing"]:
                bad.append("no cohort member has pollutant data for the mean item score")
            parts.append(f"{name}: {', '.join(bad) or 'undefined'}")
        else:
            parts.append(f"{name}: no benchmark (no cohort value above 0)")
    return "cannot score " + "; ".join(parts)
