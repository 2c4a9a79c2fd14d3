"""Idle enterprises and inefficient land (docs/landuse.md §4), over enterprises × months.

Electricity tells whether a plant runs. For a test window of ``window_months`` months
ending at ``as_of`` (default 24):

- ``baseline_kwh``: the mean monthly kWh of the ``baseline_months`` (12) months just
  before the window, all of which must have data (an enterprise without a full,
  positive baseline is reported as not tested, never guessed).
- ``run_ratio`` = month kWh / baseline; **stopped** below 0.30, **near zero** below
  0.05. A month without data is neither stopped nor running: it breaks a run.
- ``run_length``: consecutive stopped months ending at each month, from one cumulative
  maximum over the window (no per-month loop).

Flags at ``as_of`` (facts of ``year``, normally as_of's year):

- ``suspected_idle``: the run ending at as_of is ≥ 3 months.
- ``stopped_1y``: that run is ≥ 12 months.
- ``no_tax_2y``: tax = 0 in ``year - 1`` and ``year``.
Dates are compared at the end of the as_of month (the first day of the next month).

- ``low_output``: ≥ 2 years since production_start at as_of, and revenue per mu in
  ``year`` < 50 % of the control value (the zone's, else the graded cohort's mean).
- ``idle_land``: construction not started ≥ 1 year after ``construction_due``, or
  (built_ratio < 1/3 or invested_ratio < 25 %) with works stopped ≥ 1 year.
- ``zombie_candidate``: ``stopped_1y`` and (profit < 0 in 3 consecutive years up to
  ``year``, or grade D in ``year - 1`` and ``year``).

Each raised flag is a :class:`Flag` with its evidence (months, ratios, facts used).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics.landuse.cohort import years_before
from smartpark.analytics.landuse.dataset import Dataset
from smartpark.analytics.landuse.grades import GRADES
from smartpark.analytics.landuse.monthly import month_code, month_label
from smartpark.core.errors import AnalyticsError

RULES: Final = (
    "suspected_idle",
    "stopped_1y",
    "no_tax_2y",
    "low_output",
    "idle_land",
    "zombie_candidate",
)
D_GRADE: Final = GRADES.index("D")

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class IdleConfig:
    window_months: int = 24
    baseline_months: int = 12
    stopped_below: float = 0.30
    near_zero_below: float = 0.05
    suspected_months: int = 3
    stopped_1y_months: int = 12
    low_output_share: float = 0.5
    control_revenue_per_mu: float | None = None  # the zone's; else the cohort mean
    built_below: float = 1 / 3
    invested_below: float = 0.25
    land_grace_years: int = 1

    def __post_init__(self) -> None:
        if self.window_months < self.stopped_1y_months or self.baseline_months < 1:
            raise AnalyticsError(
                f"window_months ({self.window_months}) must be >= stopped_1y_months "
                f"({self.stopped_1y_months}) and baseline_months >= 1"
            )


@dataclass(frozen=True)
class Runs:
    """Monthly run state of every enterprise over the test window."""

    first: int  # month code of the window's first month
    baseline: FloatArray  # (n,), NaN when not testable
    untested: tuple[str, ...]  # per enterprise: why it has no baseline ("" if tested)
    kwh: FloatArray  # (n, W)
    ratio: FloatArray  # (n, W)
    stopped: BoolArray  # (n, W)
    near_zero: BoolArray  # (n, W)
    run_length: IntArray  # (n, W): consecutive stopped months ending at each month

    @property
    def months(self) -> list[str]:
        return [month_label(self.first + k) for k in range(self.ratio.shape[1])]


def run_lengths(stopped: BoolArray) -> IntArray:
    """Consecutive True values ending at each column, per row."""
    n_cols = stopped.shape[1]
    index = np.arange(n_cols, dtype=np.int64)
    last_break = np.maximum.accumulate(np.where(stopped, -1, index), axis=1)
    return index - last_break


def runs(data: Dataset, as_of: int, config: IdleConfig | None = None) -> Runs:
    """Baseline, run ratios and run lengths for the window ending at month ``as_of``."""
    config = config or IdleConfig()
    first = as_of - config.window_months + 1
    kwh = data.months(first, config.window_months)
    before = data.months(first - config.baseline_months, config.baseline_months)
    complete: BoolArray = np.asarray(~np.isnan(before).any(axis=1))
    baseline = np.where(complete, np.where(complete[:, None], before, 0.0).mean(axis=1), np.nan)
    baseline = np.where(baseline > 0, baseline, np.nan)
    ratio = np.full(kwh.shape, np.nan)
    np.divide(kwh, baseline[:, None], out=ratio, where=~np.isnan(baseline)[:, None])
    stopped = ratio < config.stopped_below  # NaN compares False
    span = f"{month_label(first - config.baseline_months)}..{month_label(first - 1)}"
    missing = np.isnan(before).sum(axis=1)
    untested = tuple(
        ""
        if not np.isnan(b)
        else (
            f"no baseline: {int(m)} of the {config.baseline_months} months {span} lack data"
            if m
            else f"no baseline: 0 kWh over {span}"
        )
        for b, m in zip(baseline.tolist(), missing.tolist(), strict=True)
    )
    return Runs(
        first=first,
        baseline=baseline,
        untested=untested,
        kwh=kwh,
        ratio=ratio,
        stopped=stopped,
        near_zero=ratio < config.near_zero_below,
        run_length=run_lengths(stopped),
    )


@dataclass(frozen=True)
class Flag:
    enterprise: str
    park: str
    rule: str
    land_mu: float
    evidence: Mapping[str, Any]


@dataclass(frozen=True)
class Detection:
    as_of: int
    year: int
    runs: Runs
    raised: Mapping[str, BoolArray]  # rule -> (n,)
    flags: tuple[Flag, ...]
    notes: tuple[str, ...]


def month_end(code: int) -> np.datetime64:
    """The end of month ``code``: the first day of the next month, 00:00."""
    nxt = code + 1
    return np.datetime64(dt.date(nxt // 12, nxt % 12 + 1, 1), "D")


def detect(
    data: Dataset,
    as_of: int,
    year: int,
    grade_now: IntArray | None = None,
    grade_prev: IntArray | None = None,
    cohort_revenue_per_mu: float | None = None,
    config: IdleConfig | None = None,
) -> Detection:
    """Every rule for every enterprise at month ``as_of`` with the facts of ``year``.

    ``grade_now``/``grade_prev`` are grade codes (0..3, -1 none) of ``year`` and
    ``year - 1``; ``cohort_revenue_per_mu`` is the control value used when the config
    sets none.
    """
    config = config or IdleConfig()
    notes: list[str] = []
    static = data.static
    n = len(static.ids)
    state = runs(data, as_of, config)
    current_run = state.run_length[:, -1]
    suspected = current_run >= config.suspected_months
    stopped_1y = current_run >= config.stopped_1y_months
    untested = sum(1 for u in state.untested if u)
    if untested:
        notes.append(f"{untested} enterprise(s) not tested for idle months (no baseline)")

    def facts(name: str, y: int) -> FloatArray:
        if y in data.years:
            return data.facts[name][:, data.years.index(y)]
        return np.full(n, np.nan)

    tax_prev, tax_now = facts("tax", year - 1), facts("tax", year)
    no_tax = (tax_prev == 0) & (tax_now == 0)

    land_mu = static.land_mu
    as_of_day = month_end(as_of)
    revenue_per_mu = np.full(n, np.nan)
    np.divide(facts("revenue", year), land_mu, out=revenue_per_mu, where=land_mu > 0)
    control = config.control_revenue_per_mu or cohort_revenue_per_mu
    producing_2y = static.production_start <= years_before(as_of_day, 2)
    if control is None or not control > 0:
        notes.append("low_output not tested: no control value for revenue per mu")
        low_output = np.zeros(n, np.bool_)
    else:
        low_output = producing_2y & (revenue_per_mu < config.low_output_share * control)

    grace_start = years_before(as_of_day, config.land_grace_years)
    not_started = np.isnat(static.construction_started) & (static.construction_due <= grace_start)
    underbuilt = (static.built_ratio < config.built_below) | (
        static.invested_ratio < config.invested_below
    )
    works_stopped = static.works_stopped_since <= grace_start
    idle_land = not_started | (underbuilt & works_stopped)

    profits = np.stack([facts("profit", year - k) for k in (2, 1, 0)], axis=1)
    losses_3y: BoolArray = np.asarray((profits < 0).all(axis=1))
    d_2y = np.zeros(n, np.bool_)
    if grade_now is not None and grade_prev is not None:
        d_2y = (grade_now == D_GRADE) & (grade_prev == D_GRADE)
    zombie = stopped_1y & (losses_3y | d_2y)

    raised = {
        "suspected_idle": suspected,
        "stopped_1y": stopped_1y,
        "no_tax_2y": no_tax,
        "low_output": low_output,
        "idle_land": idle_land,
        "zombie_candidate": zombie,
    }
    context = _Context(data, state, year, as_of_day, revenue_per_mu, control, config)
    flags: list[Flag] = []
    for rule in RULES:
        for i in np.flatnonzero(raised[rule]).tolist():
            flags.append(
                Flag(
                    enterprise=static.ids[i],
                    park=static.park[i],
                    rule=rule,
                    land_mu=float(land_mu[i]),
                    evidence=context.evidence(rule, i, losses_3y, d_2y, grade_now, grade_prev),
                )
            )
    return Detection(as_of, year, state, raised, tuple(flags), tuple(notes))


@dataclass(frozen=True)
class _Context:
    data: Dataset
    runs: Runs
    year: int
    as_of_day: np.datetime64
    revenue_per_mu: FloatArray
    control: float | None
    config: IdleConfig

    def fact(self, name: str, i: int, year: int) -> float | None:
        if year not in self.data.years:
            return None
        v = float(self.data.facts[name][i, self.data.years.index(year)])
        return None if np.isnan(v) else v

    def evidence(
        self,
        rule: str,
        i: int,
        losses_3y: BoolArray,
        d_2y: BoolArray,
        grade_now: IntArray | None,
        grade_prev: IntArray | None,
    ) -> dict[str, Any]:
        s = self.data.static
        y = self.year
        if rule in ("suspected_idle", "stopped_1y"):
            return self.run_evidence(i)
        if rule == "no_tax_2y":
            return {"tax": {str(y - 1): self.fact("tax", i, y - 1), str(y): self.fact("tax", i, y)}}
        if rule == "low_output":
            assert self.control is not None
            return {
                "revenue_per_mu": round(float(self.revenue_per_mu[i]), 6),
                "control_revenue_per_mu": round(float(self.control), 6),
                "threshold": round(float(self.config.low_output_share * self.control), 6),
                "year": y,
                "production_start": str(s.production_start[i]),
            }
        if rule == "idle_land":
            out: dict[str, Any] = {"as_of_end": str(self.as_of_day)}
            for name in ("construction_due", "construction_started", "works_stopped_since"):
                value = getattr(s, name)[i]
                out[name] = None if np.isnat(value) else str(value)
            for name in ("built_ratio", "invested_ratio"):
                value = float(getattr(s, name)[i])
                out[name] = None if np.isnan(value) else value
            return out
        # zombie_candidate
        out = {"stopped_months": int(self.runs.run_length[i, -1])}
        if losses_3y[i]:
            out["profit"] = {str(y - k): self.fact("profit", i, y - k) for k in (2, 1, 0)}
        if d_2y[i] and grade_now is not None and grade_prev is not None:
            out["grades"] = {
                str(y - 1): GRADES[int(grade_prev[i])],
                str(y): GRADES[int(grade_now[i])],
            }
        return out

    def run_evidence(self, i: int) -> dict[str, Any]:
        r = self.runs
        length = int(r.run_length[i, -1])
        months = r.months[-length:]
        return {
            "baseline_kwh": round(float(r.baseline[i]), 3),
            "stopped_since": months[0],
            "stopped_months": length,
            "near_zero_months": int(r.near_zero[i, -length:].sum()),
            "run_ratio": {
                m: round(v, 4) for m, v in zip(months, r.ratio[i, -length:].tolist(), strict=True)
            },
        }


def as_of_default(year: int) -> int:
    """December of ``year``: the month code idle rules test at by default."""
    return month_code(year, 12)
