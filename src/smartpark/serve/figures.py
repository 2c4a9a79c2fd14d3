"""The KPIs of one page: a scope's period, its children's, and its finer series.

A period that has ended and whose KPI rows are stored (``smartpark kpi --write``, the
demo, ``kpi --follow``) is read from the store as it is. A period in progress, or one
with no stored rows, is computed with :func:`~smartpark.analytics.jobs.kpi_job` from
day rows, rollups and readings up to the last local midnight (a month or a year so far: whole
days, as the monthly report does; the day in progress: its whole hours), and never
written; its finer period in progress (this month of the year) is partial too.
:class:`Figures` says which it was and how far it reaches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final, Literal

from smartpark.analytics import periods
from smartpark.analytics.dualcontrol.planrows import PLAN_KPI
from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.kpis.table import KpiBlock, KpiTable
from smartpark.core.registry import Registry
from smartpark.store.base import Scope, Store

NAN: Final = float("nan")


@dataclass(frozen=True, slots=True)
class Wanted:
    """What a page asks for: ``scope:id`` and its ``children`` (ids per scope: a zone's
    regions and its parks owned by none) for the ``kind`` period, and the scope's series
    in the ``finer`` period."""

    scope: Scope
    id: str
    children: tuple[tuple[Scope, tuple[str, ...]], ...]
    kind: periods.PeriodName
    finer: periods.PeriodName

    @property
    def subjects(self) -> list[tuple[Scope, tuple[str, ...]]]:
        return [(self.scope, (self.id,)), *self.children]


@dataclass(frozen=True)
class Figures:
    """Values by (scope, id) and KPI for the period; the scope's finer series."""

    source: Literal["stored", "computed", "none"]
    start_ms: int
    end_ms: int  # the period's end, or how far a period in progress is covered
    partial: bool  # a period in progress: [start_ms, end_ms) so far
    # (scope, id) -> kpi -> value
    values: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    series_starts: list[int] = field(default_factory=list)
    series: dict[str, list[float]] = field(default_factory=dict)  # kpi -> per finer period

    def of(self, scope: str, ident: str, kpi: str) -> float:
        return self.values.get((scope, ident), {}).get(kpi, NAN)


def figures(
    store: Store,
    registry: Registry,
    wanted: Wanted,
    bounds: tuple[int, int],
    timezone: str,
    now_ms: int,
) -> Figures:
    """The figures ``wanted`` for the period ``bounds``; stored where the period has
    ended and is stored, else computed."""
    start, end = bounds
    if end <= now_ms:
        stored = _stored(store, wanted, start, end)
        if stored is not None:
            return stored
    step: periods.PeriodName = "hour" if wanted.kind == "day" else "day"
    cut = _covered_to(step, start, min(end, now_ms), timezone)
    if cut <= start:
        return Figures("none", start, start, end > now_ms)
    periods_ = (wanted.kind, wanted.finer)
    result = kpi_job(store, registry, start, cut, periods_, write=False, open_end=cut < end)
    return _computed(result.table, wanted, start, cut, cut < end, timezone)


def _covered_to(step: periods.PeriodName, start: int, until: int, timezone: str) -> int:
    """The last boundary of a whole ``step`` (hour or day) at or before ``until``
    (``start`` when none has ended)."""
    bounds = periods.boundaries(timezone, step, start, until)
    return int(bounds[-1]) if bounds.size else start


def _stored(store: Store, wanted: Wanted, start: int, end: int) -> Figures | None:
    found = store.read_kpis(start, start + 1, wanted.scope, wanted.kind, ids=(wanted.id,))
    if all(r.kpi == PLAN_KPI for r in found):  # none, or a target's plan only
        return None
    values: dict[tuple[str, str], dict[str, float]] = {}
    for scope, ids in wanted.subjects:
        for r in store.read_kpis(start, start + 1, scope, wanted.kind, ids=ids) if ids else ():
            values.setdefault((scope, r.id), {})[r.kpi] = r.value
    fine = store.read_kpis(start, end, wanted.scope, wanted.finer, ids=(wanted.id,))
    starts = sorted({r.start_ms for r in fine})
    at = {s: k for k, s in enumerate(starts)}
    series: dict[str, list[float]] = {}
    for r in fine:
        series.setdefault(r.kpi, [NAN] * len(starts))[at[r.start_ms]] = r.value
    return Figures("stored", start, end, False, values, starts, series)


def _computed(
    table: KpiTable, wanted: Wanted, start: int, cut: int, partial: bool, tz: str
) -> Figures:
    def block(scope: Scope, period: periods.PeriodName) -> KpiBlock | None:
        return next(
            (b for b in table.blocks if (b.scope, b.period, b.timezone) == (scope, period, tz)),
            None,
        )

    values: dict[tuple[str, str], dict[str, float]] = {}
    for scope, ids in wanted.subjects:
        b = block(scope, wanted.kind)
        if b is None or start not in b.starts.tolist():
            continue
        col = b.column_of(start)
        for i in ids:
            if i in b.ids:
                row = b.row_of(i)
                values[(scope, i)] = {k: float(v[row, col]) for k, v in b.values.items()}
    fine = block(wanted.scope, wanted.finer)
    starts: list[int] = []
    series: dict[str, list[float]] = {}
    if fine is not None and wanted.id in fine.ids:
        row = fine.row_of(wanted.id)
        starts = fine.starts.tolist()
        series = {k: [float(x) for x in v[row]] for k, v in fine.values.items()}
    return Figures("computed", start, cut, partial, values, starts, series)


def finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


__all__ = ["Figures", "Wanted", "figures", "finite"]
