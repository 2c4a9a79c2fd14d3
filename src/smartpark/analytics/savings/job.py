"""``smartpark savings``: the savings of one project or of every project of a registry.

Dates are local dates of each project's park; ``end`` is exclusive and defaults to the
park's today at ``now_ms``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from smartpark.analytics.periods import from_ms
from smartpark.analytics.savings.inputs import timezone_of
from smartpark.analytics.savings.savings import Savings, savings
from smartpark.core import registry as registry_mod
from smartpark.core.errors import OptionError
from smartpark.core.registry import Registry
from smartpark.core.urls import StoreUrl
from smartpark.store.base import Store
from smartpark.store.open import open_store


def of_projects(
    store: Store,
    reg: Registry,
    project: str | None,
    first: dt.date | None,
    end: dt.date | None,
    now_ms: int,
) -> list[Savings]:
    """``project``'s savings, or every project's (sorted by id) when None."""
    if project is None and not reg.projects:
        raise OptionError("--project: the registry has no [project.ID]: add one (docs/savings.md)")
    ids = [project] if project is not None else sorted(reg.projects)
    out = []
    for ident in ids:
        known = reg.projects.get(ident)
        today = from_ms(now_ms, timezone_of(reg, known)).date() if known else dt.date.min
        out.append(savings(store, reg, ident, first, end, today=today))
    return out


def run(
    registry: Path,
    store_url: StoreUrl,
    project: str | None,
    first: dt.date | None,
    end: dt.date | None,
    now_ms: int,
) -> list[Savings]:
    reg = registry_mod.load(registry)
    store = open_store(store_url, reg)
    try:
        return of_projects(store, reg, project, first, end, now_ms)
    finally:
        store.close()


__all__ = ["of_projects", "run"]
