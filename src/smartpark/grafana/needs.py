"""Which panels a dashboard shows: only those its scope's meters can give data.

A dashboard generated from the registry is for a scope: one park (the park folders'
dashboards), or every park of the registry (the zone folder's). The rule, in one place:

- every InfluxDB target says what it needs (:attr:`~smartpark.grafana.panels.Query.needs`):
  a query on readings the quantity it reads, a KPI query the catalogue's ``inputs`` of the
  KPI (:data:`smartpark.analytics.kpis.catalogue.ALL_KPIS`, the quantities it is computed from), a
  query on every kind of reading nothing;
- a scope meters the quantities of its boundary meters (:meth:`Metered.of`): sub-meters
  break a boundary meter down, and no total counts them;
- a target is kept when it needs nothing or its scope meters at least one quantity it
  needs; a panel keeps its kept targets (a KPI panel is rebuilt so that its description
  names only those) and is left out when none is left; a row left with no panel goes too.

Prometheus targets (the operations dashboard's Services row) read the services' own
metrics, not meters: they are always kept. Text panels have no target and stay.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from smartpark.core.registry import Registry
from smartpark.grafana.panels import Panel, PromQuery, Query, Row


@dataclass(frozen=True, slots=True)
class Metered:
    """The quantities a dashboard's scope meters (those of its boundary meters)."""

    quantities: frozenset[str]

    @classmethod
    def of(cls, registry: Registry, parks: Iterable[str] | None = None) -> Metered:
        """What ``parks`` meter together; every park of ``registry`` when None."""
        wanted = set(registry.park_ids if parks is None else parks)
        unknown = wanted - set(registry.parks)
        if unknown:
            raise ValueError(f"unknown park(s) {sorted(unknown)}: not in the registry")
        return cls(
            frozenset(
                m.quantity
                for m in registry.meters.values()
                if m.in_boundary and registry.park_of_meter(m.id) in wanted
            )
        )

    def shows(self, query: Query | PromQuery) -> bool:
        """Whether ``query`` can return data in this scope."""
        if isinstance(query, PromQuery) or not query.needs:
            return True
        return bool(query.needs & self.quantities)


def shown(items: Sequence[Panel | Row], metered: Metered) -> list[Panel | Row]:
    """``items`` without the targets ``metered`` cannot give data, nor the panels and rows
    left empty."""
    panels: list[Panel | Row] = []
    for item in items:
        if isinstance(item, Row) or not item.queries:
            panels.append(item)
            continue
        kept = [q for q in item.queries if metered.shows(q)]
        if len(kept) == len(item.queries):
            panels.append(item)
        elif kept:
            panels.append(item.with_queries(kept))
    # A row heads the panels up to the next row: drop the rows that head none.
    return [
        item
        for k, item in enumerate(panels)
        if not isinstance(item, Row) or (k + 1 < len(panels) and isinstance(panels[k + 1], Panel))
    ]
