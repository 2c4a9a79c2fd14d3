"""The monthly report as .xlsx (analytics/report/xlsx.py): a sheet per section, read back
with openpyxl, its numbers the report's own; ``job.run(..., "xlsx")`` and the CLI."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.kpis.catalogue import KPIS
from smartpark.analytics.report import job, monthly, xlsx
from smartpark.analytics.report.labels import LABELS
from smartpark.cli import app
from smartpark.core import logs
from smartpark.core import registry as registry_mod
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import ReadingColumns, Store
from smartpark.store.open import open_store
from tests.workbooks import same, tables

EXAMPLE = Path(registry_mod.__file__.replace("core/registry.py", "examples/registry.toml"))
DAY_MS = 86_400_000
SECTIONS = [
    "Missing data",
    "Key indicators",
    "Parks",
    "Energy",
    "Time of use",
    "Carbon",
    "Water",
    # the example zone's products (issue 24); the smelter's output is entered per month,
    # so the two simulated days have none: "Output missing"
    "Unit-product energy",
    "Output per level",
    "Above the limit",
    "Output missing",
    "Dual-control targets",  # the example zone names its targets (issue 25)
    "Pollutants",
    "Data quality",
    "Alerts",
    "Daily",
]


def _simulate(store: Store, reg: Registry, start: int, days: int, seed: int) -> None:
    from smartpark.gateway.drivers.simulator import sim_meters, simulate

    batch = simulate(sim_meters(reg, reg.meter_ids, seed=seed), start, start + days * DAY_MS)
    meter = np.array([reg.meter_code[m] for m in batch.meter.tolist()], np.int32)
    store.write(ReadingColumns(meter, batch.ts, batch.value))


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two simulated days of 2026-11, and 2025-11 with its month rows (last year)."""
    reg = registry_mod.load(EXAMPLE)
    url = f"sqlite:///{tmp_path_factory.mktemp('report-xlsx') / 'store.db'}"
    start, _ = monthly.month_bounds("2026-11", "Asia/Shanghai")
    last, last_end = monthly.month_bounds("2025-11", "Asia/Shanghai")
    store = open_store(parse_store_url(url), reg)
    try:
        _simulate(store, reg, start, 2, seed=5)
        _simulate(store, reg, last, 3, seed=9)
        kpi_job(store, reg, last, last_end, ("month",), write=True)
    finally:
        store.close()
    return url


def build(url: str, request: monthly.Request) -> monthly.Monthly:
    reg = registry_mod.load(EXAMPLE)
    store = open_store(parse_store_url(url), reg)
    try:
        _, end = monthly.month_bounds(request.month, "Asia/Shanghai")
        return monthly.build(store, reg, monthly.Request(**{**request.__dict__, "now_ms": end}))
    finally:
        store.close()


def test_a_sheet_per_section_and_the_key_indicators_are_the_reports_values(store_url: str) -> None:
    report = build(store_url, monthly.Request("2026-11", lang="en"))
    books = tables(xlsx.workbook(report))  # fails on any formula cell
    assert list(books) == SECTIONS
    for sheet in books.values():  # every sheet names the report, its scope, source, zone
        assert sheet.lines[0] == "Lanzhou New Area (兰州新区) · Monthly report 2026-11"
        assert sheet.lines[1] == (
            "Scope: zone lanzhou-new-area · Month: 2026-11 · KPIs computed from the "
            "readings (no month rows in the store)"
        )
        assert sheet.lines[2] == "Time zone: Asia/Shanghai (dates and times are local)"
        assert sheet.freeze == f"A{len(sheet.lines) + 3}"
    assert [r["Note"] for r in books["Missing data"].records()] == report.missing

    head = books["Key indicators"]
    assert head.header == [
        "Indicator", "Value", "Unit", "Same month last year", "Change %",
        "Zero-carbon line", "Meets",
    ]  # fmt: skip
    # the indicators are headed with their English labels, not their machine names
    by_label = {r["Indicator"]: r for r in head.records()}
    assert list(by_label) == [KPIS[k].en for k in monthly.HEADLINE]
    assert list(by_label)[:2] == ["Energy consumption", "Net purchased electricity"]
    rows = {k: by_label[KPIS[k].en] for k in monthly.HEADLINE}
    for k in monthly.HEADLINE:
        assert same(rows[k]["Value"], report.values[k]), k
        assert rows[k]["Unit"] == KPIS[k].unit
        assert same(rows[k]["Same month last year"], report.last_year[k]), k
    change = (report.values["energy_tce"] / report.last_year["energy_tce"] - 1) * 100
    assert rows["energy_tce"]["Change %"] == pytest.approx(change, rel=1e-12)
    assert rows["carbon_per_energy"]["Zero-carbon line"] == f"≤ {report.line:.2f}"
    assert rows["carbon_per_energy"]["Meets"] == "no"
    assert head.sheet["B7"].number_format == "#,##0"  # energy_tce, over 1 000 tce

    parks = {r["park"]: r for r in books["Parks"].records()}
    assert len(parks) == len(report.parks) == 3
    fine = parks["Fine Chemicals Park (精细化工园区)"]
    assert same(fine["Energy consumption [tce]"], report.parks["petrochem"]["energy_tce"])
    energy = {r["Indicator"]: r["Value"] for r in books["Energy"].records()}
    assert same(energy["Net purchased electricity"], report.values["electricity_kwh"])
    carbon = books["Carbon"]
    assert carbon.lines[4] == monthly.carbon_text(report)
    split = {KPIS[t.kpi].en: t for t in monthly.tou(report) or []}
    tou = {r["Indicator"]: r for r in books["Time of use"].records()}
    assert set(tou) == set(split)
    assert report.values["electricity_kwh_sharp"] == 0.0  # no sharp hours in November
    sharp, peak = "Electricity, sharp-peak hours", "Electricity, peak hours"
    assert tou[sharp]["Value"] == 0  # a metered zero stays a number
    assert same(tou[peak]["Share of import %"], split[peak].share)
    stacks = books["Pollutants"].records()
    assert len(stacks) == len(report.stacks) == 3
    assert same(stacks[0]["SO2 emissions [kg]"], report.stacks[0].values["so2_kg"])
    quality = books["Data quality"].records()
    assert len(quality) == len(report.enterprises)
    assert books["Alerts"].rows == []
    assert books["Alerts"].lines[4] == "No alert fired this month."
    daily = books["Daily"].records()
    assert [r["Day"] for r in daily][:2] == [dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 2)]
    assert len(daily) == len(report.day_starts)
    for i, r in enumerate(daily):
        want = report.days["energy_tce"][i]
        got = r["Energy consumption [tce]"]
        assert got is None if math.isnan(want) else same(got, want)


def test_a_month_without_readings_says_no_data_in_words_not_zeros(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    report = build(url, monthly.Request("2026-11", scope="park", id="petrochem", lang="zh"))
    books = tables(xlsx.workbook(report))
    assert list(books)[:2] == ["数据缺失", "主要指标"]
    assert books["数据缺失"].records()[0]["说明"].startswith("本月无任何读数")
    values = books["主要指标"].column("数值")
    assert values == ["无数据"] * len(monthly.HEADLINE)
    assert "各园区" not in books  # a park report has no parks table
    assert set(books["分时电量"].column("数值")) == {"无数据"}


def test_a_hostile_enterprise_name_is_text_with_a_quote(tmp_path: Path) -> None:
    hostile = '=HYPERLINK("http://x")'
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'name = "Chem A Co."', f"name = '{hostile}'", 1
    )
    folder = shutil.copytree(EXAMPLE.parent, tmp_path / "examples")
    (folder / "registry.toml").write_text(text, encoding="utf-8")
    reg = registry_mod.load(folder / "registry.toml")
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 's.db'}"), reg)
    try:
        start, end = monthly.month_bounds("2026-11", "Asia/Shanghai")
        _simulate(store, reg, start, 1, seed=5)
        report = monthly.build(store, reg, monthly.Request("2026-11", lang="en", now_ms=end))
    finally:
        store.close()
    books = tables(xlsx.workbook(report))  # fails on any formula cell
    names = books["Data quality"].column("Enterprise")
    assert f"'{hostile} (化工甲有限公司)" in names
    stacks = books["Pollutants"].column("Enterprise")
    assert f"'{hostile} (化工甲有限公司)" in stacks


def test_job_run_writes_the_workbook_where_asked_or_under_its_default_name(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = monthly.Request("2026-11", scope="park", id="petrochem", lang="zh")
    out = tmp_path / "reports" / "petrochem.xlsx"
    written = job.run(EXAMPLE, parse_store_url(store_url), request, "xlsx", out)
    assert written.path == out
    books = tables(out)
    assert "主要指标" in books
    assert books["主要指标"].lines[1].startswith("范围: 园区 petrochem · 月份: 2026-11")
    assert written.missing  # the alert state file and land use are missing: said
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app,
        ["report", "--month", "2026-11", "--format", "xlsx", "--lang", "en",
         "--registry", str(EXAMPLE), "--store", store_url],
    )  # fmt: skip
    logs.configure()
    assert result.exit_code == 0, result.output
    default = tmp_path / "monthly-report-zone-lanzhou-new-area-2026-11.xlsx"
    assert f"report: {default}" in result.stdout
    assert "Key indicators" in tables(default)


def test_both_languages_name_every_sheet_within_excels_31_characters() -> None:
    assert set(LABELS["en"]) == set(LABELS["zh"])
    for words in LABELS.values():
        for key, text in words.items():
            if key.startswith("sheet_"):
                assert 0 < len(text) <= 31, (key, text)
