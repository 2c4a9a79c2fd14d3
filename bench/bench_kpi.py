"""Benchmark: all KPIs for all scopes and periods from 1,000 one-minute meters.

    /tmp/venv/bin/python bench/bench_kpi.py                 # day + month + pandas reference
    /tmp/venv/bin/python bench/bench_kpi.py --no-month      # quicker
    /tmp/venv/bin/python bench/bench_kpi.py --influxd       # + full path through a local influxd

Prints, per case: readings, compute time after one warm-up run (best and median of
--repeat runs; the month and pandas cases fewer), process CPU time, readings/s,
peak memory of the computation (tracemalloc, numpy's buffers included) and the process's
peak RSS. The pandas reference (bench/pandas_reference.py; pandas is a bench-only tool)
runs on the same day, and its KPIs are compared with the engine's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import resource
import statistics
import sys
import tempfile
import time
import tomllib
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np

from smartpark.analytics import compute_kpis, periods
from smartpark.core import registry
from smartpark.core.registry import Registry
from smartpark.store.base import ReadingColumns

DAY_MS = 86_400_000
# Every park buys on the example's Gansu tariffs, so the cost KPIs are priced.
TARIFFS = Path(__file__).resolve().parents[1] / "examples" / "tariffs-gansu.toml"

# The synthetic park ---------------------------------------------------------------

TZ = "Asia/Shanghai"
# One enterprise's ten meters; a thousand meters is a hundred enterprises.
ENTERPRISE_METERS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("main", "electricity_import", {}),
    ("line1", "electricity_import", {"role": "sub"}),
    ("power", "active_power", {}),
    ("gas", "natural_gas", {}),
    ("water", "fresh_water", {}),
    ("pv", "pv_generation", {}),
    ("nox", "nox", {"stack": "boiler", "o2_ref": 3.5}),
    ("so2", "so2", {"stack": "boiler", "o2_ref": 3.5}),
    ("o2", "o2", {"stack": "boiler"}),
    ("flow", "flue_gas_flow", {"stack": "boiler"}),
)


def build_registry(n_meters: int = 1000, n_parks: int = 3) -> Registry:
    n_ent = max(1, n_meters // len(ENTERPRISE_METERS))
    doc: dict[str, Any] = {
        "zone": {"z1": {"name": "Zone", "timezone": TZ}},
        "park": {
            f"p{p}": {"zone": "z1", "name": f"Park {p}"}
            | ({"factors": {"grid_tco2_per_mwh": 0.5543}} if p == 0 else {})
            for p in range(n_parks)
        },
        "enterprise": {},
        "gateway": {},
        "meter": {},
    }
    for e in range(n_ent):
        park = f"p{e % n_parks}"
        doc["enterprise"][f"e{e:04d}"] = {"park": park, "name": f"E{e}"}
        doc["gateway"][f"g{e:04d}"] = {"park": park}
        for suffix, quantity, extra in ENTERPRISE_METERS:
            table = {"enterprise": f"e{e:04d}", "gateway": f"g{e:04d}", "quantity": quantity}
            if suffix == "line1":
                table["parent"] = f"e{e:04d}-main"
            doc["meter"][f"e{e:04d}-{suffix}"] = table | extra
    gansu = tomllib.loads(TARIFFS.read_text(encoding="utf-8"))
    buys = gansu["park"]["petrochem"]
    reg = registry.from_dict(doc)
    return registry.attach_tariffs(
        reg, {"tariff": gansu["tariff"], "park": dict.fromkeys(reg.park_ids, buys)}
    )


def day_start(day: dt.date = dt.date(2026, 11, 1)) -> int:
    return periods.local_midnight_ms(day, TZ)


def readings(reg: Registry, start_ms: int, end_ms: int, seed: int = 7) -> ReadingColumns:
    """One reading a minute for every meter in ``[start_ms, end_ms)``, plus the two edges."""
    rng = np.random.default_rng(seed)
    step = 60_000
    ts_one = np.arange(start_ms - step, end_ms + step, step, dtype=np.int64)
    n_t = ts_one.size
    n_m = len(reg.meter_ids)
    meter = np.repeat(np.arange(n_m, dtype=np.int32), n_t)
    ts = np.tile(ts_one, n_m)
    value = np.empty((n_m, n_t))
    for code, mid in enumerate(reg.meter_ids):
        q = reg.meters[mid].quantity
        if q in ("active_power",):
            value[code] = rng.uniform(200, 800, n_t)
        elif q == "o2":
            value[code] = rng.uniform(4.0, 8.0, n_t)
        elif q == "flue_gas_flow":
            value[code] = rng.uniform(8_000, 12_000, n_t)
        elif q in ("nox", "so2"):
            value[code] = rng.uniform(10, 60, n_t)
        else:
            value[code] = 1e4 + np.cumsum(rng.uniform(0, 5, n_t))
    return ReadingColumns(meter, ts, value.ravel())


# The benchmark ---------------------------------------------------------------------


CPU: dict[int, float] = {}  # id(times list) -> best CPU seconds


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Wall times of ``repeat`` runs (CPU time of the best kept in ``CPU``: the host is shared)."""
    times, cpu, result = [], [], None
    fn()  # warm-up: first-call costs (imports, caches, page faults) are not the steady state
    for _ in range(repeat):
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    CPU[id(times)] = min(cpu)
    return times, result


def peak_bytes(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def report(name: str, n: int, times: list[float], peak: int | None) -> None:
    best, median = min(times), statistics.median(times)
    mem = f"peak {peak / 2**30:.2f} GiB" if peak is not None else ""
    print(
        f"{name:<28} {n:>12,} readings  best {best:7.3f} s  median {median:7.3f} s  "
        f"cpu {CPU.get(id(times), float('nan')):7.3f} s  "
        f"{n / best / 1e6:6.1f} M readings/s  {mem}  (process RSS max {rss_gib():.2f} GiB)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30, help="length of the 'month' case")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-month", action="store_true")
    parser.add_argument("--no-pandas", action="store_true")
    parser.add_argument(
        "--influxd", action="store_true", help="also time read+compute+write via influxd"
    )
    args = parser.parse_args()

    reg = build_registry(args.meters)
    start = day_start()
    print(
        f"{len(reg.meters)} meters ({len(reg.enterprises)} enterprises, {len(reg.parks)} parks, "
        "1 zone), one reading a minute; all KPIs, scopes enterprise/park/zone, "
        "periods hour/day/month"
    )

    day_case(reg, start, args)
    if not args.no_month:
        month_case(reg, start, args)


def day_case(reg: Any, start: int, args: argparse.Namespace) -> None:
    day = readings(reg, start, start + DAY_MS)

    def day_run() -> Any:
        return compute_kpis(reg, day, start, start + DAY_MS)

    times, _ = timed(day_run, args.repeat)
    report("engine, one day", len(day), times, peak_bytes(day_run))
    general_times, _ = timed(
        lambda: compute_kpis(reg, day, start, start + DAY_MS, use_dense=False), args.repeat
    )
    report("engine, day, general path", len(day), general_times, None)

    if not args.no_pandas:
        import pandas_reference

        pandas_times, frame = timed(
            lambda: pandas_reference.kpis(reg, day, start, start + DAY_MS), 3
        )
        report("pandas reference, one day", len(day), pandas_times, None)
        print(f"  speed-up engine vs pandas (best vs best): {min(pandas_times) / min(times):.1f}x")
        hour_day = compute_kpis(reg, day, start, start + DAY_MS, ["hour", "day"])
        worst = pandas_reference.compare(
            frame,
            hour_day,
            ("electricity_kwh", "energy_tce", "co2_total_t", "peak_demand_kw", "nox_kg"),
        )
        print(
            "  largest relative difference to pandas: "
            + ", ".join(f"{k} {v:.1e}" for k, v in worst.items())
        )

    if args.influxd:
        influx_day(reg, day, start)


def month_case(reg: Any, start: int, args: argparse.Namespace) -> None:
    end = start + args.days * DAY_MS
    month = readings(reg, start, end)

    def month_run() -> Any:
        return compute_kpis(reg, month, start, end)

    times, _ = timed(month_run, 2)
    report(f"engine, {args.days} days", len(month), times, peak_bytes(month_run))


def influx_day(reg: Any, day: Any, start: int) -> None:
    from smartpark.analytics import read_range, write_back
    from smartpark.core.urls import parse_store_url
    from smartpark.store import open_store
    from smartpark.testing.servers import Influxd

    with tempfile.TemporaryDirectory() as tmp, Influxd(Path(tmp)) as server:
        server.create_database("bench")
        store = open_store(parse_store_url(server.store_url("bench")), reg)
        try:
            t0 = time.perf_counter()
            for k in range(0, len(day), 100_000):  # the server caps a request's size
                store.write(day.take(np.arange(k, min(k + 100_000, len(day)))))
            print(
                f"influxd: wrote {len(day):,} readings in {time.perf_counter() - t0:.1f} s (setup)"
            )
            t0 = time.perf_counter()
            cols = read_range(store, reg, start, start + DAY_MS)
            t1 = time.perf_counter()
            table = compute_kpis(reg, cols, start, start + DAY_MS)
            t2 = time.perf_counter()
            points = write_back(store, table)
            t3 = time.perf_counter()
        finally:
            store.close()
    print(
        f"influxd full path, one day: read {t1 - t0:.2f} s ({len(cols):,} readings with edges), "
        f"compute {t2 - t1:.3f} s, write-back {t3 - t2:.2f} s ({points:,} KPI points), "
        f"total {t3 - t0:.2f} s"
    )


if __name__ == "__main__":
    main()
