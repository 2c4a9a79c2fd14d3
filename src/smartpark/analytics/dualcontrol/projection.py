"""The year-end projection of a total (docs/dualcontrol.md, "Projection").

- ``last_year_shape``: this year's year-to-date scaled by last year's remaining months,
  ``ytd × (1 + last_year_remaining / last_year_ytd)``, where last year's year-to-date
  covers the same months; used when last year's 12 months are complete and its
  year-to-date is above zero;
- ``run_rate`` otherwise: ``ytd / elapsed days × days in the year``.

A year-to-date of whole months (``closed`` of them) is projected; none closed, or one
without data (NaN), nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from smartpark.analytics.dualcontrol.yeardays import days_before, year_days

Method = Literal["last_year_shape", "run_rate"]


@dataclass(frozen=True, slots=True)
class Projection:
    value: float
    method: Method


def project(
    months: Sequence[float], closed: int, last_year: Sequence[float] | None, year: int
) -> Projection | None:
    """The year-end value of ``months`` (this year's, the first ``closed`` known);
    ``last_year``: last year's 12 complete months, or None."""
    if closed == 0:
        return None
    ytd = math.fsum(months[:closed])
    if not math.isfinite(ytd):
        return None  # a month without data: no projection
    if last_year is not None:
        before = math.fsum(last_year[:closed])
        if before > 0:
            return Projection(ytd * (1 + math.fsum(last_year[closed:]) / before), "last_year_shape")
    return Projection(ytd / days_before(year, closed) * year_days(year), "run_rate")
