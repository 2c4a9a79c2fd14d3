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
being posted.

A rebuild first writes the touched days' spans as incomplete, deletes their rows, writes
the new rows, then the complete spans: a crash in between leaves days a reader treats
as not rolled up.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

import msgspec
import numpy as np
import numpy.typing as npt

from smartpark.core.errors import StoreError
from smartpark.core.timestamps import now_ms
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

_POINTS_PER_REQUEST: Final = 20_000
_PLACEHOLDER: Final = b"\x01"  # the commas of a line inside the JSON list (lineprotocol.py)
_TRANSLATE: Final = bytes.maketrans(_PLACEHOLDER, b",")

_encoder = msgspec.json.Encoder()

# A read asks for the fields by name, so its columns are known before the answer and a
# row decodes straight into typed values: (time, field, ...) in FIELDS order, None for
# a field the point lacks (left out at its default).
_SELECT_FIELDS: Final = ", ".join(f'"{name}"' for name in FIELDS)
_COLUMNS: Final = ["time", *FIELDS]
_RollupRow: Any = tuple[  # type: ignore[misc]
    (
        int,
        *((float | None) if dtype is np.float64 else (int | None) for dtype, _ in FIELDS.values()),
    )
]
_RollupSeries: Any = msgspec.defstruct(
    "_RollupSeries",
    [
        ("tags", dict[str, str] | None, None),
        ("columns", list[str], []),
        ("values", list[_RollupRow], []),
    ],
)
_RollupResult: Any = msgspec.defstruct(
    "_RollupResult",
    [("series", list[_RollupSeries], []), ("error", str | None, None)],
)
_RollupResponse: Any = msgspec.defstruct(
    "_RollupResponse",
    [("results", list[_RollupResult], []), ("error", str | None, None)],
)


def _name_tokens(comma: bytes) -> npt.NDArray[np.object_]:
    """``name=`` of each field (FIELDS order) as a line's token, after ``comma``."""
    out = np.empty(len(FIELDS), dtype=object)
    out[:] = [msgspec.Raw(comma + escape(name, "field_key").encode() + b"=") for name in FIELDS]
    return out


def _token(text: bytes) -> npt.NDArray[np.object_]:
    """``text`` as a token in an array of one (numpy would unpack a bare ``Raw``)."""
    out = np.empty(1, dtype=object)
    out[0] = msgspec.Raw(text)
    return out


_SPACE: Final = _token(b" ")
_NEWLINE: Final = _token(b"\n")
_INT_SUFFIX: Final = _token(b"i")
_FIRST_NAMES: Final = _name_tokens(b"")  # the first field of a line
_NAMES: Final = _name_tokens(_PLACEHOLDER)  # any other
# The value a missing cell stands for, per column of a decoded row (time first).
_DEFAULTS: Final = np.array([0, *(default for _, default in FIELDS.values())], dtype=object)


def dirty_lines(ts: npt.NDArray[np.int64]) -> bytes:
    """Line protocol marking the windows of ``ts`` dirty (sent with the readings)."""
    now = now_ms()
    return "".join(
        f"{DIRTY_MEASUREMENT} marked={now}i,done=0i {w}\n" for w in windows_of(ts).tolist()
    ).encode()


class InfluxRollups:
    """:class:`~smartpark.store.rollups.RollupStore` on the measurements above."""

    def __init__(self, store: InfluxStore) -> None:
        self._store = store
        keys = [
            f"{MEASUREMENT},meter={escape(m, 'tag_value')} ".encode().replace(b",", _PLACEHOLDER)
            for m in store.registry.meter_ids
        ]
        self._keys = np.empty(len(keys), dtype=object)
        self._keys[:] = [msgspec.Raw(k) for k in keys]
        self._json = msgspec.json.Decoder(_RollupResponse).decode
        self._msgpack = msgspec.msgpack.Decoder(_RollupResponse).decode

    def _series(self, query: str, what: str) -> list[RowSeries]:
        return list(self._store.query_rows(query, what))

    def _post(self, what: str, lines: list[str]) -> None:
        for i in range(0, len(lines), _POINTS_PER_REQUEST):
            self._store.write_lines("".join(lines[i : i + _POINTS_PER_REQUEST]).encode())

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
        # influxd parses one body while the next is built (httpx waits without the GIL).
        with ThreadPoolExecutor(1, thread_name_prefix="rollup-write") as pool:
            sent: Future[None] | None = None
            for body in self._row_bodies(rows):
                if sent is not None:
                    sent.result()
                sent = pool.submit(self._store.write_lines, body)
            if sent is not None:
                sent.result()
        spans = merged_spans(old, start_ms, end_ms, fingerprint, now_ms())
        self._post("rollup spans", self._span_lines(spans))

    def _row_bodies(self, rows: RollupColumns) -> Iterator[bytes]:
        """Line protocol of ``rows`` (each with some field away from its default), in
        bodies of at most ``_POINTS_PER_REQUEST`` points."""
        for i in range(0, len(rows), _POINTS_PER_REQUEST):
            yield self._row_lines(rows.take(slice(i, i + _POINTS_PER_REQUEST)))

    def _row_lines(self, rows: RollupColumns) -> bytes:
        """``rollup,meter=<id> f1=v1,f2=v2i,... <window ms>`` per row, fields at their
        default left out; the fields' values formatted by msgspec (floats in their
        shortest round-trip form, ints exactly) as lineprotocol.py does for readings.

        Each row is a run of tokens of one token table (rows x slots): the series key,
        then name, value and (ints) ``i`` of each field, then space, time and newline;
        a boolean table of the same shape keeps the slots of the fields present, and
        the kept tokens, row-major, are the lines.
        """
        n = len(rows)
        if n == 0:
            return b""
        n_slots = 1 + sum(3 if dtype is np.int64 else 2 for dtype, _ in FIELDS.values()) + 3
        tokens = np.empty((n, n_slots), dtype=object)
        keep = np.zeros((n, n_slots), dtype=np.bool_)
        tokens[:, 0] = self._keys[rows.meter]
        keep[:, 0] = True
        name_slot = np.zeros(len(FIELDS), dtype=np.intp)
        present_of = np.zeros((n, len(FIELDS)), dtype=np.bool_)
        slot = 1
        for k, (name, (dtype, default)) in enumerate(FIELDS.items()):
            values = rows.values[name]
            present = non_default(values, default)
            name_slot[k] = slot
            present_of[:, k] = present
            tokens[:, slot] = _NAMES[k : k + 1]
            tokens[present, slot + 1] = values[present].tolist()
            keep[:, slot] = keep[:, slot + 1] = present
            slot += 2
            if dtype is np.int64:
                tokens[:, slot] = _INT_SUFFIX
                keep[:, slot] = present
                slot += 1
        first = np.argmax(present_of, axis=1)  # rows without any field were left out
        tokens[np.arange(n), name_slot[first]] = _FIRST_NAMES[first]
        tokens[:, slot] = _SPACE
        tokens[:, slot + 1] = rows.window_ms.tolist()
        tokens[:, slot + 2] = _NEWLINE
        keep[:, slot : slot + 3] = True
        # b"[a,b,...]" -> drop brackets and JSON commas, restore the lines' commas.
        return _encoder.encode(tokens[keep].tolist())[1:-1].translate(_TRANSLATE, b",")

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> RollupColumns:
        registry = self._store.registry
        where = f"time >= {int(start_ms)}ms AND time < {int(end_ms)}ms"
        if meters is not None:
            ids = [registry.meter_ids[c] for c in np.unique(meters).tolist()]
            if not ids:
                return RollupColumns.empty()
            pattern = "|".join(_regex_escape(m) for m in ids)
            where += f' AND "meter" =~ /^({pattern})$/'
        query = f'SELECT {_SELECT_FIELDS} FROM "{MEASUREMENT}" WHERE {where} GROUP BY "meter"'  # noqa: S608
        parts_meter: list[npt.NDArray[np.int32]] = []
        parts_window: list[npt.NDArray[np.int64]] = []
        parts_values: dict[str, list[npt.NDArray[np.generic]]] = {name: [] for name in FIELDS}
        store = self._store
        for series in store.query_typed(query, "read rollups", self._json, self._msgpack):
            if series.columns != _COLUMNS:
                raise StoreError(f"{store.url}: read rollups: columns {series.columns}")
            code = registry.meter_code.get((series.tags or {}).get("meter", ""), -1)
            if code < 0 or not series.values:
                continue
            # One chunk's rows (chunk_size at most) as a table of their decoded values;
            # a missing field (None) is its default, then each column becomes typed.
            table = np.array(series.values, dtype=object)
            missing = np.equal(table, None)  # type: ignore[call-overload]
            if missing.any():
                table = np.where(missing, _DEFAULTS, table)
            parts_meter.append(np.full(len(table), code, np.int32))
            parts_window.append(table[:, 0].astype(np.int64))
            for k, (name, (dtype, _)) in enumerate(FIELDS.items(), start=1):
                parts_values[name].append(table[:, k].astype(dtype))
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
    for name, (dtype, default) in FIELDS.items():
        values = rows.values[name]
        if dtype is np.float64:
            bad = ~np.isfinite(values) & non_default(values, default)
            if bad.any():
                at = int(np.flatnonzero(bad)[0])
                raise ValueError(f"rollup {name}: {float(values[at])!r} at row {at} is not finite")


def _where(conditions: list[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if not (c.isalnum() or c in "_-") else c for c in text).replace(
        "/", "\\/"
    )


__all__ = ["InfluxRollups", "dirty_lines"]
