"""Product output and value added in the InfluxDB store (docs/store.md, "Product
output", "Value added"): one measurement per series (store/outputs.py), tagged with its
id key::

    product_output,product=<id>,period=<day|month> value=<f>,end_ms=<i>i,written_ms=<i>i <start ms>
    value_added,enterprise=<id>,period=month value=<f>,end_ms=<i>i,written_ms=<i>i <start ms>

A write first writes its rows, then deletes the stored rows they overlap (other than
those it overwrote): a crash in between leaves old and new rows overlapping, and a
read keeps only the newest written of overlapping rows, so the store reads as before
the write or after it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from smartpark.core.errors import StoreError
from smartpark.core.timestamps import now_ms
from smartpark.store.influx_rollups import time_range
from smartpark.store.outputs import (
    OutputRow,
    Series,
    check_rows,
    overlapped,
    search_range,
    sort_rows,
)

if TYPE_CHECKING:
    from smartpark.store.influx import InfluxStore


class InfluxOutputs:
    """:class:`~smartpark.store.outputs.OutputStore` of ``series`` on its measurement."""

    def __init__(self, store: InfluxStore, series: Series) -> None:
        self._store = store
        self._series = series

    def replace(self, rows: Sequence[OutputRow]) -> int:
        s = self._series
        check_rows(s, rows)
        if not rows:
            return 0
        start, end = search_range(rows)
        old = overlapped([r for r, _ in self._read(start, end)], rows)
        written = now_ms()
        body = "".join(
            f"{s.name},{s.key}={r.id},period={r.period} value={r.value!r},"
            f"end_ms={r.end_ms}i,written_ms={written}i {r.start_ms}\n"
            for r in rows
        )
        self._store.write_lines(body.encode())
        same = {(r.id, r.period, r.start_ms) for r in rows}
        gone = [r for r in old if (r.id, r.period, r.start_ms) not in same]
        if gone:
            self._store.execute(
                "; ".join(
                    f"DELETE FROM \"{s.name}\" WHERE {s.key} = '{r.id}' "  # noqa: S608
                    f"AND period = '{r.period}' AND time = {r.start_ms}ms"
                    for r in gone
                ),
                f"delete replaced {s.what}",
            )
        return len(old)

    def _read(self, start_ms: int, end_ms: int) -> list[tuple[OutputRow, int]]:
        """Rows starting in ``[start_ms, end_ms)`` with the time each was written."""
        s = self._series
        query = (
            f'SELECT "value", "end_ms", "written_ms", "{s.key}", "period" FROM "{s.name}" '  # noqa: S608
            f"WHERE {time_range(start_ms, end_ms)}"
        )
        out: list[tuple[OutputRow, int]] = []
        what = f"read {s.what}"
        for found in self._store.query_rows(query, what):
            if found.columns != ["time", "value", "end_ms", "written_ms", s.key, "period"]:
                raise StoreError(f"{self._store.url}: {what}: columns {found.columns}")
            for t, value, end, written, ident, period in found.values:
                row = OutputRow(str(ident), period, int(t), int(end), float(value))
                out.append((row, int(written)))
        return out

    def read(
        self, start_ms: int, end_ms: int, ids: Collection[str] | None = None
    ) -> list[OutputRow]:
        found = [
            (r, w)
            for r, w in self._read(search_range_of(start_ms), end_ms)
            if r.end_ms > start_ms and (ids is None or r.id in ids)
        ]
        # the newest written of rows that overlap (an interrupted replace) wins
        return sort_rows(
            [r for r, w in found if not any(o.overlaps(r) and v > w for o, v in found)]
        )


def search_range_of(start_ms: int) -> int:
    """The earliest start of a row that may reach past ``start_ms``."""
    return search_range([OutputRow("x", "day", start_ms, start_ms + 1, 1.0)])[0]
