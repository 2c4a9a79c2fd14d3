"""Industrial value added (工业增加值) per scope, year and month (docs/dualcontrol.md,
"Value added").

Per enterprise and month, the value added (10k CNY) is

1. the monthly figure stored with ``smartpark import value-added`` (``store.value_added``,
   the rows given to :class:`ValueAddedSource`) where there is one;
2. else the yearly ``value_added`` of the zone's land-use facts file
   (:mod:`smartpark.analytics.landuse.facts`, ``smartpark import facts``) spread over
   the year's months by days: the month holds ``value_added × its days / days of the
   year``.

A park or zone sums its enterprises month by month; a month for which an enterprise has
neither is missing for the scope, with a message naming what supplies it, never zero.
The year (for the projection) is the sum of its 12 months, missing when one is.
Regions take no intensity targets (:func:`~.targets.budget_problem`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from smartpark.analytics import periods
from smartpark.analytics.dualcontrol.targets import TargetScope
from smartpark.analytics.dualcontrol.yeardays import month_days, year_days
from smartpark.analytics.landuse.facts import Facts, facts_path, load, zone_enterprises
from smartpark.analytics.products.outputs import entered
from smartpark.core.errors import AnalyticsError
from smartpark.core.registry import Registry
from smartpark.store.outputs import OutputRow

IMPORT_HINT = (
    "import the statistics office's monthly figures with `smartpark import value-added "
    "FILE`, or the year's with `smartpark import facts FILE`"
)


@dataclass(frozen=True, slots=True)
class ValueAdded:
    """A scope's value added of a year (10k CNY): per month (None: missing), the year
    (None when a month is missing), and what is missing."""

    total: float | None
    months: tuple[float | None, ...] = (None,) * 12
    note: str = ""

    def to_date(self, closed: int) -> float | None:
        """The value added of the first ``closed`` months; None when one is missing."""
        first = self.months[:closed]
        if not closed or any(v is None for v in first):
            return None
        return math.fsum(v for v in first if v is not None)


class ValueAddedSource:
    """The stored monthly figures ``rows`` (``store.value_added``), and the zone's facts
    file, loaded once when first needed."""

    def __init__(self, registry: Registry, zone: str, rows: Sequence[OutputRow] = ()) -> None:
        self.registry = registry
        self.zone = zone
        self.rows = rows
        self._facts: Facts | None = None
        self._missing = ""
        self._loaded = False

    @property
    def file(self) -> str | None:
        try:
            return str(facts_path(self.registry, self.zone))
        except AnalyticsError:
            return None

    def of(self, scope: TargetScope, ident: str, year: int) -> ValueAdded:
        """The value added of ``scope`` ``ident`` in ``year``, month by month."""
        enterprises = self._enterprises(scope, ident)
        per_ent = np.array([self._months(e, year) for e in enterprises]).reshape(-1, 12)
        lacking = {
            e: [m + 1 for m in range(12) if math.isnan(per_ent[k, m])]
            for k, e in enumerate(enterprises)
        }
        lacking = {e: ms for e, ms in lacking.items() if ms}
        months = tuple(
            None if np.isnan(per_ent[:, m]).any() else math.fsum(per_ent[:, m].tolist())
            for m in range(12)
        )
        total = None if None in months else math.fsum(v for v in months if v is not None)
        return ValueAdded(total, months, self._note(year, lacking))

    def _months(self, enterprise: str, year: int) -> list[float]:
        """One enterprise's 12 months: the stored figure, else the facts' year spread."""
        tz = self.registry.parks[self.registry.enterprises[enterprise].park].timezone
        edges = [dt.date(year, m, 1) for m in range(1, 13)] + [dt.date(year + 1, 1, 1)]
        bounds = np.array([periods.local_midnight_ms(d, tz) for d in edges], np.int64)
        stored = entered(self.rows, enterprise, bounds)
        if not np.isnan(stored).any():
            return [float(v) for v in stored]
        yearly = self._yearly(enterprise, year)
        whole = year_days(year)
        return [
            float(v) if not math.isnan(v) else yearly * days / whole
            for v, days in zip(stored.tolist(), month_days(year), strict=True)
        ]

    def _yearly(self, enterprise: str, year: int) -> float:
        facts = self._load()
        if facts is None or year not in facts.years:
            return math.nan
        column = facts.field("value_added", year)
        return float(column[facts.enterprises.index(enterprise)])

    def _note(self, year: int, lacking: dict[str, list[int]]) -> str:
        if not lacking:
            return ""
        named = ", ".join(
            e if len(ms) == 12 else f"{e} ({', '.join(f'{year}-{m:02d}' for m in ms)})"
            for e, ms in lacking.items()
        )
        facts = self._missing or (
            f"none in {self._facts.source}" if self._facts is not None else ""
        )
        where = f" ({facts})" if facts else ""
        return (
            f"value added for {year} is missing for enterprise(s) {named}: no monthly figure "
            f"and no yearly figure{where}; {IMPORT_HINT}"
        )

    def _enterprises(self, scope: TargetScope, ident: str) -> list[str]:
        ents = zone_enterprises(self.registry, self.zone)
        if scope == "enterprise":
            return [ident]
        if scope == "park":
            return [e for e in ents if self.registry.enterprises[e].park == ident]
        return list(ents)

    def _load(self) -> Facts | None:
        if not self._loaded:
            self._loaded = True
            try:
                path = facts_path(self.registry, self.zone)
            except AnalyticsError:
                self._missing = (
                    f'zone {self.zone!r} names no facts file: set facts = "facts.csv" under '
                    f"[zone.{self.zone}]"
                )
                return None
            if not Path(path).exists():
                self._missing = f"the facts file {path} does not exist"
                return None
            self._facts = load(path, self.registry, self.zone)
        return self._facts
