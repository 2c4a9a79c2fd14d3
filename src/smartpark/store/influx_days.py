"""The day-level measurements of the InfluxDB store (docs/store.md, "Day level")::

    day_meter_cell,part=<k> rows=<n>i,keys="<b64>",consumption="<b64>",… <cell start ms>
    day_scope_cell,part=<k> rows=<n>i,keys="<b64>",demand_sum="<b64>",… <cell start ms>
    day_span end_ms=…i,fingerprint="…",complete=true,built_ms=…i <cell start ms>

A day is stored as columns, as in the SQLite store: one point per cell (and per part of
at most :data:`PART_ROWS` rows, so that no string field passes influxd's 64 KiB), whose
``keys`` are the rows' meter ids (or scope keys) as a JSON array and whose every other
field is the column of the rows' values, little-endian int64 or float64 (NaN as NaN),
both base64-encoded. A read of a year is 365 points, each column one
``numpy.frombuffer``: no Python object per meter row but its id.

A write first marks the spans of the touched range incomplete (the new cells' and any
old one in the range), deletes the range's meter and scope points, writes the new ones,
deletes the old spans that start no new cell, then writes the new spans complete: a
crash in between leaves every cell of the range covered by an incomplete span, which a
reader treats as not built, never old and new rows mixed under a complete span.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from itertools import chain
from typing import TYPE_CHECKING, Any, Final

import msgspec
import numpy as np
import numpy.typing as npt

from smartpark.core.errors import StoreError
from smartpark.core.timestamps import now_ms
from smartpark.store.checks import day_rows_to_write
from smartpark.store.days import (
    METER_FIELDS,
    METER_MEASUREMENT,
    SCOPE_FIELDS,
    SCOPE_MEASUREMENT,
    SPAN_MEASUREMENT,
    DayColumns,
    DaySpan,
    Fields,
    cell_runs,
    column_bytes,
    column_of,
)
from smartpark.store.influx_rollups import POINTS_PER_REQUEST, time_range, write_bodies
from smartpark.store.lineprotocol import string_field

if TYPE_CHECKING:
    from smartpark.store.influx import InfluxStore

PART_ROWS: Final = 4_096  # rows per point: a float64 column is 43,692 base64 characters
_POINTS_PER_BODY: Final = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _cell_lines(
    measurement: str, fields: Fields, keys: list[str], rows: DayColumns
) -> Iterator[str]:
    """One line per cell and part of ``rows`` (``keys[k]``: the stored key of each row)."""
    part, previous = 0, None
    for run in cell_runs(rows, rows.key.astype(np.int64), PART_ROWS):
        cell = int(rows.cell_ms[run[0]])
        part = part + 1 if cell == previous else 0
        previous = cell
        ids = msgspec.json.encode([keys[k] for k in rows.key[run].tolist()])
        values = ",".join(
            f'{name}="{_b64(column_bytes(rows.values[name][run], dt))}"'
            for name, (dt, _) in fields.items()
        )
        yield f'{measurement},part={part} rows={run.size}i,keys="{_b64(ids)}",{values} {cell}\n'


def _bodies(lines: Iterator[str]) -> Iterator[bytes]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == _POINTS_PER_BODY:
            yield "".join(batch).encode()
            batch = []
    if batch:
        yield "".join(batch).encode()


class InfluxDays:
    """:class:`~smartpark.store.days.DayStore` on the measurements above."""

    def __init__(self, store: InfluxStore) -> None:
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
        meter_ids = list(store.registry.meter_ids)
        bodies = chain(
            _bodies(_cell_lines(METER_MEASUREMENT, METER_FIELDS, meter_ids, meters)),
            _bodies(_cell_lines(SCOPE_MEASUREMENT, SCOPE_FIELDS, list(scope_keys), scopes)),
        )
        string_field(fingerprint)  # refused before anything is written
        new = dict(zip(cells[:-1].tolist(), cells[1:].tolist(), strict=True))
        old = self.spans(start, end)
        unfinished = [
            DaySpan(c, s.end_ms, s.fingerprint, False, s.built_ms) for c, s in old.items()
        ] + [DaySpan(c, e, fingerprint, False, 0) for c, e in new.items() if c not in old]
        self._post_spans(unfinished)
        store.execute(
            f'DELETE FROM "{METER_MEASUREMENT}" WHERE {time_range(start, end)}; '  # noqa: S608
            f'DELETE FROM "{SCOPE_MEASUREMENT}" WHERE {time_range(start, end)}',
            "delete day rows",
        )
        write_bodies(store, bodies)
        stale = sorted(old.keys() - new.keys())  # incomplete now, inside the new cells
        if stale:
            store.execute(
                "; ".join(
                    f'DELETE FROM "{SPAN_MEASUREMENT}" WHERE time = {c}ms'  # noqa: S608
                    for c in stale
                ),
                "delete day spans",
            )
        built = now_ms()
        self._post_spans([DaySpan(c, e, fingerprint, True, built) for c, e in new.items()])

    def _post_spans(self, spans: list[DaySpan]) -> None:
        lines = [
            f"{SPAN_MEASUREMENT} end_ms={s.end_ms}i,fingerprint={string_field(s.fingerprint)},"
            f"complete={'true' if s.complete else 'false'},built_ms={s.built_ms}i {s.cell_ms}\n"
            for s in spans
        ]
        for i in range(0, len(lines), POINTS_PER_REQUEST):
            self._store.write_lines("".join(lines[i : i + POINTS_PER_REQUEST]).encode())

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> DayColumns:
        registry = self._store.registry
        found = self._read(METER_MEASUREMENT, METER_FIELDS, start_ms, end_ms, registry.meter_code)
        if meters is None or len(found) == 0:
            return found
        codes = np.unique(np.asarray(meters, np.int64))
        n_meters = len(registry.meter_ids)
        if len(codes) and (codes[0] < 0 or codes[-1] >= n_meters):
            raise ValueError(f"meters: codes must be in 0..{n_meters - 1}")
        return found.take(np.isin(found.key, codes))

    def read_scopes(self, start_ms: int, end_ms: int, scope_keys: tuple[str, ...]) -> DayColumns:
        if not scope_keys:
            return DayColumns.empty(SCOPE_FIELDS)
        index_of = {k: i for i, k in reversed(list(enumerate(scope_keys)))}  # first wins
        return self._read(SCOPE_MEASUREMENT, SCOPE_FIELDS, start_ms, end_ms, index_of)

    def _read(
        self,
        measurement: str,
        fields: Fields,
        start_ms: int,
        end_ms: int,
        index_of: Mapping[str, int],
    ) -> DayColumns:
        """The rows of the cells in range, ``key`` the index of each row's stored key in
        ``index_of`` (rows of other keys left out), sorted by (key, cell)."""
        store = self._store
        names = ["rows", "keys", *fields]
        selected = ", ".join(f'"{n}"' for n in names)
        query = (
            f'SELECT {selected} FROM "{measurement}" '  # noqa: S608
            f"WHERE {time_range(start_ms, end_ms)}"
        )
        what = f"read {measurement}"
        cells: list[int] = []
        counts: list[int] = []
        ids: list[str] = []
        columns: dict[str, list[npt.NDArray[Any]]] = {n: [] for n in fields}
        for series in store.query_rows(query, what):
            if series.columns != ["time", *names]:
                raise StoreError(f"{store.url}: {what}: columns {series.columns}")
            for point in series.values:
                n = int(point[1])
                part = msgspec.json.decode(base64.b64decode(point[2]), type=list[str])
                if len(part) != n:
                    raise StoreError(f"{store.url}: {what}: {len(part)} keys for {n} rows")
                cells.append(int(point[0]))
                counts.append(n)
                ids += part
                for k, (name, (dtype, _)) in enumerate(fields.items(), start=3):
                    column = column_of(base64.b64decode(point[k]), dtype)
                    if column.size != n:
                        raise StoreError(f"{store.url}: {what}: {name} of {column.size} rows")
                    columns[name].append(column)
        if not cells:
            return DayColumns.empty(fields)
        unique, inverse = np.unique(np.array(ids, dtype=object), return_inverse=True)
        code = np.array([index_of.get(str(u), -1) for u in unique.tolist()], np.int64)
        keys = code[inverse.ravel()]
        cell_ms = np.repeat(np.array(cells, np.int64), counts)
        known = np.flatnonzero(keys >= 0)
        order = known[np.lexsort((cell_ms[known], keys[known]))]
        return DayColumns(
            keys[order].astype(np.int32),
            cell_ms[order],
            {name: np.concatenate(parts)[order] for name, parts in columns.items()},
        )

    def spans(self, start_ms: int, end_ms: int) -> dict[int, DaySpan]:
        query = (
            f'SELECT end_ms, fingerprint, complete, built_ms FROM "{SPAN_MEASUREMENT}" '  # noqa: S608
            f"WHERE {time_range(start_ms, end_ms)}"
        )
        out: dict[int, DaySpan] = {}
        for series in self._store.query_rows(query, "read day spans"):
            for t, end, fp, complete, built in series.values:
                out[int(t)] = DaySpan(int(t), int(end), str(fp), bool(complete), int(built))
        return dict(sorted(out.items()))


__all__ = ["PART_ROWS", "InfluxDays"]
