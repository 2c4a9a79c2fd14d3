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

A rebuild first writes the touched days' spans as incomplete, deletes their rows, writes
the new rows, then the complete spans: a crash in between leaves days a reader treats
as not rolled up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

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
        self._prefix = [
            f"{MEASUREMENT},meter={escape(m, 'tag_value')} " for m in store.registry.meter_ids
        ]

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
        self._post("rollup spans", self._span_lines(unfinished))
        self._store.execute(
            f'DELETE FROM "{MEASUREMENT}" WHERE time >= {int(start_ms)}ms AND '  # noqa: S608
            f"time < {int(end_ms)}ms",
            "delete rollups",
        )
        rows = rows.take(rows.informative())
        self._post("rollups", self._row_lines(rows))
        spans = merged_spans(old, start_ms, end_ms, fingerprint, now_ms())
        self._post("rollup spans", self._span_lines(spans))

    def _row_lines(self, rows: RollupColumns) -> list[str]:
        n = len(rows)
        fields: list[list[str]] = [[] for _ in range(n)]
        for name, (dtype, default) in FIELDS.items():
            values = rows.values[name]
            at = np.flatnonzero(non_default(values, default))
            suffix = "i" if dtype is np.int64 else ""
            for i, v in zip(at.tolist(), values[at].tolist(), strict=True):
                fields[i].append(f"{name}={v!r}{suffix}")
        prefix = self._prefix
        return [
            f"{prefix[m]}{','.join(f)} {t}\n"
            for m, t, f in zip(rows.meter.tolist(), rows.window_ms.tolist(), fields, strict=True)
        ]

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
        query = f'SELECT * FROM "{MEASUREMENT}" WHERE {where} GROUP BY "meter"'  # noqa: S608
        parts: list[RollupColumns] = []
        for series in self._series(query, "read rollups"):
            code = registry.meter_code.get((series.tags or {}).get("meter", ""), -1)
            if code < 0 or not series.values:
                continue
            table = np.array(series.values, dtype=object)
            col = {name: k for k, name in enumerate(series.columns)}
            values: dict[str, npt.NDArray[np.generic]] = {}
            for name, (dtype, default) in FIELDS.items():
                if name not in col:
                    values[name] = np.full(len(table), default, dtype)
                    continue
                column = table[:, col[name]]
                values[name] = np.where(column == None, default, column).astype(dtype)  # noqa: E711
            window = table[:, col["time"]].astype(np.int64)
            parts.append(RollupColumns(np.full(len(table), code, np.int32), window, values))
        if not parts:
            return RollupColumns.empty()
        out = RollupColumns(
            np.concatenate([p.meter for p in parts]),
            np.concatenate([p.window_ms for p in parts]),
            {k: np.concatenate([p.values[k] for p in parts]) for k in FIELDS},
        )
        return out.take(np.lexsort((out.window_ms, out.meter)))

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


def _where(conditions: list[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if not (c.isalnum() or c in "_-") else c for c in text).replace(
        "/", "\\/"
    )


__all__ = ["InfluxRollups", "dirty_lines"]
