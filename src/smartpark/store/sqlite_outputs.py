"""Product output and value added in the SQLite store (docs/store.md, "Product output",
"Value added"): one table per series (store/outputs.py), ``<key>`` its id column::

    product_output(product TEXT, start_ms INTEGER, end_ms INTEGER, period TEXT,
                   value REAL, written_ms INTEGER, PRIMARY KEY (product, start_ms))
    value_added(enterprise TEXT, ...the same...)

A write deletes the rows its rows overlap and inserts them in one transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Final

from smartpark.core.timestamps import now_ms
from smartpark.store.outputs import (
    PRODUCT_OUTPUT,
    VALUE_ADDED,
    OutputRow,
    Series,
    check_rows,
    overlapped,
    search_range,
)

if TYPE_CHECKING:
    from smartpark.store.sqlite import SqliteStore


def _table(series: Series) -> str:
    return f"""
CREATE TABLE IF NOT EXISTS {series.name} (
    {series.key} TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    period TEXT NOT NULL,
    value REAL NOT NULL,
    written_ms INTEGER NOT NULL,
    PRIMARY KEY ({series.key}, start_ms)
) WITHOUT ROWID;
"""


SCHEMA: Final = _table(PRODUCT_OUTPUT) + _table(VALUE_ADDED)


class SqliteOutputs:
    """:class:`~smartpark.store.outputs.OutputStore` of ``series`` on its table above."""

    def __init__(self, store: SqliteStore, series: Series) -> None:
        self._store = store
        self._series = series
        key, name = series.key, series.name
        self._select = f"SELECT {key}, period, start_ms, end_ms, value FROM {name} "  # noqa: S608

    def replace(self, rows: Sequence[OutputRow]) -> int:
        series = self._series
        check_rows(series, rows)
        if not rows:
            return 0
        start, end = search_range(rows)
        written = now_ms()
        store = self._store
        with store.using(f"write {series.what}") as conn, store.transaction():
            near = [
                OutputRow(*r)
                for r in conn.execute(
                    self._select + "WHERE start_ms >= ? AND start_ms < ?", (start, end)
                ).fetchall()
            ]
            old = overlapped(near, rows)
            conn.executemany(
                f"DELETE FROM {series.name} WHERE {series.key} = ? AND start_ms = ?",  # noqa: S608
                [(r.id, r.start_ms) for r in old],
            )
            conn.executemany(
                f"INSERT INTO {series.name} VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608
                [(r.id, r.start_ms, r.end_ms, r.period, r.value, written) for r in rows],
            )
        return len(old)

    def read(
        self, start_ms: int, end_ms: int, ids: Collection[str] | None = None
    ) -> list[OutputRow]:
        with self._store.using(f"read {self._series.what}", read=True) as conn:
            found = conn.execute(
                self._select
                + f"WHERE start_ms < ? AND end_ms > ? ORDER BY {self._series.key}, start_ms",
                (end_ms, start_ms),
            ).fetchall()
        wanted = None if ids is None else set(ids)
        return [OutputRow(*r) for r in found if wanted is None or r[0] in wanted]
