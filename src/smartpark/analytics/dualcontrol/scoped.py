"""The dual-control targets one view covers: a report's or a page's scope with what lies
below it, or what an API caller may see (docs/dualcontrol.md, "Where it is shown").

:func:`under` names the target scopes a zone, region, park or enterprise covers (itself,
its parks, their enterprises); :func:`progress_of` runs plan against actual
(:func:`~.progress.run`) for the zone's targets of a year that a predicate keeps, and
None when it keeps none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from smartpark.analytics.dualcontrol.progress import Progress, run
from smartpark.analytics.dualcontrol.targets import TargetScope, load, targets_path
from smartpark.core.registry import Registry
from smartpark.store.base import Store

Keep = Callable[[TargetScope, str], bool]


def under(registry: Registry, kind: str, ident: str) -> frozenset[tuple[str, str]]:
    """``(scope, id)`` of ``kind:ident`` and every park and enterprise below it: a zone's
    parks, a region's counted parks (its own and enclave shares), a park's enterprises."""
    if kind == "enterprise":
        return frozenset({("enterprise", ident)})
    if kind == "park":
        parks = {ident}
    elif kind == "zone":
        parks = {p for p, park in registry.parks.items() if park.zone == ident}
    else:
        parks = {p for p in registry.parks if ident in registry.regions_of_park(p)}
    ents = {e for e, ent in registry.enterprises.items() if ent.park in parks}
    return frozenset(
        {(kind, ident), *(("park", p) for p in parks), *(("enterprise", e) for e in ents)}
    )


def progress_of(
    store: Store, registry: Registry, zone: str, year: int, as_of: dt.date, keep: Keep
) -> Progress | None:
    """Plan against actual of the zone's targets of ``year`` that ``keep`` keeps, at
    ``as_of``; None when it keeps none. Raises what :func:`~.targets.targets_path`,
    :func:`~.targets.load` and :func:`~.progress.run` raise (no file named, a file that
    does not load, an as-of day before the year)."""
    path = targets_path(registry, zone)
    if not any(keep(t.scope, t.id) for t in load(path, registry, zone).of_year(year)):
        return None
    done = run(store, registry, zone=zone, year=year, as_of=as_of, targets_file=path)
    return dataclasses.replace(
        done,
        rows=tuple(r for r in done.rows if keep(r.scope, r.id)),
        months=tuple(m for m in done.months if keep(m.scope, m.id)),
    )


def as_of_after(last_day: dt.date, today: dt.date) -> dt.date:
    """The as-of day that closes the period ending on ``last_day`` (the day after it), or
    ``today`` while that period is in progress: its month is then not yet closed."""
    return min(last_day + dt.timedelta(days=1), today)
