"""An in-memory :class:`~smartpark.store.base.Store` to test against without a database.

::

    from smartpark.testing.memory_store import MemoryStore

    store = MemoryStore(registry)        # refuses what SqliteStore/InfluxStore refuse
    store.write(ReadingColumns(meter, ts, value))
    store.read(start_ms, end_ms)         # sorted by (meter, ts), like the real stores
    store.points[(meter_code, ts_ms)]    # or look at what was written directly
    store.reading_span(codes)            # (first ts, last ts) per meter, from points

It keeps the real stores' semantics: a point is (meter, ts), so writing it again
overwrites it (last write wins); a batch the real stores refuse (a meter code outside
the registry, a non-finite value, an unstorable KPI row) is refused whole with
:class:`~smartpark.core.errors.StoreRejectedError` before anything is kept; KPI rows
are replaced per (scope, id, period, kpi, start); :meth:`MemoryStore.version` changes
with every write that keeps something (readings, KPI rows, rollups, day rows). Hooks let a test
make writes fail (:attr:`MemoryStore.fail`) or wait (:attr:`MemoryStore.gate`).
Thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence

import numpy as np
import numpy.typing as npt

from smartpark.core.errors import StoreError
from smartpark.core.registry import Registry
from smartpark.core.timestamps import now_ms
from smartpark.store.base import KpiRow, Period, ReadingColumns, Scope, first_last
from smartpark.store.checks import check_kpi_rows, check_readings, day_rows_to_write
from smartpark.store.days import METER_FIELDS, SCOPE_FIELDS, DayColumns, DaySpan
from smartpark.store.outputs import (
    PRODUCT_OUTPUT,
    VALUE_ADDED,
    OutputRow,
    Series,
    check_rows,
    overlapped,
    sort_rows,
)
from smartpark.store.rollups import (
    FIELDS,
    NO_TS,
    RollupColumns,
    RollupSpan,
    days_of,
    merged_spans,
    windows_of,
)

__all__ = ["MemoryDays", "MemoryRollups", "MemoryStore"]

_ANY_METER = 2**31 - 1  # without a registry, every non-negative int32 code is a meter


class MemoryStore:
    """A :class:`~smartpark.store.base.Store` held in dicts.

    With ``registry``, meter codes must index ``registry.meter_ids`` (as in the real
    stores); without, any non-negative code is accepted.

    Attributes a test may read or set:

    * ``points``: ``{(meter code, ts ms): value}``, every point written
    * ``writes``: the size of every successful :meth:`write`, in order
    * ``attempts``: how many times :meth:`write` was called, failed or not
    * ``fail``: called with each batch before it is kept; raise from it to make the
      write fail (``StoreError``: retryable, ``StoreRejectedError``: refused)
    * ``gate``: a :class:`threading.Event`, set; ``clear()`` it to make writes wait
      (at most ``gate_timeout_s``, then ``StoreError``) until it is set again
    """

    def __init__(self, registry: Registry | None = None) -> None:
        self.n_meters = _ANY_METER if registry is None else len(registry.meter_ids)
        self.points: dict[tuple[int, int], float] = {}
        self.kpis: dict[tuple[Scope, str, Period, str, int], tuple[float, str]] = {}
        self.writes: list[int] = []
        self.attempts = 0
        self.fail: Callable[[ReadingColumns], None] | None = None
        self.gate = threading.Event()
        self.gate.set()
        self.gate_timeout_s = 30.0
        self.lock = threading.Lock()
        self.rollups = MemoryRollups()
        self.days = MemoryDays(None if registry is None else len(registry.meter_ids))
        self.outputs = MemoryOutputs(PRODUCT_OUTPUT)
        self.value_added = MemoryOutputs(VALUE_ADDED)
        self._changes = 0  # writes of readings and KPI rows that kept something

    def write(self, readings: ReadingColumns) -> None:
        """Keep every reading (overwriting the same meter and ts), or none."""
        with self.lock:
            self.attempts += 1
        if not self.gate.wait(self.gate_timeout_s):
            raise StoreError(
                f"memory store gate stayed closed for {self.gate_timeout_s} s: "
                "the test must call store.gate.set()"
            )
        if self.fail is not None:
            self.fail(readings)
        check_readings(readings, self.n_meters)
        with self.lock:
            for m, t, v in zip(
                readings.meter.tolist(), readings.ts.tolist(), readings.value.tolist(), strict=True
            ):
                self.points[(m, t)] = v
            self.writes.append(len(readings))
            if len(readings):
                self._changes += 1
        self.rollups.mark(readings.ts)

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> ReadingColumns:
        """Readings with ``start_ms <= ts < end_ms`` (of ``meters`` only, if given),
        sorted by (meter, ts)."""
        wanted = None if meters is None else set(np.asarray(meters).tolist())
        with self.lock:
            rows = sorted(
                (m, t, v)
                for (m, t), v in self.points.items()
                if start_ms <= t < end_ms and (wanted is None or m in wanted)
            )
        if not rows:
            return ReadingColumns.empty()
        meter, ts, value = zip(*rows, strict=True)
        return ReadingColumns(
            np.array(meter, np.int32), np.array(ts, np.int64), np.array(value, np.float64)
        )

    def reading_span(
        self, meters: npt.NDArray[np.int32]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(first ts, last ts) of each meter's points, ``NO_TS`` for none; computed from
        :attr:`points` on every call (no read: :meth:`read` is not called)."""
        codes = np.asarray(meters, dtype=np.int64)
        if len(codes) and (codes.min() < 0 or codes.max() >= self.n_meters):
            raise ValueError(f"meters: codes must be in 0..{self.n_meters - 1}")
        with self.lock:
            keys = np.array(list(self.points), dtype=np.int64).reshape(-1, 2)
        meter, first, last = first_last(keys[:, 0], keys[:, 1])
        if len(meter) == 0:
            return np.full(len(codes), NO_TS, np.int64), np.full(len(codes), NO_TS, np.int64)
        at = np.searchsorted(meter, codes).clip(max=len(meter) - 1)
        held = meter[at] == codes
        return np.where(held, first[at], NO_TS), np.where(held, last[at], NO_TS)

    def write_kpis(self, rows: list[KpiRow]) -> None:
        """Insert or replace KPI rows: recomputing a period overwrites it."""
        check_kpi_rows(rows)
        with self.lock:
            for r in rows:
                key = (r.scope, r.id, r.period, r.kpi, int(r.start_ms))
                self.kpis[key] = (float(r.value), r.factors_version)
            if rows:
                self._changes += 1

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
        """KPI rows with ``start_ms <= start < end_ms``, sorted by series then start;
        of ``scope``, ``period``, ``ids`` and ``kpis`` only, where given."""
        with self.lock:
            items = sorted(self.kpis.items())
        return [
            KpiRow(s, i, p, k, start, value, version)
            for (s, i, p, k, start), (value, version) in items
            if start_ms <= start < end_ms
            and (scope is None or s == scope)
            and (period is None or p == period)
            and (ids is None or i in ids)
            and (kpis is None or k in kpis)
        ]

    def version(self) -> int:
        """Changes with every write that keeps something: the store's, the rollups' and
        the day level's write counts added (all only grow, so the sum changes when any
        does)."""
        with self.lock:
            return (
                self._changes
                + self.rollups.changes
                + self.days.changes
                + self.outputs.changes
                + self.value_added.changes
            )

    def close(self) -> None:
        """Nothing to release; the data stays readable."""


class MemoryRollups:
    """The rollup tables (:class:`~smartpark.store.rollups.RollupStore`) in dicts."""

    def __init__(self) -> None:
        self.rows: dict[tuple[int, int], tuple[float | int, ...]] = {}
        self.span_of: dict[int, RollupSpan] = {}
        self.marks: dict[int, tuple[int, int]] = {}  # window -> (marked, done)
        self._lock = threading.Lock()
        self._clock = 0
        self.changes = 0  # calls that changed rows, spans or marks (MemoryStore.version)

    def mark(self, ts: npt.NDArray[np.int64]) -> None:
        with self._lock:
            self._clock += 1
            for w in windows_of(ts).tolist():
                self.marks[w] = (self._clock, self.marks.get(w, (0, 0))[1])
            if ts.size:
                self.changes += 1

    def write(self, start_ms: int, end_ms: int, rows: RollupColumns, fingerprint: str) -> None:
        rows = rows.take(rows.informative())
        with self._lock:
            for key in [k for k in self.rows if start_ms <= k[1] < end_ms]:
                del self.rows[key]
            cols = [rows.values[name].tolist() for name in FIELDS]
            for i, (m, w) in enumerate(
                zip(rows.meter.tolist(), rows.window_ms.tolist(), strict=True)
            ):
                self.rows[(m, w)] = tuple(c[i] for c in cols)
            old = {d: self.span_of[d] for d in days_of(start_ms, end_ms) if d in self.span_of}
            for span in merged_spans(old, start_ms, end_ms, fingerprint, 0):
                self.span_of[span.day_ms] = span
            self.changes += 1

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> RollupColumns:
        wanted = None if meters is None else set(np.asarray(meters).tolist())
        with self._lock:
            found = sorted(
                (k, v)
                for k, v in self.rows.items()
                if start_ms <= k[1] < end_ms and (wanted is None or k[0] in wanted)
            )
        if not found:
            return RollupColumns.empty()
        values = {
            name: np.array([v[j] for _, v in found], dtype)
            for j, (name, (dtype, _)) in enumerate(FIELDS.items())
        }
        return RollupColumns(
            np.array([k[0] for k, _ in found], np.int32),
            np.array([k[1] for k, _ in found], np.int64),
            values,
        )

    def spans(self, start_ms: int, end_ms: int) -> dict[int, RollupSpan]:
        with self._lock:
            return {d: self.span_of[d] for d in days_of(start_ms, end_ms) if d in self.span_of}

    def dirty(
        self, start_ms: int | None = None, end_ms: int | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        lo = start_ms if start_ms is not None else -(2**63)
        hi = end_ms if end_ms is not None else 2**63
        with self._lock:
            found = sorted(
                (w, m) for w, (m, done) in self.marks.items() if lo <= w < hi and m > done
            )
        return np.array([w for w, _ in found], np.int64), np.array([m for _, m in found], np.int64)

    def clear_dirty(self, window_ms: npt.NDArray[np.int64], marked: npt.NDArray[np.int64]) -> None:
        with self._lock:
            for w, m in zip(window_ms.tolist(), marked.tolist(), strict=True):
                old_m, done = self.marks.get(w, (0, 0))
                self.marks[w] = (old_m, max(done, m))
            if window_ms.size:
                self.changes += 1


class MemoryOutputs:
    """A series of entered figures (:class:`~smartpark.store.outputs.OutputStore`: product
    output, value added) in a dict keyed by (id, start); refuses what the real stores
    refuse."""

    def __init__(self, series: Series) -> None:
        self.series = series
        self.rows: dict[tuple[str, int], OutputRow] = {}
        self._lock = threading.Lock()
        self.changes = 0

    def replace(self, rows: Sequence[OutputRow]) -> int:
        check_rows(self.series, rows)
        with self._lock:
            old = overlapped(list(self.rows.values()), rows)
            for r in old:
                del self.rows[(r.id, r.start_ms)]
            self.rows.update({(r.id, r.start_ms): r for r in rows})
            self.changes += bool(rows)
        return len(old)

    def read(
        self, start_ms: int, end_ms: int, ids: Collection[str] | None = None
    ) -> list[OutputRow]:
        with self._lock:
            return sort_rows(
                [
                    r
                    for r in self.rows.values()
                    if r.start_ms < end_ms and r.end_ms > start_ms and (ids is None or r.id in ids)
                ]
            )


class MemoryDays:
    """The day-level tables (:class:`~smartpark.store.days.DayStore`) in dicts; refuses
    what the real stores refuse (:func:`~smartpark.store.checks.check_day_rows`).

    ``meter_rows`` is ``{(meter code, cell_ms): values}``, ``scope_rows``
    ``{(scope key, cell_ms): values}`` (values in the order of the fields), ``span_of``
    ``{cell_ms: DaySpan}``.
    """

    def __init__(self, n_meters: int | None = None) -> None:
        self.n_meters = _ANY_METER if n_meters is None else n_meters
        self.meter_rows: dict[tuple[int, int], tuple[float | int, ...]] = {}
        self.scope_rows: dict[tuple[str, int], tuple[float | int, ...]] = {}
        self.span_of: dict[int, DaySpan] = {}
        self._lock = threading.Lock()
        self.changes = 0  # writes (MemoryStore.version)

    def write(
        self,
        cells: npt.NDArray[np.int64],
        meters: DayColumns,
        scopes: DayColumns,
        scope_keys: tuple[str, ...],
        fingerprint: str,
    ) -> None:
        cells, meters, scopes = day_rows_to_write(cells, meters, scopes, scope_keys, self.n_meters)
        if cells.size < 2:
            return
        start, end = int(cells[0]), int(cells[-1])
        built = now_ms()
        with self._lock:
            for meter_key in [k for k in self.meter_rows if start <= k[1] < end]:
                del self.meter_rows[meter_key]
            for scope_key in [k for k in self.scope_rows if start <= k[1] < end]:
                del self.scope_rows[scope_key]
            for cell in [c for c in self.span_of if start <= c < end]:
                del self.span_of[cell]
            for m, c, values in _rows(meters, METER_FIELDS):
                self.meter_rows[(m, c)] = values
            for k, c, values in _rows(scopes, SCOPE_FIELDS):
                self.scope_rows[(scope_keys[k], c)] = values
            for c, e in zip(cells[:-1].tolist(), cells[1:].tolist(), strict=True):
                self.span_of[c] = DaySpan(c, e, fingerprint, True, built)
            self.changes += 1

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> DayColumns:
        wanted = None if meters is None else set(np.asarray(meters).tolist())
        with self._lock:
            found = sorted(
                (k, v)
                for k, v in self.meter_rows.items()
                if start_ms <= k[1] < end_ms and (wanted is None or k[0] in wanted)
            )
        return _columns(found, METER_FIELDS)

    def read_scopes(self, start_ms: int, end_ms: int, scope_keys: tuple[str, ...]) -> DayColumns:
        index_of = {k: i for i, k in reversed(list(enumerate(scope_keys)))}
        with self._lock:
            found = sorted(
                ((index_of[key], c), v)
                for (key, c), v in self.scope_rows.items()
                if start_ms <= c < end_ms and key in index_of
            )
        return _columns(found, SCOPE_FIELDS)

    def spans(self, start_ms: int, end_ms: int) -> dict[int, DaySpan]:
        with self._lock:
            return {c: s for c, s in sorted(self.span_of.items()) if start_ms <= c < end_ms}


def _rows(
    rows: DayColumns, fields: dict[str, tuple[type[np.generic], float | int]]
) -> list[tuple[int, int, tuple[float | int, ...]]]:
    """(key, cell_ms, values in field order) of each row."""
    cols = [rows.values[name].tolist() for name in fields]
    return [
        (k, c, tuple(col[i] for col in cols))
        for i, (k, c) in enumerate(zip(rows.key.tolist(), rows.cell_ms.tolist(), strict=True))
    ]


def _columns(
    found: list[tuple[tuple[int, int], tuple[float | int, ...]]],
    fields: dict[str, tuple[type[np.generic], float | int]],
) -> DayColumns:
    """Sorted ((key, cell_ms), values) pairs as columns."""
    if not found:
        return DayColumns.empty(fields)
    return DayColumns(
        np.array([k for (k, _), _ in found], np.int32),
        np.array([c for (_, c), _ in found], np.int64),
        {
            name: np.array([v[j] for _, v in found], dtype)
            for j, (name, (dtype, _)) in enumerate(fields.items())
        },
    )
