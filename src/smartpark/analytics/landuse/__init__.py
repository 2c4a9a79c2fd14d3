"""Intensive land use: per-mu (亩均) evaluation, idle enterprises, park resource output.

The rules, defaults and their public sources are in docs/landuse.md. Inputs are plain
arrays (:class:`Dataset`, built from files by :func:`build` or directly); outputs are
arrays plus words for every enterprise that is not graded and every flag raised::

    facts = load_facts("facts.csv", registry)
    months = load_monthly("monthly.csv", facts.enterprises)  # or telemetry.read_monthly
    result = analyse(build(registry, facts, months), 2025)
    result.evaluation.grade, result.detection.flags, result.kpi_rows()
"""

from smartpark.analytics.landuse.analysis import Analysis, analyse
from smartpark.analytics.landuse.dataset import Dataset, build
from smartpark.analytics.landuse.evaluation import Config, Evaluation, evaluate
from smartpark.analytics.landuse.facts import Facts
from smartpark.analytics.landuse.facts import load as load_facts
from smartpark.analytics.landuse.idle import Detection, Flag, IdleConfig, detect
from smartpark.analytics.landuse.monthly import Monthly
from smartpark.analytics.landuse.monthly import load as load_monthly

__all__ = [
    "Analysis",
    "Config",
    "Dataset",
    "Detection",
    "Evaluation",
    "Facts",
    "Flag",
    "IdleConfig",
    "Monthly",
    "analyse",
    "build",
    "detect",
    "evaluate",
    "load_facts",
    "load_monthly",
]
