"""The :class:`Store` interface and the column types it speaks."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from smartpark.store.days import DayStore
from smartpark.store.outputs import OutputStore
from smartpark.store.rollups import RollupStore

Scope = Literal["enterprise", "park", "zone", "region", "product"]
Period = Literal["hour", "day", "month", "year"]


@dataclass(frozen=True, slots=True)
class ReadingColumns:
    """Readings as columns: meter codes index ``Registry.meter_ids``; values canonical."""

    meter: npt.NDArray[np.int32]
    ts: npt.NDArray[np.int64]  # epoch ms
    value: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        if not self.meter.shape == self.ts.shape == self.value.shape:
            raise ValueError("meter, ts and value columns must have the same length")

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @classmethod
    def empty(cls) -> ReadingColumns:
        return cls(np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.float64))

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> ReadingColumns:
        return ReadingColumns(self.meter[index], self.ts[index], self.value[index])


def first_last(
    keys: npt.NDArray[np.integer[Any]], ts: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.integer[Any]], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each distinct key (ascending) with the smallest and the largest of its ``ts``: the
    span of a batch of readings per meter (``keys``: meter codes or series ids)."""
    if keys.size == 0:
        return keys[:0], ts[:0], ts[:0]
    order = np.argsort(keys, kind="stable")
    keys, ts = keys[order], ts[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return keys[starts], np.minimum.reduceat(ts, starts), np.maximum.reduceat(ts, starts)


@dataclass(frozen=True, slots=True)
class KpiRow:
    """One KPI value; stored in measurement ``kpi`` with tags scope, id, period, kpi and
    the coefficient set it was computed with (docs/store.md)."""

    scope: Scope
    id: str
    period: Period
    kpi: str
    start_ms: int  # period start, epoch ms
    value: float
    factors_version: str = ""  # "" for rows stored before versions were


class Store(Protocol):
    """What ingest writes to and analytics reads from.

    ``write`` returns only once the points are durable (acknowledged by InfluxDB, or
    committed to SQLite); writing the same reading twice leaves one point (same series,
    same timestamp: last write wins).
    """

    def write(self, readings: ReadingColumns) -> None: ...

    def read(
        self,
        start_ms: int,
        end_ms: int,
        meters: npt.NDArray[np.int32] | None = None,
    ) -> ReadingColumns:
        """Readings with ``start_ms <= ts < end_ms``, sorted by (meter, ts)."""
        ...

    def reading_span(
        self, meters: npt.NDArray[np.int32]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(first ts, last ts) of each meter code's readings in the store, in the order
        of ``meters``; both :data:`~smartpark.store.rollups.NO_TS` for a meter with no
        reading at all (no reading can have that timestamp in InfluxDB; in SQLite it
        would lie some 70 million years back).

        Exact after every write (late readings, rewrites of a point) and cheap: no
        reading is read (SQLite keeps a table of spans updated with each write,
        InfluxDB answers with ``first()``/``last()``). A code outside the registry
        raises ``ValueError``.
        """
        ...

    def write_kpis(self, rows: list[KpiRow]) -> None: ...

    def read_kpis(
        self,
        start_ms: int,
        end_ms: int,
        scope: Scope | None = None,
        period: Period | None = None,
        *,
        ids: Collection[str] | None = None,
        kpis: Collection[str] | None = None,
    ) -> list[KpiRow]:
        """KPI rows with ``start_ms <= start < end_ms``, sorted by (scope, id, period,
        kpi, start); only those of ``scope``, ``period``, the ``ids`` and the ``kpis``
        given (``None``: any; an empty collection: none)."""
        ...

    def version(self) -> int | None:
        """A number that changes whenever anything is written to the store (readings,
        KPI rows, rollups, day rows), by this process or any other; ``None`` where the backend
        cannot tell cheaply (InfluxDB).

        It is a change token for caches of answers built from the store: compare it
        for equality only (it is not ordered and not comparable between store
        objects), and read it *before* reading what it guards, so that a write landing
        in between changes it and the answer is rebuilt next time. It may also change
        when nothing visible did (a rolled-back transaction, a WAL checkpoint): that
        costs a rebuild, never a stale answer. With ``None`` a cache must expire its
        entries after a short time instead.
        """
        ...

    @property
    def rollups(self) -> RollupStore:
        """The rollup tables (store/rollups.py); every :meth:`write` marks its windows dirty."""
        ...

    @property
    def days(self) -> DayStore:
        """The day-level tables (store/days.py): rows per meter, per scope and day cell."""
        ...

    @property
    def outputs(self) -> OutputStore:
        """Product output entered from statistics (store/outputs.py)."""
        ...

    @property
    def value_added(self) -> OutputStore:
        """Value added per enterprise and month entered from statistics (store/outputs.py)."""
        ...

    def close(self) -> None: ...
