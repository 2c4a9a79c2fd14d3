"""``smartpark kpi --format xlsx``: the same rows and values as ``--format json``, read
back with openpyxl, headers with units in either language, scope and source named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from smartpark.analytics.kpis.catalogue import KPIS
from smartpark.cli import app
from smartpark.core import logs
from smartpark.core import registry as registry_mod
from smartpark.core.urls import parse_store_url
from smartpark.store.base import ReadingColumns
from smartpark.store.open import open_store
from tests.workbooks import same, tables

from .parks import DAY_MS, day_ms

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.toml"
START = day_ms(2026, 11, 1)  # pinned: two simulated days, never the wall clock


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    from smartpark.gateway.drivers.simulator import sim_meters, simulate

    reg = registry_mod.load(EXAMPLE)
    url = f"sqlite:///{tmp_path_factory.mktemp('kpi-xlsx') / 'store.db'}"
    batch = simulate(sim_meters(reg, reg.meter_ids, seed=5), START, START + 2 * DAY_MS)
    store = open_store(parse_store_url(url), reg)
    try:
        meter = np.array([reg.meter_code[m] for m in batch.meter.tolist()], np.int32)
        store.write(ReadingColumns(meter, batch.ts, batch.value))
    finally:
        store.close()
    return url


def kpi(store_url: str, *args: str) -> str:
    base = ["kpi", "--from", "2026-11-01", "--to", "2026-11-03", "--registry", str(EXAMPLE)]
    result = CliRunner().invoke(app, [*base, "--store", store_url, *args])
    logs.configure()  # the command logged to CliRunner's stderr, closed now
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_workbook_holds_the_json_rows_with_units_and_dates(
    store_url: str, tmp_path: Path
) -> None:
    args = ("--scope", "enterprise", "--park", "petrochem")
    printed = json.loads(kpi(store_url, *args, "--format", "json"))
    kpi(store_url, *args, "--format", "xlsx", "--out", str(tmp_path / "k.xlsx"), "--lang", "en")
    (sheet,) = tables(tmp_path / "k.xlsx").values()
    assert sheet.freeze == "A6"  # three lines, an empty row, the header
    assert (
        sheet.lines[1] == "Scope: enterprise (park petrochem) · Period: day · Source: raw readings"
    )
    assert sheet.lines[2].startswith("Time zone: Asia/Shanghai (dates and times are local)")
    units = printed["units"]
    # the JSON's keys, headed for people: meta heads in words, KPIs by their labels
    assert sheet.header[:7] == [
        "Scope", "ID", "Period", "Start", "End", "Factors version", "Incomplete",
    ]  # fmt: skip
    assert sheet.header[7:] == [f"{KPIS[k].en} [{units[k]}]" for k in KPIS]
    assert sheet.header[8] == "PV generation [kWh]"
    keys = [*printed["rows"][0]]
    assert keys[7:] == list(KPIS)
    rows = [dict(zip(keys, r, strict=True)) for r in sheet.rows]
    assert len(rows) == len(printed["rows"]) == 8  # 4 enterprises x 2 days
    for got, want in zip(rows, printed["rows"], strict=True):
        for key, value in want.items():
            cell = got[key]
            if key in ("start", "end"):
                assert cell == dt.datetime.fromisoformat(value).replace(tzinfo=None), key
            else:
                assert same(cell, value), key  # a float a number, to 16 digits
    energy = [(c.value, c.number_format) for c in sheet.sheet["K"][5:]]  # energy_tce
    assert {f for v, f in energy if v >= 10} == {"#,##0.0"}  # 113.1 tce
    assert {f for v, f in energy if 1 <= v < 10} <= {"#,##0.00"}


def test_chinese_headers_name_each_kpi_and_unit(store_url: str, tmp_path: Path) -> None:
    out = tmp_path / "zh.xlsx"
    kpi(store_url, "--kpi", "energy_tce", "--kpi", "carbon_per_energy", "--format", "xlsx",
        "--out", str(out), "--lang", "zh")  # fmt: skip
    (sheet,) = tables(out).values()
    assert sheet.name == "指标"
    assert sheet.header == [
        "范围", "编号", "周期", "开始", "结束", "排放因子版本", "数据不完整",
        "综合能源消费量 [tce]", "单位能耗碳排放 [tCO2/tce]",
    ]  # fmt: skip
    assert sheet.lines[1] == "范围：园区（全部） · 周期：日 · 数据来源：原始读数"
    assert {r["编号"] for r in sheet.records()} == set(registry_mod.load(EXAMPLE).park_ids)


def test_xlsx_without_out_is_refused_naming_out_before_any_work(tmp_path: Path) -> None:
    base = ["kpi", "--from", "2026-11-01", "--to", "2026-11-03", "--registry", str(EXAMPLE)]
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    result = CliRunner().invoke(app, [*base, "--store", missing, "--format", "xlsx"])
    assert result.exit_code == 2
    assert "--out" in result.output
    assert "FILE.xlsx" in result.output
    assert not (tmp_path / "none.db").exists()  # refused before the store was opened
    table = CliRunner().invoke(app, [*base, "--store", missing, "--out", str(tmp_path / "t")])
    assert table.exit_code == 2
    assert "--out writes csv, json or xlsx" in table.output


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_out_that_cannot_be_written_is_a_clear_error(
    store_url: str, tmp_path: Path, fmt: str
) -> None:
    (tmp_path / "report").write_text("a file, not a folder")
    out = tmp_path / "report" / f"k.{fmt}"
    base = ["kpi", "--from", "2026-11-01", "--to", "2026-11-03", "--registry", str(EXAMPLE)]
    args = ["--store", store_url, "--format", fmt, "--out", str(out), "--kpi", "energy_tce"]
    result = CliRunner().invoke(app, [*base, *args])
    logs.configure()
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{out}: cannot write the file: " in " ".join(result.stderr.split())


def test_out_dash_sends_the_workbook_to_standard_output(store_url: str) -> None:
    data = kpi(store_url, "--format", "xlsx", "--out", "-", "--kpi", "energy_tce")
    assert data.encode("latin-1", "ignore")[:2] == b"PK"  # a zip: the .xlsx itself
