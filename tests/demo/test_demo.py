"""The demo end to end: real broker, gateways, ingest, SQLite store and analytics."""

import csv
import datetime as dt
import json
import math
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from smartpark.analytics import periods
from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.kpis.compute import SCOPES, compute_kpis
from smartpark.analytics.kpis.table import KpiTable
from smartpark.analytics.readings.readers import read_range
from smartpark.analytics.render import to_json
from smartpark.cli import app
from smartpark.core import logs
from smartpark.core import registry as registry_mod
from smartpark.core.errors import OptionError
from smartpark.core.urls import parse_store_url
from smartpark.demo.app import default_registry
from smartpark.store.open import open_store

START = "2026-11-19"  # pinned: the demo's days never follow the wall clock in a test


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = subprocess.run(
        [sys.executable, "-m", "smartpark", "demo", "--start", START, "--days", "1",
         "--speed", "40000", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return out, result


def test_demo_exits_0_and_loses_nothing(demo_run):
    out, result = demo_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = json.loads((out / "run.json").read_text())
    counts = run["counts"]
    assert not run["interrupted"]
    assert counts["published"] > 50_000
    assert counts["published"] == counts["simulated"]  # every simulated reading published
    assert counts["published"] == counts["stored"] == run["in_store"]
    assert counts["rejected"] == 0
    assert counts["outbox"] == 0
    assert "nothing lost" in result.stdout


def test_demo_kpis_equal_the_analytics_on_the_same_store(demo_run):
    out, _ = demo_run
    run = json.loads((out / "run.json").read_text())
    reg = registry_mod.load(default_registry())
    store = open_store(parse_store_url(f"sqlite:///{out / 'store.db'}"), reg)
    try:
        readings = read_range(store, reg, run["start_ms"], run["end_ms"])
    finally:
        store.close()
    span = (run["start_ms"], run["end_ms"])
    table = compute_kpis(reg, readings, *span, ("hour", "day"), scopes=SCOPES)
    # Products take the output entered from the demo's sheet, read from the store.
    store = open_store(parse_store_url(f"sqlite:///{out / 'store.db'}"), reg)
    try:
        raw = kpi_job(store, reg, *span, ("hour", "day"), write=False, use_rollups=False)
    finally:
        store.close()
    products = KpiTable(tuple(b for b in raw.table.blocks if b.scope == "product"))
    assert products.blocks
    expected = {
        (r["scope"], r["id"], r["period"], r["start"]): r
        for tab in (table, products)
        for r in json.loads(to_json(tab))["rows"]
    }
    shown = json.loads((out / "kpis.json").read_text())["rows"]
    assert len(shown) == len(expected) > 0
    compared = 0
    for row in shown:
        want = expected[(row["scope"], row["id"], row["period"], row["start"])]
        for kpi, value in row.items():
            if isinstance(value, float) and isinstance(want[kpi], float):
                assert math.isclose(value, want[kpi], rel_tol=1e-12, abs_tol=1e-12), kpi
                compared += 1
            else:
                assert value == want[kpi], kpi
    assert compared > 1000


def test_demo_year_from_the_day_level_equals_the_raw_computation(demo_run):
    """`smartpark kpi --period year` on the demo's store reads the day rows the demo built
    (and the 15-minute level for the rest of the year) and equals the raw readings."""
    out, _ = demo_run
    reg = registry_mod.load(default_registry())
    url = f"sqlite:///{out / 'store.db'}"
    args = ["kpi", "--period", "year", "--scope", "zone", "--from", "2026-01-01", "--to",
            "2027-01-01", "--format", "json", "--registry", str(default_registry()),
            "--store", url]  # fmt: skip
    result = CliRunner().invoke(app, args)
    logs.configure()  # the command logged to CliRunner's stderr, closed now
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout[result.stdout.index("{") :])
    assert "days" in printed["source"]["levels"]
    assert printed["source"]["day_windows"] >= 96
    tz = reg.zones[reg.zone_ids[0]].timezone
    a = periods.local_midnight_ms(dt.date(2026, 1, 1), tz)
    b = periods.local_midnight_ms(dt.date(2027, 1, 1), tz)
    store = open_store(parse_store_url(url), reg)
    try:
        readings = read_range(store, reg, a, b)
    finally:
        store.close()
    table = compute_kpis(reg, readings, a, b, ("year",), scopes=("zone",))
    (want,) = json.loads(to_json(table))["rows"]
    (got,) = printed["rows"]
    compared = 0
    for kpi, value in want.items():
        if isinstance(value, float):
            assert math.isclose(got[kpi], value, rel_tol=1e-9, abs_tol=1e-9), kpi
            compared += 1
        else:
            assert got[kpi] == value, kpi
    assert compared > 30
    assert got["energy_tce"] > 0


def test_demo_faults_are_visible(demo_run):
    out, result = demo_run
    run = json.loads((out / "run.json").read_text())
    rows = json.loads((out / "kpis.json").read_text())["rows"]
    faults = run["faults"]
    reg = registry_mod.load(default_registry())
    ent = reg.meters[faults["reset_meter"]].enterprise
    park = reg.park_of_meter(faults["exceed_meter"])
    resets = sum(
        r["resets"] or 0
        for r in rows
        if r["scope"] == "enterprise" and r["id"] == ent and r["period"] == "hour"
    )
    exceed = sum(
        r["nox_exceed_h"] or 0
        for r in rows
        if r["scope"] == "park" and r["id"] == park and r["period"] == "hour"
    )
    assert resets >= 1
    assert exceed >= 2
    assert f"gateway {faults['offline_gateway']} offline" in result.stdout


def test_demo_report_names_the_parks_and_their_numbers(demo_run):
    out, _ = demo_run
    html = (out / "report.html").read_text()
    rows = json.loads((out / "kpis.json").read_text())["rows"]
    reg = registry_mod.load(default_registry())
    for park in reg.parks.values():
        assert park.name in html
    day = [r for r in rows if r["scope"] == "park" and r["period"] == "day"]
    assert day
    for r in day:
        tce = r["energy_tce"]
        assert (f"{tce:,.1f}" if abs(tce) >= 100 else f"{tce:.3g}") in html
    assert html.count("<svg") >= 3 * len(reg.parks)


def test_demo_report_shows_cost_priced_with_the_example_tariffs(demo_run):
    out, _ = demo_run
    html = (out / "report.html").read_text()
    rows = json.loads((out / "kpis.json").read_text())["rows"]
    day = [r for r in rows if r["scope"] == "park" and r["period"] == "day"]
    assert day
    assert "Electricity by time-of-use period" in html
    for r in day:
        cost = r["energy_cost_cny"]
        assert cost > 0
        assert (f"{cost:,.1f}" if abs(cost) >= 100 else f"{cost:.3g}") in html
        assert 0 < r["peak_share"] < 100


def test_ctrl_c_stops_cleanly_and_leaves_a_consistent_store(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.Popen(
        [sys.executable, "-m", "smartpark", "demo", "--start", START, "--days", "2",
         "--speed", "2000", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not list((out / "outbox").glob("*.db")) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # some simulated hours published
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, stdout[-2000:] + stderr[-2000:]
    run = json.loads((out / "run.json").read_text())
    assert run["interrupted"]
    assert run["start_ms"] < run["reached_ms"] < run["end_ms"]
    counts = run["counts"]
    assert counts["published"] > 0
    assert counts["published"] == counts["stored"] == run["in_store"]
    # Whatever was simulated and not published is still on disk in the outboxes.
    assert counts["simulated"] == counts["published"] + counts["outbox"]
    db = sqlite3.connect(out / "store.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        db.close()


def _pdf_text(pdf, tmp_path):
    """The PDF's text (pdftotext) after rendering its first page to PNG (pdftoppm)."""
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True, timeout=120,
    )  # fmt: skip
    pages = list(tmp_path.glob("page*.png"))
    assert len(pages) == 1
    assert pages[0].stat().st_size > 10_000
    done = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    )
    return done.stdout


def test_demo_writes_the_monthly_report_in_html_and_pdf(demo_run, tmp_path):
    from smartpark.analytics.kpis.catalogue import KPIS
    from smartpark.analytics.report.monthly import _num

    out, _ = demo_run
    html = (out / "monthly-report.html").read_text()
    text = _pdf_text(out / "monthly-report.pdf", tmp_path)
    reg = registry_mod.load(default_registry())
    zone = reg.zones["lanzhou-new-area"]
    assert zone.lang == "zh"
    first_page = text.split("\f")[0]
    # Names in both languages, the official Chinese KPI terms, the missing data first.
    for words in (zone.name_zh, zone.name, reg.parks["petrochem"].name_zh, "Chem A Co."):
        assert words in text
        assert words in html
    for term in ("综合能源消费量", "单位能耗碳排放", "工业用水重复利用率", "数据缺失"):
        assert term in text
    assert "数据缺失" in first_page
    assert "天有数据" in first_page
    # The month's values are the store's kpi rows of the zone.
    db = sqlite3.connect(out / "store.db")
    try:
        rows = dict(
            db.execute(
                "SELECT kpi, value FROM kpi WHERE scope = 'zone' AND period = 'month' "
                "AND id = 'lanzhou-new-area'"
            ).fetchall()
        )
    finally:
        db.close()
    assert rows["energy_tce"] > 0
    for kpi in ("energy_tce", "co2_total_t", "carbon_per_energy", "electricity_kwh_valley"):
        line = next(t for t in text.splitlines() if t.strip().startswith(KPIS[kpi].zh))
        assert _num(rows[kpi]) in line, (kpi, line)


def _store_rows(db_path):
    db = sqlite3.connect(db_path)
    try:
        readings = db.execute("SELECT meter, ts, value FROM reading_rows ORDER BY meter, ts")
        kpis = db.execute("SELECT * FROM kpi ORDER BY scope, id, period, kpi, start_ms")
        return readings.fetchall(), kpis.fetchall()
    finally:
        db.close()


def test_the_same_start_days_and_seed_give_the_same_store(tmp_path):
    runs = []
    for name in ("a", "b"):
        done = subprocess.run(
            [sys.executable, "-m", "smartpark", "demo", "--start", "2026-03-01", "--days", "0.25",
             "--speed", "40000", "--out", str(tmp_path / name)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        runs.append(_store_rows(tmp_path / name / "store.db"))
    (readings, kpis), (readings_b, kpis_b) = runs
    assert len(readings) > 10_000
    assert readings == readings_b  # value for value
    assert kpis
    assert kpis == kpis_b
    # Local midnight of 2026-03-01 in the zone (UTC+8) to six hours later; the gas meter
    # read by hand is read at both ends (demo/handread.py).
    start, end = 1_772_294_400_000, 1_772_294_400_000 + 6 * 3_600_000
    by_gateway = [r for r in readings if r[0] != "chem-c-gas"]
    assert min(r[1] for r in by_gateway) >= start
    assert max(r[1] for r in by_gateway) < end
    assert [r[1] for r in readings if r[0] == "chem-c-gas"] == [start, end]
    other_seed = subprocess.run(
        [sys.executable, "-m", "smartpark", "demo", "--start", "2026-03-01", "--days", "0.25",
         "--speed", "40000", "--seed", "7", "--out", str(tmp_path / "c")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert other_seed.returncode == 0
    assert _store_rows(tmp_path / "c" / "store.db")[0] != readings


def test_a_start_in_the_future_is_refused_naming_the_option(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "smartpark", "demo", "--start", "2999-01-01",
         "--out", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "--start" in done.stderr + done.stdout
    assert not (tmp_path / "d" / "store.db").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "smartpark", "demo", "--start", "2026-02-30", "--out",
         str(tmp_path / "e")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "--start" in bad.stderr


def test_simulated_range_starts_at_local_midnight_and_defaults_to_the_last_days():
    from smartpark.demo.runner import simulated_range

    reg = registry_mod.load(default_registry())
    start, end = simulated_range(reg, 1.0, dt.date(2026, 3, 1), now_ms=1_800_000_000_000)
    assert (start, end) == (1_772_294_400_000, 1_772_294_400_000 + 86_400_000)
    # No --start: the days before the last local midnight of "now" (2026-03-02T10:00+08:00).
    now = 1_772_294_400_000 + 86_400_000 + 10 * 3_600_000
    assert simulated_range(reg, 2.0, None, now_ms=now) == (
        1_772_294_400_000 - 86_400_000,
        1_772_294_400_000 + 86_400_000,
    )
    with pytest.raises(OptionError, match="--start"):
        simulated_range(reg, 2.0, dt.date(2026, 3, 1), now_ms=1_772_294_400_000)


def test_the_demo_imports_its_hand_read_meters_sheet(demo_run):
    import openpyxl

    out, _ = demo_run
    run = json.loads((out / "run.json").read_text())
    assert run["hand_read"] == {
        "file": "hand-read.xlsx",
        "meters": ["chem-c-gas"],
        "rows": 2,
        "stored": 2,
        "rejected": 0,
    }
    sheet = openpyxl.load_workbook(out / "hand-read.xlsx").worksheets[0]
    rows = [r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]]
    assert [(r[0], r[3]) for r in rows] == [("chem-c-gas", "m3")] * 2
    reg = registry_mod.load(default_registry())
    store = open_store(parse_store_url(f"sqlite:///{out / 'store.db'}"), reg)
    try:
        stored = store.read(run["start_ms"], run["end_ms"] + 1)
    finally:
        store.close()
    gas = stored.meter == reg.meter_code["chem-c-gas"]
    # The sheet's local times (Asia/Shanghai) are the run's first and last instant.
    assert stored.ts[gas].tolist() == [run["start_ms"], run["end_ms"]]
    assert stored.value[gas].tolist() == [r[2] for r in rows]
    assert rows[1][2] > rows[0][2]


def _day_use(db, meter, multiplier=1.0):
    """A counter's use over the run's day: its last reading minus its first (the KPIs'
    day, the run's readings all inside it), times the meter's multiplier."""
    values = [v for (v,) in db.execute(
        "SELECT value FROM reading_rows WHERE meter = ? ORDER BY ts", (meter,)
    )]  # fmt: skip
    assert len(values) == 1440  # every minute of the day
    return (values[-1] - values[0]) * multiplier


def _level(value, levels):
    """1, 2, 3: the first level whose value it does not exceed; 4 above the limit."""
    return next((k for k, bound in enumerate(levels, start=1) if value <= bound), 4)


def test_the_demo_grades_the_cement_line_and_the_smelter(demo_run):
    """Clinker output metered by cement-a's scale, aluminium output entered from the
    demo's sheet: the day's product KPIs in the store, checked by hand."""
    out, result = demo_run
    run = json.loads((out / "run.json").read_text())
    assert run["output_sheet"] == {
        "file": "output.csv",
        "products": ["alu-a-liquid"],
        "rows": 1,
        "stored": 1,
        "rejected": 0,
    }
    with (out / "output.csv").open(newline="") as f:
        (sheet,) = list(csv.DictReader(f))
    assert (sheet["product"], sheet["period"], sheet["unit"]) == ("alu-a-liquid", START, "t")
    db = sqlite3.connect(out / "store.db")
    try:
        rows = {}
        for ident, kpi, start, value in db.execute(
            "SELECT id, kpi, start_ms, value FROM kpi WHERE scope = 'product' AND period = 'day'"
        ):
            assert start == run["start_ms"]
            rows.setdefault(ident, {})[kpi] = value
        clinker_t = _day_use(db, "cement-a-clinker")
        cement_kwh = _day_use(db, "cement-a-main")
        coal_t = _day_use(db, "cement-a-coal")
        alu_kwh = _day_use(db, "alu-a-main", 40.0) + _day_use(db, "alu-a-green")  # CT 200/5
    finally:
        db.close()
    assert set(rows) == {"alu-a-liquid", "cement-a-clinker"}

    # Clinker, GB 16780-2021: kgce/t, GB/T 2589 coefficients 0.1229 kgce/kWh, 0.7143 tce/t
    # of coal; level 3 (117) corrected for 2,100 m: P = 78,513 Pa (standard atmosphere),
    # K = 1.179 - 0.211 x 78,513 / 101,325 = 1.01550.
    c = rows["cement-a-clinker"]
    tce = cement_kwh * 0.0001229 + coal_t * 0.7143
    assert c["product_output"] == pytest.approx(clinker_t, rel=1e-9)
    assert c["product_energy_tce"] == pytest.approx(tce, rel=1e-9)
    assert c["unit_energy_kgce"] == pytest.approx(1000 * tce / clinker_t, rel=1e-9)
    assert c["benchmark_value"] == c["unit_energy_kgce"]
    assert c["limit_value"] == pytest.approx(117 * 1.015504, rel=1e-6)
    clinker_levels = (100.0, 107.0, c["limit_value"])
    assert c["benchmark_level"] == _level(c["benchmark_value"], clinker_levels)

    # Liquid aluminium, GB 21346-2022: kWh/t of the entered output (the sheet's row),
    # levels 12,950 / 13,000 / 13,350, no correction. The sheet puts the smelter at level 3.
    a = rows["alu-a-liquid"]
    output = float(sheet["output"])
    assert a["product_output"] == output
    assert a["product_electricity_kwh"] == pytest.approx(alu_kwh, rel=1e-9)
    assert a["unit_electricity_kwh"] == pytest.approx(alu_kwh / output, rel=1e-9)
    assert a["benchmark_value"] == a["unit_electricity_kwh"]
    assert a["unit_energy_kgce"] == pytest.approx(1000 * a["product_energy_tce"] / output)
    assert a["product_energy_tce"] == pytest.approx(alu_kwh * 0.0001229, rel=1e-9)
    assert a["limit_value"] == 13_350
    assert 13_000 < a["benchmark_value"] <= 13_350
    assert a["benchmark_level"] == _level(a["benchmark_value"], (12_950, 13_000, 13_350)) == 3
    assert a["gap_to_next_level"] == pytest.approx(a["benchmark_value"] - 13_000)

    # The summary prints each product with its value and level.
    for ident, row, unit in (("cement-a-clinker", c, "kgce/t"), ("alu-a-liquid", a, "kWh/t")):
        line = next(s for s in result.stdout.splitlines() if f" {ident} " in s)
        assert f"{row['benchmark_value']:,.1f} {unit}" in line
        level = (
            "above the limit" if row["benchmark_level"] == 4 else f"{row['benchmark_level']:.0f}"
        )
        assert f" {level} " in line


def test_the_month_in_progress_gets_a_partial_report_and_no_month_row(tmp_path):
    from types import SimpleNamespace

    from smartpark.analytics.report import monthly
    from smartpark.demo.summary import write_monthly_report
    from smartpark.gateway.drivers.simulator import sim_meters, simulate
    from smartpark.store.base import ReadingColumns

    reg = registry_mod.load(default_registry())
    start, _ = monthly.month_bounds("2026-12", "Asia/Shanghai")
    batch = simulate(sim_meters(reg, reg.meter_ids, seed=3), start, start + 2 * 86_400_000)
    url = parse_store_url(f"sqlite:///{tmp_path / 'store.db'}")
    store = open_store(url, reg)
    try:
        codes = np.array([reg.meter_code[m] for m in batch.meter.tolist()], np.int32)
        store.write(ReadingColumns(codes, batch.ts, batch.value))
        now = start + 2 * 86_400_000 + 3_600_000  # 2026-12-03 01:00 local
        result = SimpleNamespace(start_ms=start)
        write_monthly_report(tmp_path, store, reg, default_registry(), url, result, now)
        assert not store.read_kpis(start, start + 31 * 86_400_000, "zone", "month")
    finally:
        store.close()
    page = (tmp_path / "monthly-report.html").read_text()
    assert "本月进行中（不完整）：截至目前为 12-01 至 12-02，共 31 天中的 2 天" in page
