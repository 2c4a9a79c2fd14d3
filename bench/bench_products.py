"""Benchmark: unit-product energy (issue 24) on top of a year of KPIs from the day level.

    .venv/bin/python bench/bench_products.py              # SQLite, about 2 minutes
    .venv/bin/python bench/bench_products.py --products 1000

The park is bench/bench_kpi.py's (1,000 meters: 100 enterprises x 10 meters, Asia/Shanghai);
one day of one-minute readings is loaded into a SQLite file, rolled up and built into
day rows, and its day rows are copied into every cell of 2025 (bench/bench_days.py's
``DayTemplate``). Then, with ``--products`` products (each enterprise makes
products / 100 of them, alternately cement clinker at 2,100 m and aluminium liquid, on
the enterprise's boundary energy meters, output entered for every month of 2025):

* ``kpi_job(..., ["month"])`` over 2025 for the registry without products and with them:
  the difference is what grading the products costs;
* ``kpi_job(..., ["day", "month"])`` likewise (day values of entered output are missing:
  the cost of the day blocks is still paid).

Wall clock on a shared machine, best of ``--repeat``; figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from bench_days import DayTemplate, local, write_cells
from bench_rollup import rollup_range, workload

from smartpark.analytics.days.build import build as build_days
from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.windows.rollups.build import build as build_rollups
from smartpark.core import logs
from smartpark.core.registry import ENERGY_COUNTERS, Product, Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.open import open_store
from smartpark.store.outputs import OutputRow

YEAR = 2025


def with_products(reg: Registry, n: int) -> Registry:
    """``reg`` with ``n`` products spread over its enterprises."""
    products = {}
    ents = reg.enterprise_ids
    for k in range(n):
        ent = ents[k % len(ents)]
        meters = tuple(
            m.id
            for m in reg.meters.values()
            if m.enterprise == ent and m.role == "boundary" and m.quantity in ENERGY_COUNTERS
        )
        clinker = k % 2 == 0
        products[f"p{k:04d}"] = Product(
            id=f"p{k:04d}",
            enterprise=ent,
            name=f"P{k}",
            unit="t",
            standard="GB 16780-2021" if clinker else "GB 21346-2022",
            category="clinker" if clinker else "aluminium_liquid",
            meters=meters,
            inputs={"altitude_m": 2100.0} if clinker else {},
        )
    return dataclasses.replace(reg, products=products)


def month_rows(products: tuple[str, ...]) -> list[OutputRow]:
    edges = [local(dt.date(YEAR + m // 12, m % 12 + 1, 1)) for m in range(13)]
    return [
        OutputRow(p, "month", a, b, 1_000.0 + k)
        for k, p in enumerate(products)
        for a, b in pairwise(edges)
    ]


def best(fn: object, repeat: int) -> float:
    walls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        walls.append(time.perf_counter() - t0)
    return min(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logs.configure("warning")
    w = workload(1000, 1)
    reg = w.reg
    graded = with_products(reg, args.products)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(parse_store_url(f"sqlite:///{tmp}/bench.db"), graded)
        try:
            store.write(w.cols)
            build_rollups(store, reg, *rollup_range(reg, w.start, w.end))
            build_days(store, reg, w.start, w.start + 86_400_000)
            template = DayTemplate.read(store, reg, w.start)
            start, end = local(dt.date(YEAR, 1, 1)), local(dt.date(YEAR + 1, 1, 1))
            edges = np.array(
                [local(dt.date(YEAR, 1, 1) + dt.timedelta(days=d)) for d in range(366)], np.int64
            )
            rows, secs = write_cells(store, reg, template, edges)
            store.outputs.replace(month_rows(graded.product_ids))
            print(
                f"{len(reg.meters)} meters, {len(reg.enterprises)} enterprises, "
                f"{len(graded.products)} products; {rows:,} day rows of {YEAR} written in "
                f"{secs:.1f} s; {os.cpu_count()} cores, load "
                + " ".join(f"{x:.1f}" for x in os.getloadavg()),
                flush=True,
            )
            check = kpi_job(store, graded, start, end, ["month"], write=False)
            assert check.source.as_json()["levels"] == ["days"]
            blocks = [b for b in check.table.blocks if b.scope == "product"]
            graded_values = sum(int(np.isfinite(b.values["benchmark_level"]).sum()) for b in blocks)
            print(f"product month values graded: {graded_values:,}", flush=True)
            for kinds in (["month"], ["day", "month"]):
                plain = best(
                    lambda k=kinds: kpi_job(store, reg, start, end, k, write=False), args.repeat
                )
                with_p = best(
                    lambda k=kinds: kpi_job(store, graded, start, end, k, write=False),
                    args.repeat,
                )
                print(
                    f"kpi_job {'+'.join(kinds)} of {YEAR}: {plain:.2f} s without products, "
                    f"{with_p:.2f} s with {len(graded.products)}: +{with_p - plain:.2f} s",
                    flush=True,
                )
        finally:
            store.close()


if __name__ == "__main__":
    main()
