"""Benchmark: finding the dirty windows against the length of the history (issue 22).

    .venv/bin/python bench/bench_dirty.py                      # 2, 5 and 10 years, both stores
    .venv/bin/python bench/bench_dirty.py --years 2 3 --store sqlite

Every ``kpi --follow`` cycle lists the dirty windows (late readings, of any age) to
re-roll them. The store keeps a mark for every 15-minute window ever written, so what
matters is whether that listing reads the clean marks of the whole history back.

For each store (a SQLite file, a real influxd started here) and each ``--years`` of
history (at least 2, so that the late reading falls inside it): one meter, one reading
per 15-minute window up to "now" (2026-11-10 10:00, Asia/Shanghai), written through
``store.write`` (which marks the windows) and all cleared as a re-roll would
(``clear_dirty``): a history of clean marks. Then two readings arrive, one for
2025-09-03 (433 days late) and one for now, and the steps are timed, best and median of
``--repeat``:

(a) ``store.rollups.dirty()``: every dirty window, however old (what a cycle lists);
(b) ``store.rollups.dirty(now - 400 days, now)``: a bounded listing, for comparison;
(c) the listing before issue 22 over its 400 days (``LATE_LIMIT_MS``): SQLite's query
    without the index of dirty rows, influxd's every mark of the range read back and
    compared in Python;
(d) ``reroll_dirty``: the whole re-roll of the two readings (listing, spans, the windows
    around each reading rebuilt, marks cleared), the two days around each rolled up first.

Times are wall clock on a shared machine. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from smartpark.analytics import periods
from smartpark.analytics.windows.rollups.build import build, reroll_dirty
from smartpark.core import logs, registry
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import ReadingColumns, Store
from smartpark.store.open import open_store
from smartpark.store.rollups import DAY_MS, WINDOW_MS
from smartpark.testing.servers import Influxd

TZ = "Asia/Shanghai"
NOW = periods.local_midnight_ms(dt.date(2026, 11, 10), TZ) + 10 * 3_600_000
LATE = periods.local_midnight_ms(dt.date(2025, 9, 3), TZ) + 13 * 3_600_000
OLD_LIMIT_MS = 400 * DAY_MS
BATCH = 50_000


def one_meter() -> Registry:
    return registry.from_dict(
        {
            "zone": {"z": {"name": "Z", "timezone": TZ}},
            "park": {"p": {"zone": "z", "name": "P"}},
            "enterprise": {"e": {"park": "p", "name": "E"}},
            "gateway": {"g": {"park": "p"}},
            "meter": {"m": {"enterprise": "e", "gateway": "g", "quantity": "fresh_water"}},
        }
    )


def readings(ts: np.ndarray[Any, np.dtype[np.int64]]) -> ReadingColumns:
    return ReadingColumns(
        np.zeros(ts.size, np.int32), ts.astype(np.int64), (ts - ts[0]) / 3.6e6 + 100.0
    )


def fill(store: Store, years: int) -> None:
    """A clean history: a reading per window for ``years``, marks written and cleared;
    rollups of the days around the late reading and now."""
    start = NOW - years * 365 * DAY_MS
    ts = np.arange(start, NOW, WINDOW_MS, dtype=np.int64) + 60_000
    for i in range(0, ts.size, BATCH):
        store.write(readings(ts[i : i + BATCH]))
    w, m = store.rollups.dirty()
    store.rollups.clear_dirty(w, m)
    reg = one_meter()
    for at in (LATE, NOW):
        build(store, reg, at - DAY_MS, min(at + DAY_MS, NOW))
    assert store.rollups.dirty()[0].size == 0


def late_readings(store: Store) -> None:
    store.write(readings(np.array([LATE + 120_000, NOW - 5 * 60_000], np.int64)))


def timed(step: Callable[[], object], repeat: int, before: Callable[[], None] | None = None) -> str:
    seconds = []
    for _ in range(repeat):
        if before is not None:
            before()
        t0 = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - t0)
    return f"{min(seconds) * 1e3:9.3f} ms (median {statistics.median(seconds) * 1e3:.3f})"


def old_listing_sqlite(path: Path) -> Callable[[], object]:
    conn = sqlite3.connect(path)
    sql = (
        "SELECT window_ms, marked_ms FROM rollup_dirty NOT INDEXED WHERE window_ms >= ? AND "
        "window_ms < ? AND marked_ms > done_ms ORDER BY window_ms"
    )
    return lambda: conn.execute(sql, (NOW - OLD_LIMIT_MS, NOW + WINDOW_MS)).fetchall()


def old_listing_influx(influxd: Influxd, db: str) -> Callable[[], object]:
    query = (
        f'SELECT marked, done FROM "rollup_dirty" WHERE time >= {NOW - OLD_LIMIT_MS}ms '
        f"AND time < {NOW + WINDOW_MS}ms"
    )

    def listing() -> object:
        body = httpx.post(
            f"{influxd.url}/query", data={"db": db, "q": query, "epoch": "ms"}, timeout=60
        ).json()
        return [
            (t, m)
            for s in body["results"][0].get("series", [])
            for t, m, done in s["values"]
            if m is not None and (done is None or m > done)
        ]

    return listing


def run(store: Store, old: Callable[[], object], years: int, repeat: int) -> None:
    t0 = time.perf_counter()
    fill(store, years)
    print(
        f"  {years:>2} years: {years * 365 * 96:,} clean marks ({time.perf_counter() - t0:.0f} s)"
    )
    late_readings(store)
    found = store.rollups.dirty()[0]
    assert found.size == 2, found
    print(f"    (a) dirty(), every dirty window   {timed(store.rollups.dirty, repeat)}")
    bounded = lambda: store.rollups.dirty(NOW - OLD_LIMIT_MS, NOW + WINDOW_MS)  # noqa: E731
    print(f"    (b) dirty(now - 400 d, now)        {timed(bounded, repeat)}")
    print(f"    (c) before issue 22, 400 days      {timed(old, repeat)}")
    reg = one_meter()
    reroll = timed(lambda: reroll_dirty(store, reg), repeat, before=lambda: late_readings(store))
    print(f"    (d) reroll_dirty, 2 late readings  {reroll}")
    assert store.rollups.dirty()[0].size == 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--years", type=int, nargs="+", default=[2, 5, 10])
    parser.add_argument("--store", choices=["sqlite", "influxdb", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    logs.configure("warning")  # the re-rolls' info and debug lines would drown the figures
    reg = one_meter()
    with tempfile.TemporaryDirectory() as tmp:
        if args.store in ("sqlite", "both"):
            print("SQLite")
            for years in args.years:
                path = Path(tmp) / f"y{years}.db"
                store = open_store(parse_store_url(f"sqlite:///{path}"), reg)
                try:
                    run(store, old_listing_sqlite(path), years, args.repeat)
                finally:
                    store.close()
        if args.store in ("influxdb", "both"):
            with Influxd(Path(tmp) / "influxd") as influxd:
                print("influxd")
                for years in args.years:
                    db = f"y{years}"
                    influxd.create_database(db)
                    store = open_store(parse_store_url(influxd.store_url(db)), reg)
                    try:
                        run(store, old_listing_influx(influxd, db), years, args.repeat)
                    finally:
                        store.close()


if __name__ == "__main__":
    sys.exit(main())
