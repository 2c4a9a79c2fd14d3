"""KPIs from a real store: range reads with edges, ``smartpark kpi``, write-back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from smartpark.analytics import compute_kpis, read_range, write_back
from smartpark.analytics.schedule import Follow, latest_closed
from smartpark.cli import app
from smartpark.core import logs
from smartpark.core import registry as registry_mod
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store import open_store
from smartpark.store.base import ReadingColumns
from smartpark.testing.servers import Influxd

from .parks import DAY_MS, HOUR_MS, day_ms

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.toml"
START = day_ms(2026, 11, 1)
END = day_ms(2026, 11, 3)


def example_readings(reg: Registry, start_ms: int, end_ms: int) -> ReadingColumns:
    """Every example meter at its interval, counters rising, with one edge reading each side."""
    rng = np.random.default_rng(11)
    parts = []
    for code, mid in enumerate(reg.meter_ids):
        meter = reg.meters[mid]
        step = meter.interval_s * 1000
        ts = np.arange(start_ms - step, end_ms + step, step, dtype=np.int64)
        if meter.quantity in (
            "active_power",
            "so2",
            "nox",
            "particulate",
            "flue_gas_flow",
            "water_flow",
        ):
            value = rng.uniform(10, 200, ts.size)
        elif meter.quantity == "o2":
            value = rng.uniform(4, 9, ts.size)
        else:
            value = 1000 + np.cumsum(rng.uniform(0, 5, ts.size))
        parts.append((np.full(ts.size, code, np.int32), ts, value))
    return ReadingColumns(*(np.concatenate(c) for c in zip(*parts, strict=True)))


@pytest.fixture(scope="module")
def reg() -> Registry:
    return registry_mod.load(EXAMPLE)


def test_read_range_fetches_edges_so_a_day_alone_equals_the_day_in_the_range(
    reg: Registry, tmp_path: Path
) -> None:
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 's.db'}"), reg)
    try:
        store.write(example_readings(reg, START - DAY_MS, END + DAY_MS))
        day = START + DAY_MS
        alone_cols = read_range(store, reg, day, day + DAY_MS)
        inside_cols = read_range(store, reg, START, END)
        assert int(alone_cols.ts.min()) < day  # edge before
        assert int(alone_cols.ts.max()) >= day + DAY_MS  # edge after
        alone = compute_kpis(reg, alone_cols, day, day + DAY_MS, ["day"])
        inside = compute_kpis(reg, inside_cols, START, END, ["day"])
        for kpi in ("electricity_kwh", "energy_tce", "fresh_water_m3", "nox_kg", "peak_demand_kw"):
            a = alone.value("park", "petrochem", "day", day, kpi)
            b = inside.value("park", "petrochem", "day", day, kpi)
            assert a == pytest.approx(b, rel=1e-12), kpi
            assert a > 0
    finally:
        store.close()


def test_read_range_of_some_meters_is_the_full_read_of_those_meters(
    reg: Registry, tmp_path: Path
) -> None:
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 's.db'}"), reg)
    try:
        store.write(example_readings(reg, START - DAY_MS, END + DAY_MS))
        some = np.array([0, 3, len(reg.meter_ids) - 1], np.int32)
        full = read_range(store, reg, START + DAY_MS, START + 2 * DAY_MS)
        part = read_range(store, reg, START + DAY_MS, START + 2 * DAY_MS, meters=some)
    finally:
        store.close()
    expected = full.take(np.isin(full.meter, some))
    assert len(part) > 0
    assert np.array_equal(part.meter, expected.meter)
    assert np.array_equal(part.ts, expected.ts)  # edges included, as in the full read
    assert np.array_equal(part.value, expected.value)


def test_write_back_is_idempotent(reg: Registry, tmp_path: Path) -> None:
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 's.db'}"), reg)
    try:
        store.write(example_readings(reg, START, START + DAY_MS))
        table = compute_kpis(
            reg, read_range(store, reg, START, START + DAY_MS), START, START + DAY_MS
        )
        n = write_back(store, table)
        assert n == write_back(store, table)
        rows = store.read_kpis(START, START + DAY_MS)
        assert len(rows) == n
    finally:
        store.close()


@pytest.mark.servers
def test_smartpark_kpi_computes_from_influxd_and_writes_back(
    reg: Registry, influxd: Influxd, influx_db: str
) -> None:
    url = influxd.store_url(influx_db)
    store = open_store(parse_store_url(url), reg)
    try:
        store.write(example_readings(reg, START, END))
    finally:
        store.close()
    args = [
        "kpi", "--from", "2026-11-01", "--to", "2026-11-03", "--period", "day",
        "--scope", "park", "--format", "json", "--write",
        "--registry", str(EXAMPLE), "--store", url,
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    logs.configure()  # the command logged to CliRunner's stderr, closed now
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout[result.stdout.index("{") :])
    assert printed["units"]["energy_tce"] == "tce"
    assert {r["id"] for r in printed["rows"]} == set(reg.park_ids)
    assert len(printed["rows"]) == 2 * len(reg.park_ids)

    # What was written equals what the engine computes from the same store, value by value.
    store = open_store(parse_store_url(url), reg)
    try:
        stored = {
            (r.scope, r.id, r.kpi, r.start_ms): r.value
            for r in store.read_kpis(START, END, period="day")
        }
        expected = compute_kpis(reg, read_range(store, reg, START, END), START, END, ["day"])
    finally:
        store.close()
    rows = expected.rows()
    assert len(stored) == len(rows) > 0
    for r in rows:
        assert stored[(r.scope, r.id, r.kpi, r.start_ms)] == pytest.approx(r.value, rel=1e-12)
    first = next(rec for rec in printed["rows"] if rec["id"] == "petrochem")
    assert first["start"] == "2026-11-01T00:00:00+08:00"
    assert first["energy_tce"] == pytest.approx(stored[("park", "petrochem", "energy_tce", START)])
    petro = [r for r in rows if r.id == "petrochem" and r.kpi == "co2_total_t"]
    assert all(r.value > 0 for r in petro)
    assert printed["source"]["kind"] == "raw"

    # Rolled up, the same command reads the rollups and prints the same KPIs.
    base = ["--registry", str(EXAMPLE), "--store", url]
    rolled = CliRunner().invoke(
        app, ["rollup", "--from", "2026-10-31", "--to", "2026-11-04", *base]
    )
    logs.configure()
    assert rolled.exit_code == 0, rolled.output
    again = CliRunner().invoke(app, [a for a in args if a != "--write"])
    logs.configure()
    assert again.exit_code == 0, again.output
    from_rollups = json.loads(again.stdout[again.stdout.index("{") :])
    # `smartpark rollup` built both levels: whole days read day rows, the rest rollups.
    assert from_rollups["source"]["kind"] == "days"
    assert from_rollups["source"]["levels"] == ["days"]
    assert from_rollups["source"]["raw_windows"] == 0
    for got, want in zip(from_rollups["rows"], printed["rows"], strict=True):
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key
            else:
                assert got[key] == value, key
    check = CliRunner().invoke(
        app, ["rollup", "--from", "2026-11-01", "--to", "2026-11-03", "--check", *base]
    )
    logs.configure()
    assert check.exit_code == 0, check.output
    assert "192 windows: 192 current, 0 dirty, 0 outdated, 0 not rolled up" in check.stdout
    assert "2 day cells: 2 current, 0 stale, 0 outdated, 0 not built" in check.stdout


def test_kpi_cli_rejects_unknown_park_and_kpi(tmp_path: Path) -> None:
    base = ["kpi", "--from", "2026-11-01", "--to", "2026-11-02", "--registry", str(EXAMPLE)]
    store = ["--store", f"sqlite:///{tmp_path / 's.db'}"]
    result = CliRunner().invoke(app, [*base, *store, "--park", "nowhere"])
    assert result.exit_code == 1
    assert "--park: unknown park 'nowhere'" in result.output
    result = CliRunner().invoke(app, [*base, *store, "--kpi", "co2"])
    logs.configure()
    assert result.exit_code == 1
    assert "--kpi: unknown KPI 'co2'" in result.output


def test_follow_recomputes_the_latest_closed_periods_and_stops(
    reg: Registry, tmp_path: Path
) -> None:
    now = START + 5 * HOUR_MS + 10 * 60_000
    assert latest_closed("Asia/Shanghai", "hour", now, 3) == (
        START + 2 * HOUR_MS,
        START + 5 * HOUR_MS,
    )
    calls: list[tuple[int, int]] = []

    def cycle(start_ms: int, end_ms: int) -> int:
        calls.append((start_ms, end_ms))
        return 0

    runner = Follow("Asia/Shanghai", "hour", 0.01, max_cycles=3, clock=lambda: now)
    assert runner.run(cycle) == 3
    assert calls == [(START + 2 * HOUR_MS, START + 5 * HOUR_MS)] * 3
    stopped = Follow("Asia/Shanghai", "hour", 0.01, max_cycles=100, clock=lambda: now)
    stopped.stop.set()
    assert stopped.run(cycle) == 0


def test_edges_are_found_in_growing_windows_and_bounded(tmp_path: Path) -> None:
    from .parks import columns, park_registry

    reg = park_registry(
        {
            "fast": {"quantity": "electricity_import", "interval_s": 60},
            "slow": {"quantity": "fresh_water", "interval_s": 3600},
            "gone": {"quantity": "natural_gas", "interval_s": 60},
        }
    )
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 's.db'}"), reg)
    try:
        rows = [
            ("fast", START - 60_000, 1.0),
            ("fast", START - 120_000, 0.5),
            ("slow", START - 3 * DAY_MS, 7.0),  # found after the window has grown
            ("gone", START - 40 * DAY_MS, 9.0),  # beyond max_edge_ms: no edge
            ("fast", START + 30_000, 2.0),
            ("fast", START + DAY_MS + 5 * 60_000, 3.0),
            ("slow", START + DAY_MS + 2 * DAY_MS, 8.0),
        ]
        store.write(columns(reg, rows))
        got = read_range(store, reg, START, START + DAY_MS)
        triples = {
            (reg.meter_ids[m], t, v)
            for m, t, v in zip(got.meter.tolist(), got.ts.tolist(), got.value.tolist(), strict=True)
        }
        # Up to CONTEXT (3) readings on each side: fast's two before, slow's one.
        assert triples == {
            ("fast", START - 120_000, 0.5),
            ("fast", START - 60_000, 1.0),
            ("fast", START + 30_000, 2.0),
            ("fast", START + DAY_MS + 5 * 60_000, 3.0),
            ("slow", START - 3 * DAY_MS, 7.0),
            ("slow", START + 3 * DAY_MS, 8.0),
        }
        assert got.meter.tolist() == sorted(got.meter.tolist())
    finally:
        store.close()


def test_kpi_follow_writes_and_exits_cleanly_on_sigterm(reg: Registry, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from smartpark.core.timestamps import now_ms

    db = tmp_path / "s.db"
    store = open_store(parse_store_url(f"sqlite:///{db}"), reg)
    now = now_ms()
    try:
        store.write(example_readings(reg, now - 6 * HOUR_MS, now))
    finally:
        store.close()
    args = ["kpi", "--period", "hour", "--follow", "--interval", "0.2"]
    args += ["--registry", str(EXAMPLE), "--store", f"sqlite:///{db}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "smartpark", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "SMARTPARK_LOG_LEVEL": "info"},
    )
    try:
        deadline = time.monotonic() + 60
        seen = ""
        assert proc.stderr is not None
        while "kpi_cycle" not in seen and time.monotonic() < deadline:
            line = proc.stderr.readline().decode()
            if not line:
                break
            seen += line
        assert "kpi_cycle " in seen or "event='kpi_cycle'" in seen, seen
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    store = open_store(parse_store_url(f"sqlite:///{db}"), reg)
    try:
        written = store.read_kpis(now - 6 * HOUR_MS, now, period="hour")
    finally:
        store.close()
    assert {r.kpi for r in written} >= {"energy_tce", "completeness"}
    assert len({r.start_ms for r in written}) == 3  # the last three closed hours


def test_kpi_cli_table_and_csv_show_units_and_flag_incomplete_data(
    reg: Registry, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = open_store(parse_store_url(url), reg)
    try:
        cols = example_readings(reg, START, START + DAY_MS)
        # chem-a-main loses the second half of the day: petrochem is incomplete.
        gap = (cols.meter == reg.meter_code["chem-a-main"]) & (cols.ts >= START + DAY_MS // 2)
        store.write(cols.take(~gap))
    finally:
        store.close()
    base = ["kpi", "--from", "2026-11-01", "--to", "2026-11-02", "--registry", str(EXAMPLE)]
    base += ["--store", url]
    csv_run = CliRunner().invoke(app, [*base, "--format", "csv", "--kpi", "energy_tce"])
    table_run = CliRunner().invoke(app, base)
    logs.configure()
    assert csv_run.exit_code == 0, csv_run.output
    lines = csv_run.stdout.strip().splitlines()
    assert lines[0] == ("scope,id,period,start,end,factors_version,incomplete,energy_tce [tce]")
    flags = {line.split(",")[1]: line.split(",")[6] for line in lines[1:]}
    assert flags == {"coop-enclave": "False", "new-materials": "False", "petrochem": "True"}
    assert table_run.exit_code == 0, table_run.output
    assert "tCO2/tce" in table_run.stdout
    petro = next(line for line in table_run.stdout.splitlines() if "petrochem" in line)
    assert petro.rstrip(" │").endswith("!")
