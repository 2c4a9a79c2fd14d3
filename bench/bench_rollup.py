"""Benchmark: exact 15-minute rollups (issue 18) for 1,000 one-minute meters, influxd and SQLite.

    .venv/bin/python bench/bench_rollup.py                          # 30 days: about 30 minutes
    .venv/bin/python bench/bench_rollup.py --days 10                # about 17 minutes
    .venv/bin/python bench/bench_rollup.py --store sqlite           # one store only
    .venv/bin/python bench/bench_rollup.py --skip-raw-month         # without the raw reads (c)
    .venv/bin/python bench/bench_rollup.py --days 2 --meters 200    # smoke test, about 2 minutes

The park is bench/bench_kpi.py's (100 enterprises x 10 meters, Asia/Shanghai, Gansu
tariffs), one reading a minute from 2026-11-01 local time. For each store (a real
influxd started here, or a SQLite file), after loading ``--days`` days of readings
(setup, in time-major batches of ``--batch`` through ``store.write``):

(a) ``rollups.build`` of the whole range from scratch, in a fresh process: seconds, rows
    written, that process's peak RSS; the build streams piece by piece (at most a UTC
    day each), so its tracemalloc peak is measured on a build of the first two days;
(b) ``kpi_job(..., ["month"])`` and ``["day"]`` over the days from rollups (source
    checked to be "rollups"), end to end including the store read: best and median of
    ``--repeat``; "store" is the time inside the store's read calls (rows into numpy,
    spans and dirty marks); one more run calls ``range_windows`` and
    ``kpis_of_windows`` separately;
(c) the same from raw readings (``use_rollups=False``), one run each, and the speedup
    (c)/(b) best against best; the KPIs of (b) and (c) are compared;
(d) ``kpi --follow`` cycles: one more hour of readings is written, then
    ``keep_current`` + ``kpi_job`` (write-back on) for the latest closed days; another
    hour, then the same for the latest closed hours;
(e) a year of monthly KPIs from rollups, for the park's first ``--year-meters`` meters
    (default a tenth of ``--meters``): one UTC day's rollup rows of the store are
    replicated, shifted day by day, over every UTC day of 2025 (Asia/Shanghai) with
    ``store.rollups.write`` and the current fingerprint (no raw readings), then
    ``kpi_job(..., ["month"])`` over the year in a fresh process: seconds and peak RSS.
    Only a tenth by default: a year of 1,000 meters is 35 M rollup rows, which the
    rollup reads hold as Python objects (several hundred bytes a row: more memory than
    the 23 GB development machine has) and which influxd takes some 20 minutes to write.

Every timed step prints as it finishes; a table of all figures ends the run. Times
are wall clock on a shared machine (CPU seconds beside them, and influxd's
CPU during the step). Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import math
import os
import shlex
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import numpy.typing as npt
from bench_kpi import DAY_MS, TZ, build_registry, day_start, readings

from smartpark.analytics import periods
from smartpark.analytics.days.maintain import keep_current
from smartpark.analytics.jobs import Selection, kpi_job, periods_touching
from smartpark.analytics.kpis.compute import STALE_INTERVALS, kpis_of_windows
from smartpark.analytics.kpis.table import KpiTable
from smartpark.analytics.layout import Layout
from smartpark.analytics.periods import PeriodName
from smartpark.analytics.schedule import RECENT, latest_closed
from smartpark.analytics.windows.meter_windows import WINDOW_FIELDS
from smartpark.analytics.windows.rollups.build import build
from smartpark.analytics.windows.rollups.fingerprint import fingerprint
from smartpark.analytics.windows.rollups.source import range_windows
from smartpark.core import logs
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import KpiRow, Period, ReadingColumns, Scope, Store
from smartpark.store.open import open_store
from smartpark.store.rollups import NO_TS, WINDOW_MS, RollupColumns, RollupSpan, RollupStore
from smartpark.testing.servers import Influxd

HOUR_MS = 3_600_000
STEP_MS = 60_000  # bench_kpi.readings: one reading a minute
YEAR = 2025
T = TypeVar("T")

# Timing ------------------------------------------------------------------------------


class StoreClock:
    """Seconds spent inside a store's calls, by call (readings, rollup rows, spans ...)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def timing(self, what: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[what] += time.perf_counter() - t0

    def reads(self) -> float:
        """Time in the calls that read (everything but the writes)."""
        return sum(s for k, s in self.seconds.items() if not k.startswith("write"))


class TimedRollups:
    """``store.rollups`` with its calls timed."""

    def __init__(self, inner: RollupStore, clock: StoreClock) -> None:
        self.inner, self.clock = inner, clock

    def write(self, start_ms: int, end_ms: int, rows: RollupColumns, fingerprint: str) -> None:
        with self.clock.timing("write rollups"):
            self.inner.write(start_ms, end_ms, rows, fingerprint)

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> RollupColumns:
        with self.clock.timing("read rollups"):
            return self.inner.read(start_ms, end_ms, meters)

    def spans(self, start_ms: int, end_ms: int) -> dict[int, RollupSpan]:
        with self.clock.timing("read spans"):
            return self.inner.spans(start_ms, end_ms)

    def dirty(
        self, start_ms: int | None = None, end_ms: int | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        with self.clock.timing("read dirty"):
            return self.inner.dirty(start_ms, end_ms)

    def clear_dirty(self, window_ms: npt.NDArray[np.int64], marked: npt.NDArray[np.int64]) -> None:
        with self.clock.timing("write dirty"):
            self.inner.clear_dirty(window_ms, marked)


class TimedStore:
    """A :class:`Store` whose calls are timed (``clock``), for the store/compute split."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.clock = StoreClock()
        self._rollups = TimedRollups(inner.rollups, self.clock)

    @property
    def rollups(self) -> RollupStore:
        return self._rollups

    def version(self) -> int | None:
        return self.inner.version()

    def reading_span(
        self, meters: npt.NDArray[np.int32]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        with self.clock.timing("read reading spans"):
            return self.inner.reading_span(meters)

    def write(self, readings: ReadingColumns) -> None:
        with self.clock.timing("write readings"):
            self.inner.write(readings)

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> ReadingColumns:
        with self.clock.timing("read readings"):
            return self.inner.read(start_ms, end_ms, meters)

    def write_kpis(self, rows: list[KpiRow]) -> None:
        with self.clock.timing("write kpis"):
            self.inner.write_kpis(rows)

    def read_kpis(
        self,
        start_ms: int,
        end_ms: int,
        scope: Scope | None = None,
        period: Period | None = None,
        *,
        ids: Collection[str] | None = None,
        kpis: Collection[str] | None = None,
    ) -> list[KpiRow]:
        with self.clock.timing("read kpis"):
            return self.inner.read_kpis(start_ms, end_ms, scope, period, ids=ids, kpis=kpis)

    def close(self) -> None:
        self.inner.close()


@dataclass
class Run:
    """One timed call: wall, this process's CPU, influxd's CPU, time in store calls."""

    wall: float
    cpu: float
    server: float | None
    store: dict[str, float] = field(default_factory=dict)

    def store_s(self) -> float:
        return sum(s for k, s in self.store.items() if not k.startswith("write"))


class Bench:
    """What every step needs: the (timed) store, its server's CPU clock, the figures."""

    def __init__(self, kind: str, store: Store, server_pid: int | None) -> None:
        self.kind = kind
        self.store = TimedStore(store)
        self.server_pid = server_pid
        self.figures: dict[str, str] = {}

    def server_cpu(self) -> float | None:
        """influxd's CPU seconds so far (user + system)."""
        if self.server_pid is None:
            return None
        fields = proc_stat(self.server_pid)
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run(self, fn: Callable[[], T]) -> tuple[Run, T]:
        gc.collect()
        self.store.clock.seconds.clear()
        s0, c0, t0 = self.server_cpu(), time.process_time(), time.perf_counter()
        result = fn()
        wall, cpu, s1 = time.perf_counter() - t0, time.process_time() - c0, self.server_cpu()
        server = s1 - s0 if s0 is not None and s1 is not None else None
        return Run(wall, cpu, server, dict(self.store.clock.seconds)), result

    def note(self, key: str, value: str) -> None:
        self.figures[key] = value


def cpu_text(run: Run) -> str:
    server = f", influxd cpu {run.server:.1f} s" if run.server is not None else ""
    return f"cpu {run.cpu:.1f} s{server}"


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.0f} MiB"


def proc_stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (the third field first)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def child_pid(name: str) -> int | None:
    """The pid of this process's child called ``name`` (the influxd the harness started)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        if comm == name and int(text[text.rindex(")") + 2 :].split()[1]) == os.getpid():
            return int(stat.parent.name)
    return None


def rss() -> int:
    """This process's resident set now, bytes."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    """This process's peak RSS so far, bytes: /proc's VmHWM, not getrusage's ru_maxrss,
    which in a spawned child starts at the parent's peak (Linux carries the high-water
    mark of the forked image across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def traced_peak(fn: Callable[[], Any]) -> int:
    """tracemalloc's peak during ``fn`` (numpy's buffers included), bytes."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# Workload ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """The readings of ``[start - 1 min, end + 2 h]``, meter-major as bench_kpi makes them."""

    reg: Registry
    start: int
    end: int
    cols: ReadingColumns

    @property
    def n_t(self) -> int:
        return len(self.cols) // len(self.reg.meter_ids)

    def t_of(self, ts_ms: int) -> int:
        """Index of the minute ``ts_ms`` in every meter's row."""
        return (ts_ms - (self.start - STEP_MS)) // STEP_MS

    def batches(self, t_lo: int, t_hi: int, size: int) -> Iterator[ReadingColumns]:
        """The readings of minutes ``[t_lo, t_hi)``, time-major (as a park's gateways
        deliver them) in batches of about ``size``."""
        n_m = len(self.reg.meter_ids)
        per = max(1, size // n_m)
        meter_base = np.arange(n_m, dtype=np.intp)[None, :] * self.n_t
        for a in range(t_lo, t_hi, per):
            t = np.arange(a, min(t_hi, a + per), dtype=np.intp)[:, None]
            yield self.cols.take((t + meter_base).ravel())


def load(b: Bench, w: Workload, t_lo: int, t_hi: int, size: int) -> tuple[int, Run]:
    def write_all() -> int:
        n = 0
        for batch in w.batches(t_lo, t_hi, size):
            b.store.write(batch)
            n += len(batch)
        return n

    run, n = b.run(write_all)
    return n, run


# Steps -------------------------------------------------------------------------------


def rollup_range(reg: Registry, start: int, end: int) -> tuple[int, int]:
    """The windows ``kpi_job`` reads for ``[start, end)``: it looks back for staleness."""
    lookback = STALE_INTERVALS * int(Layout.of(reg).interval_ms.max(initial=0))
    return (start - lookback) // WINDOW_MS * WINDOW_MS, -(-end // WINDOW_MS) * WINDOW_MS


def build_in_child(url: str, n_meters: int, lo: int, hi: int) -> dict[str, Any]:
    """(a) in a fresh process: its peak RSS is the build's, not the loader's."""
    logs.configure("warning")
    reg = build_registry(n_meters)
    store = open_store(parse_store_url(url), reg)
    try:
        rss0 = rss()
        c0, t0 = time.process_time(), time.perf_counter()
        built = build(store, reg, lo, hi)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        store.close()
    return {
        "wall": wall,
        "cpu": cpu,
        "rows": built.rows,
        "windows": built.windows,
        "readings": built.readings,
        "days": len(built.ranges),
        "rss_start": rss0,
        "rss_peak": peak_rss(),
    }


def year_in_child(url: str, n_meters: int, start: int, end: int) -> dict[str, Any]:
    """(e) in a fresh process: its peak RSS is the year's KPI job's."""
    logs.configure("warning")
    reg = build_registry(n_meters)
    store = TimedStore(open_store(parse_store_url(url), reg))
    try:
        rss0 = rss()
        c0, t0 = time.process_time(), time.perf_counter()
        result = kpi_job(store, reg, start, end, ["month"], write=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        store.close()
    block = result.table.block("park", "month")
    return {
        "wall": wall,
        "cpu": cpu,
        "store": dict(store.clock.seconds),
        "summary": result.source.summary,
        "rollup_windows": result.source.windows("rollups"),
        "months": int(block.starts.size),
        "rss_start": rss0,
        "rss_peak": peak_rss(),
    }


def in_child(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def step_build(b: Bench, w: Workload, url: str) -> None:
    lo, hi = rollup_range(w.reg, w.start, w.end)
    s0 = b.server_cpu()
    out = in_child(build_in_child, url, len(w.reg.meter_ids), lo, hi)
    s1 = b.server_cpu()
    server = f", influxd cpu {s1 - s0:.1f} s" if s0 is not None and s1 is not None else ""
    print(
        f"(a) build in {out['days']} pieces ({out['windows']:,} windows, "
        f"{out['readings']:,} readings read): {out['wall']:.1f} s, cpu {out['cpu']:.1f} s"
        f"{server}; {out['rows']:,} rows written; build process peak RSS "
        f"{mib(out['rss_peak'])} ({mib(out['rss_start'])} before the build)",
        flush=True,
    )
    traced_hi = min(hi, w.start + 2 * DAY_MS)
    peak = traced_peak(lambda: build(b.store.inner, w.reg, lo, traced_hi))
    print(
        f"    tracemalloc peak of build over the first {(traced_hi - w.start) / DAY_MS:.0f} days "
        f"(streams piece by piece): {mib(peak)}",
        flush=True,
    )
    b.note("(a) build rollups: s", f"{out['wall']:.1f}")
    b.note(
        "(a) build: cpu s (+ influxd cpu s)",
        f"{out['cpu']:.1f}" + (f" + {s1 - s0:.1f}" if s0 is not None and s1 is not None else ""),
    )
    b.note("(a) build: rows written", f"{out['rows']:,}")
    b.note("(a) build: process peak RSS", mib(out["rss_peak"]))
    b.note("(a) build: tracemalloc peak (1 day)", mib(peak))


def kpi_runs(
    b: Bench, w: Workload, period: PeriodName, use_rollups: bool, repeat: int
) -> tuple[list[Run], KpiTable]:
    runs: list[Run] = []
    table: KpiTable | None = None
    for _ in range(repeat):
        run, result = b.run(
            lambda: kpi_job(
                b.store, w.reg, w.start, w.end, [period], write=False, use_rollups=use_rollups
            )
        )
        want = "rollups" if use_rollups else "raw"
        if result.source.summary != want:
            raise SystemExit(
                f"{b.kind}: {period} KPIs came from {result.source.summary}, not {want}: "
                f"{result.source.as_json()}"
            )
        runs.append(run)
        table = result.table
    assert table is not None
    return runs, table


def describe(runs: list[Run]) -> str:
    best = min(runs, key=lambda r: r.wall)
    median = statistics.median(r.wall for r in runs)
    many = f", median {median:.2f} s of {len(runs)}" if len(runs) > 1 else ""
    return (
        f"best {best.wall:.2f} s{many} (store {best.store_s():.2f} s, rest "
        f"{best.wall - best.store_s():.2f} s; {cpu_text(best)})"
    )


def step_rollup_kpis(b: Bench, w: Workload, repeat: int) -> dict[str, tuple[float, KpiTable]]:
    out: dict[str, tuple[float, KpiTable]] = {}
    for period in ("month", "day"):
        runs, table = kpi_runs(b, w, period, True, repeat)
        print(f"(b) kpi_job {period} from rollups: {describe(runs)}", flush=True)
        best = min(runs, key=lambda r: r.wall)
        b.note(f"(b) kpi {period} from rollups: s", f"{best.wall:.2f}")
        b.note(f"(b) kpi {period} from rollups: store s", f"{best.store_s():.2f}")
        out[period] = (best.wall, table)
    # The split, called directly: the store read and the windows, then the KPIs.
    run, (mw, source) = b.run(lambda: range_windows(b.store, w.reg, w.start, w.end))
    t0 = time.perf_counter()
    kpis_of_windows(w.reg, mw, w.start, w.end, ["month"])
    t1 = time.perf_counter()
    kpis_of_windows(w.reg, mw, w.start, w.end, ["day"])
    t2 = time.perf_counter()
    detail = ", ".join(f"{k} {s:.2f} s" for k, s in run.store.items())
    windows_bytes = sum(getattr(mw, f).nbytes for f in WINDOW_FIELDS)
    print(
        f"    split: range_windows {run.wall:.2f} s ({detail}; {source.windows('rollups'):,} "
        f"windows x {mw.consumption.shape[0]:,} meters, {mib(windows_bytes)} of windows); "
        f"kpis_of_windows month {t1 - t0:.2f} s, day {t2 - t1:.2f} s",
        flush=True,
    )
    b.note(
        "(b) split: range_windows s (of it rollup rows)",
        (f"{run.wall:.2f} ({run.store.get('read rollups', 0.0):.2f})"),
    )
    b.note("(b) split: kpis_of_windows month / day s", f"{t1 - t0:.2f} / {t2 - t1:.2f}")
    return out


def step_raw_kpis(b: Bench, w: Workload, rolled: dict[str, tuple[float, KpiTable]]) -> None:
    for period in ("month", "day"):
        runs, table = kpi_runs(b, w, period, False, 1)
        best = runs[0]
        speedup = best.wall / rolled[period][0]
        diff = max_rel_diff(rolled[period][1], table)
        print(
            f"(c) kpi_job {period} from raw readings: {describe(runs)}; speedup of rollups "
            f"{speedup:.1f}x; largest relative difference rollups vs raw {diff:.1e}",
            flush=True,
        )
        b.note(f"(c) kpi {period} from raw: s", f"{best.wall:.2f}")
        b.note(f"(c) kpi {period} from raw: store s", f"{best.store_s():.2f}")
        b.note(f"(c)/(b) speedup, {period}", f"{speedup:.1f}x")
        b.note(f"(c) vs (b) KPIs, {period}: max rel diff", f"{diff:.1e}")


def max_rel_diff(a: KpiTable, b: KpiTable) -> float:
    """Largest relative difference between two tables of the same KPIs (inf: NaN mismatch)."""
    worst = 0.0
    for x, y in zip(a.blocks, b.blocks, strict=True):
        for kpi, u in x.values.items():
            v = y.values[kpi]
            if (np.isnan(u) != np.isnan(v)).any():
                return math.inf
            ok = ~np.isnan(u)
            d = np.abs(u[ok] - v[ok]) / np.maximum(np.abs(v[ok]), 1e-9)
            worst = max(worst, float(d.max(initial=0.0)))
    return worst


def step_follow(b: Bench, w: Workload, size: int) -> None:
    for hour, period in ((1, "day"), (2, "hour")):
        follow_cycle(b, w, hour, periods.parse_period(period), size)


def follow_cycle(b: Bench, w: Workload, hour: int, period: PeriodName, size: int) -> None:
    """Write the ``hour``-th hour after the load, then run one ``kpi --follow`` cycle."""
    t_end = w.t_of(w.end) + 1  # the load ended with the reading at ``end``
    n, write_run = load(b, w, t_end + (hour - 1) * 60, t_end + hour * 60, size)
    now = w.end + hour * HOUR_MS + 30_000  # the cycle runs 30 s after the hour closed
    since, until = latest_closed(TZ, period, now, RECENT[period])
    selection = Selection.check(w.reg, period, "enterprise")
    keep_run, kept = b.run(lambda: keep_current(b.store, w.reg, since, now))

    def jobs() -> tuple[int, str]:
        # jobs.follow's cycle: the latest closed periods, then those late readings changed.
        result = kpi_job(b.store, w.reg, since, until, [period], write=True)
        written = result.written
        for a, z in periods_touching(selection, kept.rerolled.ranges, before_ms=since):
            written += kpi_job(b.store, w.reg, a, z, [period], write=True).written
        return written, result.source.summary

    job_run, (written, summary) = b.run(jobs)
    print(
        f"(d) --follow --period {period}, after {n:,} readings of one more hour "
        f"(written in {write_run.wall:.2f} s): keep_current {keep_run.wall:.2f} s "
        f"(re-rolled {kept.rerolled.windows} windows, added {kept.added.windows}; "
        f"{cpu_text(keep_run)}), kpi_job of the last {RECENT[period]} closed {period}s "
        f"{job_run.wall:.2f} s (from {summary}; {written:,} KPI points written in "
        f"{job_run.store.get('write kpis', 0.0):.2f} s; {cpu_text(job_run)})",
        flush=True,
    )
    b.note(f"(d) follow {period}: keep_current s", f"{keep_run.wall:.2f}")
    b.note(f"(d) follow {period}: kpi_job s (KPI points)", f"{job_run.wall:.2f} ({written:,})")


def year_range() -> tuple[int, int]:
    return (
        periods.local_midnight_ms(dt.date(YEAR, 1, 1), TZ),
        periods.local_midnight_ms(dt.date(YEAR + 1, 1, 1), TZ),
    )


def shifted(rows: RollupColumns, by_ms: int) -> RollupColumns:
    values = dict(rows.values)
    last = values["last_ts"]
    values["last_ts"] = np.where(last == NO_TS, NO_TS, last + by_ms)
    return RollupColumns(rows.meter, rows.window_ms + by_ms, values)


def step_year(b: Bench, w: Workload, url: str, n_meters: int) -> None:
    """(e) on the park's first ``n_meters`` meters (their codes are the same in both
    registries: bench_kpi numbers enterprises in order)."""
    reg = build_registry(n_meters)
    if reg.meter_ids != w.reg.meter_ids[: len(reg.meter_ids)]:
        raise SystemExit("--year-meters: the smaller park's meters are not the first ones")
    start, end = year_range()
    lo, hi = rollup_range(reg, start, end)
    template_day = -(-w.start // DAY_MS) * DAY_MS  # the first whole UTC day of the readings
    template = b.store.inner.rollups.read(template_day, template_day + DAY_MS)
    template = template.take(template.meter < len(reg.meter_ids))
    fp = fingerprint(reg)
    days = range(lo // DAY_MS * DAY_MS, hi, DAY_MS)
    year = open_store(parse_store_url(url), reg)
    try:
        t0 = time.perf_counter()
        for day in days:
            year.rollups.write(day, day + DAY_MS, shifted(template, day - template_day), fp)
        setup = time.perf_counter() - t0
    finally:
        year.close()
    rows = len(days) * len(template)
    print(
        f"(e) setup: {len(days)} UTC days x {len(template):,} rollup rows of "
        f"{len(reg.meter_ids):,} meters ({rows:,}) written in {setup:.1f} s "
        f"({rows / setup:,.0f} rows/s)",
        flush=True,
    )
    s0 = b.server_cpu()
    out = in_child(year_in_child, url, len(reg.meter_ids), start, end)
    s1 = b.server_cpu()
    if out["summary"] != "rollups":
        raise SystemExit(f"{b.kind}: the year's KPIs came from {out['summary']}, not rollups")
    server = f", influxd cpu {s1 - s0:.1f} s" if s0 is not None and s1 is not None else ""
    store_s = sum(s for k, s in out["store"].items() if not k.startswith("write"))
    print(
        f"(e) kpi_job month over {YEAR} from rollups, {len(reg.meter_ids):,} meters "
        f"({out['months']} months, {out['rollup_windows']:,} windows): {out['wall']:.1f} s "
        f"(store {store_s:.1f} s, rest {out['wall'] - store_s:.1f} s; cpu {out['cpu']:.1f} s"
        f"{server}); process peak RSS {mib(out['rss_peak'])} ({mib(out['rss_start'])} "
        f"before the job, {(out['rss_peak'] - out['rss_start']) / rows:,.0f} bytes per row)",
        flush=True,
    )
    m = f"{len(reg.meter_ids):,} meters"
    b.note(f"(e) year, {m}: rollup rows written (setup s)", f"{rows:,} ({setup:.0f})")
    b.note(f"(e) year, {m}: kpi month from rollups s", f"{out['wall']:.1f}")
    b.note(f"(e) year, {m}: of it store s", f"{store_s:.1f}")
    b.note(f"(e) year, {m}: process peak RSS", mib(out["rss_peak"]))


# Main ----------------------------------------------------------------------------------


@contextmanager
def stores(kind: str, tmp: Path) -> Iterator[tuple[Callable[[str], str], int | None]]:
    """A function giving a fresh database's store URL, and the server's pid (influxd)."""
    if kind == "influxdb":
        with Influxd(tmp / "influxd") as server:

            def url(db: str) -> str:
                server.create_database(db)
                return server.store_url(db)

            yield url, child_pid("influxd")
    else:
        yield (lambda db: f"sqlite:///{tmp / db}.db"), None


def bench_store(kind: str, w: Workload, args: argparse.Namespace) -> dict[str, str]:
    with (
        tempfile.TemporaryDirectory(prefix="bench-rollup-") as tmp,
        stores(kind, Path(tmp)) as (
            new_url,
            pid,
        ),
    ):
        url = new_url("bench")
        b = Bench(kind, open_store(parse_store_url(url), w.reg), pid)
        try:
            print(f"--- {kind} ---", flush=True)
            n, run = load(b, w, 0, w.t_of(w.end) + 1, args.batch)
            print(
                f"setup: loaded {n:,} readings in {run.wall:.1f} s ({n / run.wall:,.0f}/s; "
                f"{cpu_text(run)})",
                flush=True,
            )
            b.note("setup: load readings s (readings/s)", f"{run.wall:.0f} ({n / run.wall:,.0f})")
            step_build(b, w, url)
            rolled = step_rollup_kpis(b, w, args.repeat)
            if not args.skip_raw_month:
                step_raw_kpis(b, w, rolled)
            step_follow(b, w, args.batch)
            if not args.skip_year:
                step_year(b, w, new_url("year"), args.year_meters)
        finally:
            b.store.close()
        return b.figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--store", choices=["influxdb", "sqlite", "both"], default="both")
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30, help="days of readings (>= 2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (b) case")
    parser.add_argument("--batch", type=int, default=100_000, help="readings per store.write")
    parser.add_argument("--skip-raw-month", action="store_true", help="skip (c), the raw reads")
    parser.add_argument(
        "--year-meters",
        type=int,
        help="meters of the year case (e), default a tenth of --meters; its time and "
        "memory grow with its rows",
    )
    parser.add_argument("--skip-year", action="store_true", help="skip (e)")
    args = parser.parse_args()
    if args.days < 2:
        parser.error("--days: at least 2 (the year case replicates a whole UTC day)")
    args.year_meters = min(args.year_meters or max(1, args.meters // 10), args.meters)
    logs.configure("warning")  # the jobs' info and debug lines would drown the figures

    t_start = time.perf_counter()
    w = workload(args.meters, args.days)
    kinds = ["influxdb", "sqlite"] if args.store == "both" else [args.store]
    figures = {kind: bench_store(kind, w, args) for kind in kinds}
    print_table(figures, t_start)


def workload(n_meters: int, days: int) -> Workload:
    """The bench park's readings of ``days`` days (and two hours past), described."""
    reg = build_registry(n_meters)
    start = day_start()
    end = start + days * DAY_MS
    w = Workload(reg, start, end, readings(reg, start, end + 2 * HOUR_MS))
    print(
        f"{len(reg.meters)} meters ({len(reg.enterprises)} enterprises, {len(reg.parks)} parks), "
        f"one reading a minute, {days} days from "
        f"{periods.from_ms(start, TZ):%Y-%m-%d %H:%M} {TZ}; {len(w.cols):,} readings generated; "
        f"machine: {os.cpu_count()} cores, load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg()),
        flush=True,
    )
    return w


def print_table(figures: dict[str, dict[str, str]], t_start: float) -> None:
    kinds = list(figures)
    keys = list(dict.fromkeys(k for f in figures.values() for k in f))
    width = max(len(k) for k in keys)
    print()
    print("command: " + shlex.join([Path(sys.executable).name, *sys.argv]))
    print(
        f"machine: {os.cpu_count()} cores shared with other work (load average now "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
        + f"); whole run {(time.perf_counter() - t_start) / 60:.1f} min"
    )
    print(f"{'figure':<{width}}  " + "  ".join(f"{k:>22}" for k in kinds))
    for key in keys:
        print(f"{key:<{width}}  " + "  ".join(f"{figures[k].get(key, '-'):>22}" for k in kinds))


if __name__ == "__main__":
    main()
