"""Restating stored KPIs after a factor change: ``smartpark kpi restate`` (docs/kpis.md).

When the authorities publish a new factor (the 2023 national grid factor 0.5306
replaced 0.5366 in January 2026), the registry's factor sets are edited and the
history already written must follow:

1. read the stored KPI points of ``[start, end)`` (of ``--park``'s enterprises, the park
   and its zone, else of every scope);
2. recompute their periods from the readings with the factor sets valid for them now;
3. every stored point whose value or ``factors_version`` differs is *restated*; a
   restatement that changes nothing says so;
4. with ``write``, the old and new points go to the record file first (CSV: scope, id,
   period, kpi, start, old version and value, new version and value), then the new
   points replace the old ones in the store. The store keeps one current value per
   point (docs/store.md); the record keeps the old version traceable.

:func:`month_lines` is the before/after summary per scope, id and month: tCO2
(``co2_total_t``) and tCO2/tce (``carbon_per_energy``), old version -> new version.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from smartpark.analytics import periods
from smartpark.analytics.jobs import kpi_job, scope_ids
from smartpark.analytics.kpis.compute import SCOPES
from smartpark.analytics.kpis.table import KpiTable
from smartpark.analytics.periods import PeriodName
from smartpark.core.cells import write_csv
from smartpark.core.errors import AnalyticsError
from smartpark.core.registry import Registry
from smartpark.store.base import KpiRow, Store

SUMMARY_KPIS: Final = ("co2_total_t", "carbon_per_energy")
RECORD_COLUMNS: Final = (
    "scope",
    "id",
    "period",
    "kpi",
    "start",
    "old_version",
    "old_value",
    "new_version",
    "new_value",
)
_Key = tuple[str, str, str, str, int]  # scope, id, period, kpi, start_ms


@dataclass(frozen=True, slots=True)
class Change:
    old: KpiRow
    new: KpiRow


@dataclass(frozen=True, slots=True)
class MonthLine:
    """One scope, id and month of the summary; None where no month point is stored."""

    scope: str
    id: str
    month: str  # YYYY-MM, local
    old_version: str
    new_version: str
    old_t: float | None
    new_t: float | None
    old_per_tce: float | None
    new_per_tce: float | None


@dataclass(frozen=True)
class Restatement:
    changes: tuple[Change, ...]
    months: tuple[MonthLine, ...]
    stored: int  # stored points looked at
    unmatched: int  # stored points the recomputation has no value for (kept as they are)
    written: int  # points written (0 on a dry run)
    record: Path | None  # the record file written, if any

    def changed_by_period(self) -> dict[str, int]:
        return dict(Counter(c.old.period for c in self.changes))


def restate(
    store: Store,
    registry: Registry,
    start_ms: int,
    end_ms: int,
    *,
    park: str | None = None,
    write: bool = False,
    record: Path | None = None,
) -> Restatement:
    """Compare the stored KPI points of ``[start_ms, end_ms)`` with a recomputation; with
    ``write`` replace the changed ones (after writing ``record``, if given)."""
    if park is not None and park not in registry.parks:
        raise AnalyticsError(
            f"--park: unknown park {park!r} (registry has {', '.join(registry.park_ids)})"
        )
    wanted = {sc: scope_ids(registry, sc, park) for sc in SCOPES}
    stored = [
        r
        for r in store.read_kpis(start_ms, end_ms)
        if (ids := wanted[r.scope]) is None or r.id in ids
    ]
    kinds: list[PeriodName] = sorted({r.period for r in stored if r.period != "year"} | {"month"})
    # The coarsest stored level that is current (day rows, rollups), raw elsewhere.
    table = kpi_job(store, registry, start_ms, end_ms, kinds, write=False).table
    new = {_key(r): r for r in table.rows()}
    changes = []
    for old in stored:
        now = new.get(_key(old))
        if now is not None and not _same(old, now):
            changes.append(Change(old, now))
    unmatched = sum(1 for r in stored if _key(r) not in new)
    months = month_lines(stored, table, changes)
    written = 0
    if write and changes:
        if record is not None:
            write_record(record, changes)
        store.write_kpis([c.new for c in changes])
        written = len(changes)
    return Restatement(
        tuple(changes),
        months,
        len(stored),
        unmatched,
        written,
        record if write and changes else None,
    )


def restate_range(
    store: Store,
    registry: Registry,
    from_: str,
    to: str,
    *,
    park: str | None = None,
    write: bool = False,
    record: Path | None = None,
) -> Restatement:
    """:func:`restate` over ``[from_, to)``: dates (local midnight of ``park``, else of the
    first zone) or RFC 3339 times."""
    tz = registry.zones[registry.zone_ids[0]].timezone
    if park is not None and park in registry.parks:
        tz = registry.parks[park].timezone
    start_ms = periods.parse_instant(from_, tz, "--from")
    end_ms = periods.parse_instant(to, tz, "--to")
    return restate(store, registry, start_ms, end_ms, park=park, write=write, record=record)


def month_lines(
    stored: list[KpiRow], table: KpiTable, changes: list[Change]
) -> tuple[MonthLine, ...]:
    """The months with a change: stored month points against the recomputed ones."""
    touched = {(c.old.scope, c.old.id, _month(table, c.old)) for c in changes}
    old = {_key(r): r for r in stored if r.period == "month"}
    out = []
    for block in table.blocks:
        if block.period != "month":
            continue
        for i, ident in enumerate(block.ids):
            for k, start in enumerate(block.starts.tolist()):
                label = periods.from_ms(start, block.timezone).strftime("%Y-%m")
                if (block.scope, ident, label) not in touched:
                    continue
                before = [
                    old.get((block.scope, ident, "month", kpi, start)) for kpi in SUMMARY_KPIS
                ]
                after = [float(block.values[kpi][i, k]) for kpi in SUMMARY_KPIS]
                version = next((r.factors_version for r in before if r is not None), "")
                out.append(
                    MonthLine(
                        block.scope,
                        ident,
                        label,
                        version,
                        block.version(i, k),
                        *(_value(before[0]), _finite(after[0])),
                        *(_value(before[1]), _finite(after[1])),
                    )
                )
    out.sort(key=lambda m: (SCOPES.index(m.scope), m.id, m.month))
    return tuple(out)


def write_record(path: Path, changes: list[Change] | tuple[Change, ...]) -> None:
    """The old and new points, one CSV line per restated point (values as ``repr`` writes
    them, exact); no cell holds a formula (:func:`~smartpark.core.cells.safe_cell`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = (
        [
            c.old.scope,
            c.old.id,
            c.old.period,
            c.old.kpi,
            periods.from_ms(c.old.start_ms, "UTC").isoformat().replace("+00:00", "Z"),
            c.old.factors_version,
            float(c.old.value),
            c.new.factors_version,
            float(c.new.value),
        ]
        for c in changes
    )
    with path.open("w", newline="", encoding="utf-8") as f:
        write_csv(f, [RECORD_COLUMNS, *rows], lineterminator="\r\n")


def render(r: Restatement, *, write: bool) -> str:
    """The before/after table and a closing line, as ``smartpark kpi restate`` prints."""
    if not r.stored:
        return (
            "nothing to restate: no stored KPI points in the range "
            "(write them with `smartpark kpi --write` first)\n"
        )
    if not r.changes:
        return (
            f"nothing to restate: the {r.stored} stored KPI points already match "
            "the factor sets now valid for them\n"
        )
    head = (
        "scope",
        "id",
        "month",
        "tCO2 old",
        "tCO2 new",
        "tCO2/tce old",
        "tCO2/tce new",
        "version",
    )
    rows = [
        (
            m.scope,
            m.id,
            m.month,
            _fmt(m.old_t),
            _fmt(m.new_t),
            _fmt(m.old_per_tce),
            _fmt(m.new_per_tce),
            f"{m.old_version or '-'} -> {m.new_version}",
        )
        for m in r.months
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    lines = [
        "  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip()
        for line in (head, *rows)
    ]
    counts = ", ".join(f"{n} {p}" for p, n in sorted(r.changed_by_period().items()))
    if write:
        tail = f"restated {r.written} of {r.stored} stored KPI points ({counts})"
        tail += f"; old and new points in {r.record}" if r.record else ""
    else:
        tail = (
            f"dry run: {len(r.changes)} of {r.stored} stored KPI points would change "
            f"({counts}); --write applies"
        )
    if r.unmatched:
        tail += f"; {r.unmatched} stored points have no recomputed value and stay as they are"
    return "\n".join([*lines, tail]) + "\n"


def _key(r: KpiRow) -> _Key:
    return (r.scope, r.id, r.period, r.kpi, int(r.start_ms))


def _same(a: KpiRow, b: KpiRow) -> bool:
    return a.factors_version == b.factors_version and math.isclose(
        a.value, b.value, rel_tol=1e-12, abs_tol=1e-12
    )


def _month(table: KpiTable, row: KpiRow) -> str:
    for b in table.blocks:
        if b.scope == row.scope and row.id in b.ids:
            return periods.from_ms(row.start_ms, b.timezone).strftime("%Y-%m")
    return periods.from_ms(row.start_ms, "UTC").strftime("%Y-%m")


def _value(r: KpiRow | None) -> float | None:
    return None if r is None else r.value


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4f}"
