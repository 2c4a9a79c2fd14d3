"""The adapter to the KPI engine: its monthly enterprise KPIs as :class:`Monthly` arrays.

The KPI engine (:mod:`analytics.kpis.compute`) computes, per enterprise and calendar month in
the park's time zone, ``electricity_kwh``, ``energy_tce`` and ``fresh_water_m3`` with a
``completeness`` (% of expected samples), and write-back stores them in measurement
``kpi``. The land-use rules take them from either place:

- :func:`monthly_from_table` — a :class:`~analytics.kpis.table.KpiTable` just computed;
- :func:`read_monthly` — the stored rows (``Store.read_kpis``), via
  :func:`monthly_from_rows`;
- :func:`compute_monthly` — computed month by month from the store's rollups (raw
  readings where a month is not rolled up), when no monthly rows are stored: no
  ``smartpark kpi --period month --write`` over the history is needed first.

A month whose completeness is below ``min_completeness`` (default the engine's
``COMPLETE_AT``, 99 %) is *missing* (NaN), not a small number: a meter outage must never
look like a stopped plant. The engine's completeness covers all meters of the
enterprise, so a gap in a water meter also drops that month's electricity; counters
carry consumption across their own gaps, so a zone that trusts them may lower it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from smartpark.analytics.kpis.table import COMPLETE_AT, KpiTable
from smartpark.analytics.landuse.monthly import QUANTITIES, Monthly, month_code
from smartpark.core.errors import AnalyticsError
from smartpark.core.registry import Registry
from smartpark.store.base import KpiRow, Store


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def _month_of(start_ms: int, timezone: str) -> int:
    local = dt.datetime.fromtimestamp(start_ms / 1000, tz=_zone(timezone))
    return month_code(local.year, local.month)


def _assemble(
    enterprises: tuple[str, ...],
    cells: Iterable[tuple[str, int, str, float]],  # (enterprise, month code, kpi, value)
    min_completeness: float,
) -> Monthly:
    row = {e: i for i, e in enumerate(enterprises)}
    values: dict[str, dict[tuple[int, int], float]] = {q: {} for q in QUANTITIES}
    complete: dict[tuple[int, int], float] = {}
    for ident, code, kpi, value in cells:
        i = row.get(ident)
        if i is None:
            continue
        if kpi == "completeness":
            complete[i, code] = value
        elif kpi in values:
            values[kpi][i, code] = value
    codes = [code for q in QUANTITIES for (_, code) in values[q]]
    if not codes:
        empty = np.zeros((len(enterprises), 0))
        return Monthly(enterprises, 0, {q: empty for q in QUANTITIES})
    first, last = min(codes), max(codes)
    out = {q: np.full((len(enterprises), last - first + 1), np.nan) for q in QUANTITIES}
    for q in QUANTITIES:
        for (i, code), value in values[q].items():
            if complete.get((i, code), 100.0) >= min_completeness:
                out[q][i, code - first] = value
    return Monthly(enterprises, first, out)


def monthly_from_table(
    table: KpiTable, enterprises: tuple[str, ...], min_completeness: float = COMPLETE_AT
) -> Monthly:
    """Monthly electricity, energy and water per enterprise from a computed table."""
    return _assemble(enterprises, _cells(table), min_completeness)


def _cells(table: KpiTable) -> list[tuple[str, int, str, float]]:
    """(enterprise, month code, kpi, value) of a table's finite monthly enterprise values."""
    cells: list[tuple[str, int, str, float]] = []
    for block in table.blocks:
        if block.scope != "enterprise" or block.period != "month":
            continue
        codes = [_month_of(int(s), block.timezone) for s in block.starts.tolist()]
        for kpi in (*QUANTITIES, "completeness"):
            if kpi not in block.values:
                continue
            array = block.values[kpi]
            for i, ident in enumerate(block.ids):
                for k, code in enumerate(codes):
                    value = float(array[i, k])
                    if np.isfinite(value):
                        cells.append((ident, code, kpi, value))
    return cells


def monthly_from_rows(
    rows: Iterable[KpiRow],
    enterprises: tuple[str, ...],
    timezones: Mapping[str, str],
    min_completeness: float = COMPLETE_AT,
) -> Monthly:
    """The same from stored KPI rows; ``timezones`` maps enterprise → its park's zone."""
    cells = [
        (r.id, _month_of(r.start_ms, timezones.get(r.id, "UTC")), r.kpi, r.value)
        for r in rows
        if r.scope == "enterprise" and r.period == "month"
    ]
    return _assemble(enterprises, cells, min_completeness)


def read_monthly(
    store: Store,
    registry: Registry,
    enterprises: tuple[str, ...],
    first_month: int,
    last_month: int,
    min_completeness: float = COMPLETE_AT,
) -> Monthly:
    """Stored monthly enterprise KPIs for month codes ``first_month..last_month``."""
    timezones = {e: registry.parks[registry.enterprises[e].park].timezone for e in enterprises}
    # Month starts lie within a day of UTC month starts; pad the range by two days.
    start, end = _utc_bounds(first_month, last_month)
    rows = store.read_kpis(start - _PAD_MS, end + _PAD_MS, scope="enterprise", period="month")
    monthly = monthly_from_rows(rows, enterprises, timezones, min_completeness)
    span = last_month - first_month + 1
    return Monthly(
        enterprises, first_month, {q: monthly.window(q, first_month, span) for q in QUANTITIES}
    )


def compute_monthly(
    store: Store,
    registry: Registry,
    enterprises: tuple[str, ...],
    first_month: int,
    last_month: int,
    min_completeness: float = COMPLETE_AT,
) -> Monthly:
    """Monthly enterprise KPIs for ``first_month..last_month`` computed from the store's
    day rows (and 15-minute rollups where a month has none), each run of built months in
    one KPI job; a month with neither is missing, and a partly built month is completed
    from raw readings. ``AnalyticsError`` naming the commands when the store has neither
    for the range."""
    from smartpark.analytics.days.source import coverage as day_coverage
    from smartpark.analytics.jobs import kpi_job
    from smartpark.analytics.windows.rollups.source import coverage

    def built(a: int, b: int) -> bool:
        return day_coverage(store, registry, a, b).current > 0 or (
            coverage(store, registry, a, b).current > 0
        )

    start, end = _utc_bounds(first_month, last_month)
    if not built(start, end):
        first = dt.datetime.fromtimestamp(start / 1000, dt.UTC).date().isoformat()
        last = dt.datetime.fromtimestamp(end / 1000, dt.UTC).date().isoformat()
        raise AnalyticsError(
            f"the store holds no monthly enterprise KPIs and no rollups for {first} to {last}: "
            f"run `smartpark rollup --from {first} --to {last}` once (then `smartpark kpi "
            "--follow` keeps it current), or `smartpark kpi --period month --scope enterprise "
            "--write` over the range"
        )
    present = [c for c in range(first_month, last_month + 1) if built(*_utc_bounds(c, c))]
    cells: list[tuple[str, int, str, float]] = []
    for run in _runs(present):  # months not built are missing, like months without data
        a, b = _utc_bounds(run[0], run[-1])
        table = kpi_job(store, registry, a - _PAD_MS, b + _PAD_MS, ["month"], write=False).table
        wanted = set(run)
        cells += [c for c in _cells(table.select("enterprise")) if c[1] in wanted]
    monthly = _assemble(enterprises, cells, min_completeness)
    span = last_month - first_month + 1
    return Monthly(
        enterprises, first_month, {q: monthly.window(q, first_month, span) for q in QUANTITIES}
    )


_PAD_MS = 2 * 86_400_000  # local months lie within a day of UTC months


def _runs(months: list[int]) -> list[list[int]]:
    """Consecutive month codes grouped into runs."""
    out: list[list[int]] = []
    for m in months:
        if out and out[-1][-1] == m - 1:
            out[-1].append(m)
        else:
            out.append([m])
    return out


def _utc_bounds(first_month: int, last_month: int) -> tuple[int, int]:
    """UTC ms of the start of ``first_month`` and of the month after ``last_month``."""
    start = dt.datetime(first_month // 12, first_month % 12 + 1, 1, tzinfo=dt.UTC)
    after = last_month + 1
    end = dt.datetime(after // 12, after % 12 + 1, 1, tzinfo=dt.UTC)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)
