"""Benchmark: rollup rows through the stores alone, write and read (issue 23, item 5).

    .venv/bin/python bench/bench_rollup_io.py                        # 1,000 meters x 2 days
    .venv/bin/python bench/bench_rollup_io.py --days 5 --store influxdb

Synthetic rollup rows shaped like bench_rollup's (bench/bench_kpi.py's park: each
enterprise's counters carry consumption, samples, last_ts and register; its gauges
integral, covered, vmin, vmax, samples and last_ts; a few resets and spikes; the other
fields at their defaults, so they are left out of the rows), full-precision random
floats. For each store (a real influxd started here, or a SQLite file):

- ``rollups.write`` of the whole range in UTC-day pieces (as ``rollups.build`` writes),
  rows/s; and, influxd only, the line protocol alone (``_row_lines``), rows/s;
- ``rollups.read`` of the whole range, best of ``--repeat``, rows/s, and the
  tracemalloc peak of one read (what the read holds at most, beside its answer);
- the rows read back are checked equal to those written, bit for bit.

Wall clock on a shared machine: figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from bench_kpi import DAY_MS, build_registry, day_start

from smartpark.core import logs
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.influx import InfluxStore
from smartpark.store.influx_rollups import InfluxRollups
from smartpark.store.open import open_store
from smartpark.store.rollups import FIELDS, WINDOW_MS, RollupColumns
from smartpark.testing.servers import Influxd


def rollup_rows(reg: Registry, start_ms: int, end_ms: int, seed: int = 3) -> RollupColumns:
    """One row per meter and window of ``[start_ms, end_ms)``, sorted by (meter, window)."""
    rng = np.random.default_rng(seed)
    windows = np.arange(start_ms, end_ms, WINDOW_MS, dtype=np.int64)
    n_m, n_w = len(reg.meter_ids), windows.size
    meter = np.repeat(np.arange(n_m, dtype=np.int32), n_w)
    window = np.tile(windows, n_m)
    n = meter.size
    counters = {"electricity_import", "natural_gas", "fresh_water", "pv_generation"}
    counter = np.array([reg.meters[m].quantity in counters for m in reg.meter_ids])[meter]
    values = {name: np.full(n, default, dtype) for name, (dtype, default) in FIELDS.items()}
    values["consumption"][counter] = rng.random(int(counter.sum())) * 10
    values["register"][counter] = 1e5 + rng.random(int(counter.sum())) * 1e4
    gauge = ~counter
    k = int(gauge.sum())
    values["integral"][gauge] = rng.random(k) * 9e5
    values["covered"][gauge] = 900_000.0
    values["vmin"][gauge] = rng.random(k) * 100
    values["vmax"][gauge] = values["vmin"][gauge] + rng.random(k)
    values["samples"][:] = 15
    values["last_ts"][:] = window + 14 * 60_000
    values["resets"][rng.random(n) < 0.001] = 1
    values["spikes"][rng.random(n) < 0.001] = 1
    return RollupColumns(meter, window, values)


def same(a: RollupColumns, b: RollupColumns) -> bool:
    if len(a) != len(b) or not (
        np.array_equal(a.meter, b.meter) and np.array_equal(a.window_ms, b.window_ms)
    ):
        return False
    for name in FIELDS:
        x, y = a.values[name], b.values[name]
        if x.dtype != y.dtype or x.tobytes() != y.tobytes():
            nan_both = np.isnan(x) & np.isnan(y) if x.dtype.kind == "f" else np.zeros(len(x), bool)
            if not np.all((x == y) | nan_both):
                return False
    return True


def bench(
    kind: str, url: str, reg: Registry, rows: RollupColumns, start: int, end: int, repeat: int
) -> None:
    store = open_store(parse_store_url(url), reg)
    try:
        if isinstance(store, InfluxStore):
            assert isinstance(store.rollups, InfluxRollups)
            t0 = time.perf_counter()
            lines = store.rollups._row_lines(rows)
            t = time.perf_counter() - t0
            size = sum(len(x) for x in lines) if isinstance(lines, list) else len(lines)
            print(
                f"{kind}: line protocol of {len(rows):,} rows: {t:.2f} s "
                f"({len(rows) / t:,.0f} rows/s, {size / len(rows):.0f} B/row)",
                flush=True,
            )
        t0 = time.perf_counter()
        for day in range(start, end, DAY_MS):
            part = rows.take((rows.window_ms >= day) & (rows.window_ms < day + DAY_MS))
            store.rollups.write(day, day + DAY_MS, part, "bench")
        t = time.perf_counter() - t0
        print(
            f"{kind}: write {len(rows):,} rows: {t:.2f} s ({len(rows) / t:,.0f} rows/s)", flush=True
        )
        best = float("inf")
        got = RollupColumns.empty()
        for _ in range(repeat):
            t0 = time.perf_counter()
            got = store.rollups.read(start, end)
            best = min(best, time.perf_counter() - t0)
        print(
            f"{kind}: read {len(got):,} rows: best {best:.2f} s ({len(got) / best:,.0f} rows/s)",
            flush=True,
        )
        tracemalloc.start()
        got = store.rollups.read(start, end)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"{kind}: read tracemalloc peak {peak / 2**20:.0f} MiB "
            f"({peak / max(1, len(got)):.0f} B/row)",
            flush=True,
        )
        print(f"{kind}: read back equal to written: {same(rows, got)}", flush=True)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--store", choices=["influxdb", "sqlite", "both"], default="both")
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logs.configure("warning")
    reg = build_registry(args.meters)
    start = day_start() // DAY_MS * DAY_MS
    end = start + args.days * DAY_MS
    rows = rollup_rows(reg, start, end)
    print(f"{len(rows):,} rollup rows ({args.meters} meters x {args.days} days)", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-rollup-io-") as tmp:
        if args.store in ("sqlite", "both"):
            bench("sqlite", f"sqlite:///{tmp}/io.db", reg, rows, start, end, args.repeat)
        if args.store in ("influxdb", "both"):
            with Influxd(Path(tmp) / "influxd") as server:
                server.create_database("io")
                bench("influxdb", server.store_url("io"), reg, rows, start, end, args.repeat)


if __name__ == "__main__":
    main()
