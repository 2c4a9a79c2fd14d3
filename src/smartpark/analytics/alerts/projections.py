"""``dual_control_projection``: the year-end projections of dual-control targets, month by
month (docs/alerts.md, docs/dualcontrol.md).

The subjects are the (scope, id) of the targets, in the watched zones' targets files,
that set the rule's budget in some year. The projection changes once a month, so the
rule looks at *month closes*: for a month ending (local midnight of the next month's
first day, in the target's scope time zone) in the evaluated window, plan against actual
is run as of that first day for the closed month's year
(:func:`smartpark.analytics.dualcontrol.progress.run`, one run per zone and close), and
each subject gets the projection of that year's target. A close in a year for which the
subject has no target setting the budget has nothing to exceed (:attr:`Close.budget`
None); a target whose projection is unknown (no actuals, no value added) gets no close.

The evaluator looks :data:`SETTLE_MS` behind the clock for this rule, so a month's last
readings are in the store when its close is evaluated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from smartpark.analytics import periods
from smartpark.analytics.alerts.rules import Rule
from smartpark.analytics.dualcontrol import progress, targets
from smartpark.core.registry import Registry
from smartpark.store.base import Store

SETTLE_MS: Final = 3_600_000  # a month's close is evaluated an hour after its end


@dataclass(frozen=True, slots=True)
class Watched:
    """One target subject: a scope and id of a zone's targets file."""

    zone: str
    scope: targets.TargetScope
    id: str
    park: str  # the grouping key of its alerts: an enterprise's park, else the id itself
    timezone: str  # its scope's calendar


@dataclass(frozen=True, slots=True)
class Close:
    """A subject's projection at the close of a month (``start_ms`` to ``end_ms``)."""

    subject: int  # index into the watched subjects
    start_ms: int
    end_ms: int
    year: int  # the closed month's
    budget: float | None  # None: no target of ``year`` sets the budget
    projection: float | None
    method: str | None  # last_year_shape or run_rate


def watched(registry: Registry, rule: Rule) -> list[Watched]:
    """The subjects of ``rule``, in the order of the zones and of their targets files."""
    out: list[Watched] = []
    for zone in rule.filters.target_zones(registry):
        loaded = targets.load(targets.targets_path(registry, zone), registry, zone)
        seen: set[tuple[str, str]] = set()
        for t in loaded.targets:
            if rule.budget not in t.budgets or (t.scope, t.id) in seen:
                continue
            seen.add((t.scope, t.id))
            park = registry.enterprises[t.id].park if t.scope == "enterprise" else t.id
            tz = progress.scope_timezone(registry, t.scope, t.id)
            out.append(Watched(zone, t.scope, t.id, park, tz))
    return out


def month_closes(timezone: str, after_ms: int, until_ms: int) -> list[tuple[int, int, dt.date]]:
    """(start, end, first day after) of the local months ending in ``(after, until]``."""
    day = periods.from_ms(after_ms, timezone).date().replace(day=1)
    out: list[tuple[int, int, dt.date]] = []
    while True:
        following = (day + dt.timedelta(days=32)).replace(day=1)
        end = periods.local_midnight_ms(following, timezone)
        if end > until_ms:
            return out
        out.append((periods.local_midnight_ms(day, timezone), end, following))
        day = following


def closes(
    store: Store,
    registry: Registry,
    rule: Rule,
    subjects: Sequence[Watched],
    after_ms: int,
    until_ms: int,
) -> list[Close]:
    """The month closes of ``subjects`` in ``(after_ms, until_ms]``."""
    budget = str(rule.budget)
    measure = progress.MEASURE_OF[budget]
    runs: dict[tuple[str, dt.date], dict[tuple[str, str], progress.Row]] = {}
    out: list[Close] = []
    for k, w in enumerate(subjects):
        for start, end, as_of in month_closes(w.timezone, after_ms, until_ms):
            year = (as_of - dt.timedelta(days=1)).year
            if (w.zone, as_of) not in runs:
                runs[(w.zone, as_of)] = _rows(store, registry, w.zone, year, as_of, measure)
            row = runs[(w.zone, as_of)].get((w.scope, w.id))
            if row is None:
                out.append(Close(k, start, end, year, None, None, None))
            elif row.projection is not None:
                out.append(
                    Close(k, start, end, year, row.budget, row.projection, row.projection_method)
                )
    return out


def _rows(
    store: Store, registry: Registry, zone: str, year: int, as_of: dt.date, measure: str
) -> dict[tuple[str, str], progress.Row]:
    """The rows of ``measure`` of the zone's targets of ``year`` as of ``as_of``."""
    path = targets.targets_path(registry, zone)
    if not targets.load(path, registry, zone).of_year(year):
        return {}
    done = progress.run(store, registry, zone=zone, year=year, as_of=as_of, targets_file=path)
    return {(r.scope, r.id): r for r in done.rows if r.measure == measure}
