"""Store benchmark: line protocol building, influxd and SQLite write and read rates.

    python bench/bench_store.py [--points 1000000] [--meters 1000]

Starts its own influxd (tests' harness, temp directory, loopback) and prints points/s
for: building line protocol (one call and 10,000-point batches, realistic 3-decimal
readings and full-precision random doubles); posting pre-built line protocol to influxd
in batches of 5,000 and 10,000 (plain and gzip, one and two writer threads);
``InfluxStore.write`` end to end (build + post); ``InfluxStore.read`` (chunked InfluxQL
into numpy); ``SqliteStore.write`` and ``read``; and the process's peak RSS. Figures,
not pass/fail.
"""

from __future__ import annotations

import argparse
import gzip
import resource
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from smartpark.core import registry
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import ReadingColumns
from smartpark.store.influx import InfluxStore
from smartpark.store.lineprotocol import LineBuilder
from smartpark.store.sqlite import SqliteStore
from smartpark.testing.servers import Influxd

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
QUANTITIES = ("electricity_import", "natural_gas", "fresh_water", "nox", "output_value")


def build_registry(n_meters: int) -> Registry:
    n_ent = max(1, n_meters // len(QUANTITIES))
    doc: dict[str, Any] = {
        "zone": {"z": {"name": "Zone"}},
        "park": {f"park-{p}": {"zone": "z", "name": f"P{p}"} for p in range(3)},
        "enterprise": {},
        "gateway": {},
        "meter": {},
    }
    for e in range(n_ent):
        ent, park = f"ent-{e:04d}", f"park-{e % 3}"
        doc["enterprise"][ent] = {"park": park, "name": ent}
        doc["gateway"][f"gw-{e:04d}"] = {"park": park}
        for q in QUANTITIES:
            doc["meter"][f"{ent}-{q.replace('_', '-')}"] = {
                "enterprise": ent,
                "gateway": f"gw-{e:04d}",
                "quantity": q,
            }
    return registry.from_dict(doc)


def minute_readings(reg: Registry, n: int, *, random_doubles: bool) -> ReadingColumns:
    """``n`` readings: every meter once a minute, in arrival (time-major) order."""
    n_meters = len(reg.meter_ids)
    meter = np.tile(np.arange(n_meters, dtype=np.int32), n // n_meters + 1)[:n]
    ts = T0 + (np.arange(n, dtype=np.int64) // n_meters) * 60_000
    rng = np.random.default_rng(42)
    if random_doubles:
        value = rng.random(n) * 1e4
    else:  # counters with three decimals, as meters report them
        value = np.round(1e5 + np.arange(n) // n_meters * 1.5 + rng.random(n), 3)
    return ReadingColumns(meter, ts, value)


def batches(readings: ReadingColumns, size: int) -> list[ReadingColumns]:
    return [
        ReadingColumns(
            readings.meter[i : i + size], readings.ts[i : i + size], readings.value[i : i + size]
        )
        for i in range(0, len(readings), size)
    ]


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>12,.0f} points/s  ({seconds:.2f} s for {n:,})"


def write_all(store: InfluxStore | SqliteStore, parts: list[ReadingColumns]) -> None:
    for part in parts:
        store.write(part)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def best_of(runs: int, fn: Callable[[], Any]) -> float:
    return min(timed(fn)[0] for _ in range(runs))


def bench_build(reg: Registry, n: int) -> None:
    builder = LineBuilder(reg)
    for label, random_doubles in (("3-decimal readings", False), ("random doubles", True)):
        readings = minute_readings(reg, n, random_doubles=random_doubles)
        parts = batches(readings, 10_000)
        one_call = best_of(3, lambda: builder.build(readings))  # noqa: B023 (called at once)
        batched = best_of(3, lambda: [builder.build(b) for b in parts])  # noqa: B023
        print(f"  build, {label}, one call:        {rate(n, one_call)}")
        print(f"  build, {label}, 10,000/batch:    {rate(n, batched)}")
    size = len(builder.build(minute_readings(reg, 10_000, random_doubles=False)))
    print(f"  10,000 points = {size:,} bytes of line protocol ({size / 10_000:.0f} B/point)")


def post_all(store: InfluxStore, bodies: list[bytes], writers: int) -> float:
    """Seconds to POST every body with ``writers`` threads."""
    with ThreadPoolExecutor(writers) as pool:
        seconds, _ = timed(lambda: list(pool.map(store.write_lines, bodies)))
    return seconds


def post_runs(
    server: Influxd, reg: Registry, bodies: list[bytes], runs: int
) -> dict[int, list[float]]:
    """Seconds per run to post every body with 1 and with 2 threads, runs interleaved."""
    seconds: dict[int, list[float]] = {1: [], 2: []}
    for run in range(runs):  # interleaved, so a busy moment hits both alike
        for writers in seconds:
            db = f"w{len(bodies)}_{writers}_{run}"
            server.create_database(db)
            with InfluxStore(parse_store_url(server.store_url(db)), reg) as store:
                seconds[writers].append(post_all(store, bodies, writers))
            server.drop_database(db)
    return seconds


def gzip_ab(
    server: Influxd, reg: Registry, bodies: list[bytes], db: str
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(wall s, client CPU s) to post every body plain and gzipped, requests alternating."""
    stores = []
    for gz in (None, 0):
        server.create_database(f"{db}_{gz}")
        url = parse_store_url(server.store_url(f"{db}_{gz}"))
        stores.append(InfluxStore(url, reg, gzip_min_bytes=gz))
    wall, cpu = [0.0, 0.0], [0.0, 0.0]
    for i, body in enumerate(bodies):
        for k in (0, 1) if i % 2 == 0 else (1, 0):
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            stores[k].write_lines(body)
            wall[k] += time.perf_counter() - wall_start
            cpu[k] += time.process_time() - cpu_start
    for store in stores:
        store.close()
    return (wall[0], cpu[0]), (wall[1], cpu[1])


def bench_influx(reg: Registry, n: int, workdir: Path, read_concurrency: int, runs: int) -> None:
    builder = LineBuilder(reg)
    readings = minute_readings(reg, n, random_doubles=False)
    with Influxd(workdir / "influxd") as server:
        print(f"  influxd on {server.url}; thread figures: best (worst) of {runs} runs")
        for batch in (5_000, 10_000):
            bodies = [builder.build(b) for b in batches(readings, batch)]
            for writers, times in post_runs(server, reg, bodies, runs).items():
                how = f"{batch:,}/batch, {writers} thread(s)"
                print(
                    f"  influxd write, pre-built, {how:22} {n / min(times):>10,.0f} "
                    f"({n / max(times):,.0f}) points/s"
                )
            plain, zipped = gzip_ab(server, reg, bodies, f"ab{batch}")
            ratio = len(bodies[0]) / len(gzip.compress(bodies[0], compresslevel=1))
            print(
                f"  same, plain vs gzip level 1 (alternating requests, 1 thread): "
                f"{n / plain[0]:,.0f} vs {n / zipped[0]:,.0f} points/s; client CPU "
                f"{plain[1]:.2f} vs {zipped[1]:.2f} s; body {ratio:.1f}x smaller"
            )
        server.create_database("e2e")
        url = parse_store_url(server.store_url("e2e"))
        with InfluxStore(url, reg, read_concurrency=read_concurrency) as store:
            parts = batches(readings, 10_000)
            elapsed, _ = timed(lambda: write_all(store, parts))
            print(f"  InfluxStore.write (build + post), 10,000/batch, 1 thread {rate(n, elapsed)}")
            end = int(readings.ts.max()) + 1
            for concurrency in sorted({1, read_concurrency}):
                store.read_concurrency = concurrency
                elapsed, got = timed(lambda: store.read(T0, end))
                assert len(got) == n, (len(got), n)
                how = f"{concurrency} measurement quer{'y' if concurrency == 1 else 'ies'} at once"
                print(f"  InfluxStore.read (chunked InfluxQL), {how:26} {rate(n, elapsed)}")


def bench_sqlite(reg: Registry, n: int, workdir: Path) -> None:
    readings = minute_readings(reg, n, random_doubles=False)
    with SqliteStore(workdir / "bench.db", reg) as store:
        parts = batches(readings, 10_000)
        seconds, _ = timed(lambda: write_all(store, parts))
        print(f"  SqliteStore.write, 10k batches (FULL sync) {rate(n, seconds)}")
        end = int(readings.ts.max()) + 1
        seconds, got = timed(lambda: store.read(T0, end))
        assert len(got) == n
        print(f"  SqliteStore.read, all meters               {rate(n, seconds)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--skip-influx", action="store_true")
    parser.add_argument("--read-concurrency", type=int, default=2)
    parser.add_argument("--runs", type=int, default=2, help="runs of each influxd write")
    args = parser.parse_args()
    reg = build_registry(args.meters)
    print(f"registry: {len(reg.meter_ids)} meters; {args.points:,} one-minute readings")
    print("line protocol:")
    bench_build(reg, args.points)
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        if not args.skip_influx:
            print("influxd:")
            bench_influx(reg, args.points, Path(tmp), args.read_concurrency, args.runs)
        print("sqlite:")
        bench_sqlite(reg, args.points, Path(tmp))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
