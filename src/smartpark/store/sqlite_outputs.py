"""Product output in the SQLite store (docs/store.md, "Product output")::

    product_output(product TEXT, start_ms INTEGER, end_ms INTEGER, period TEXT,
                   value REAL, written_ms INTEGER, PRIMARY KEY (product, start_ms))

A write deletes the rows its rows overlap and inserts them in one transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Final

from smartpark.core.timestamps import now_ms
from smartpark.store.outputs import OutputRow, check_output_rows, overlapped, search_range

if TYPE_CHECKING:
    from smartpark.store.sqlite import SqliteStore

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS product_output (
    product TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    period TEXT NOT NULL,
    value REAL NOT NULL,
    written_ms INTEGER NOT NULL,
    PRIMARY KEY (product, start_ms)
) WITHOUT ROWID;
"""
_SELECT: Final = "SELECT product, period, start_ms, end_ms, value FROM product_output "


class SqliteOutputs:
    """:class:`~smartpark.store.outputs.OutputStore` on the table above."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def replace(self, rows: Sequence[OutputRow]) -> int:
        check_output_rows(rows)
        if not rows:
            return 0
        start, end = search_range(rows)
        written = now_ms()
        store = self._store
        with store.using("write product output") as conn, store.transaction():
            near = [
                OutputRow(*r)
                for r in conn.execute(
                    _SELECT + "WHERE start_ms >= ? AND start_ms < ?", (start, end)
                ).fetchall()
            ]
            old = overlapped(near, rows)
            conn.executemany(
                "DELETE FROM product_output WHERE product = ? AND start_ms = ?",
                [(r.product, r.start_ms) for r in old],
            )
            conn.executemany(
                "INSERT INTO product_output VALUES (?, ?, ?, ?, ?, ?)",
                [(r.product, r.start_ms, r.end_ms, r.period, r.value, written) for r in rows],
            )
        return len(old)

    def read(
        self, start_ms: int, end_ms: int, products: Collection[str] | None = None
    ) -> list[OutputRow]:
        with self._store.using("read product output", read=True) as conn:
            found = conn.execute(
                _SELECT + "WHERE start_ms < ? AND end_ms > ? ORDER BY product, start_ms",
                (end_ms, start_ms),
            ).fetchall()
        wanted = None if products is None else set(products)
        return [OutputRow(*r) for r in found if wanted is None or r[0] in wanted]
