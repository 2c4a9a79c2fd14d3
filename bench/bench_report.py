"""Benchmark: the monthly report (HTML and PDF) of the example zone, from its kpi rows.

    .venv/bin/python bench/bench_report.py [--month 2026-11]

Writes a month's KPI rows (month and day, every zone, park and enterprise of the example
registry, every KPI of the catalogue) to a fresh SQLite store, then times
``analytics.report.job.run`` (registry load, reads, land use, layout, and for PDF the
Chromium print) for the zone. The target is under 10 s (docs/report.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from smartpark.analytics.kpis.catalogue import KPIS
from smartpark.analytics.report import job, monthly
from smartpark.core import registry as registry_mod
from smartpark.core.urls import parse_store_url
from smartpark.store.base import KpiRow
from smartpark.store.open import open_store

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "registry.toml"
TARGET_S = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--month", default="2026-11")
    args = parser.parse_args()
    reg = registry_mod.load(EXAMPLE)
    zone = reg.zone_ids[0]
    start, end = monthly.month_bounds(args.month, reg.zones[zone].timezone)
    days = range(start, end, 86_400_000)
    rng = np.random.default_rng(1)
    ids = [
        *(("zone", z) for z in reg.zones),
        *(("park", p) for p in reg.parks),
        *(("enterprise", e) for e in reg.enterprises),
    ]
    rows = [
        KpiRow(scope, ident, period, kpi, at, float(rng.uniform(1, 100)))
        for scope, ident in ids
        for period, starts in (("month", [start]), ("day", days))
        for at in starts
        for kpi in KPIS
    ]
    with tempfile.TemporaryDirectory() as tmp:
        url = parse_store_url(f"sqlite:///{Path(tmp) / 'store.db'}")
        store = open_store(url, reg)
        try:
            store.write_kpis(rows)
        finally:
            store.close()
        print(f"{len(rows):,} kpi rows of {args.month} for {len(ids)} scopes")
        worst = 0.0
        for fmt in ("html", "pdf"):
            t0 = time.perf_counter()
            done = job.run(EXAMPLE, url, monthly.Request(args.month), fmt, Path(tmp) / f"r.{fmt}")
            elapsed = time.perf_counter() - t0
            worst = max(worst, elapsed)
            size = done.path.stat().st_size
            print(f"report {fmt:4s} zone {zone}: {elapsed:6.2f} s ({size:,} bytes)")
    verdict = "ok" if worst < TARGET_S else "SLOW"
    print(f"slowest {worst:.2f} s, target < {TARGET_S:g} s: {verdict}")
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
