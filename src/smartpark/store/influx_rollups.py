"""The rollup measurements of the InfluxDB store (docs/store.md, "Rollups")::

    rollup,meter=<id> consumption=…,samples=…i,… <window start ms>   -- defaults left out
    rollup_span fingerprint="…",lo_ms=…i,hi_ms=…i,complete=true,built_ms=…i <UTC day ms>
    rollup_dirty marked=…i,done=0i <window ms>   (written with the readings)
    rollup_dirty done=…i <window ms>             (written by the maintainer)

InfluxDB keeps the fields of one point separately, so the maintainer's ``done`` never
overwrites a ``marked``. A write sets ``done`` back to 0 with its mark, so the window is
dirty whatever a maintainer consumed before; a maintainer clearing it afterwards saw
that mark (``done`` = the mark seen: a write racing it stays dirty). Every mark thus
carries ``done``, and influxd evaluates ``marked > done`` itself: a listing of the dirty
windows, of any age, gets only those back (influxd still scans the marks: about 20 ms
per year of history with the check below, bench/bench_dirty.py). Marks written by an
earlier version carry no ``done`` until a maintainer clears them; while a range holds
any (``count(done)`` below ``count(marked)``), its marks are all read back and a
missing ``done`` counts as 0.

Rows as columns, both ways (bench/bench_rollup_io.py): a read names the fields, so each
row decodes (msgpack or JSON, msgspec) into a tuple of known types, and each answer chunk
(``chunk_size`` rows at most) becomes typed numpy columns at once, a missing field its
default; no Python object outlives its chunk. A write builds its lines the way
lineprotocol.py builds readings': one msgspec encoding of a token list chosen by
boolean masks (floats in their shortest round-trip form), while the previous body is
being posted. Both directions are written for any set of fields (:class:`TypedRows`,
:class:`FieldLines`): the day level (influx_days.py) uses them too.

A rebuild first writes the touched days' spans as incomplete, deletes their rows, writes
the new rows, then the complete spans: a crash in between leaves days a reader treats
as not rolled up.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

import msgspec
import numpy as np
import numpy.typing as npt

from smartpark.core.errors import StoreError
from smartpark.core.timestamps import now_ms
from smartpark.store.checks import non_finite
from smartpark.store.lineprotocol import escape, string_field
from smartpark.store.rollups import (
    DIRTY_MEASUREMENT,
    FIELDS,
    MEASUREMENT,
    SPAN_MEASUREMENT,
    RollupColumns,
    RollupSpan,
    days_of,
    merged_spans,
    non_default,
    windows_of,
)

if TYPE_CHECKING:
    from smartpark.store.influx import InfluxStore, RowSeries

POINTS_PER_REQUEST: Final = 20_000  # rows per write request
_PLACEHOLDER: Final = b"\x01"  # the commas of a line inside the JSON list (lineprotocol.py)
_TRANSLATE: Final = bytes.maketrans(_PLACEHOLDER, b",")

Fields = dict[str, tuple[type[np.generic], float | int]]
"""field -> (numpy dtype, default), as :data:`~smartpark.store.rollups.FIELDS`."""

_encoder = msgspec.json.Encoder()


def _token(text: bytes) -> npt.NDArray[np.object_]:
    """``text`` as a token in an array of one (numpy would unpack a bare ``Raw``)."""
    out = np.empty(1, dtype=object)
    out[0] = msgspec.Raw(text)
    return out


_SPACE: Final = _token(b" ")
_NEWLINE: Final = _token(b"\n")
_INT_SUFFIX: Final = _token(b"i")


def series_tokens(measurement: str, tag: str, values: list[str]) -> npt.NDArray[np.object_]:
    """The series key ``measurement,tag=<value> `` of each tag value (escaped; ``ValueError``
    if one cannot be carried), as line tokens for :meth:`FieldLines.build`."""
    out = np.empty(len(values), dtype=object)
    out[:] = [
        msgspec.Raw(
            f"{measurement},{tag}={escape(v, 'tag_value')} ".encode().replace(b",", _PLACEHOLDER)
        )
        for v in values
    ]
    return out


# InfluxDB keeps time as int64 ns: ranges are clamped to what it can represent.
MIN_MS: Final = -9_223_372_036_854
MAX_MS: Final = 9_223_372_036_854


def time_range(start_ms: int, end_ms: int) -> str:
    """``time >= … AND time < …`` of ``[start_ms, end_ms)``, clamped to influxd's range."""
    start = min(max(int(start_ms), MIN_MS), MAX_MS)
    end = min(max(int(end_ms), MIN_MS), MAX_MS)
    return f"time >= {start}ms AND time < {end}ms"


class FieldLines:
    """Line protocol of rows as columns, each row ``<series key> f1=v1,f2=v2i,... <ms>``
    with the fields at their default left out; the values formatted by msgspec (floats
    in their shortest round-trip form, ints exactly) as lineprotocol.py does for
    readings.

    Each row is a run of tokens of one token table (rows x slots): the series key,
    then name, value and (ints) ``i`` of each field, then space, time and newline; a
    boolean table of the same shape keeps the slots of the fields present, and the
    kept tokens, row-major, are the lines.
    """

    def __init__(self, fields: Fields) -> None:
        self.fields = fields
        self._first_names = self._name_tokens(b"")  # the first field of a line
        self._names = self._name_tokens(_PLACEHOLDER)  # any other
        self._n_slots = 1 + sum(3 if dtype is np.int64 else 2 for dtype, _ in fields.values()) + 3

    def _name_tokens(self, comma: bytes) -> npt.NDArray[np.object_]:
        """``name=`` of each field as a line's token, after ``comma``."""
        out = np.empty(len(self.fields), dtype=object)
        out[:] = [
            msgspec.Raw(comma + escape(name, "field_key").encode() + b"=") for name in self.fields
        ]
        return out

    def build(
        self,
        keys: npt.NDArray[np.object_],
        ts: npt.NDArray[np.int64],
        values: dict[str, npt.NDArray[np.generic]],
    ) -> bytes:
        """The lines of the rows (``keys``: each row's series key token, from
        :func:`series_tokens`); every row must have some field away from its default."""
        n = len(ts)
        if n == 0:
            return b""
        tokens = np.empty((n, self._n_slots), dtype=object)
        keep = np.zeros((n, self._n_slots), dtype=np.bool_)
        tokens[:, 0] = keys
        keep[:, 0] = True
        name_slot = np.zeros(len(self.fields), dtype=np.intp)
        present_of = np.zeros((n, len(self.fields)), dtype=np.bool_)
        slot = 1
        for k, (name, (dtype, default)) in enumerate(self.fields.items()):
            column = values[name]
            present = non_default(column, default)
            name_slot[k] = slot
            present_of[:, k] = present
            tokens[:, slot] = self._names[k : k + 1]
            tokens[present, slot + 1] = column[present].tolist()
            keep[:, slot] = keep[:, slot + 1] = present
            slot += 2
            if dtype is np.int64:
                tokens[:, slot] = _INT_SUFFIX
                keep[:, slot] = present
                slot += 1
        first = np.argmax(present_of, axis=1)  # rows without any field were left out
        tokens[np.arange(n), name_slot[first]] = self._first_names[first]
        tokens[:, slot] = _SPACE
        tokens[:, slot + 1] = ts.tolist()
        tokens[:, slot + 2] = _NEWLINE
        keep[:, slot : slot + 3] = True
        # b"[a,b,...]" -> drop brackets and JSON commas, restore the lines' commas.
        return _encoder.encode(tokens[keep].tolist())[1:-1].translate(_TRANSLATE, b",")


class TypedRows:
    """A read of ``fields`` by name: the ``SELECT`` list, msgspec decoders of the answer
    whose rows decode straight into typed values ((time, field, ...) in field order,
    None for a field the point lacks), and :meth:`columns` turning one answer chunk
    into typed numpy columns, a missing field its default. With ``tag`` the tag's value
    is read as a column too (after time), so a query needs no ``GROUP BY`` of it: one
    series of many points decodes in a few chunks, where a series per tag value would
    cost a chunk each."""

    def __init__(self, name: str, fields: Fields, tag: str | None = None) -> None:
        self.fields = fields
        self.tag = tag
        tagged = [tag] if tag else []
        self.select = ", ".join(f'"{field}"' for field in [*tagged, *fields])
        self.names = ["time", *tagged, *fields]
        row: Any = tuple[  # type: ignore[misc]
            (
                int,
                *([str] if tag else []),
                *(
                    (float | None) if dtype is np.float64 else (int | None)
                    for dtype, _ in fields.values()
                ),
            )
        ]
        series: Any = msgspec.defstruct(
            f"_{name}Series",
            [
                ("tags", dict[str, str] | None, None),
                ("columns", list[str], []),
                ("values", list[row], []),
            ],
        )
        result: Any = msgspec.defstruct(
            f"_{name}Result", [("series", list[series], []), ("error", str | None, None)]
        )
        response: Any = msgspec.defstruct(
            f"_{name}Response", [("results", list[result], []), ("error", str | None, None)]
        )
        self.json = msgspec.json.Decoder(response).decode
        self.msgpack = msgspec.msgpack.Decoder(response).decode

    def columns(
        self, rows: list[Any]
    ) -> tuple[npt.NDArray[np.int64], dict[str, npt.NDArray[np.generic]]]:
        """(time, values by field) of one chunk's decoded rows (``chunk_size`` at most);
        with ``tag``, its values too, under the tag's name (object array of str). Column
        by column (``zip``), a missing cell its default: no object table of the chunk."""
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(self.names)
        first = 2 if self.tag else 1
        values: dict[str, npt.NDArray[np.generic]] = {}
        for k, (name, (dtype, default)) in enumerate(self.fields.items(), start=first):
            column: Any = columns[k]
            if None in column:
                column = [default if v is None else v for v in column]
            values[name] = np.array(column, dtype=dtype)
        if self.tag:
            values[self.tag] = np.array(columns[1], dtype=object)
        return np.array(columns[0], dtype=np.int64), values


_ROWS: Final = TypedRows("Rollup", FIELDS)
_LINES: Final = FieldLines(FIELDS)


def dirty_lines(ts: npt.NDArray[np.int64]) -> bytes:
    """Line protocol marking the windows of ``ts`` dirty (sent with the readings)."""
    now = now_ms()
    return "".join(
        f"{DIRTY_MEASUREMENT} marked={now}i,done=0i {w}\n" for w in windows_of(ts).tolist()
    ).encode()


def write_bodies(store: InfluxStore, bodies: Iterable[bytes]) -> None:
    """Post each body of line protocol in turn; influxd parses one body while the next is
    built (httpx waits without the GIL)."""
    with ThreadPoolExecutor(1, thread_name_prefix="rows-write") as pool:
        sent: Future[None] | None = None
        for body in bodies:
            if sent is not None:
                sent.result()
            sent = pool.submit(store.write_lines, body)
        if sent is not None:
            sent.result()


class InfluxRollups:
    """:class:`~smartpark.store.rollups.RollupStore` on the measurements above."""

    def __init__(self, store: InfluxStore) -> None:
        self._store = store
        self._keys = series_tokens(MEASUREMENT, "meter", list(store.registry.meter_ids))

    def _series(self, query: str, what: str) -> list[RowSeries]:
        return list(self._store.query_rows(query, what))

    def _post(self, what: str, lines: list[str]) -> None:
        for i in range(0, len(lines), POINTS_PER_REQUEST):
            self._store.write_lines("".join(lines[i : i + POINTS_PER_REQUEST]).encode())

    def _span_lines(self, spans: list[RollupSpan]) -> list[str]:
        return [
            f"{SPAN_MEASUREMENT} fingerprint={string_field(s.fingerprint)},lo_ms={s.lo_ms}i,"
            f"hi_ms={s.hi_ms}i,complete={'true' if s.complete else 'false'},"
            f"built_ms={s.built_ms}i {s.day_ms}\n"
            for s in spans
        ]

    def write(self, start_ms: int, end_ms: int, rows: RollupColumns, fingerprint: str) -> None:
        old = self.spans(start_ms, end_ms)
        unfinished = [
            RollupSpan(d, old[d].lo_ms, old[d].hi_ms, old[d].fingerprint, False, old[d].built_ms)
            if d in old
            else RollupSpan(d, d, d, fingerprint, False, 0)
            for d in days_of(start_ms, end_ms)
        ]
        rows = rows.take(rows.informative())
        check_rows(rows)
        self._post("rollup spans", self._span_lines(unfinished))
        self._store.execute(
            f'DELETE FROM "{MEASUREMENT}" WHERE time >= {int(start_ms)}ms AND '  # noqa: S608
            f"time < {int(end_ms)}ms",
            "delete rollups",
        )
        write_bodies(self._store, self._row_bodies(rows))
        spans = merged_spans(old, start_ms, end_ms, fingerprint, now_ms())
        self._post("rollup spans", self._span_lines(spans))

    def _row_bodies(self, rows: RollupColumns) -> Iterator[bytes]:
        """Line protocol of ``rows`` (each with some field away from its default), in
        bodies of at most ``POINTS_PER_REQUEST`` points."""
        for i in range(0, len(rows), POINTS_PER_REQUEST):
            yield self._row_lines(rows.take(slice(i, i + POINTS_PER_REQUEST)))

    def _row_lines(self, rows: RollupColumns) -> bytes:
        """``rollup,meter=<id> f1=v1,f2=v2i,... <window ms>`` per row (:class:`FieldLines`)."""
        return _LINES.build(self._keys[rows.meter], rows.window_ms, rows.values)

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> RollupColumns:
        registry = self._store.registry
        where = f"time >= {int(start_ms)}ms AND time < {int(end_ms)}ms"
        if meters is not None:
            ids = [registry.meter_ids[c] for c in np.unique(meters).tolist()]
            if not ids:
                return RollupColumns.empty()
            where += f' AND "meter" =~ {tag_pattern(ids)}'
        query = f'SELECT {_ROWS.select} FROM "{MEASUREMENT}" WHERE {where} GROUP BY "meter"'  # noqa: S608
        parts_meter: list[npt.NDArray[np.int32]] = []
        parts_window: list[npt.NDArray[np.int64]] = []
        parts_values: dict[str, list[npt.NDArray[np.generic]]] = {name: [] for name in FIELDS}
        store = self._store
        for series in store.query_typed(query, "read rollups", _ROWS.json, _ROWS.msgpack):
            if series.columns != _ROWS.names:
                raise StoreError(f"{store.url}: read rollups: columns {series.columns}")
            code = registry.meter_code.get((series.tags or {}).get("meter", ""), -1)
            if code < 0 or not series.values:
                continue
            window, values = _ROWS.columns(series.values)
            parts_meter.append(np.full(len(window), code, np.int32))
            parts_window.append(window)
            for name, column in values.items():
                parts_values[name].append(column)
        if not parts_meter:
            return RollupColumns.empty()
        meter = np.concatenate(parts_meter)
        # Each series arrives time-sorted, its pieces in order: sorting by meter is enough.
        order = np.argsort(meter, kind="stable")
        return RollupColumns(
            meter[order],
            np.concatenate(parts_window)[order],
            {name: np.concatenate(parts)[order] for name, parts in parts_values.items()},
        )

    def spans(self, start_ms: int, end_ms: int) -> dict[int, RollupSpan]:
        days = days_of(start_ms, end_ms)
        if not days:
            return {}
        query = (
            f'SELECT fingerprint, lo_ms, hi_ms, complete, built_ms FROM "{SPAN_MEASUREMENT}" '  # noqa: S608
            f"WHERE time >= {days[0]}ms AND time <= {days[-1]}ms"
        )
        out: dict[int, RollupSpan] = {}
        for series in self._series(query, "read rollup spans"):
            for t, fp, lo, hi, complete, built in series.values:
                out[int(t)] = RollupSpan(
                    int(t), int(lo), int(hi), str(fp), bool(complete), int(built)
                )
        return out

    def dirty(
        self, start_ms: int | None = None, end_ms: int | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        bounds = [f"time >= {int(start_ms)}ms"] if start_ms is not None else []
        bounds += [f"time < {int(end_ms)}ms"] if end_ms is not None else []
        if self._all_marks_have_done(bounds):
            bounds.append("marked > done")  # decided in influxd: only dirty marks come back
        query = f'SELECT marked, done FROM "{DIRTY_MEASUREMENT}"' + _where(bounds)  # noqa: S608
        window: list[int] = []
        marked: list[int] = []
        for series in self._series(query, "read dirty windows"):
            for t, m, done in series.values:
                if m is not None and int(m) > int(done or 0):
                    window.append(int(t))
                    marked.append(int(m))
        return np.array(window, np.int64), np.array(marked, np.int64)

    def _all_marks_have_done(self, bounds: list[str]) -> bool:
        """False when some mark of the range has no ``done`` (one of an earlier version)."""
        counts = f'SELECT count(marked), count(done) FROM "{DIRTY_MEASUREMENT}"'  # noqa: S608
        query = counts + _where(bounds)
        for series in self._series(query, "count dirty marks"):
            for _, marks, dones in series.values:
                return int(marks or 0) <= int(dones or 0)
        return True

    def clear_dirty(self, window_ms: npt.NDArray[np.int64], marked: npt.NDArray[np.int64]) -> None:
        lines = [
            f"{DIRTY_MEASUREMENT} done={m}i {w}\n"
            for w, m in zip(window_ms.tolist(), marked.tolist(), strict=True)
        ]
        self._post("clear dirty windows", lines)


def check_rows(rows: RollupColumns) -> None:
    """``ValueError`` naming the field if a value to be written is not finite (line
    protocol has no NaN or infinity; a NaN at a NaN default is left out)."""
    bad = non_finite(rows.values, FIELDS)
    if bad is not None:
        name, at = bad
        raise ValueError(
            f"rollup {name}: {float(rows.values[name][at])!r} at row {at} is not finite"
        )


def tag_pattern(values: list[str]) -> str:
    """An InfluxQL regex literal matching exactly the tag values ``values``."""
    return "/^(" + "|".join(_regex_escape(v) for v in values) + ")$/"


def _where(conditions: list[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if not (c.isalnum() or c in "_-") else c for c in text).replace(
        "/", "\\/"
    )


__all__ = [
    "MAX_MS",
    "MIN_MS",
    "POINTS_PER_REQUEST",
    "FieldLines",
    "Fields",
    "InfluxRollups",
    "TypedRows",
    "check_rows",
    "dirty_lines",
    "series_tokens",
    "tag_pattern",
    "time_range",
    "write_bodies",
]
