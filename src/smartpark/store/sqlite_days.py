"""The day-level tables of the SQLite store (docs/store.md, "Day level")::

    day_meter(series, cell_ms, consumption, ..., kwh_valley,
              PRIMARY KEY (cell_ms, series)) WITHOUT ROWID        -- NULL: NaN
    day_scope_key(id INTEGER PRIMARY KEY, key TEXT UNIQUE)         -- one row per scope key
    day_scope(scope, cell_ms, demand_sum, demand_peak, bill_peak_kw,
              PRIMARY KEY (cell_ms, scope)) WITHOUT ROWID         -- NULL: NaN
    day_span(cell_ms PRIMARY KEY, end_ms, fingerprint, complete, built_ms)

Meters are stored by their series id (``series``, as readings and rollups are) and
scope keys (``enterprise/<id>``) by the id of their row in ``day_scope_key``, so rows
hold integers only and a read turns them into typed numpy columns without a Python
string per row; both survive registry edits (a read maps them back through the caller's
registry or keys and leaves the unknown ones out).

A write deletes the rows and spans of its cells' range and stores the new rows and
spans in one transaction: readers see the old days or the new, never a mix. Rows arrive
8,192 at a time into a structured array, NaN read back through ``ifnull(x, 9e999)`` as
in sqlite_rollups.py (values are finite: :func:`~smartpark.store.checks.check_day_rows`).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Final

import msgspec
import numpy as np
import numpy.typing as npt

from smartpark.core.timestamps import now_ms
from smartpark.store.checks import check_day_rows
from smartpark.store.days import METER_FIELDS, SCOPE_FIELDS, DayColumns, DaySpan

if TYPE_CHECKING:
    from smartpark.store.sqlite import SqliteStore

Fields = dict[str, tuple[type[np.generic], float | int]]


def _typed(fields: Fields) -> str:
    return ", ".join(
        f"{name} {'INTEGER' if dtype is np.int64 else 'REAL'}"
        for name, (dtype, _) in fields.items()
    )


SCHEMA: Final = f"""
CREATE TABLE IF NOT EXISTS day_meter (
    series INTEGER NOT NULL,
    cell_ms INTEGER NOT NULL,
    {_typed(METER_FIELDS)},
    PRIMARY KEY (cell_ms, series)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS day_scope_key (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS day_scope (
    scope INTEGER NOT NULL,
    cell_ms INTEGER NOT NULL,
    {_typed(SCOPE_FIELDS)},
    PRIMARY KEY (cell_ms, scope)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS day_span (
    cell_ms INTEGER PRIMARY KEY,
    end_ms INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    complete INTEGER NOT NULL,
    built_ms INTEGER NOT NULL
);
"""
_FETCH_ROWS: Final = 8_192  # rows held as Python tuples at a time


class _Table:
    """The SQL and row type of one row table (``key`` the name of its key column)."""

    def __init__(self, name: str, key: str, fields: Fields) -> None:
        self.name = name
        self.fields = fields
        self.insert = (
            f"INSERT OR REPLACE INTO {name} ({key}, cell_ms, {', '.join(fields)}) "  # noqa: S608
            f"VALUES ({', '.join('?' * (len(fields) + 2))})"
        )
        # NaN is stored as NULL; read back as +inf (never a value: they are finite) so
        # rows convert straight into a typed numpy table, then NaN again.
        read_columns = ", ".join(
            f"ifnull({n}, 9e999)" if dtype is np.float64 else n for n, (dtype, _) in fields.items()
        )
        self.select = (
            f"SELECT {key}, cell_ms, {read_columns} FROM {name} "  # noqa: S608 (constants)
            "WHERE cell_ms >= ? AND cell_ms < ?"
        )
        self.key_in = f" AND {key} IN (SELECT value FROM json_each(?))"  # noqa: S608
        self.delete = f"DELETE FROM {name} WHERE cell_ms >= ? AND cell_ms < ?"  # noqa: S608
        self.row = np.dtype(
            [("key", np.int64), ("cell_ms", np.int64)]
            + [(n, dtype) for n, (dtype, _) in fields.items()]
        )

    def params(self, ids: npt.NDArray[np.int64], rows: DayColumns) -> list[list[int | float]]:
        """The insert's columns: ``ids`` (the stored key of each row), cell, fields."""
        columns: list[list[int | float]] = [ids.tolist(), rows.cell_ms.tolist()]
        for name, (dtype, _) in self.fields.items():
            v = rows.values[name]
            columns.append(v.astype(np.int64).tolist() if dtype is np.int64 else v.tolist())
        return columns

    def fetch(
        self, conn: sqlite3.Connection, sql: str, params: list[int | str]
    ) -> npt.NDArray[np.void] | None:
        """The rows of ``sql`` as one structured array of :attr:`row` (None: no row)."""
        chunks: list[npt.NDArray[np.void]] = []
        cursor = conn.execute(sql, params)
        while found := cursor.fetchmany(_FETCH_ROWS):
            chunks.append(np.array(found, dtype=self.row))
        if not chunks:
            return None
        return np.concatenate(chunks) if len(chunks) > 1 else chunks[0]

    def columns(self, table: npt.NDArray[np.void], key: npt.NDArray[np.int32]) -> DayColumns:
        """``table`` with its stored keys mapped to ``key`` (-1: left out), sorted by
        (key, cell_ms)."""
        known = np.flatnonzero(key >= 0)
        order = known[np.lexsort((table["cell_ms"][known], key[known]))]
        values: dict[str, npt.NDArray[np.generic]] = {}
        for name, (dtype, _) in self.fields.items():
            column = table[name][order]
            if dtype is np.float64:
                column[np.isinf(column)] = np.nan
            values[name] = column
        return DayColumns(key[order], table["cell_ms"][order], values)


_METERS: Final = _Table("day_meter", "series", METER_FIELDS)
_SCOPES: Final = _Table("day_scope", "scope", SCOPE_FIELDS)


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
        cells = np.asarray(cells, np.int64)
        check_day_rows(cells, meters, scopes, scope_keys, len(store.registry.meter_ids))
        if cells.size < 2:
            return
        start, end = int(cells[0]), int(cells[-1])
        meters = meters.take(meters.informative(METER_FIELDS))
        # In primary key order: the inserts append to the table's B-tree.
        meters = meters.take(np.lexsort((meters.key, meters.cell_ms)))
        meter_rows = zip(*_METERS.params(store.series_ids(meters.key), meters), strict=True)
        scopes = scopes.take(scopes.informative(SCOPE_FIELDS))
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
            scopes = scopes.take(np.lexsort((stored[scopes.key], scopes.cell_ms)))
            for table in (_METERS, _SCOPES):
                conn.execute(table.delete, (start, end))
            conn.executemany(_METERS.insert, meter_rows)
            conn.executemany(
                _SCOPES.insert, zip(*_SCOPES.params(stored[scopes.key], scopes), strict=True)
            )
            conn.execute("DELETE FROM day_span WHERE cell_ms >= ? AND cell_ms < ?", (start, end))
            conn.executemany("INSERT INTO day_span VALUES (?, ?, ?, ?, ?)", spans)

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> DayColumns:
        store = self._store
        sql = _METERS.select
        params: list[int | str] = [int(start_ms), int(end_ms)]
        if meters is not None:
            codes = np.unique(np.asarray(meters, np.int32))
            n_meters = len(store.registry.meter_ids)
            if len(codes) and (codes[0] < 0 or codes[-1] >= n_meters):
                raise ValueError(f"meters: codes must be in 0..{n_meters - 1}")
            if len(codes) == 0:
                return DayColumns.empty(METER_FIELDS)
            sql += _METERS.key_in
            params.append(msgspec.json.encode(store.series_ids(codes).tolist()).decode())
        with store.using("read_days", read=True) as conn:
            table = _METERS.fetch(conn, sql, params)
            code_of_series = store.code_of_series(conn)
        if table is None:
            return DayColumns.empty(METER_FIELDS)
        series = table["key"]
        # A series registered after code_of_series was read is unknown here: left out.
        inside = series < len(code_of_series)
        code = np.full(len(series), -1, np.int32)
        code[inside] = code_of_series[series[inside]]
        return _METERS.columns(table, code)

    def read_scopes(self, start_ms: int, end_ms: int, scope_keys: tuple[str, ...]) -> DayColumns:
        if not scope_keys:
            return DayColumns.empty(SCOPE_FIELDS)
        index_of = {k: i for i, k in reversed(list(enumerate(scope_keys)))}  # first wins
        with self._store.using("read_day_scopes", read=True) as conn:
            id_of = _key_ids(conn, list(index_of))
            if not id_of:
                return DayColumns.empty(SCOPE_FIELDS)
            ids = msgspec.json.encode(sorted(id_of.values())).decode()
            sql = _SCOPES.select + _SCOPES.key_in
            table = _SCOPES.fetch(conn, sql, [int(start_ms), int(end_ms), ids])
        if table is None:
            return DayColumns.empty(SCOPE_FIELDS)
        index = np.full(max(id_of.values()) + 1, -1, np.int32)  # by stored id
        for key, stored in id_of.items():
            index[stored] = index_of[key]
        return _SCOPES.columns(table, index[table["key"]])

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
