"""Land-use evaluation and idle rules on a large synthetic zone; prints the timings.

    python bench/landuse.py [--enterprises 10000] [--months 60] [--repeat 5]

A zone of N enterprises with 5 years of facts and M months of electricity: the per-mu
evaluation of the last year (and the year before, for the two-D test), the idle rules at
the last month, and the park/zone KPI rows. Target: under 1 s for 10 000 × 60.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time

import numpy as np

from smartpark.analytics.landuse import analysis
from smartpark.analytics.landuse.cohort import Static
from smartpark.analytics.landuse.dataset import Dataset
from smartpark.analytics.landuse.facts import FIELDS
from smartpark.analytics.landuse.indicators import M2_PER_MU
from smartpark.analytics.landuse.monthly import month_code
from smartpark.core import logs


def synthetic(n: int, n_months: int, seed: int = 1) -> Dataset:
    rng = np.random.default_rng(seed)
    n_years = (n_months + 11) // 12
    last_year = 2025
    years = tuple(range(last_year - n_years + 1, last_year + 1))
    nat = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    start = np.datetime64(dt.date(2012, 1, 1)) + rng.integers(0, 4500, n).astype("timedelta64[D]")
    static = Static(
        ids=tuple(f"e{i:05d}" for i in range(n)),
        park=tuple(f"p{i % 20:02d}" for i in range(n)),
        land_m2=rng.uniform(1, 300, n) * M2_PER_MU,
        above=rng.random(n) < 0.6,
        below=np.zeros(n, bool),
        utility=rng.random(n) < 0.01,
        production_start=start,
        land_grant=start - np.timedelta64(700, "D"),
        construction_due=nat,
        construction_started=nat,
        works_stopped_since=nat,
        built_ratio=np.full(n, np.nan),
        invested_ratio=np.full(n, np.nan),
    )
    static = Static(**{**static.__dict__, "below": ~static.above})
    shape = (n, len(years))
    facts = {name: rng.uniform(0, 5000, shape) for name in FIELDS}
    facts["profit"] -= 2500
    facts["pollutant_t"][rng.random(shape) < 0.1] = np.nan
    kwh = rng.uniform(1e4, 1e7, (n, 1))[:, [0] * n_months] * rng.uniform(0.8, 1.2, (n, n_months))
    stopped = rng.random(n) < 0.05
    kwh[stopped, -rng.integers(1, 24) :] *= 0.1
    return Dataset(
        zone="z",
        static=static,
        years=years,
        facts=facts,
        present=np.ones(shape, bool),
        energy_tce=rng.uniform(10, 50_000, shape),
        electricity_kwh=rng.uniform(1e5, 1e8, shape),
        fresh_water_m3=rng.uniform(1e3, 1e6, shape),
        monthly_kwh=kwh,
        first_month=month_code(last_year, 12) - n_months + 1,
        timezones={"z": "Asia/Shanghai", **{f"p{k:02d}": "Asia/Shanghai" for k in range(20)}},
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enterprises", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    logs.configure("warning")  # one info line per analysis would drown the figures
    data = synthetic(args.enterprises, args.months)
    year = data.years[-1]
    timings: dict[str, list[float]] = {
        "analyse (evaluate ×2 + idle rules)": [],
        "park KPI rows": [],
    }
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = analysis.analyse(data, year)
        t1 = time.perf_counter()
        rows = result.kpi_rows()
        t2 = time.perf_counter()
        timings["analyse (evaluate ×2 + idle rules)"].append(t1 - t0)
        timings["park KPI rows"].append(t2 - t1)
    print(f"{args.enterprises} enterprises × {args.months} months, {len(data.years)} years")
    for name, values in timings.items():
        best, median = min(values), float(np.median(values))
        print(f"  {name:38s} best {best * 1000:8.1f} ms   median {median * 1000:8.1f} ms")
    print(
        f"  graded {int(result.evaluation.graded.sum())}, flags {len(result.detection.flags)}, "
        f"KPI rows {len(rows)}"
    )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  max RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
