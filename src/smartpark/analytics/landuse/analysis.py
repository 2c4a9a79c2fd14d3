"""One land-use analysis of a zone: the year's grades, the idle flags, the park KPIs.

:func:`analyse` is what the job (:mod:`job`) and reports call: it evaluates ``year``
(and ``year - 1`` for the two-D-grades test), runs the idle rules at ``as_of``
(December of ``year`` by default) with the graded cohort's mean revenue per mu as the
control value unless the zone sets one, and derives the park and zone KPI rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from smartpark.analytics.landuse import idle, park, regions
from smartpark.analytics.landuse.dataset import Dataset
from smartpark.analytics.landuse.evaluation import Config, Evaluation, evaluate
from smartpark.analytics.landuse.idle import Detection, IdleConfig
from smartpark.analytics.landuse.indicators import INDICATORS
from smartpark.core.logs import get_logger
from smartpark.store.base import KpiRow

REVENUE_PER_MU = INDICATORS.index("revenue_per_mu")


@dataclass(frozen=True)
class Analysis:
    data: Dataset
    evaluation: Evaluation
    previous: Evaluation | None
    detection: Detection
    idle_config: IdleConfig
    control_revenue_per_mu: float | None

    @property
    def notes(self) -> tuple[str, ...]:
        return self.evaluation.notes + self.detection.notes

    def year_rows(self) -> list[KpiRow]:
        shared = regions.year_rows(self.data, self.evaluation.year)
        return park.year_rows(self.data, self.evaluation, self.detection) + shared

    def month_rows(self) -> list[KpiRow]:
        return park.month_rows(self.data, self.detection, self.idle_config)

    def kpi_rows(self) -> list[KpiRow]:
        return self.year_rows() + self.month_rows()


def cohort_mean_revenue_per_mu(evaluation: Evaluation) -> float | None:
    values = evaluation.values[evaluation.graded, REVENUE_PER_MU]
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else None


def analyse(
    data: Dataset,
    year: int,
    config: Config | None = None,
    idle_config: IdleConfig | None = None,
    as_of: int | None = None,
) -> Analysis:
    """Grades of ``year``, idle flags at month code ``as_of``, park KPIs."""
    idle_config = idle_config or IdleConfig()
    started = time.perf_counter()
    current = evaluate(data, year, config)
    previous = None
    if year - 1 in data.years and data.present[:, data.year_index(year - 1)].any():
        previous = evaluate(data, year - 1, config)
    control = idle_config.control_revenue_per_mu or cohort_mean_revenue_per_mu(current)
    detection = idle.detect(
        data,
        idle.as_of_default(year) if as_of is None else as_of,
        year,
        grade_now=current.grade,
        grade_prev=None if previous is None else previous.grade,
        cohort_revenue_per_mu=control,
        config=idle_config,
    )
    get_logger(__name__).info(
        "landuse_analysed",
        zone=data.zone,
        year=year,
        enterprises=len(data.static.ids),
        graded=int(current.graded.sum()),
        flags=len(detection.flags),
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return Analysis(data, current, previous, detection, idle_config, control)
