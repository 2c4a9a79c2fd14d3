"""The embedded store: one SQLite file in WAL mode (docs/store.md), the default store.

Schema::

    series(id INTEGER PRIMARY KEY, meter TEXT UNIQUE)          -- one row per meter id
    readings(series, ts, value, PRIMARY KEY (ts, series)) WITHOUT ROWID
    reading_span(series PRIMARY KEY, first_ts, last_ts) WITHOUT ROWID
                                                 -- each series' first and last reading
    kpi(scope, id, period, kpi, start_ms, value, factors_version,
        PRIMARY KEY (scope, id, period, kpi, start_ms)) WITHOUT ROWID
    INDEX kpi_by_period_start(period, start_ms), kpi_by_subject_start(scope, id, period,
        start_ms)                                              -- KPI reads by time range
    VIEW reading_rows(meter, ts, value)                         -- for people and sqlite3
    rollup, rollup_span, rollup_dirty                           -- store/sqlite_rollups.py
    day_meter_cell, day_scope_key, day_scope_cell, day_span     -- store/sqlite_days.py

Meters are stored by their id string (in ``series``), never by registry code, so the
file survives registry edits; kind, quantity, park and enterprise are derived from the
registry on read, as InfluxDB tags would be on write. The small ``series`` table keeps
``readings`` rows short (an integer instead of the id string in every row and in the
primary key).

The primary key is (ts, series), not (series, ts): readings arrive time-major (every
meter's latest minute), so this order makes inserts near-appends that dirty a handful
of pages per commit, where (series, ts) dirties one page per meter per commit. Measured
with 1,000 meters, 10,000-row commits, synchronous=FULL: 195,000 rows/s against 32,000
(``bench/bench_store.py``). Reads scan the time range and put rows in (meter, ts) order
with one stable sort in numpy.

Reading spans (:meth:`SqliteStore.reading_span`): ``reading_span`` holds each series'
first and last reading, so "has this meter ever reported, and when last" costs a
primary-key lookup instead of a scan of ``readings`` (whose key leads with ts). Every
:meth:`SqliteStore.write` upserts it in the transaction that stores the readings, one
row per series of the batch from a numpy min/max of the batch
(``first_ts = min(first_ts, excluded.first_ts)``, ``last_ts = max(...)``), so late
readings and rewrites keep it exact. The store never deletes readings; a hand-made
``DELETE FROM readings`` leaves spans too wide (drop the table: the next open rebuilds
it).

Idempotence: ``INSERT OR REPLACE`` on (series, ts) and (scope, id, period, kpi,
start_ms): a replayed reading overwrites itself and a recomputed KPI overwrites the old
value.

Migration: a file of an earlier version has ``kpi`` without ``factors_version``; opening
it adds the column (``''`` for the rows already there, "computed before versions were
stored"), builds the index ``kpi_by_subject_start`` if it is missing (once, a scan of
``kpi``), and creates ``reading_span`` filled from ``readings`` (once, ``GROUP BY
series`` over every reading, in one transaction, docs/store.md says how long). The
earlier version still reads the file; readings it writes there would not update
``reading_span`` (drop that table to have it rebuilt on the next open).

Durability: ``journal_mode=WAL`` with ``synchronous=FULL``, so every commit fsyncs the
WAL before it returns: when :meth:`SqliteStore.write` returns, the readings survive a
process crash *and* a power loss. (``NORMAL`` in WAL mode would skip that fsync and can
lose the last commits on power loss, which would break "acknowledge after durable
write"; the cost of ``FULL`` is one fsync per batch, small against thousands of rows.)

Threads: one writing and one reading connection (and a third for the change token),
each shared by all threads (``check_same_thread=False``) behind its own lock, since
ingest writes from a worker thread (``asyncio.to_thread``) and a long read must not
hold up writes. Other processes may read and write the same file at once (WAL; writers
wait up to ``busy_timeout``).

Change token (:meth:`SqliteStore.version`): ``PRAGMA data_version`` of a third
connection that never writes. SQLite changes it on that connection whenever another
connection commits to the file, which covers this store's own writing connection and
every other process (``smartpark kpi --write``, ingest) alike. Asking costs
microseconds (it looks at the WAL index in shared memory), and that connection has its
own lock, so a long read does not hold up the question. ``":memory:"`` has one
connection and no other process, so its token is that connection's ``total_changes``
(read under the writer's lock, never inside a transaction).

Errors: a locked or failing database raises :class:`StoreError` (retry); data the
store cannot hold (non-finite value, meter code outside the registry, empty KPI tag)
raises :class:`StoreRejectedError` before anything is written.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Final

import msgspec
import numpy as np
import numpy.typing as npt

from smartpark.core.errors import StoreError, StoreRejectedError
from smartpark.core.registry import Registry
from smartpark.store.base import KpiRow, Period, ReadingColumns, Scope, first_last
from smartpark.store.checks import check_kpi_rows, check_readings
from smartpark.store.outputs import PRODUCT_OUTPUT, VALUE_ADDED
from smartpark.store.rollups import NO_TS
from smartpark.store.sqlite_days import SCHEMA as DAY_SCHEMA
from smartpark.store.sqlite_days import SqliteDays
from smartpark.store.sqlite_outputs import SCHEMA as OUTPUT_SCHEMA
from smartpark.store.sqlite_outputs import SqliteOutputs
from smartpark.store.sqlite_rollups import SCHEMA, SqliteRollups, mark_dirty

_CACHE_KIB: Final = 65_536  # page cache per connection (default 2 MiB)
_FETCH_ROWS: Final = 65_536  # rows converted to numpy at a time: memory stays proportional
_ROW = np.dtype([("series", np.int64), ("ts", np.int64), ("value", np.float64)])

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    meter TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS readings (
    series INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (ts, series)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kpi (
    scope TEXT NOT NULL,
    id TEXT NOT NULL,
    period TEXT NOT NULL,
    kpi TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    value REAL NOT NULL,
    factors_version TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scope, id, period, kpi, start_ms)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kpi_by_period_start ON kpi (period, start_ms);
CREATE INDEX IF NOT EXISTS kpi_by_subject_start ON kpi (scope, id, period, start_ms);
CREATE VIEW IF NOT EXISTS reading_rows (meter, ts, value) AS
    SELECT series.meter, readings.ts, readings.value
    FROM readings JOIN series ON series.id = readings.series;
"""

# Not in _SCHEMA: _migrate() creates it together with its contents (module docstring).
_CREATE_SPAN: Final = """
CREATE TABLE reading_span (
    series INTEGER PRIMARY KEY,
    first_ts INTEGER NOT NULL,
    last_ts INTEGER NOT NULL
) WITHOUT ROWID
"""
_FILL_SPAN: Final = (
    "INSERT INTO reading_span (series, first_ts, last_ts) "
    "SELECT series, min(ts), max(ts) FROM readings GROUP BY series"
)
_WIDEN_SPAN: Final = (
    "INSERT INTO reading_span (series, first_ts, last_ts) VALUES (?, ?, ?) "
    "ON CONFLICT (series) DO UPDATE SET first_ts = min(first_ts, excluded.first_ts), "
    "last_ts = max(last_ts, excluded.last_ts)"
)
_READ_SPAN: Final = (
    "SELECT series, first_ts, last_ts FROM reading_span "
    "WHERE series IN (SELECT value FROM json_each(?))"
)

_KPI_COLUMNS: Final = "scope, id, period, kpi, start_ms, value, factors_version"
_INSERT_KPI = (
    "INSERT OR REPLACE INTO kpi (scope, id, period, kpi, start_ms, value, factors_version) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_READ_ALL = "SELECT series, ts, value FROM readings WHERE ts >= ? AND ts < ? ORDER BY ts, series"
_READ_SOME = (
    "SELECT series, ts, value FROM readings "
    "WHERE ts >= ? AND ts < ? AND series IN (SELECT value FROM json_each(?)) "
    "ORDER BY ts, series"
)


class SqliteStore:
    """The embedded :class:`~smartpark.store.Store` in one SQLite file."""

    def __init__(self, path: str | Path, registry: Registry, *, busy_timeout_s: float = 30.0):
        self.path = str(path)
        self.registry = registry
        self._lock = threading.Lock()
        try:
            memory = self.path == ":memory:"
            if not memory:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = self._connect(busy_timeout_s)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA + SCHEMA + DAY_SCHEMA + OUTPUT_SCHEMA)
            self._migrate()
            self._series_of_code = self._register_meters()
            # Reads get their own connection, so a long read never holds up a write (WAL
            # lets one writer and readers work at once). ":memory:" has one connection.
            self._reader = self._conn if memory else self._connect(busy_timeout_s)
            self._watch = self._conn if memory else self._connect(busy_timeout_s)
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite store {self.path}: cannot open: {exc}") from exc
        self._read_lock = self._lock if memory else threading.Lock()
        self._watch_lock = self._lock if memory else threading.Lock()
        self._closed = False
        self.rollups = SqliteRollups(self)
        self.days = SqliteDays(self)
        self.outputs = SqliteOutputs(self, PRODUCT_OUTPUT)
        self.value_added = SqliteOutputs(self, VALUE_ADDED)

    def _connect(self, busy_timeout_s: float) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=busy_timeout_s,
            isolation_level=None,  # explicit BEGIN/COMMIT below
            check_same_thread=False,  # used from worker threads, behind a lock
        )
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        return conn

    def _migrate(self) -> None:
        """Bring a file of an earlier version to this schema (see the module docstring)."""
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(kpi)")}
        if "factors_version" not in columns:
            with self.transaction():
                self._conn.execute(
                    "ALTER TABLE kpi ADD COLUMN factors_version TEXT NOT NULL DEFAULT ''"
                )
        if not self._has_table("reading_span"):
            with self.transaction():  # holds the write lock: one process fills it
                if not self._has_table("reading_span"):
                    self._conn.execute(_CREATE_SPAN)
                    self._conn.execute(_FILL_SPAN)

    def _has_table(self, name: str) -> bool:
        found = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        )
        return found.fetchone() is not None

    # -- meters <-> series ids

    def _register_meters(self) -> npt.NDArray[np.int64]:
        """Series id of every registry meter (by code), creating the missing rows."""
        with self.transaction():
            self._conn.executemany(
                "INSERT OR IGNORE INTO series (meter) VALUES (?)",
                [(m,) for m in self.registry.meter_ids],
            )
            ids = dict(self._conn.execute("SELECT meter, id FROM series").fetchall())
        return np.array([ids[m] for m in self.registry.meter_ids], dtype=np.int64)

    def code_of_series(self, conn: sqlite3.Connection) -> npt.NDArray[np.int32]:
        """Registry code by series id (-1 for series of meters not in the registry)."""
        top = conn.execute("SELECT coalesce(max(id), 0) FROM series").fetchone()[0]
        code = np.full(int(top) + 1, -1, dtype=np.int32)
        code[self._series_of_code] = np.arange(len(self._series_of_code), dtype=np.int32)
        return code

    def series_ids(self, codes: npt.NDArray[np.int32]) -> npt.NDArray[np.int64]:
        """The series id of each registry meter code."""
        return self._series_of_code[codes]

    # -- connection helpers

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def using(self, what: str, *, read: bool = False) -> Iterator[sqlite3.Connection]:
        with self._read_lock if read else self._lock:
            if self._closed:
                raise StoreError(f"sqlite store {self.path}: {what} after close()")
            try:
                yield self._reader if read else self._conn
            except sqlite3.IntegrityError as exc:
                raise StoreRejectedError(f"sqlite store {self.path}: {what}: {exc}") from exc
            except sqlite3.Error as exc:
                raise StoreError(f"sqlite store {self.path}: {what}: {exc}") from exc

    def version(self) -> int:
        """The change token of the file (the module docstring says how it is made)."""
        with self._watch_lock:
            if self._closed:
                raise StoreError(f"sqlite store {self.path}: version after close()")
            if self._watch is self._conn:
                return self._conn.total_changes
            try:
                return int(self._watch.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error as exc:
                raise StoreError(f"sqlite store {self.path}: version: {exc}") from exc

    # -- readings

    def write(self, readings: ReadingColumns) -> None:
        """Insert or replace ``readings``; returns once they are committed and fsynced."""
        if len(readings) == 0:
            return
        check_readings(readings, len(self.registry.meter_ids))
        series = self._series_of_code[readings.meter]
        rows = zip(series.tolist(), readings.ts.tolist(), readings.value.tolist(), strict=True)
        spans = zip(*(column.tolist() for column in first_last(series, readings.ts)), strict=True)
        with self.using("write"), self.transaction():
            self._conn.executemany("INSERT OR REPLACE INTO readings VALUES (?, ?, ?)", rows)
            self._conn.executemany(_WIDEN_SPAN, spans)
            mark_dirty(self._conn, readings.ts)

    def reading_span(
        self, meters: npt.NDArray[np.int32]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(first ts, last ts) of each meter's readings, ``NO_TS`` for none: a lookup of
        the ``reading_span`` table, no reading is read."""
        n_meters = len(self.registry.meter_ids)
        codes = np.asarray(meters, dtype=np.int64)
        if len(codes) and (codes.min() < 0 or codes.max() >= n_meters):
            raise ValueError(f"meters: codes must be in 0..{n_meters - 1}")
        first = np.full(n_meters, NO_TS, dtype=np.int64)  # by meter code
        last = first.copy()
        if len(codes):
            wanted = msgspec.json.encode(self._series_of_code[np.unique(codes)].tolist())
            with self.using("reading_span", read=True) as conn:
                found = conn.execute(_READ_SPAN, (wanted.decode(),)).fetchall()
                code_of_series = self.code_of_series(conn)
            if found:
                series, first_ts, last_ts = np.array(found, dtype=np.int64).T
                first[code_of_series[series]] = first_ts
                last[code_of_series[series]] = last_ts
        return first[codes], last[codes]

    def read(
        self,
        start_ms: int,
        end_ms: int,
        meters: npt.NDArray[np.int32] | None = None,
    ) -> ReadingColumns:
        """Readings with ``start_ms <= ts < end_ms``, sorted by (meter code, ts)."""
        n_meters = len(self.registry.meter_ids)
        params: tuple[int | str, ...]
        if meters is None:
            sql, params = _READ_ALL, (int(start_ms), int(end_ms))
        else:
            codes = np.asarray(meters, dtype=np.int64)
            if len(codes) and (codes.min() < 0 or codes.max() >= n_meters):
                raise ValueError(f"meters: codes must be in 0..{n_meters - 1}")
            if len(codes) == 0:
                return ReadingColumns.empty()
            wanted = self._series_of_code[np.unique(codes)]
            series_json = msgspec.json.encode(wanted.tolist()).decode()
            sql, params = _READ_SOME, (int(start_ms), int(end_ms), series_json)
        if n_meters == 0 or end_ms <= start_ms:
            return ReadingColumns.empty()
        chunks: list[npt.NDArray[np.void]] = []
        with self.using("read", read=True) as conn:
            cursor = conn.execute(sql, params)
            while rows := cursor.fetchmany(_FETCH_ROWS):
                chunks.append(np.array(rows, dtype=_ROW))
            code_of_series = self.code_of_series(conn)
        if not chunks:
            return ReadingColumns.empty()
        table = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        del chunks
        meter = code_of_series[table["series"]]
        known = meter >= 0  # series of meters no longer in the registry are skipped
        if not known.all():
            meter, table = meter[known], table[known]
        # Rows come sorted by time, so a stable sort on the meter code alone gives
        # (meter, ts) order (a radix sort when codes fit 16 bits).
        key = meter.astype(np.uint16) if len(self._series_of_code) <= 1 << 16 else meter
        order = np.argsort(key, kind="stable")
        return ReadingColumns(meter[order], table["ts"][order], table["value"][order])

    # -- KPIs

    def write_kpis(self, rows: list[KpiRow]) -> None:
        """Insert or replace KPI rows: recomputing a period overwrites it."""
        if not rows:
            return
        check_kpi_rows(rows)
        values = [
            (r.scope, r.id, r.period, r.kpi, int(r.start_ms), float(r.value), r.factors_version)
            for r in rows
        ]
        with self.using("write_kpis"), self.transaction():
            self._conn.executemany(_INSERT_KPI, values)

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
        """KPI rows with ``start_ms <= start < end_ms``, sorted by series then start; of
        ``scope``, ``period``, ``ids`` and ``kpis`` only, where given (in SQL)."""
        if (ids is not None and not ids) or (kpis is not None and not kpis):
            return []
        # One subject's rows of every KPI in a time range: kpi_by_subject_start reads
        # just the range; the primary key would read the subject's whole history.
        subject = scope is not None and period is not None and ids is not None
        table = "kpi INDEXED BY kpi_by_subject_start" if subject and kpis is None else "kpi"
        sql = f"SELECT {_KPI_COLUMNS} FROM {table} WHERE start_ms >= ? AND start_ms < ?"  # noqa: S608
        params: list[object] = [int(start_ms), int(end_ms)]
        for column, value in (("scope", scope), ("period", period)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        for column, values in (("id", ids), ("kpi", kpis)):  # column: one of these two
            if values is not None:
                sql += f" AND {column} IN (SELECT value FROM json_each(?))"  # noqa: S608
                params.append(msgspec.json.encode(sorted(set(values))).decode())
        sql += " ORDER BY scope, id, period, kpi, start_ms"
        with self.using("read_kpis", read=True) as conn:
            found = conn.execute(sql, params).fetchall()
        return [KpiRow(*row) for row in found]  # outside the lock: other reads go on

    def close(self) -> None:
        with ExitStack() as held:
            for lock in dict.fromkeys((self._lock, self._read_lock, self._watch_lock)):
                held.enter_context(lock)  # each distinct lock once (":memory:" has one)
            if not self._closed:
                self._closed = True
                for conn in dict.fromkeys((self._conn, self._reader, self._watch)):
                    conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"
