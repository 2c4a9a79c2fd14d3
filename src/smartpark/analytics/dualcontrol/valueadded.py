"""Industrial value added (工业增加值) per scope and year (docs/dualcontrol.md, "Value
added").

The yearly ``value_added`` of each enterprise (10k CNY) comes from the zone's land-use
facts file (:mod:`smartpark.analytics.landuse.facts`, ``smartpark import facts``). A
year is spread over its months by days: the year to date after ``k`` months holds
``value_added × days of those months / days of the year``. A park or zone sums its
enterprises; when any of them has no value added for the year the scope's value added
is missing, with a message naming the file and the command that fills it, never zero.
Regions take no intensity targets (:func:`~.targets.budget_problem`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from smartpark.analytics.dualcontrol.targets import TargetScope
from smartpark.analytics.landuse.facts import Facts, facts_path, load, zone_enterprises
from smartpark.core.errors import AnalyticsError
from smartpark.core.registry import Registry

IMPORT_HINT = "import the statistics office's sheet with `smartpark import facts FILE`"


@dataclass(frozen=True, slots=True)
class ValueAdded:
    """A scope's value added for a year (10k CNY), or None and why."""

    total: float | None
    note: str = ""


class ValueAddedSource:
    """The zone's facts file, loaded once when first asked."""

    def __init__(self, registry: Registry, zone: str) -> None:
        self.registry = registry
        self.zone = zone
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
        """The value added of ``scope`` ``ident`` in ``year``."""
        facts = self._load()
        if facts is None:
            return ValueAdded(None, f"value added for {year} is missing: {self._missing}")
        enterprises = self._enterprises(scope, ident)
        if year not in facts.years:
            values = [math.nan] * len(enterprises)
        else:
            column = facts.field("value_added", year)
            values = [float(column[facts.enterprises.index(e)]) for e in enterprises]
        lacking = [e for e, v in zip(enterprises, values, strict=True) if math.isnan(v)]
        if lacking:
            return ValueAdded(
                None,
                f"value added for {year} is missing for enterprise(s) {', '.join(lacking)} in "
                f"{facts.source}: {IMPORT_HINT}",
            )
        return ValueAdded(math.fsum(values))

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
                    f'zone {self.zone!r} names no facts file (set facts = "facts.csv" under '
                    f"[zone.{self.zone}]); {IMPORT_HINT}"
                )
                return None
            if not Path(path).exists():
                self._missing = f"the facts file {path} does not exist; {IMPORT_HINT}"
                return None
            self._facts = load(path, self.registry, self.zone)
        return self._facts
