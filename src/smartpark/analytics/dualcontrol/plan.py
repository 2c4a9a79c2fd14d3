"""A target's monthly energy plan (docs/dualcontrol.md, "The monthly plan").

- ``plan``: the 12 monthly budgets the targets file gives;
- ``profile = "last_year"`` (the default): the annual budget spread like last year's
  actual ``energy_target_tce`` of the same scope, month by month; when last year is
  incomplete (a month missing or below 99 % completeness) or summed to nothing, flat;
- ``profile = "flat"``: the budget spread by days (a month of 31 days takes 31/365).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from smartpark.analytics.dualcontrol.targets import Target
from smartpark.analytics.dualcontrol.yeardays import month_days, year_days

PlanSource = Literal["given", "last_year", "flat"]
FALLBACK: Final = "last year's months are incomplete, so the plan is flat (by days)"


@dataclass(frozen=True, slots=True)
class Plan:
    """The 12 monthly energy budgets (tce) and where they come from."""

    months: tuple[float, ...]
    source: PlanSource
    note: str = ""


def monthly_plan(target: Target, last_year: Sequence[float] | None) -> Plan | None:
    """The plan of ``target`` (None without an energy budget); ``last_year`` holds the
    scope's 12 complete months of last year, or None when they are incomplete."""
    budget = target.budgets.get("energy_tce")
    if budget is None:
        return None
    if target.plan is not None:
        return Plan(target.plan, "given")
    if target.profile == "last_year":
        total = math.fsum(last_year) if last_year is not None else 0.0
        if last_year is not None and total > 0:
            return Plan(tuple(budget * v / total for v in last_year), "last_year")
        return Plan(_flat(budget, target.year), "flat", FALLBACK)
    return Plan(_flat(budget, target.year), "flat")


def _flat(budget: float, year: int) -> tuple[float, ...]:
    days = year_days(year)
    return tuple(budget * d / days for d in month_days(year))
