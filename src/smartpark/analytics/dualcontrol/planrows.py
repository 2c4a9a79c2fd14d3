"""The monthly energy plan as KPI rows, for the Grafana panels (docs/dualcontrol.md,
"The plan in the store"; ``smartpark targets --write``).

Each target with an energy budget gets one row per month of its year: scope and id the
target's, period ``month``, KPI :data:`PLAN_KPI` (``energy_plan_tce``), start the local
month start of the scope (as the ``energy_target_tce`` month rows it is compared with),
value the month's plan in tce (:mod:`~.plan`). Writing again replaces them (same series
and time: last write wins), so a changed targets file or a plan from a now complete last
year is picked up by the next ``--write``.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from smartpark.analytics import periods
from smartpark.analytics.dualcontrol.progress import Progress, scope_timezone
from smartpark.core.registry import Registry
from smartpark.store.base import KpiRow, Store

PLAN_KPI: Final = "energy_plan_tce"


def plan_rows(registry: Registry, progress: Progress) -> list[KpiRow]:
    """One row per target with an energy budget and month of its year."""
    out = []
    for m in progress.months:
        if m.plan_tce is None:
            continue
        first = dt.date.fromisoformat(f"{m.month}-01")
        start = periods.local_midnight_ms(first, scope_timezone(registry, m.scope, m.id))
        out.append(KpiRow(m.scope, m.id, "month", PLAN_KPI, start, m.plan_tce))
    return out


def write_plan(store: Store, registry: Registry, progress: Progress) -> int:
    """Write the plan rows of ``progress``; how many were written."""
    rows = plan_rows(registry, progress)
    if rows:
        store.write_kpis(rows)
    return len(rows)
