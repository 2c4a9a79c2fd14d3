"""Dual-control panels: each energy budget's actual year to date against its plan line
(docs/dualcontrol.md, docs/deploy.md "Dual-control panels").

Made only where a zone names a targets file that exists (``dual_control`` in the
registry): one panel per target with an energy budget (``energy_tce``), on the zone
overview for the zone, region and park targets, on a park's dashboard for the park's and
its enterprises' targets. Each panel shows, over this year so far (the panel's own time
range, Grafana's ``now/y``), per month:

- the cumulative actual: ``cumulative_sum`` of the month rows of ``energy_target_tce``
  (the energy that counts toward the target, docs/kpis.md), as ``smartpark kpi --write``
  or ``--follow`` stores them;
- the cumulative plan, the dashed red plan line: ``cumulative_sum`` of the month rows of
  ``energy_plan_tce`` that ``smartpark targets --write`` stores from the targets file
  (:mod:`smartpark.analytics.dualcontrol.planrows`). The plan is read from the store,
  not fixed in the dashboard, so a changed budget or plan shows once ``targets --write``
  has run again; a new target needs the dashboards generated again.

A month row starts at local midnight of the scope's time zone, and the panel's year at
midnight of the browser's: the query reaches two days before the panel's start so that
January counts wherever the browser is (month rows are four weeks apart, so no December
row is caught).
"""

# InfluxQL here is built from code constants and registry ids (validated slugs), never
# from user input, so string building is safe:
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Final

from smartpark.analytics.dualcontrol.planrows import PLAN_KPI
from smartpark.analytics.dualcontrol.progress import ENERGY
from smartpark.analytics.dualcontrol.targets import Target, load, targets_path
from smartpark.core.registry import Registry
from smartpark.grafana.kpis import KpiQuery, describe, grafana_unit, spec, unit
from smartpark.grafana.panels import Json, Panel, Row, timeseries
from smartpark.store.lineprotocol import KPI_MEASUREMENT

ROW: Final = "Dual-control targets: energy this year against the plan (month KPIs)"
PLAN_SERIES: Final = "plan"
ACTUAL_SERIES: Final = "actual"
# The panel's year and its filter: from two days before the year's start in the browser.
THIS_YEAR: Final = "now/y"
YEAR_FILTER: Final = "time >= ${__from}ms - 2d AND time <= ${__to}ms"


def energy_targets(
    registry: Registry, kinds: Iterable[str], parks: Iterable[str] | None
) -> list[Target]:
    """The targets with an energy budget of the zones that name an existing targets file,
    of scope ``kinds``, within ``parks`` (every park when None), one per scope and id
    (the latest year's), in the file's order."""
    wanted = set(registry.park_ids if parks is None else parks)
    chosen: dict[tuple[str, str], Target] = {}
    for zone in registry.zone_ids:
        if not registry.zones[zone].dual_control:
            continue
        path = targets_path(registry, zone)
        if not Path(path).exists():
            continue
        for t in load(path, registry, zone).targets:
            if t.scope in kinds and "energy_tce" in t.budgets and _within(registry, t, wanted):
                key = (t.scope, t.id)
                if key not in chosen or chosen[key].year < t.year:
                    chosen[key] = t
    return list(chosen.values())


def _within(registry: Registry, target: Target, parks: set[str]) -> bool:
    if target.scope == "enterprise":
        return registry.enterprises[target.id].park in parks
    if target.scope == "park":
        return target.id in parks
    if target.scope == "zone":
        return any(registry.parks[p].zone == target.id for p in parks)
    return any(target.id in registry.regions_of_park(p) for p in parks)


def dualcontrol_panels(
    registry: Registry, kinds: Iterable[str], parks: Iterable[str] | None = None
) -> list[Panel | Row]:
    """The row and one panel per energy budget of ``kinds`` within ``parks``; nothing
    where no zone names an existing targets file or no target has an energy budget."""
    targets = energy_targets(registry, tuple(kinds), parks)
    return [Row(ROW), *(_panel(t) for t in targets)] if targets else []


def _query(kpi: str, target: Target) -> str:
    return (
        f'SELECT cumulative_sum("value") FROM "{KPI_MEASUREMENT}" WHERE "scope" = '
        f"'{target.scope}' AND \"id\" = '{target.id}' AND \"period\" = 'month' AND "
        f"\"kpi\" = '{kpi}' AND {YEAR_FILTER}"
    )


def _panel(target: Target) -> Panel:
    tce = unit(ENERGY)
    needs = spec(ENERGY).inputs
    actual = KpiQuery(_query(ENERGY, target), alias=ACTUAL_SERIES, needs=needs, kpi=ENERGY)
    plan = KpiQuery(_query(PLAN_KPI, target), alias=PLAN_SERIES, needs=needs, kpi=PLAN_KPI)
    budget = target.budgets["energy_tce"]
    note = (
        f"{PLAN_KPI} ({tce}): the month's energy plan of the {target.scope} target "
        f"{target.id} (budget {budget:g} {tce} in {target.year}), written by `smartpark "
        "targets --write` (docs/dualcontrol.md). Both lines add up the months of this year "
        "so far; the actual above the plan line is ahead of the plan. A month without "
        "month KPI rows in the store is a gap: write them with `smartpark kpi --period "
        "month --write`."
    )
    panel = timeseries(
        f"{target.scope} {target.id}: energy this year against the plan ({tce}, "
        f"{target.year} budget {budget:g})",
        [actual, plan],
        unit=grafana_unit(tce),
        width=12,
        description=describe([actual, plan], note),
        overrides=[_plan_line()],
        extra={"timeFrom": THIS_YEAR, "hideTimeOverride": False},
    )
    panel.custom["showPoints"] = "always"  # one point a month
    return panel


def _plan_line() -> Json:
    """The plan drawn as a dashed red line, without fill, with its points."""
    return {
        "matcher": {"id": "byName", "options": PLAN_SERIES},
        "properties": [
            {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}},
            {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
            {"id": "custom.fillOpacity", "value": 0},
        ],
    }


__all__ = ["ROW", "dualcontrol_panels", "energy_targets"]
