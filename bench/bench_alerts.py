"""Alert evaluation benchmark: all rule kinds over 10,000 meters.

    /tmp/venv/bin/python bench/bench_alerts.py [--meters 10000] [--sqlite]

A synthetic registry (parks x enterprises, one gateway per enterprise, each enterprise
with a CEMS stack — NOx, SO2, particulate, O2, flow — and power, electricity and water
meters, 60 s intervals) and one hour and a half of readings (~ meters x 90 rows). A few
stacks exceed, a few meters and one gateway fall silent. Timed, per rule kind:

* the hourly evaluation: every rule over one closed hour, as ``--follow`` does at the
  top of each hour (condition computation + state machine + the SQLite commit of the
  alert state and outbox);
* the per-minute evaluation of the gap rules (stale meter, gateway offline).

Readings come from an in-memory store (sorted arrays, the shape ``Store.read`` returns)
so the figures are the evaluation itself; ``--sqlite`` reads from the real SQLite
store instead and reports the read time with it. Prints figures; decides nothing.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smartpark.analytics.alerts import rules as rules_mod  # noqa: E402
from smartpark.analytics.alerts.conditions import RegistryArrays  # noqa: E402
from smartpark.analytics.alerts.evaluate import Evaluator  # noqa: E402
from smartpark.analytics.alerts.state import AlertState  # noqa: E402
from smartpark.core.registry import Registry, from_dict  # noqa: E402
from smartpark.store.base import KpiRow, ReadingColumns  # noqa: E402

HOUR = 3_600_000
MIN = 60_000
T0 = 1_795_104_000_000  # 2026-11-20T00:00+08:00
PER_ENTERPRISE = (
    ("nox", {"stack": "s", "o2_ref": 3.5}),
    ("so2", {"stack": "s", "o2_ref": 3.5}),
    ("particulate", {"stack": "s", "o2_ref": 3.5}),
    ("o2", {"stack": "s"}),
    ("flue_gas_flow", {"stack": "s"}),
    ("active_power", {}),
    ("electricity_import", {}),
    ("water_flow", {}),
    ("fresh_water", {}),
    ("natural_gas", {}),
)


class MemoryStore:
    """Readings in sorted arrays; ``read`` slices them like a store would return them."""

    def __init__(self, cols: ReadingColumns) -> None:
        self.cols = cols

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> ReadingColumns:
        c = self.cols
        keep = (c.ts >= start_ms) & (c.ts < end_ms)
        if meters is not None:
            keep &= np.isin(c.meter, meters)
        return c.take(keep)

    def read_kpis(self, *args: Any, **kwargs: Any) -> list[KpiRow]:
        return []

    def write(self, readings: ReadingColumns) -> None:
        raise NotImplementedError

    def write_kpis(self, rows: list[KpiRow]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


def build_registry(n_meters: int) -> Registry:
    n_ent = max(1, n_meters // len(PER_ENTERPRISE))
    n_parks = max(1, n_ent // 20)
    meters: dict[str, dict[str, Any]] = {}
    for e in range(n_ent):
        for q, extra in PER_ENTERPRISE:
            meters[f"e{e:05d}-{q}"] = {
                "enterprise": f"e{e:05d}",
                "gateway": f"g{e:05d}",
                "quantity": q,
                **extra,
            }
    return from_dict(
        {
            "zone": {"z": {"name": "Z"}},
            "park": {f"p{p:03d}": {"zone": "z", "name": f"P{p}"} for p in range(n_parks)},
            "enterprise": {
                f"e{e:05d}": {"park": f"p{e % n_parks:03d}", "name": f"E{e}"} for e in range(n_ent)
            },
            "gateway": {f"g{e:05d}": {"park": f"p{e % n_parks:03d}"} for e in range(n_ent)},
            "meter": meters,
        }
    )


def build_readings(reg: Registry, start: int, end: int, rng: np.random.Generator) -> ReadingColumns:
    ts = np.arange(start, end, MIN, dtype=np.int64)
    n, k = len(reg.meter_ids), ts.size
    meter = np.repeat(np.arange(n, dtype=np.int32), k)
    t = np.tile(ts, n)
    quantity = np.array([reg.meters[m].quantity for m in reg.meter_ids])
    base = np.select(
        [quantity == "nox", quantity == "so2", quantity == "particulate", quantity == "o2"],
        [80.0, 20.0, 5.0, 6.0],
        100.0,
    )
    value = np.repeat(base, k) * rng.uniform(0.9, 1.1, n * k)
    counter = np.isin(quantity, ["electricity_import", "fresh_water", "natural_gas"])
    value = np.where(np.repeat(counter, k), np.arange(n * k) % k * 10.0, value)
    # Every 50th NOx meter exceeds in the first two hours; every 97th meter and one gateway
    # fall silent for the last 40 minutes.
    nox = np.flatnonzero(quantity == "nox")[::50]
    exceed = np.isin(meter, nox) & (t < start + 2 * HOUR)
    value = np.where(exceed, 250.0, value)
    silent = np.arange(n)[::97]
    gateway_1 = np.flatnonzero([reg.meters[m].gateway == "g00001" for m in reg.meter_ids])
    silent = np.union1d(silent, gateway_1)
    keep = ~(np.isin(meter, silent) & (t >= end - 40 * MIN))
    return ReadingColumns(meter[keep], t[keep], value[keep])


RULES = {
    "nox": {"kind": "pollutant_limit", "quantity": "nox", "channels": ["hook"]},
    "all-pollutants": {"kind": "pollutant_limit", "channels": ["hook"]},
    "stale": {"kind": "stale_meter", "intervals": 5, "channels": ["hook"]},
    "offline": {"kind": "gateway_offline", "minutes": 10, "channels": ["hook"]},
    "complete": {"kind": "completeness", "below": 0.8, "channels": ["hook"]},
    "complete-ent": {
        "kind": "completeness",
        "below": 0.8,
        "scope": "enterprise",
        "channels": ["hook"],
    },
    "power-jump": {
        "kind": "rate_of_change",
        "quantity": "active_power",
        "above": 1e6,
        "channels": ["hook"],
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=10_000)
    parser.add_argument("--sqlite", action="store_true", help="read from the SQLite store")
    args = parser.parse_args()
    rng = np.random.default_rng(7)

    t = time.perf_counter()
    reg = build_registry(args.meters)
    arrays = RegistryArrays(reg)
    hour_start, hour_end = T0 + HOUR, T0 + 2 * HOUR
    cols = build_readings(reg, T0, hour_end + 30 * MIN, rng)
    print(
        f"setup: {len(reg.meters)} meters, {len(reg.gateways)} gateways, {len(reg.parks)} parks, "
        f"{len(cols):,} readings ({time.perf_counter() - t:.1f} s)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        store: Any
        if args.sqlite:
            from smartpark.store.sqlite import SqliteStore

            store = SqliteStore(Path(tmp) / "store.db", reg)
            t = time.perf_counter()
            store.write(cols)
            print(f"sqlite store written in {time.perf_counter() - t:.1f} s")
        else:
            store = MemoryStore(cols)
        (Path(tmp) / "s").write_text("secret")
        ruleset = rules_mod.from_dict(
            {
                "channel": {
                    "hook": {"kind": "webhook", "url": "http://127.0.0.1:9/", "secret_file": "s"}
                },
                "rule": RULES,
            },
            reg,
            base=Path(tmp),
        )
        with AlertState(Path(tmp) / "alerts.db") as state:
            evaluator = Evaluator(arrays, ruleset, store, state)
            print(f"\nhourly evaluation of one closed hour, {len(reg.meters)} meters:")
            total = 0.0
            for rule_id in ruleset.rules:
                state.set_cursor(rule_id, hour_end)
            for rule in ruleset.rules.values():
                state.set_cursor(rule.id, hour_start)
                t = time.perf_counter()
                report = evaluator.run_once(hour_end)
                dt = time.perf_counter() - t
                total += dt
                print(
                    f"  {rule.id:<16} {rule.kind:<16} {dt * 1000:8.1f} ms  "
                    f"firing={report.firing} resolved={report.resolved} "
                    f"messages={report.messages}"
                )
            print(f"  {'sum of the above':<33} {total * 1000:8.1f} ms")
            # As --follow does at the top of an hour: every rule in one run, which
            # shares range reads between rules. Fresh state so the same alerts fire.
            with AlertState(Path(tmp) / "alerts-one-run.db") as fresh:
                for rule_id in ruleset.rules:
                    fresh.set_cursor(rule_id, hour_start)
                one_run = Evaluator(arrays, ruleset, store, fresh)
                t = time.perf_counter()
                report = one_run.run_once(hour_end)
                dt = time.perf_counter() - t
            print(
                f"  {'all rules in one run':<33} {dt * 1000:8.1f} ms  firing={report.firing} "
                f"messages={report.messages}"
            )

            print("\nper-minute evaluation of the gap rules (steady state, 30 runs):")
            gap_kinds = ("stale_meter", "gateway_offline")
            gap_rules = [r for r in ruleset.rules.values() if r.kind in gap_kinds]
            for rule in gap_rules:
                times = []
                for k in range(30):
                    now = hour_end + (k + 1) * MIN
                    for other in ruleset.rules:
                        state.set_cursor(other, now if other != rule.id else now - MIN)
                    t = time.perf_counter()
                    evaluator.run_once(now)
                    times.append(time.perf_counter() - t)
                ms = np.array(times) * 1000
                print(
                    f"  {rule.id:<16} {rule.kind:<16} median {np.median(ms):7.1f} ms  "
                    f"p95 {np.percentile(ms, 95):7.1f} ms"
                )
        store.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
