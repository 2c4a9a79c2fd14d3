"""The day-level measurements of the InfluxDB store (docs/store.md, "Day level")::

    day_meter,meter=<id> consumption=…,samples=…i,… <cell start ms>   -- defaults left out
    day_scope,row=<scope key> demand_sum=…,… <cell start ms>           -- defaults left out
    day_span end_ms=…i,fingerprint="…",complete=true,built_ms=…i <cell start ms>

Rows as columns both ways, with the rollups' machinery (influx_rollups.py): a read names
its fields, so each answer chunk decodes into typed rows and then typed numpy columns, a
missing field its default (:class:`~smartpark.store.influx_rollups.TypedRows`); a write
builds its lines from masked tokens in one msgspec encoding
(:class:`~smartpark.store.influx_rollups.FieldLines`), posting each body while the next
is built.

A write first marks the spans of the touched range incomplete (the new cells' and any
old one in the range), deletes the range's meter and scope rows, writes the new rows,
deletes the old spans that start no new cell, then writes the new spans complete: a
crash in between leaves every cell of the range covered by an incomplete span, which a
reader treats as not built, never old and new rows mixed under a complete span.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import chain
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from smartpark.core.errors import StoreError
from smartpark.core.timestamps import now_ms
from smartpark.store.checks import check_day_rows
from smartpark.store.days import (
    METER_FIELDS,
    METER_MEASUREMENT,
    SCOPE_FIELDS,
    SCOPE_MEASUREMENT,
    SPAN_MEASUREMENT,
    DayColumns,
    DaySpan,
)
from smartpark.store.influx_rollups import (
    POINTS_PER_REQUEST,
    FieldLines,
    TypedRows,
    series_tokens,
    tag_pattern,
    write_bodies,
)
from smartpark.store.lineprotocol import string_field

if TYPE_CHECKING:
    from smartpark.store.influx import InfluxStore

METER_TAG: Final = "meter"
SCOPE_TAG: Final = "row"
_METER_ROWS: Final = TypedRows("DayMeter", METER_FIELDS, METER_TAG)
_SCOPE_ROWS: Final = TypedRows("DayScope", SCOPE_FIELDS, SCOPE_TAG)
_METER_LINES: Final = FieldLines(METER_FIELDS)
_SCOPE_LINES: Final = FieldLines(SCOPE_FIELDS)
# InfluxDB keeps time as int64 ns: ranges are clamped to what it can represent.
_MIN_MS: Final = -9_223_372_036_854
_MAX_MS: Final = 9_223_372_036_854


def _time_range(start_ms: int, end_ms: int) -> str:
    start = min(max(int(start_ms), _MIN_MS), _MAX_MS)
    end = min(max(int(end_ms), _MIN_MS), _MAX_MS)
    return f"time >= {start}ms AND time < {end}ms"


class InfluxDays:
    """:class:`~smartpark.store.days.DayStore` on the measurements above."""

    def __init__(self, store: InfluxStore) -> None:
        self._store = store
        self._meter_keys = series_tokens(
            METER_MEASUREMENT, METER_TAG, list(store.registry.meter_ids)
        )

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
        scopes = scopes.take(scopes.informative(SCOPE_FIELDS))
        scope_tokens = np.empty(len(scope_keys), dtype=object)
        used = np.unique(scopes.key)
        scope_tokens[used] = series_tokens(
            SCOPE_MEASUREMENT, SCOPE_TAG, [scope_keys[k] for k in used.tolist()]
        )
        bodies = chain(
            _bodies(_METER_LINES, self._meter_keys[meters.key], meters),
            _bodies(_SCOPE_LINES, scope_tokens[scopes.key], scopes),
        )
        string_field(fingerprint)  # refused before anything is written
        new = dict(zip(cells[:-1].tolist(), cells[1:].tolist(), strict=True))
        old = self.spans(start, end)
        unfinished = [
            DaySpan(c, s.end_ms, s.fingerprint, False, s.built_ms) for c, s in old.items()
        ] + [DaySpan(c, e, fingerprint, False, 0) for c, e in new.items() if c not in old]
        self._post_spans(unfinished)
        store.execute(
            f'DELETE FROM "{METER_MEASUREMENT}" WHERE {_time_range(start, end)}; '  # noqa: S608
            f'DELETE FROM "{SCOPE_MEASUREMENT}" WHERE {_time_range(start, end)}',
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
        where = _time_range(start_ms, end_ms)
        if meters is not None:
            codes = np.unique(np.asarray(meters, np.int64))
            n_meters = len(registry.meter_ids)
            if len(codes) and (codes[0] < 0 or codes[-1] >= n_meters):
                raise ValueError(f"meters: codes must be in 0..{n_meters - 1}")
            if len(codes) == 0:
                return DayColumns.empty(METER_FIELDS)
            ids = [registry.meter_ids[c] for c in codes.tolist()]
            where += f' AND "{METER_TAG}" =~ {tag_pattern(ids)}'
        query = (
            f'SELECT {_METER_ROWS.select} FROM "{METER_MEASUREMENT}" '  # noqa: S608
            f"WHERE {where}"
        )
        return self._read(query, "read day meters", registry.meter_code, _METER_ROWS)

    def read_scopes(self, start_ms: int, end_ms: int, scope_keys: tuple[str, ...]) -> DayColumns:
        if not scope_keys:
            return DayColumns.empty(SCOPE_FIELDS)
        index_of = {k: i for i, k in reversed(list(enumerate(scope_keys)))}  # first wins
        where = (
            f'{_time_range(start_ms, end_ms)} AND "{SCOPE_TAG}" =~ {tag_pattern(list(index_of))}'
        )
        query = (
            f'SELECT {_SCOPE_ROWS.select} FROM "{SCOPE_MEASUREMENT}" '  # noqa: S608
            f"WHERE {where}"
        )
        return self._read(query, "read day scopes", index_of, _SCOPE_ROWS)

    def _read(
        self, query: str, what: str, index_of: Mapping[str, int], rows: TypedRows
    ) -> DayColumns:
        """The rows of a query reading its tag as a column (no ``GROUP BY``: one series,
        a few chunks), ``key`` the index of each row's tag value in ``index_of`` (rows
        of other values left out), sorted by (key, cell)."""
        store = self._store
        tag = str(rows.tag)
        parts_cell: list[npt.NDArray[np.int64]] = []
        parts_values: dict[str, list[npt.NDArray[np.generic]]] = {
            n: [] for n in [*rows.fields, tag]
        }
        for series in store.query_typed(query, what, rows.json, rows.msgpack):
            if series.columns != rows.names:
                raise StoreError(f"{store.url}: {what}: columns {series.columns}")
            if not series.values:
                continue
            cell, values = rows.columns(series.values)
            parts_cell.append(cell)
            for name, column in values.items():
                parts_values[name].append(column)
        if not parts_cell:
            return DayColumns.empty(rows.fields)
        names, inverse = np.unique(np.concatenate(parts_values.pop(tag)), return_inverse=True)
        code = np.array([index_of.get(str(n), -1) for n in names.tolist()], np.int64)
        keys = code[inverse]
        cells = np.concatenate(parts_cell)
        known = np.flatnonzero(keys >= 0)
        order = known[np.lexsort((cells[known], keys[known]))]
        return DayColumns(
            keys[order].astype(np.int32),
            cells[order],
            {name: np.concatenate(parts)[order] for name, parts in parts_values.items()},
        )

    def spans(self, start_ms: int, end_ms: int) -> dict[int, DaySpan]:
        query = (
            f'SELECT end_ms, fingerprint, complete, built_ms FROM "{SPAN_MEASUREMENT}" '  # noqa: S608
            f"WHERE {_time_range(start_ms, end_ms)}"
        )
        out: dict[int, DaySpan] = {}
        for series in self._store.query_rows(query, "read day spans"):
            for t, end, fp, complete, built in series.values:
                out[int(t)] = DaySpan(int(t), int(end), str(fp), bool(complete), int(built))
        return dict(sorted(out.items()))


def _bodies(lines: FieldLines, keys: npt.NDArray[np.object_], rows: DayColumns) -> Iterator[bytes]:
    """Line protocol of ``rows`` (series key tokens ``keys``), ``POINTS_PER_REQUEST`` a body."""
    for i in range(0, len(rows), POINTS_PER_REQUEST):
        part = slice(i, i + POINTS_PER_REQUEST)
        yield lines.build(
            keys[part], rows.cell_ms[part], {k: v[part] for k, v in rows.values.items()}
        )


__all__ = ["METER_TAG", "SCOPE_TAG", "InfluxDays"]
