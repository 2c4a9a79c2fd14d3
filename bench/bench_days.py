"""Benchmark: the stored day level (issue 23) for 1,000 one-minute meters, influxd and SQLite.

    .venv/bin/python bench/bench_days.py --store both          # about 20 minutes
    .venv/bin/python bench/bench_days.py --store sqlite --quick
    .venv/bin/python bench/bench_days.py --profile year        # + cProfile of one target

The park is bench/bench_kpi.py's (100 enterprises x 10 meters, Asia/Shanghai, Gansu
tariffs), one reading a minute from 2026-11-01 local time; the helpers are
bench/bench_rollup.py's (imported, as it imports bench_kpi). For each store (a real
influxd started here, or a SQLite file), after loading ``--days`` days of readings:

(6) build: ``rollups.build`` then ``days.build.build`` over the loaded days, rows/s;
(5) follow: one more hour of readings, then one ``jobs.follow_cycle`` (``keep_current``
    + ``kpi_job`` of the latest closed days, written back);
(1) month: the built days' first day rows are replicated (shifted cell by cell with
    ``store.days.write`` and the current day fingerprint) over the rest of 2026-11, then
    ``kpi_job(..., ["month"], write=False)`` over the month, all scopes;
(4) report: the zone's monthly HTML report of 2026-11 (``report.monthly.build`` +
    ``monthly.html``; no land-use facts or alert file in the bench registry, so those
    sections say they are missing); its stack table reads the month's day rows too;
(2) year: day rows replicated over 2023-2025 (1,096 cells) in a second database;
    ``kpi_job`` month over 2025 in a fresh process (wall, peak RSS);
(3) landuse: ``landuse.telemetry.compute_monthly`` over 2023-2025 (36 months);
(7) scale: ``--scale-meters`` (10,000) meters, the 1,000-meter day rows tiled ten times
    (meter code + 1,000 k, enterprise e -> e + 100 k; park and zone rows copied, so
    their values are not the sums: timing only) over 2025 in a third database; month
    and year KPIs in fresh processes.

Every figure prints as it finishes and a table ends the run. Times are wall clock on a
shared machine; figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import os
import pstats
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import numpy.typing as npt
from bench_kpi import DAY_MS, TZ, build_registry
from bench_rollup import (
    HOUR_MS,
    Workload,
    in_child,
    mib,
    peak_rss,
    rollup_range,
    rss,
    stores,
    workload,
)

from smartpark.analytics import periods
from smartpark.analytics.days import rows as day_rows
from smartpark.analytics.days.build import build as build_days
from smartpark.analytics.days.build import whole_cells
from smartpark.analytics.days.fingerprint import fingerprint as day_fingerprint
from smartpark.analytics.jobs import Selection, follow_cycle, kpi_job
from smartpark.analytics.landuse import telemetry
from smartpark.analytics.landuse.monthly import month_code
from smartpark.analytics.layout import Layout
from smartpark.analytics.report import monthly
from smartpark.analytics.schedule import RECENT, latest_closed
from smartpark.analytics.windows.rollups.build import build as build_rollups
from smartpark.core import logs
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import Store
from smartpark.store.days import DayColumns
from smartpark.store.open import open_store
from smartpark.store.rollups import NO_TS

YEARS = (2023, 2024, 2025)
MONTH = "2026-11"  # the month of the readings
SCALE_MONTH = dt.date(2025, 11, 1)
CHUNK_CELLS = 31  # cells per store.days.write when replicating
T = TypeVar("T")

# Figures -----------------------------------------------------------------------------

Row = tuple[str, str, str, str]  # figure, target, measured, store


class Figures:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, figure: str, target: str, measured: str, store: str) -> None:
        self.rows.append((figure, target, measured, store))

    def print(self, t_start: float) -> None:
        head = ("figure", "target", "measured", "store")
        widths = [max(len(r[i]) for r in [head, *self.rows]) for i in range(4)]
        print()
        print("command: " + shlex.join([Path(sys.executable).name, *sys.argv]))
        print(
            f"machine: {os.cpu_count()} cores shared with other work (load average now "
            + " ".join(f"{x:.1f}" for x in os.getloadavg())
            + f"); whole run {(time.perf_counter() - t_start) / 60:.1f} min"
        )
        for r in [head, *self.rows]:
            print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def timed(fn: Callable[[], T]) -> tuple[float, float, T]:
    """Wall and CPU seconds of ``fn()``, and its result."""
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def best_of(fn: Callable[[], T], repeat: int) -> tuple[list[float], float, T]:
    """Walls of ``repeat`` runs, the CPU of the best, the last result."""
    walls: list[float] = []
    cpu_best, best = 0.0, float("inf")
    out: T | None = None
    for _ in range(max(1, repeat)):
        wall, cpu, out = timed(fn)
        walls.append(wall)
        if wall < best:
            best, cpu_best = wall, cpu
    assert out is not None
    return walls, cpu_best, out


def walls_text(walls: list[float], cpu: float) -> str:
    many = f", median {statistics.median(walls):.2f} s of {len(walls)}" if len(walls) > 1 else ""
    return f"best {min(walls):.2f} s{many} (cpu {cpu:.2f} s)"


def profile(name: str, wanted: str | None, kind: str, fn: Callable[[], object]) -> None:
    """One more run of ``fn`` under cProfile when ``--profile`` names it: top 10 cumulative."""
    if wanted != name:
        return
    prof = cProfile.Profile()
    prof.runcall(fn)
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(10)
    print(f"--- cProfile of {name} ({kind}), top 10 cumulative ---")
    print(out.getvalue().strip().split("\n\n", 1)[-1], flush=True)


def levels(source_json: dict[str, Any]) -> str:
    return "+".join(source_json["levels"])


# Day rows written straight into the store ------------------------------------------


def replicated(cols: DayColumns, template_cell: int, cells: npt.NDArray[np.int64]) -> DayColumns:
    """``cols`` (rows of the cell ``template_cell``) copied to each of ``cells``."""
    n, k = len(cols), cells.size
    offset = np.repeat(cells - template_cell, n)
    values = {name: np.tile(v, k) for name, v in cols.values.items()}
    if "last_ts" in values:
        last = values["last_ts"]
        values["last_ts"] = np.where(last == NO_TS, NO_TS, last + offset)
    return DayColumns(np.tile(cols.key, k), np.repeat(cells, n), values)


@dataclass(frozen=True)
class DayTemplate:
    """One built cell's day rows, to be copied to other cells."""

    cell: int
    meters: DayColumns
    scopes: DayColumns
    keys: tuple[str, ...]

    @classmethod
    def read(cls, store: Store, reg: Registry, cell: int) -> DayTemplate:
        keys = day_rows.scope_keys(Layout.of(reg))
        end = cell + DAY_MS
        return cls(cell, store.days.read(cell, end), store.days.read_scopes(cell, end, keys), keys)

    def tiled(self, small: Registry, big: Registry) -> DayTemplate:
        """The rows for ``big``, a park of ``k`` times ``small``'s enterprises: meter code
        ``c`` -> ``c + k * n_meters``, enterprise ``e`` -> ``e + k * n_enterprises``; park and
        zone rows copied once (not the sums of the bigger park: timing only)."""
        n_m, n_e = len(small.meter_ids), len(small.enterprise_ids)
        k = len(big.meter_ids) // n_m
        for j in range(k):
            for i, mid in enumerate(small.meter_ids):
                ent, suffix = mid.split("-", 1)
                if big.meter_ids[j * n_m + i] != f"e{int(ent[1:]) + j * n_e:04d}-{suffix}":
                    raise SystemExit(f"--scale-meters: meter codes do not tile ({mid}, k {j})")
        keys = day_rows.scope_keys(Layout.of(big))
        index = {key: i for i, key in enumerate(keys)}
        meters, scopes = [], []
        for j in range(k):
            meters.append(
                DayColumns(self.meters.key + j * n_m, self.meters.cell_ms, self.meters.values)
            )
            names = [renamed(key, j * n_e) for key in self.keys]
            to_big = np.array([index.get(n, -1) if n else -1 for n in names], np.int64)
            new_key = to_big[self.scopes.key]
            part = self.scopes.take(new_key >= 0)
            scopes.append(
                DayColumns(new_key[new_key >= 0].astype(np.int32), part.cell_ms, part.values)
            )
        return DayTemplate(self.cell, joined(meters), joined(scopes), keys)


def renamed(key: str, shift: int) -> str | None:
    """``enterprise/e0042`` -> ``enterprise/e{42 + shift}``; others kept once (shift 0)."""
    scope, ident = key.split("/", 1)
    if scope == "enterprise":
        return f"enterprise/e{int(ident[1:]) + shift:04d}"
    return key if shift == 0 else None


def joined(parts: list[DayColumns]) -> DayColumns:
    return DayColumns(
        np.concatenate([p.key for p in parts]),
        np.concatenate([p.cell_ms for p in parts]),
        {name: np.concatenate([p.values[name] for p in parts]) for name in parts[0].values},
    )


def write_cells(
    store: Store, reg: Registry, t: DayTemplate, edges: npt.NDArray[np.int64]
) -> tuple[int, float]:
    """``t`` copied into every cell of ``edges`` with the current fingerprint, in writes of
    ``CHUNK_CELLS`` cells: (rows written, seconds)."""
    fp = day_fingerprint(reg)
    n = 0
    t0 = time.perf_counter()
    for a in range(0, edges.size - 1, CHUNK_CELLS):
        part = edges[a : a + CHUNK_CELLS + 1]
        meters = replicated(t.meters, t.cell, part[:-1])
        scopes = replicated(t.scopes, t.cell, part[:-1])
        store.days.write(part, meters, scopes, t.keys, fp)
        n += len(meters) + len(scopes)
    return n, time.perf_counter() - t0


def local(day: dt.date) -> int:
    return periods.local_midnight_ms(day, TZ)


# In a fresh process ------------------------------------------------------------------


def kpis_in_child(url: str, n_meters: int, start: int, end: int, repeat: int) -> dict[str, Any]:
    """``kpi_job`` month over ``[start, end)`` in a fresh process: its peak RSS is the job's
    (with the registry and the imports: ``rss_start``)."""
    logs.configure("warning")
    reg = build_registry(n_meters)
    store = open_store(parse_store_url(url), reg)
    walls: list[float] = []
    try:
        rss0 = rss()
        c0 = time.process_time()
        for _ in range(max(1, repeat)):
            t0 = time.perf_counter()
            result = kpi_job(store, reg, start, end, ["month"], write=False)
            walls.append(time.perf_counter() - t0)
        cpu = time.process_time() - c0
    finally:
        store.close()
    return {
        "walls": walls,
        "cpu": cpu / len(walls),
        "levels": result.source.as_json()["levels"],
        "months": int(result.table.block("park", "month").starts.size),
        "rss_start": rss0,
        "rss_peak": peak_rss(),
    }


def child_text(out: dict[str, Any]) -> str:
    first, best = out["walls"][0], min(out["walls"])
    return (
        f"first {first:.2f} s, best {best:.2f} s of {len(out['walls'])} (cpu {out['cpu']:.2f} s "
        f"a run); {out['months']} months from {'+'.join(out['levels'])}; process peak RSS "
        f"{mib(out['rss_peak'])} ({mib(out['rss_start'])} before the job)"
    )


# Steps -------------------------------------------------------------------------------


@dataclass
class Ctx:
    kind: str
    w: Workload
    args: argparse.Namespace
    figs: Figures

    def add(self, figure: str, target: str, measured: str) -> None:
        self.figs.add(figure, target, measured, self.kind)


def load(store: Store, w: Workload, t_lo: int, t_hi: int, size: int) -> tuple[int, float]:
    n = 0
    t0 = time.perf_counter()
    for batch in w.batches(t_lo, t_hi, size):
        store.write(batch)
        n += len(batch)
    return n, time.perf_counter() - t0


def step_build(c: Ctx, store: Store) -> None:
    """(6) the 15-minute level, then the day level, over the loaded days."""
    w = c.w
    lo, hi = rollup_range(w.reg, w.start, w.end)
    wall, cpu, built = timed(lambda: build_rollups(store, w.reg, lo, hi))
    print(
        f"(6) rollups.build: {built.rows:,} rows ({built.windows:,} windows) in {wall:.1f} s "
        f"(cpu {cpu:.1f} s): {built.rows / wall:,.0f} rows/s",
        flush=True,
    )
    c.add("6 rollup build rows/s (reference)", "-", f"{built.rows / wall:,.0f} ({wall:.1f} s)")
    wall, cpu, days = timed(lambda: build_days(store, w.reg, w.start, w.end))
    n = days.meter_rows + days.scope_rows
    print(
        f"(6) days.build: {days.cells} cells, {days.meter_rows:,} meter rows + "
        f"{days.scope_rows:,} scope rows in {wall:.2f} s (cpu {cpu:.2f} s): {n / wall:,.0f} rows/s",
        flush=True,
    )
    c.add(f"6 day build rows/s ({days.cells} days)", "-", f"{n / wall:,.0f} ({wall:.2f} s)")
    profile("build", c.args.profile, c.kind, lambda: build_days(store, w.reg, w.start, w.end))


def step_follow(c: Ctx, store: Store) -> None:
    """(5) one more hour of readings, then one ``kpi --follow --period day`` cycle."""
    w = c.w
    sel = Selection.check(w.reg, "day", "enterprise")
    t_end = w.t_of(w.end) + 1  # the load ended with the reading at ``end``
    for hour in (1, 2) if c.args.profile == "follow" else (1,):
        n, load_s = load(store, w, t_end + (hour - 1) * 60, t_end + hour * 60, c.args.batch)
        now = w.end + hour * HOUR_MS + 30_000  # 30 s after the hour closed
        since, until = latest_closed(TZ, "day", now, RECENT["day"])

        def cycle(since: int = since, until: int = until, now: int = now) -> int:
            return follow_cycle(store, w.reg, sel, since, until, now)

        if hour == 2:  # --profile follow: the next hour's cycle, profiled
            profile("follow", "follow", f"{c.kind}, the second hour", cycle)
            continue
        wall, cpu, written = timed(cycle)
        print(
            f"(5) follow_cycle --period day after {n:,} readings of one hour (written in "
            f"{load_s:.2f} s): {wall:.2f} s (cpu {cpu:.2f} s), {written:,} KPI points written",
            flush=True,
        )
        c.add("5 follow_cycle after an hour", "< 2 s", f"{wall:.2f} s")


def step_month(c: Ctx, store: Store, t: DayTemplate) -> None:
    """(1) the month of the readings: built days, the rest replicated, then its KPIs."""
    w = c.w
    start, end = monthly.month_bounds(MONTH, TZ)
    edges = whole_cells(w.reg, w.end, end).points if w.end < end else np.zeros(0, np.int64)
    if edges.size > 1:
        n, secs = write_cells(store, w.reg, t, edges)
        print(
            f"(1) setup: {MONTH} has {c.args.days} built days; the first one's day rows copied "
            f"into the other {edges.size - 1} cells with store.days.write ({n:,} rows in "
            f"{secs:.1f} s, {n / secs:,.0f} rows/s)",
            flush=True,
        )

    def job() -> Any:
        return kpi_job(store, w.reg, start, end, ["month"], write=False)

    walls, cpu, result = best_of(job, c.args.repeat)
    got = result.source.as_json()
    print(
        f"(1) kpi_job month {MONTH}, all scopes, {len(w.reg.meter_ids):,} meters: "
        f"{walls_text(walls, cpu)}; levels {levels(got)} ({got['day_windows']:,} windows from "
        f"day rows, {got['rollup_windows']:,} rollups, {got['raw_windows']:,} raw)",
        flush=True,
    )
    c.add(
        f"1 month KPIs, {len(w.reg.meter_ids):,} meters",
        "< 1 s",
        f"{min(walls):.2f} s ({levels(got)})",
    )
    profile("month", c.args.profile, c.kind, job)


def step_report(c: Ctx, store: Store) -> None:
    """(4) the zone's monthly HTML report of the month, from the store."""
    w = c.w
    _, end = monthly.month_bounds(MONTH, TZ)
    # The month's day rows (step 1) carry the stack table's CEMS meters too.
    request = monthly.Request(MONTH, now_ms=end + HOUR_MS)

    def report() -> tuple[monthly.Monthly, str]:
        r = monthly.build(store, w.reg, request)
        return r, monthly.html(r)

    walls, cpu, (r, page) = best_of(report, c.args.repeat)
    wall_b, _, r = timed(lambda: monthly.build(store, w.reg, request))
    wall_h, _, _ = timed(lambda: monthly.html(r))
    missing = "; ".join(m[:70] for m in r.missing)
    print(
        f"(4) report zone {r.id} {MONTH} html: {walls_text(walls, cpu)} (build {wall_b:.2f} s, "
        f"html {wall_h:.2f} s; {len(page):,} characters; KPIs from {r.source}); its "
        f"missing notes: {missing}",
        flush=True,
    )
    c.add("4 zone monthly report, HTML", "< 2 s", f"{min(walls):.2f} s")
    profile("report", c.args.profile, c.kind, report)


def step_years(c: Ctx, url: str, t: DayTemplate) -> None:
    """(2) and (3): three years of day rows written straight into a fresh database."""
    reg = c.w.reg
    store = open_store(parse_store_url(url), reg)
    try:
        edges = whole_cells(
            reg, local(dt.date(YEARS[0], 1, 1)), local(dt.date(YEARS[-1] + 1, 1, 1))
        )
        n, secs = write_cells(store, reg, t, edges.points)
        print(
            f"(2) setup: the day rows of one built day ({len(t.meters):,} meter + "
            f"{len(t.scopes):,} scope rows) copied into every cell of {YEARS[0]}-{YEARS[-1]} "
            f"({edges.n_cells} cells) with store.days.write and the current fingerprint, no "
            f"readings, no rollups: {n:,} rows in {secs:.1f} s ({n / secs:,.0f} rows/s)",
            flush=True,
        )
        year = YEARS[-1]
        a, b = local(dt.date(year, 1, 1)), local(dt.date(year + 1, 1, 1))
        out = in_child(kpis_in_child, url, len(reg.meter_ids), a, b, c.args.repeat)
        print(f"(2) kpi_job month over {year}, fresh process: {child_text(out)}", flush=True)
        c.add(
            f"2 year of monthly KPIs, {len(reg.meter_ids):,} meters",
            "< 3 s",
            f"{min(out['walls']):.2f} s (first {out['walls'][0]:.2f} s)",
        )
        c.add(
            f"2 year: process peak RSS, {len(reg.meter_ids):,} meters",
            "< 1 GiB",
            mib(out["rss_peak"]),
        )
        profile(
            "year",
            c.args.profile,
            c.kind,
            lambda: kpi_job(store, reg, a, b, ["month"], write=False),
        )
        step_landuse(c, store)
    finally:
        store.close()


def step_landuse(c: Ctx, store: Store) -> None:
    """(3) land use's monthly electricity, energy and water, from telemetry."""
    reg = c.w.reg
    ents = tuple(reg.enterprise_ids)
    first, last = month_code(YEARS[0], 1), month_code(YEARS[-1], 12)

    def job() -> Any:
        return telemetry.compute_monthly(store, reg, ents, first, last)

    walls, cpu, got = best_of(job, c.args.repeat)
    kwh = got.get("electricity_kwh")
    print(
        f"(3) landuse.telemetry.compute_monthly, {len(ents)} enterprises x {last - first + 1} "
        f"months: {walls_text(walls, cpu)}; {int(np.isfinite(kwh).sum()):,} of {kwh.size:,} "
        "monthly electricity values present",
        flush=True,
    )
    c.add(
        f"3 landuse {YEARS[0]}-{YEARS[-1]}, {len(reg.meter_ids):,} meters",
        "< 5 s",
        f"{min(walls):.2f} s",
    )
    profile("landuse", c.args.profile, c.kind, job)


def step_scale(c: Ctx, url: str, t: DayTemplate) -> None:
    """(7) the month and the year of ``--scale-meters`` meters, day rows tiled."""
    big = build_registry(c.args.scale_meters)
    tiled = t.tiled(c.w.reg, big)
    store = open_store(parse_store_url(url), big)
    try:
        year = SCALE_MONTH.year
        a, b = local(dt.date(year, 1, 1)), local(dt.date(year + 1, 1, 1))
        n, secs = write_cells(store, big, tiled, whole_cells(big, a, b).points)
    finally:
        store.close()
    m = f"{len(big.meter_ids):,} meters"
    print(
        f"(7) setup: the 1,000-meter day rows tiled to {m} ({len(tiled.meters):,} meter + "
        f"{len(tiled.scopes):,} scope rows a cell; park and zone rows copied, not summed) in "
        f"every cell of {year}: {n:,} rows in {secs:.1f} s ({n / secs:,.0f} rows/s)",
        flush=True,
    )
    next_month = dt.date(year + SCALE_MONTH.month // 12, SCALE_MONTH.month % 12 + 1, 1)
    out = in_child(
        kpis_in_child, url, len(big.meter_ids), local(SCALE_MONTH), local(next_month), c.args.repeat
    )
    print(f"(7) kpi_job month {SCALE_MONTH:%Y-%m}, {m}, fresh process: {child_text(out)}")
    c.add(f"7 month KPIs, {m}", "-", f"{min(out['walls']):.2f} s, RSS {mib(out['rss_peak'])}")
    out = in_child(kpis_in_child, url, len(big.meter_ids), a, b, 1)
    print(f"(7) kpi_job month over {year}, {m}, fresh process: {child_text(out)}", flush=True)
    c.add(
        f"7 year of monthly KPIs, {m}", "-", f"{out['walls'][0]:.2f} s, RSS {mib(out['rss_peak'])}"
    )


# Main ----------------------------------------------------------------------------------


def bench_store(c: Ctx) -> None:
    w = c.w
    with (
        tempfile.TemporaryDirectory(prefix="bench-days-") as tmp,
        stores(c.kind, Path(tmp)) as (new_url, _),
    ):
        print(f"--- {c.kind} ---", flush=True)
        store = open_store(parse_store_url(new_url("bench")), w.reg)
        try:
            n, secs = load(store, w, 0, w.t_of(w.end) + 1, c.args.batch)
            print(f"setup: loaded {n:,} readings in {secs:.1f} s ({n / secs:,.0f}/s)", flush=True)
            step_build(c, store)
            template = DayTemplate.read(store, w.reg, w.start)
            step_follow(c, store)
            step_month(c, store, template)
            step_report(c, store)
        finally:
            store.close()
        step_years(c, new_url("years"), template)
        if c.args.scale_meters:
            step_scale(c, new_url("scale"), template)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--store", choices=["influxdb", "sqlite", "both"], default="both")
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--days", type=int, default=2, help="days of readings built (>= 2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timed case")
    parser.add_argument("--batch", type=int, default=100_000, help="readings per store.write")
    parser.add_argument(
        "--scale-meters",
        type=int,
        default=10_000,
        help="meters of (7), a multiple of --meters; 0 skips it",
    )
    parser.add_argument("--quick", action="store_true", help="one run each, no (7)")
    parser.add_argument(
        "--profile",
        choices=["build", "follow", "month", "report", "year", "landuse"],
        help="one more run of that target under cProfile (top 10 cumulative)",
    )
    args = parser.parse_args()
    if not 2 <= args.days < 30:
        parser.error("--days: from 2 to 29 (the rest of the month is replicated)")
    if args.quick:
        args.repeat, args.scale_meters = 1, 0
    if args.scale_meters and args.scale_meters % args.meters:
        parser.error("--scale-meters: a multiple of --meters (the day rows are tiled)")
    logs.configure("warning")  # the jobs' info lines would drown the figures

    t_start = time.perf_counter()
    w = workload(args.meters, args.days)
    figs = Figures()
    for kind in ["influxdb", "sqlite"] if args.store == "both" else [args.store]:
        bench_store(Ctx(kind, w, args, figs))
    figs.print(t_start)


if __name__ == "__main__":
    main()
