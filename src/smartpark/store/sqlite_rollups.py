"""The rollup tables of the SQLite store (docs/store.md, "Rollups")::

    rollup(series, window_ms, consumption, integral, ..., register,
           PRIMARY KEY (window_ms, series)) WITHOUT ROWID      -- NULL: NaN
    rollup_span(day_ms PRIMARY KEY, lo_ms, hi_ms, fingerprint, complete, built_ms)
    rollup_dirty(window_ms PRIMARY KEY, marked_ms, done_ms)
    INDEX rollup_dirty_pending(window_ms, marked_ms) WHERE marked_ms > done_ms

A rebuild deletes the range's rows and writes the new ones and their spans in one
transaction: readers see the old rollups or the new, never a mix. Reading writes mark
their windows dirty in the transaction that stores them (:func:`mark_dirty`).

``rollup_dirty`` keeps a row for every window ever written; the partial index holds only
the dirty ones (a row enters it when a write marks it, leaves it when a re-roll clears
it), so listing the dirty windows of any age reads those and nothing else: its cost
follows the dirty windows, not the history. A file of an earlier version gets the index
when opened (once, a scan of ``rollup_dirty``).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Final

import msgspec
import numpy as np
import numpy.typing as npt

from smartpark.core.timestamps import now_ms
from smartpark.store.rollups import (
    FIELDS,
    RollupColumns,
    RollupSpan,
    days_of,
    merged_spans,
    windows_of,
)

if TYPE_CHECKING:
    from smartpark.store.sqlite import SqliteStore

_COLUMNS: Final = ", ".join(FIELDS)
_TYPED: Final = ", ".join(
    f"{name} {'INTEGER' if dtype is np.int64 else 'REAL'}" for name, (dtype, _) in FIELDS.items()
)
SCHEMA: Final = f"""
CREATE TABLE IF NOT EXISTS rollup (
    series INTEGER NOT NULL,
    window_ms INTEGER NOT NULL,
    {_TYPED},
    PRIMARY KEY (window_ms, series)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_span (
    day_ms INTEGER PRIMARY KEY,
    lo_ms INTEGER NOT NULL,
    hi_ms INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    complete INTEGER NOT NULL,
    built_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rollup_dirty (
    window_ms INTEGER PRIMARY KEY,
    marked_ms INTEGER NOT NULL,
    done_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS rollup_dirty_pending ON rollup_dirty (window_ms, marked_ms)
    WHERE marked_ms > done_ms;
"""
_INSERT: Final = (
    f"INSERT OR REPLACE INTO rollup (series, window_ms, {_COLUMNS}) "  # noqa: S608 (constants)
    f"VALUES ({', '.join('?' * (len(FIELDS) + 2))})"
)
# NaN is stored as NULL; read back as +inf (never a rollup value: readings are finite)
# so rows convert straight into a typed numpy table, then NaN again.
_READ_COLUMNS: Final = ", ".join(
    f"ifnull({name}, 9e999)" if dtype is np.float64 else name for name, (dtype, _) in FIELDS.items()
)
_SELECT: Final = (
    f"SELECT series, window_ms, {_READ_COLUMNS} FROM rollup "  # noqa: S608 (constants)
    "WHERE window_ms >= ? AND window_ms < ?"
)
_ROW: Final = np.dtype(
    [("series", np.int64), ("window_ms", np.int64)]
    + [(name, dtype) for name, (dtype, _) in FIELDS.items()]
)
_MARK: Final = (
    "INSERT INTO rollup_dirty (window_ms, marked_ms) VALUES (?, ?) "
    "ON CONFLICT (window_ms) DO UPDATE SET "
    "marked_ms = max(excluded.marked_ms, rollup_dirty.marked_ms + 1)"
)
_FETCH_ROWS: Final = 8_192  # rows held as Python tuples at a time
# INDEXED BY: only the dirty rows are read, or the query fails (never a silent scan).
_DIRTY: Final = (
    "SELECT window_ms, marked_ms FROM rollup_dirty INDEXED BY rollup_dirty_pending "
    "WHERE marked_ms > done_ms"
)


def mark_dirty(conn: sqlite3.Connection, ts: npt.NDArray[np.int64]) -> None:
    """Mark the windows of ``ts`` dirty (inside the caller's write transaction)."""
    now = now_ms()
    conn.executemany(_MARK, [(w, now) for w in windows_of(ts).tolist()])


class SqliteRollups:
    """:class:`~smartpark.store.rollups.RollupStore` on the tables above."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def write(self, start_ms: int, end_ms: int, rows: RollupColumns, fingerprint: str) -> None:
        store = self._store
        rows = rows.take(rows.informative())
        # In primary key order: the inserts append to the table's B-tree (25% faster).
        rows = rows.take(np.lexsort((rows.meter, rows.window_ms)))
        columns = [store.series_ids(rows.meter).tolist(), rows.window_ms.tolist()]
        for name, (dtype, _) in FIELDS.items():
            v = rows.values[name]
            columns.append(v.astype(np.int64).tolist() if dtype is np.int64 else v.tolist())
        with store.using("write_rollups") as conn, store.transaction():
            old = self._spans(conn, start_ms, end_ms)
            conn.execute(
                "DELETE FROM rollup WHERE window_ms >= ? AND window_ms < ?", (start_ms, end_ms)
            )
            conn.executemany(_INSERT, zip(*columns, strict=True))
            spans = merged_spans(old, start_ms, end_ms, fingerprint, now_ms())
            conn.executemany(
                "INSERT OR REPLACE INTO rollup_span VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (s.day_ms, s.lo_ms, s.hi_ms, s.fingerprint, int(s.complete), s.built_ms)
                    for s in spans
                ],
            )

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> RollupColumns:
        store = self._store
        sql = _SELECT
        params_: list[int | str] = [int(start_ms), int(end_ms)]
        if meters is not None:
            sql += " AND series IN (SELECT value FROM json_each(?))"
            ids = store.series_ids(np.unique(meters)).tolist()
            params_.append(msgspec.json.encode(ids).decode())
        chunks: list[npt.NDArray[np.void]] = []
        with store.using("read_rollups", read=True) as conn:
            cursor = conn.execute(sql, params_)
            while found := cursor.fetchmany(_FETCH_ROWS):
                chunks.append(np.array(found, dtype=_ROW))
            code_of_series = store.code_of_series(conn)
        if not chunks:
            return RollupColumns.empty()
        table = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
        del chunks
        meter = code_of_series[table["series"]]
        known = np.flatnonzero(meter >= 0)
        order = known[np.lexsort((table["window_ms"][known], meter[known]))]
        values: dict[str, npt.NDArray[np.generic]] = {}
        for name, (dtype, _) in FIELDS.items():
            column = table[name][order]
            if dtype is np.float64:
                column[np.isinf(column)] = np.nan
            values[name] = column
        return RollupColumns(meter[order], table["window_ms"][order], values)

    def _spans(self, conn: sqlite3.Connection, start_ms: int, end_ms: int) -> dict[int, RollupSpan]:
        days = days_of(start_ms, end_ms)
        if not days:
            return {}
        found = conn.execute(
            "SELECT day_ms, lo_ms, hi_ms, fingerprint, complete, built_ms FROM rollup_span "
            "WHERE day_ms >= ? AND day_ms <= ?",
            (days[0], days[-1]),
        ).fetchall()
        return {r[0]: RollupSpan(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in found}

    def spans(self, start_ms: int, end_ms: int) -> dict[int, RollupSpan]:
        with self._store.using("rollup_spans", read=True) as conn:
            return self._spans(conn, start_ms, end_ms)

    def dirty(
        self, start_ms: int | None = None, end_ms: int | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        sql = _DIRTY
        bounds: list[int] = []
        if start_ms is not None:
            sql += " AND window_ms >= ?"
            bounds.append(int(start_ms))
        if end_ms is not None:
            sql += " AND window_ms < ?"
            bounds.append(int(end_ms))
        with self._store.using("rollup_dirty", read=True) as conn:
            found = conn.execute(sql + " ORDER BY window_ms", bounds).fetchall()
        table = np.array(found, dtype=np.int64).reshape(-1, 2)
        return table[:, 0].copy(), table[:, 1].copy()

    def clear_dirty(self, window_ms: npt.NDArray[np.int64], marked: npt.NDArray[np.int64]) -> None:
        if window_ms.size == 0:
            return
        with self._store.using("clear_dirty") as conn, self._store.transaction():
            conn.executemany(
                "UPDATE rollup_dirty SET done_ms = max(done_ms, ?) WHERE window_ms = ?",
                zip(marked.tolist(), window_ms.tolist(), strict=True),
            )


__all__ = ["SCHEMA", "SqliteRollups", "mark_dirty"]
