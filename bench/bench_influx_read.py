"""Raw read benchmark: influxd 1.x /query answer formats and per-meter-group queries.

    python bench/bench_influx_read.py [--meters 1000] [--hours 6] [--runs 3]
                                      [--chunk-size 10000] [--from-cache]

Starts its own influxd (tests' harness, temp directory, loopback), writes one-minute
readings of ``--meters`` meters over ``--hours`` hours through ``InfluxStore.write``,
waits until influxd has snapshotted and compacted them into TSM files (as a past
month's readings are; ``--from-cache`` reads them from its cache right away), then
reads the whole range back with each variant below, runs interleaved (so a busy moment
on a shared machine hits all alike), and prints the best and worst of ``--runs``:

- ``InfluxStore.read`` with ``read_format="json"`` and ``"msgpack"``, each with the
  answer gzipped (what httpx asks for by default, so what reads did before
  ``read_gzip`` existed) and uncompressed;
- CSV (``Accept: application/csv``), decoded here with the standard library's csv
  module (the store has no CSV path);
- msgpack with each measurement's meters split into 2 and 4 groups
  (``"meter" =~ /^(a|b|…)$/``), as many queries at once as groups.

Every variant must return exactly the JSON read's columns (meter, ts, value, bit for
bit), or the benchmark stops. "stream s" is the same queries with the answer read and
thrown away (influxd's encoding plus the transfer, no decoding); "MB" is what crossed
the socket; "client CPU s" is this process's CPU time (all threads) during the read.
Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import csv
import functools
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import bench_store  # this script's directory is on sys.path
import httpx
import numpy as np
import numpy.typing as npt

from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import ReadingColumns
from smartpark.store.influx import CHUNK_SIZE, InfluxStore, ReadFormat, quote_ident
from smartpark.store.lineprotocol import FIELD
from smartpark.testing.servers import Influxd

T0 = bench_store.T0
ACCEPT = {"json": "application/json", "msgpack": "application/x-msgpack", "csv": "text/csv"}


class ColdInfluxd(Influxd):
    """The harness's influxd, snapshotting its cache to TSM files and fully compacting
    them one second after the last write, so reads come from files as a past month's
    readings would (default: after 10 minutes and 4 hours)."""

    def _write_config(self) -> None:
        super()._write_config()
        text = self.config_path.read_text(encoding="utf-8")
        anchor = "  query-log-enabled = false\n"
        assert anchor in text
        text = text.replace(
            anchor,
            anchor + '  cache-snapshot-write-cold-duration = "1s"\n'
            '  compact-full-write-cold-duration = "1s"\n',
        )
        self.config_path.write_text(text, encoding="utf-8")


def settle(server: Influxd, timeout_s: float = 120.0) -> str:
    """Wait until influxd's cache is empty, no compaction runs and its TSM file count
    has stayed the same for 3 polls (bounded); describe the files."""
    deadline = time.monotonic() + timeout_s
    counts: list[int] = []
    while time.monotonic() < deadline:
        stats: dict[str, list[dict[str, int]]] = {}
        for result in server.query_raw("SHOW STATS")["results"]:
            for series in result.get("series", []):
                row = dict(zip(series["columns"], series["values"][0], strict=True))
                stats.setdefault(series["name"], []).append(row)
        cached = sum(row["memBytes"] for row in stats.get("tsm1_cache", []))
        active = sum(
            value
            for row in stats.get("tsm1_engine", [])
            for key, value in row.items()
            if key.endswith("CompactionsActive")
        )
        files = stats.get("tsm1_filestore", [])
        counts.append(sum(row["numFiles"] for row in files) if not cached and not active else -1)
        if len(counts) >= 3 and counts[-1] > 0 and len(set(counts[-3:])) == 1:
            disk = sum(row["diskBytes"] for row in files)
            return f"{counts[-1]} TSM file(s), {disk / 1e6:.1f} MB, cache empty"
        time.sleep(0.5)
    return f"still snapshotting or compacting after {timeout_s:.0f} s: read anyway"


class CountingStore(InfluxStore):
    """An InfluxStore that adds up the bytes its ``/query`` answers took on the wire."""

    bytes_in = 0
    _lock = threading.Lock()

    @contextmanager
    def _stream(
        self, what: str, params: dict[str, str], headers: dict[str, str]
    ) -> Iterator[httpx.Response]:
        with super()._stream(what, params, headers) as response:
            yield response
            with self._lock:
                self.bytes_in += response.num_bytes_downloaded


def measurement_queries(reg: Registry, start_ms: int, end_ms: int, groups: int) -> list[str]:
    """The store's one query per measurement, or ``groups`` per measurement, each for
    a share of its meters (``"meter" =~ /^(…)$/``)."""
    by_kind: dict[str, list[str]] = {}
    for meter in reg.meter_ids:
        by_kind.setdefault(reg.kind_of_meter(meter), []).append(meter)
    where = f"time >= {start_ms}ms AND time < {end_ms}ms"
    queries = []
    for kind, meters in sorted(by_kind.items()):
        select = f"SELECT {quote_ident(FIELD)} FROM {quote_ident(kind)} WHERE {where}"
        if groups <= 1:
            queries.append(f'{select} GROUP BY "meter"')
            continue
        for g in range(groups):
            share = meters[g::groups]
            if share:
                pattern = "|".join(re.sub(r"([^A-Za-z0-9_])", r"\\\1", m) for m in share)
                queries.append(f'{select} AND "meter" =~ /^({pattern})$/ GROUP BY "meter"')
    return queries


def sorted_columns(
    parts: list[tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.float64]]],
) -> ReadingColumns:
    """Columns of (meter, ts, value) pieces, sorted by meter (pieces are time-sorted)."""
    if not parts:
        return ReadingColumns.empty()
    meter = np.concatenate([p[0] for p in parts])
    ts = np.concatenate([p[1] for p in parts])
    value = np.concatenate([p[2] for p in parts])
    order = np.argsort(meter, kind="stable")
    return ReadingColumns(meter[order], ts[order], value[order])


def read_groups(store: InfluxStore, queries: list[str], threads: int) -> ReadingColumns:
    """What ``store.read`` does, for ``queries`` (per-meter-group ones) on ``threads``."""
    wanted = np.ones(len(store.registry.meter_ids), dtype=bool)
    accept = store.wire_format()
    with ThreadPoolExecutor(threads) as pool:
        pieces = list(
            pool.map(lambda q: store._read_measurement(q, "bench", wanted, accept), queries)
        )
    return sorted_columns(
        [(m, t, v) for piece in pieces for m, t, v in zip(*piece[:3], strict=True)]
    )


def read_csv(
    client: httpx.Client, db: str, reg: Registry, queries: list[str], threads: int, chunk_size: int
) -> tuple[ReadingColumns, int]:
    """CSV answers (``name,tags,time,value`` rows) decoded into columns; and wire bytes."""

    def one(query: str) -> tuple[list[int], list[int], list[float], int]:
        meters: list[int] = []
        ts: list[int] = []
        values: list[float] = []
        code = -1
        last_tags = ""
        error = False
        params = stream_params(db, query, chunk_size)
        headers = {"Accept": ACCEPT["csv"], "Accept-Encoding": "identity"}
        with client.stream("GET", "/query", params=params, headers=headers) as response:
            response.raise_for_status()
            for row in csv.reader(response.iter_lines()):
                if error:  # the row after an "error" header holds the message
                    raise RuntimeError(f"influxd: {row}")
                if not row or row[0] == "name":
                    continue
                if row == ["error"]:
                    error = True
                    continue
                if row[1] != last_tags:  # "meter=<id>" (HashKey escaping: ids are slugs)
                    last_tags = row[1]
                    code = reg.meter_code[row[1].partition("=")[2].replace("\\", "")]
                meters.append(code)
                ts.append(int(row[2]))
                values.append(float(row[3]))
            return meters, ts, values, response.num_bytes_downloaded

    with ThreadPoolExecutor(threads) as pool:
        pieces = list(pool.map(one, queries))
    parts = [
        (
            np.array(m, dtype=np.int32),
            np.array(t, dtype=np.int64),
            np.array(v, dtype=np.float64),
        )
        for m, t, v, _ in pieces
    ]
    return sorted_columns(parts), sum(p[3] for p in pieces)


def stream_params(db: str, query: str, chunk_size: int) -> dict[str, str]:
    return {"db": db, "q": query, "epoch": "ms", "chunked": "true", "chunk_size": str(chunk_size)}


def stream_only(
    client: httpx.Client,
    db: str,
    queries: list[str],
    threads: int,
    chunk_size: int,
    accept: str,
    gzip: bool,
) -> None:
    """The queries' answers read off the socket and thrown away."""
    headers = {"Accept": accept, "Accept-Encoding": "gzip" if gzip else "identity"}

    def one(query: str) -> None:
        params = stream_params(db, query, chunk_size)
        with client.stream("GET", "/query", params=params, headers=headers) as response:
            response.raise_for_status()
            for _ in response.iter_raw():
                pass

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, queries))


@dataclass
class Variant:
    label: str
    read: Callable[[], tuple[ReadingColumns, int]]  # columns, bytes on the wire
    stream: Callable[[], None]
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    stream_seconds: list[float] = field(default_factory=list)
    wire_bytes: int = 0


def store_read(store: CountingStore, start_ms: int, end_ms: int) -> tuple[ReadingColumns, int]:
    before = store.bytes_in
    got = store.read(start_ms, end_ms)
    return got, store.bytes_in - before


def group_read(
    store: CountingStore, queries: list[str], threads: int
) -> tuple[ReadingColumns, int]:
    before = store.bytes_in
    got = read_groups(store, queries, threads)
    return got, store.bytes_in - before


def same(a: ReadingColumns, b: ReadingColumns) -> bool:
    """Equal meter, ts and value columns, values compared bit for bit."""
    return (
        np.array_equal(a.meter, b.meter)
        and np.array_equal(a.ts, b.ts)
        and np.array_equal(a.value.view(np.int64), b.value.view(np.int64))
    )


def variants(
    server: Influxd, reg: Registry, client: httpx.Client, span: tuple[int, int], chunk_size: int
) -> tuple[list[Variant], list[CountingStore]]:
    url = parse_store_url(server.store_url("bench"))
    stores: list[CountingStore] = []

    def store(read_format: ReadFormat, gzip: bool) -> CountingStore:
        opened = CountingStore(
            url, reg, chunk_size=chunk_size, read_format=read_format, read_gzip=gzip
        )
        stores.append(opened)
        return opened

    def streamer(fmt: str, gzip: bool, queries: list[str], threads: int) -> Callable[[], None]:
        return functools.partial(
            stream_only, client, "bench", queries, threads, chunk_size, ACCEPT[fmt], gzip
        )

    per_kind = measurement_queries(reg, *span, 1)
    json_gzip = store("json", True)
    threads = json_gzip.read_concurrency  # the store's default: measurements at once
    found = [
        Variant(
            "json, gzip",
            functools.partial(store_read, json_gzip, *span),
            streamer("json", True, per_kind, threads),
        ),
        Variant(
            "json",
            functools.partial(store_read, store("json", False), *span),
            streamer("json", False, per_kind, threads),
        ),
        Variant(
            "csv",
            functools.partial(read_csv, client, "bench", reg, per_kind, threads, chunk_size),
            streamer("csv", False, per_kind, threads),
        ),
        Variant(
            "msgpack, gzip",
            functools.partial(store_read, store("msgpack", True), *span),
            streamer("msgpack", True, per_kind, threads),
        ),
        Variant(
            "msgpack",
            functools.partial(store_read, store("msgpack", False), *span),
            streamer("msgpack", False, per_kind, threads),
        ),
    ]
    grouped = store("msgpack", False)
    for groups in (2, 4):
        queries = measurement_queries(reg, *span, groups)
        found.append(
            Variant(
                f"msgpack, {groups} meter groups per measurement, {groups} at once",
                functools.partial(group_read, grouped, queries, groups),
                streamer("msgpack", False, queries, groups),
            )
        )
    return found, stores


def run(server: Influxd, reg: Registry, readings: ReadingColumns, args: argparse.Namespace) -> None:
    n = len(readings)
    server.create_database("bench")
    client = httpx.Client(base_url=server.url, timeout=300, trust_env=False)
    span = (T0, int(readings.ts.max()) + 1)
    found, stores = variants(server, reg, client, span, args.chunk_size)
    writer = stores[0]
    started = time.perf_counter()
    writer.write(readings)
    seconds = time.perf_counter() - started
    print(f"influxd {writer.server_version()} on {server.url}")
    print(f"InfluxStore.write: {n / seconds:,.0f} readings/s ({seconds:.1f} s)")
    if not args.from_cache:
        print(f"influxd data: {settle(server)}")
    with InfluxStore(writer.url, reg, read_format="json") as plain:
        reference = plain.read(*span)  # also warms influxd's caches
    if len(reference) != n:
        raise SystemExit(f"the JSON read returned {len(reference):,} readings, not {n:,}")
    for number in range(args.runs):
        for variant in found if number % 2 == 0 else found[::-1]:
            wall, cpu = time.perf_counter(), time.process_time()
            got, variant.wire_bytes = variant.read()
            variant.seconds.append(time.perf_counter() - wall)
            variant.cpu.append(time.process_time() - cpu)
            if not same(got, reference):
                raise SystemExit(f"{variant.label}: not the JSON read's columns")
            del got
            wall = time.perf_counter()
            variant.stream()
            variant.stream_seconds.append(time.perf_counter() - wall)
    for opened in stores:
        opened.close()
    client.close()
    print(
        f"\nreading the {n:,} readings back, best (worst) of {args.runs} runs, "
        "every result identical to the JSON read:\n"
    )
    print("| variant | read s | readings/s | stream s | MB | client CPU s |")
    print("|---|---|---|---|---|---|")
    for v in found:
        best, worst = min(v.seconds), max(v.seconds)
        print(
            f"| {v.label} | {best:.2f} ({worst:.2f}) | {n / best:,.0f} ({n / worst:,.0f}) "
            f"| {min(v.stream_seconds):.2f} ({max(v.stream_seconds):.2f}) "
            f"| {v.wire_bytes / 1e6:.1f} | {min(v.cpu):.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)
    parser.add_argument(
        "--from-cache",
        action="store_true",
        help="read right after writing, from influxd's cache, not from compacted TSM files",
    )
    args = parser.parse_args()
    reg = bench_store.build_registry(args.meters)
    n = int(len(reg.meter_ids) * args.hours * 60)
    readings = bench_store.minute_readings(reg, n, random_doubles=False)
    kinds = sorted({reg.kind_of_meter(m) for m in reg.meter_ids})
    print(
        f"{len(reg.meter_ids)} one-minute meters x {args.hours:g} h = {n:,} readings in "
        f"{len(kinds)} measurements ({', '.join(kinds)}), chunk_size {args.chunk_size:,}"
    )
    with (
        tempfile.TemporaryDirectory(prefix="bench-influx-read-") as tmp,
        (Influxd if args.from_cache else ColdInfluxd)(Path(tmp) / "influxd") as server,
    ):
        run(server, reg, readings, args)


if __name__ == "__main__":
    main()
