"""The day-level tables of the SQLite store (docs/store.md, "Day level")::

    day_meter_cell(cell_ms INTEGER PRIMARY KEY, rows, series, consumption, ..., kwh_valley)
    day_scope_key(id INTEGER PRIMARY KEY, key TEXT UNIQUE)         -- one row per scope key
    day_scope_cell(cell_ms INTEGER PRIMARY KEY, rows, scope, demand_sum, ..., bill_peak_kw)
    day_span(cell_ms PRIMARY KEY, end_ms, fingerprint, complete, built_ms)

A day is stored as columns: one table row per cell, whose ``rows`` meter (or scope)
rows are one BLOB per column, the little-endian int64 or float64 values in key order
(``series``: the meters' series ids, as readings and rollups store them; ``scope``: the
ids of the scope keys in ``day_scope_key``). A read of a year is 365 table rows, each
column a ``numpy.frombuffer``: no Python object per meter row on the way, NaN as it is.
Both keys survive registry edits (a read maps them back through the caller's registry
or keys and leaves the unknown ones out).

A write deletes the cells and spans of its range and stores the new ones in one
transaction: readers see the old days or the new, never a mix (values are finite but
for NaN defaults: :func:`~smartpark.store.checks.check_day_rows`).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Final

import msgspec
import numpy as np
import numpy.typing as npt

from smartpark.core.timestamps import now_ms
from smartpark.store.checks import day_rows_to_write
from smartpark.store.days import (
    METER_FIELDS,
    SCOPE_FIELDS,
    DayColumns,
    DaySpan,
    Fields,
    cell_runs,
    column_bytes,
    column_of,
)

if TYPE_CHECKING:
    from smartpark.store.sqlite import SqliteStore


def _blobs(fields: Fields) -> str:
    return ", ".join(f"{name} BLOB NOT NULL" for name in fields)


SCHEMA: Final = f"""
CREATE TABLE IF NOT EXISTS day_meter_cell (
    cell_ms INTEGER PRIMARY KEY,
    rows INTEGER NOT NULL,
    series BLOB NOT NULL,
    {_blobs(METER_FIELDS)}
);
CREATE TABLE IF NOT EXISTS day_scope_key (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS day_scope_cell (
    cell_ms INTEGER PRIMARY KEY,
    rows INTEGER NOT NULL,
    scope BLOB NOT NULL,
    {_blobs(SCOPE_FIELDS)}
);
CREATE TABLE IF NOT EXISTS day_span (
    cell_ms INTEGER PRIMARY KEY,
    end_ms INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    complete INTEGER NOT NULL,
    built_ms INTEGER NOT NULL
);
"""


class _Table:
    """The SQL and the cell rows of one table (``key`` the name of its key column)."""

    def __init__(self, name: str, key: str, fields: Fields) -> None:
        self.name = name
        self.fields = fields
        columns = ["cell_ms", "rows", key, *fields]
        self.insert = (
            f"INSERT INTO {name} ({', '.join(columns)}) "  # noqa: S608 (constants)
            f"VALUES ({', '.join('?' * len(columns))})"
        )
        self.select = (
            f"SELECT {', '.join(columns)} FROM {name} "  # noqa: S608 (constants)
            "WHERE cell_ms >= ? AND cell_ms < ? ORDER BY cell_ms"
        )
        self.delete = f"DELETE FROM {name} WHERE cell_ms >= ? AND cell_ms < ?"  # noqa: S608

    def params(self, ids: npt.NDArray[np.int64], rows: DayColumns) -> list[tuple[object, ...]]:
        """One table row per cell of ``rows``: cell, count, then each column's bytes
        (``ids``: the stored key of each row), rows in key order within a cell."""
        return [
            (
                int(rows.cell_ms[run[0]]),
                int(run.size),
                column_bytes(ids[run], np.int64),
                *(column_bytes(rows.values[n][run], dt) for n, (dt, _) in self.fields.items()),
            )
            for run in cell_runs(rows, ids, len(rows) or 1)
        ]

    def read(
        self, conn: sqlite3.Connection, start_ms: int, end_ms: int
    ) -> tuple[npt.NDArray[np.int64], DayColumns] | None:
        """(stored key of each row, the rows with ``key`` unset) of the cells in range."""
        found = conn.execute(self.select, (int(start_ms), int(end_ms))).fetchall()
        if not found:
            return None
        counts = np.array([r[1] for r in found], np.int64)
        cells = np.repeat(np.array([r[0] for r in found], np.int64), counts)
        stored = np.concatenate([column_of(r[2], np.int64) for r in found]).astype(np.int64)
        values: dict[str, npt.NDArray[np.generic]] = {}
        for k, (name, (dtype, _)) in enumerate(self.fields.items(), start=3):
            values[name] = np.concatenate([column_of(r[k], dtype) for r in found])
        return stored, DayColumns(np.zeros(len(cells), np.int32), cells, values)

    @staticmethod
    def columns(rows: DayColumns, key: npt.NDArray[np.int32]) -> DayColumns:
        """``rows`` with their keys ``key`` (-1: left out), sorted by (key, cell_ms)."""
        known = np.flatnonzero(key >= 0)
        order = known[np.lexsort((rows.cell_ms[known], key[known]))]
        return DayColumns(
            key[order], rows.cell_ms[order], {k: v[order] for k, v in rows.values.items()}
        )


_METERS: Final = _Table("day_meter_cell", "series", METER_FIELDS)
_SCOPES: Final = _Table("day_scope_cell", "scope", SCOPE_FIELDS)


class SqliteDays:
    """:class:`~smartpark.store.days.DayStore` on the tables above."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def write(
        self,
        cells: npt.NDArray[np.int64],
        meters: DayColumns,
        scopes: DayColumns,
        scope_keys: tuple[str, ...],
        fingerprint: str,
    ) -> None:
        store = self._store
        n_meters = len(store.registry.meter_ids)
        cells, meters, scopes = day_rows_to_write(cells, meters, scopes, scope_keys, n_meters)
        if cells.size < 2:
            return
        start, end = int(cells[0]), int(cells[-1])
        meter_rows = _METERS.params(store.series_ids(meters.key).astype(np.int64), meters)
        used = np.unique(scopes.key)
        built = now_ms()
        spans = [
            (c, e, fingerprint, 1, built)
            for c, e in zip(cells[:-1].tolist(), cells[1:].tolist(), strict=True)
        ]
        with store.using("write_days") as conn, store.transaction():
            conn.executemany(
                "INSERT OR IGNORE INTO day_scope_key (key) VALUES (?)",
                [(scope_keys[k],) for k in used.tolist()],
            )
            id_of = _key_ids(conn, [scope_keys[k] for k in used.tolist()])
            stored = np.zeros(max(len(scope_keys), 1), np.int64)
            stored[used] = [id_of[scope_keys[k]] for k in used.tolist()]
            for table in (_METERS, _SCOPES):
                conn.execute(table.delete, (start, end))
            conn.executemany(_METERS.insert, meter_rows)
            conn.executemany(_SCOPES.insert, _SCOPES.params(stored[scopes.key], scopes))
            conn.execute("DELETE FROM day_span WHERE cell_ms >= ? AND cell_ms < ?", (start, end))
            conn.executemany("INSERT INTO day_span VALUES (?, ?, ?, ?, ?)", spans)

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> DayColumns:
        store = self._store
        wanted: npt.NDArray[np.int32] | None = None
        if meters is not None:
            wanted = np.unique(np.asarray(meters, np.int32))
            n_meters = len(store.registry.meter_ids)
            if len(wanted) and (wanted[0] < 0 or wanted[-1] >= n_meters):
                raise ValueError(f"meters: codes must be in 0..{n_meters - 1}")
            if len(wanted) == 0:
                return DayColumns.empty(METER_FIELDS)
        with store.using("read_days", read=True) as conn:
            found = _METERS.read(conn, start_ms, end_ms)
            code_of_series = store.code_of_series(conn)
        if found is None:
            return DayColumns.empty(METER_FIELDS)
        series, rows = found
        # A series registered after code_of_series was read is unknown here: left out.
        inside = series < len(code_of_series)
        code = np.full(len(series), -1, np.int32)
        code[inside] = code_of_series[series[inside]]
        if wanted is not None:
            code[~np.isin(code, wanted)] = -1
        return _Table.columns(rows, code)

    def read_scopes(self, start_ms: int, end_ms: int, scope_keys: tuple[str, ...]) -> DayColumns:
        if not scope_keys:
            return DayColumns.empty(SCOPE_FIELDS)
        index_of = {k: i for i, k in reversed(list(enumerate(scope_keys)))}  # first wins
        with self._store.using("read_day_scopes", read=True) as conn:
            id_of = _key_ids(conn, list(index_of))
            if not id_of:
                return DayColumns.empty(SCOPE_FIELDS)
            found = _SCOPES.read(conn, start_ms, end_ms)
        if found is None:
            return DayColumns.empty(SCOPE_FIELDS)
        stored, rows = found
        index = np.full(max(max(id_of.values()), int(stored.max(initial=0))) + 1, -1, np.int32)
        for key, ident in id_of.items():
            index[ident] = index_of[key]
        return _Table.columns(rows, index[stored])

    def spans(self, start_ms: int, end_ms: int) -> dict[int, DaySpan]:
        with self._store.using("day_spans", read=True) as conn:
            found = conn.execute(
                "SELECT cell_ms, end_ms, fingerprint, complete, built_ms FROM day_span "
                "WHERE cell_ms >= ? AND cell_ms < ? ORDER BY cell_ms",
                (int(start_ms), int(end_ms)),
            ).fetchall()
        return {r[0]: DaySpan(r[0], r[1], r[2], bool(r[3]), r[4]) for r in found}


def _key_ids(conn: sqlite3.Connection, keys: list[str]) -> dict[str, int]:
    """The stored id of each of ``keys`` that has one."""
    found = conn.execute(
        "SELECT key, id FROM day_scope_key WHERE key IN (SELECT value FROM json_each(?))",
        (msgspec.json.encode(keys).decode(),),
    ).fetchall()
    return {str(k): int(i) for k, i in found}


__all__ = ["SCHEMA", "SqliteDays"]
