"""Plan against actual: a zone's dual-control targets of a year at an "as of" date
(``smartpark targets``, docs/dualcontrol.md).

The year to date is made of the year's *closed* months: from January 1 to the first day
of the as-of date's month (local, in each scope's time zone); a past year is complete.
One :func:`kpi_job` over last year and the year to date gives every target's monthly
``energy_target_tce`` (energy for target purposes), ``co2_total_t``, ``energy_tce`` and
``renewable_share``. Per target and budget (a :class:`Row`): the budget, the plan and
actual to date, the share of the year's budget used, the year-end projection with its
method (:mod:`~.projection`) and the projected gap; per target and month (a
:class:`MonthRow`): plan, actuals and value added.

The gap is always "projection − budget", except for ``renewable_share_min``, a floor,
where it is "minimum − share to date": above zero is the wrong side of a target.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from smartpark.analytics import periods
from smartpark.analytics.dualcontrol.plan import Plan, monthly_plan
from smartpark.analytics.dualcontrol.projection import Projection, project
from smartpark.analytics.dualcontrol.targets import (
    BUDGETS,
    INTENSITIES,
    Target,
    TargetScope,
    load,
    targets_path,
)
from smartpark.analytics.dualcontrol.valueadded import ValueAdded, ValueAddedSource
from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.kpis.table import COMPLETE_AT, KpiTable
from smartpark.analytics.landuse.facts import zone_of
from smartpark.core.errors import AnalyticsError, OptionError
from smartpark.core.registry import Registry
from smartpark.store.base import Store

ENERGY: Final = "energy_target_tce"  # the energy actual of targets (docs/kpis.md)
CO2: Final = "co2_total_t"
# The measure of each budget: (the total it rests on, unit of the measure).
MEASURE_OF: Final = {
    "energy_tce": "energy_tce",
    "co2_t": "co2_t",
    "energy_intensity": "energy_intensity",
    "co2_intensity": "co2_intensity",
    "renewable_share_min": "renewable_share",
}


@dataclass(frozen=True, slots=True)
class Row:
    """One budget of one target: plan, actual and projection (None: not defined)."""

    scope: TargetScope
    id: str
    year: int
    measure: str  # energy_tce, co2_t, energy_intensity, co2_intensity, renewable_share
    unit: str
    budget: float
    plan_ytd: float | None
    actual_ytd: float | None
    used_pct: float | None  # share of the year's budget used (totals)
    projection: float | None
    projection_method: str | None  # last_year_shape or run_rate
    gap: float | None
    gap_pct: float | None
    incomplete: bool  # a month of the year to date below 99 % completeness
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class MonthRow:
    """One month of one target: the plan (tce), and once closed the actuals."""

    scope: TargetScope
    id: str
    month: str  # YYYY-MM
    plan_tce: float | None
    energy_tce: float | None  # energy_target_tce
    co2_t: float | None
    value_added: float | None  # 10k CNY: the stored month, else the year's spread by days
    closed: bool
    incomplete: bool

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True)
class Progress:
    zone: str
    year: int
    as_of: dt.date
    ytd_end: dt.date  # exclusive: the first day after the year to date
    closed: int  # months in the year to date
    targets_file: str
    facts_file: str | None
    rows: tuple[Row, ...]
    months: tuple[MonthRow, ...]
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class _Series:
    """A scope's 12 months of one year (NaN where absent) and which are complete."""

    energy: list[float]
    co2: list[float]
    energy_full: list[float]
    renewable_share: list[float]
    complete: list[bool]

    def complete_or_none(self, values: list[float]) -> list[float] | None:
        return values if all(self.complete) else None


def run(
    store: Store,
    registry: Registry,
    *,
    zone: str | None = None,
    year: int | None = None,
    as_of: dt.date | None = None,
    scope: str | None = None,
    ident: str | None = None,
    targets_file: str | Path | None = None,
) -> Progress:
    """Plan against actual of the zone's targets of ``year`` (default: the as-of year) at
    ``as_of`` (default: today in the zone's time zone), only ``scope`` and ``ident`` when
    given. :class:`OptionError` for an option it cannot use."""
    try:
        zone_id = zone_of(registry, zone)
    except AnalyticsError as exc:
        raise OptionError(f"--zone: {exc}") from None
    if as_of is None:
        as_of = dt.datetime.now(ZoneInfo(registry.zones[zone_id].timezone)).date()
    year = as_of.year if year is None else year
    if as_of < dt.date(year, 1, 1):
        raise OptionError(f"--as-of: {as_of} is before {year} began; give a later --as-of")
    ytd_end = as_of.replace(day=1) if as_of.year == year else dt.date(year + 1, 1, 1)
    closed = ytd_end.month - 1 if ytd_end.year == year else 12
    path = Path(targets_file) if targets_file is not None else targets_path(registry, zone_id)
    chosen = [
        t
        for t in load(path, registry, zone_id).of_year(year)
        if (scope is None or t.scope == scope) and (ident is None or t.id == ident)
    ]
    if not chosen:
        which = " ".join(x for x in (scope, ident) if x) or "any scope"
        raise AnalyticsError(
            f"{path}: no target for {which} in {year}; add a [[target]] table "
            "(docs/dualcontrol.md) or `smartpark import targets FILE`"
        )
    table = _kpis(store, registry, chosen, year, ytd_end)
    tz = registry.zones[zone_id].timezone
    first, after = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    values = ValueAddedSource(  # the stored monthly figures of the year (a day's slack)
        registry,
        zone_id,
        store.value_added.read(
            periods.local_midnight_ms(first - dt.timedelta(days=1), tz),
            periods.local_midnight_ms(after + dt.timedelta(days=1), tz),
        ),
    )
    rows: list[Row] = []
    months: list[MonthRow] = []
    for target in chosen:
        got_rows, got_months = _target(target, table, values, closed)
        rows += got_rows
        months += got_months
    notes = []
    if closed == 0:
        notes.append(f"no month of {year} has closed by {as_of}: nothing to date, no projection")
    return Progress(
        zone_id,
        year,
        as_of,
        ytd_end,
        closed,
        str(path),
        values.file,
        tuple(rows),
        tuple(months),
        tuple(notes),
    )


def _kpis(
    store: Store, registry: Registry, targets: Sequence[Target], year: int, ytd_end: dt.date
) -> KpiTable:
    """Monthly KPIs of last year and the year to date, every scope."""
    zones = {scope_timezone(registry, t.scope, t.id) for t in targets}
    start = min(periods.local_midnight_ms(dt.date(year - 1, 1, 1), z) for z in zones)
    end = max(periods.local_midnight_ms(ytd_end, z) for z in zones)
    return kpi_job(store, registry, start, end, ["month"], write=False).table


def scope_timezone(registry: Registry, scope: TargetScope, ident: str) -> str:
    """The time zone of a scope's calendar (docs/kpis.md, "Periods, scopes")."""
    if scope == "enterprise":
        return registry.parks[registry.enterprises[ident].park].timezone
    if scope == "park":
        return registry.parks[ident].timezone
    if scope == "zone":
        return registry.zones[ident].timezone
    return registry.regions[ident].timezone


def _series(table: KpiTable, scope: TargetScope, ident: str, year: int) -> _Series:
    nan = [math.nan] * 12
    out = _Series(list(nan), list(nan), list(nan), list(nan), [False] * 12)
    for b in table.blocks:
        if b.scope != scope or b.period != "month" or ident not in b.ids:
            continue
        i = b.row_of(ident)
        flags = b.incomplete()[i]
        for k, start in enumerate(b.starts.tolist()):
            day = periods.from_ms(start, b.timezone).date()
            if day.year != year:
                continue
            m = day.month - 1
            if not b.values["completeness"][i, k] > 0:
                continue  # no reading at all: the month is missing, never 0
            out.energy[m] = float(b.values[ENERGY][i, k])
            out.co2[m] = float(b.values[CO2][i, k])
            out.energy_full[m] = float(b.values["energy_tce"][i, k])
            out.renewable_share[m] = float(b.values["renewable_share"][i, k])
            out.complete[m] = not flags[k] and math.isfinite(out.energy[m])
    return out


def _target(
    target: Target, table: KpiTable, values: ValueAddedSource, closed: int
) -> tuple[list[Row], list[MonthRow]]:
    year = target.year
    this = _series(table, target.scope, target.id, year)
    last = _series(table, target.scope, target.id, year - 1)
    incomplete = not all(this.complete[:closed])
    plan = monthly_plan(target, last.complete_or_none(last.energy))
    energy = project(this.energy, closed, last.complete_or_none(last.energy), year)
    co2 = project(this.co2, closed, last.complete_or_none(last.co2), year)
    va = (
        values.of(target.scope, target.id, year)
        if any(k in target.budgets for k in INTENSITIES)
        else None
    )
    rows = []
    for key, budget in target.budgets.items():
        note: list[str] = []
        empty = [m + 1 for m in range(closed) if not math.isfinite(this.energy[m])]
        if empty:
            note.append(
                f"no readings in month(s) {', '.join(map(str, empty))} of {year}: the year to "
                "date and the projection are missing (check the meters; `smartpark kpi "
                "--period month --from ... --to ...` shows the months)"
            )
        elif incomplete:
            note.append(f"a month to date is below {COMPLETE_AT:g} % completeness")
        if key == "energy_tce":
            got = _total(this.energy, closed, energy, budget)
            plan_ytd = math.fsum(plan.months[:closed]) if plan is not None else None
            if plan is not None and plan.note:
                note.append(plan.note)
        elif key == "co2_t":
            got = _total(this.co2, closed, co2, budget)
            plan_ytd = None
        elif key in INTENSITIES:
            months = this.energy if key == "energy_intensity" else this.co2
            total = energy if key == "energy_intensity" else co2
            got = _intensity(months, closed, total, va, budget)
            plan_ytd = None
            if va is not None and va.note:
                note.append(va.note)
        else:
            got = _share(this, closed, budget)
            plan_ytd = None
        rows.append(
            Row(
                target.scope,
                target.id,
                year,
                MEASURE_OF[key],
                BUDGETS[key],
                budget,
                _finite(plan_ytd),
                *got,
                incomplete,
                "; ".join(note),
            )
        )
    return rows, _months(target, this, plan, va, closed)


_Got = tuple[
    float | None, float | None, float | None, str | None, float | None, float | None
]  # actual, used %, projection, method, gap, gap %


def _total(months: list[float], closed: int, projection: Projection | None, budget: float) -> _Got:
    actual = math.fsum(months[:closed]) if closed else None
    used = 100 * actual / budget if actual is not None and budget > 0 else None
    return (_finite(actual), _finite(used), *_projected(projection, budget))


def _intensity(
    months: list[float],
    closed: int,
    total: Projection | None,
    va: ValueAdded | None,
    budget: float,
) -> _Got:
    to_date = None if va is None else va.to_date(closed)
    if va is None or to_date is None or to_date <= 0:
        return (None, None, None, None, None, None)
    actual = math.fsum(months[:closed]) / to_date
    year = va.total
    projected = (
        None
        if total is None or year is None or year <= 0
        else Projection(total.value / year, total.method)
    )
    return (_finite(actual), None, *_projected(projected, budget))


def _projected(
    projection: Projection | None, budget: float
) -> tuple[float | None, str | None, float | None, float | None]:
    if projection is None or not math.isfinite(projection.value):
        return (None, None, None, None)
    gap = projection.value - budget
    return (projection.value, projection.method, gap, 100 * gap / budget if budget > 0 else None)


def _share(this: _Series, closed: int, minimum: float) -> _Got:
    """The renewable share to date: Σ renewable tce / Σ energy_tce of the closed months."""
    energy = math.fsum(this.energy_full[:closed])
    if closed == 0 or not energy > 0:
        return (None, None, None, None, None, None)
    renewable = math.fsum(
        s / 100 * e
        for s, e in zip(this.renewable_share[:closed], this.energy_full[:closed], strict=True)
        if math.isfinite(s)
    )
    share = 100 * renewable / energy
    return (_finite(share), None, None, None, _finite(minimum - share), None)


def _months(
    target: Target, this: _Series, plan: Plan | None, va: ValueAdded | None, closed: int
) -> list[MonthRow]:
    return [
        MonthRow(
            target.scope,
            target.id,
            f"{target.year}-{m + 1:02d}",
            None if plan is None else plan.months[m],
            _finite(this.energy[m]) if m < closed else None,
            _finite(this.co2[m]) if m < closed else None,
            None if va is None else va.months[m],
            m < closed,
            m < closed and not this.complete[m],
        )
        for m in range(12)
    ]


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
