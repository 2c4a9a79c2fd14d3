"""KPI results as arrays: one block per (scope, period, time zone), values ids x periods.

A month of hourly KPIs for hundreds of enterprises is millions of numbers; they stay in
arrays until someone asks for rows (:meth:`KpiTable.rows` for the store,
:meth:`KpiTable.records` for printing).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics.kpis.catalogue import ALL_KPIS
from smartpark.analytics.periods import PeriodName
from smartpark.store.base import KpiRow, Scope

# A KPI computed from less than this share of the expected samples is flagged.
COMPLETE_AT: Final = 99.0


@dataclass(frozen=True)
class KpiBlock:
    """KPIs of the scopes of one level, for consecutive periods of one kind."""

    scope: Scope
    period: PeriodName
    timezone: str
    ids: tuple[str, ...]
    starts: npt.NDArray[np.int64]  # period starts, epoch ms
    ends: npt.NDArray[np.int64]
    values: Mapping[str, npt.NDArray[np.float64]]  # kpi -> (len(ids), len(starts))
    factors_versions: tuple[str, ...]  # per id, of its last period
    # per id and period (docs/kpis.md "Factor sets"); None: factors_versions throughout
    period_versions: npt.NDArray[np.object_] | None = None

    def version(self, row: int, column: int) -> str:
        """The ``factors_version`` of one id and period."""
        if self.period_versions is None:
            return self.factors_versions[row]
        return str(self.period_versions[row, column])

    def incomplete(self) -> npt.NDArray[np.bool_]:
        """True where the scope's data completeness for the period is below ``COMPLETE_AT``."""
        c = self.values["completeness"]
        return ~(c >= COMPLETE_AT)

    def row_of(self, ident: str) -> int:
        return self.ids.index(ident)

    def column_of(self, start_ms: int) -> int:
        k = int(np.searchsorted(self.starts, start_ms))
        if k >= self.starts.size or int(self.starts[k]) != start_ms:
            raise KeyError(f"no {self.period} starting at {start_ms}")
        return k


@dataclass(frozen=True)
class KpiTable:
    blocks: tuple[KpiBlock, ...]

    def block(self, scope: Scope, period: PeriodName) -> KpiBlock:
        """The (first) block of ``scope`` and ``period``; ``KeyError`` if none."""
        for b in self.blocks:
            if b.scope == scope and b.period == period:
                return b
        raise KeyError(f"no {scope}/{period} KPIs in this table")

    def value(self, scope: Scope, ident: str, period: PeriodName, start_ms: int, kpi: str) -> float:
        for b in self.blocks:
            if b.scope == scope and b.period == period and ident in b.ids:
                return float(b.values[kpi][b.row_of(ident), b.column_of(start_ms)])
        raise KeyError(f"no {scope} {ident!r} in the {period} KPIs")

    def select(self, scope: Scope, ids: Sequence[str] | None = None) -> KpiTable:
        """The blocks of ``scope``, keeping only ``ids`` (all when None), in their order."""
        out = []
        for b in self.blocks:
            if b.scope != scope:
                continue
            rows = [i for i, ident in enumerate(b.ids) if ids is None or ident in ids]
            if not rows:
                continue
            out.append(
                replace(
                    b,
                    ids=tuple(b.ids[i] for i in rows),
                    values={k: v[rows] for k, v in b.values.items()},
                    factors_versions=tuple(b.factors_versions[i] for i in rows),
                    period_versions=None if b.period_versions is None else b.period_versions[rows],
                )
            )
        return KpiTable(tuple(out))

    def __len__(self) -> int:
        return sum(len(b.ids) * b.starts.size * len(b.values) for b in self.blocks)

    def rows(self) -> list[KpiRow]:
        """Every finite value as a :class:`KpiRow` (NaN means "not defined", e.g. 0/0)."""
        out: list[KpiRow] = []
        for b in self.blocks:
            starts = b.starts.tolist()
            versions = [[b.version(i, k) for k in range(len(starts))] for i in range(len(b.ids))]
            for kpi, arr in b.values.items():
                for i, ident in enumerate(b.ids):
                    for start, v, ver in zip(starts, arr[i].tolist(), versions[i], strict=True):
                        if math.isfinite(v):
                            out.append(KpiRow(b.scope, ident, b.period, kpi, start, v, ver))
        return out

    def records(self) -> Iterator[dict[str, Any]]:
        """One dict per (scope, id, period start): every KPI plus unit-free metadata."""
        for b in self.blocks:
            flags = b.incomplete()
            for i, ident in enumerate(b.ids):
                for k in range(b.starts.size):
                    rec: dict[str, Any] = {
                        "scope": b.scope,
                        "id": ident,
                        "period": b.period,
                        "start_ms": int(b.starts[k]),
                        "end_ms": int(b.ends[k]),
                        "timezone": b.timezone,
                        "factors_version": b.version(i, k),
                        "incomplete": bool(flags[i, k]),
                    }
                    for kpi in ALL_KPIS:
                        if kpi in b.values:
                            v = float(b.values[kpi][i, k])
                            rec[kpi] = v if math.isfinite(v) else None
                    yield rec
