"""``smartpark import value-added`` end to end, on the small registry of
tests/cli/test_import_output.py (enterprises cement-a and alu-a in park west,
Asia/Shanghai): CSV and .xlsx round trips into ``store.value_added`` (the months' edges
computed here with zoneinfo), 0 and a loss stored as given, a re-import that changes
nothing, a corrected sheet replacing its months, every kind of bad row refused with its
row, cell, column and reason and nothing of that sheet written, and the template filled
in and imported. SQLite, and one round trip through a real influxd. Pinned dates only."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from smartpark.analytics.valueadded_import import import_value_added
from smartpark.core import registry as registry_mod
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.open import open_store
from smartpark.store.outputs import OutputRow
from tests.cli.test_import_output import REGISTRY, csv_file, ms, smartpark, toml

ALL_TIME = (0, 2**62)


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "registry.toml"
    path.write_text(toml(REGISTRY), encoding="utf-8")
    return path


@pytest.fixture
def reg(registry: Path) -> Registry:
    return registry_mod.load(registry)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'park.db'}"


@pytest.fixture(params=["sqlite", "influxdb"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'park.db'}"
    request.applymarker(pytest.mark.servers)
    influxd = request.getfixturevalue("influxd")
    return str(influxd.store_url(request.getfixturevalue("influx_db")))


def imported(registry: Path, sheet: Path, url: str, *args: str) -> dict[str, Any]:
    done = smartpark(
        registry, "import", "value-added", str(sheet), "--format", "json", *args, store=url
    )
    report: dict[str, Any] = json.loads(done.stdout)
    assert done.returncode == report["exit_code"], done.stderr
    return report


def stored(url: str, reg: Registry) -> list[OutputRow]:
    opened = open_store(parse_store_url(url), reg)
    try:
        assert opened.outputs.read(*ALL_TIME) == []  # product output stays apart
        return opened.value_added.read(*ALL_TIME)
    finally:
        opened.close()


def month(enterprise: str, y: int, m: int, value: float) -> OutputRow:
    after = (y + 1, 1) if m == 12 else (y, m + 1)
    return OutputRow(enterprise, "month", ms(y, m), ms(*after), value)


def test_csv_round_trip_reimport_and_a_corrected_sheet(
    registry: Path, reg: Registry, store_url: str, tmp_path: Path
) -> None:
    sheet = csv_file(
        tmp_path / "va.csv",
        [
            "企业编号,统计期,工业增加值",
            "alu-a,2026-10,1250.5",
            "alu-a,2026年11月,0",
            "alu-a,2026/12,-320",  # a loss
            "cement-a,2026-11,800",
        ],
    )
    report = imported(registry, sheet, store_url)
    assert (report["kind"], report["rows"], report["stored"], report["replaced"]) == (
        "value_added", 4, 4, 0,
    )  # fmt: skip
    rows = [
        month("alu-a", 2026, 10, 1250.5),
        month("alu-a", 2026, 11, 0.0),
        month("alu-a", 2026, 12, -320.0),
        month("cement-a", 2026, 11, 800.0),
    ]
    assert stored(store_url, reg) == rows
    again = imported(registry, sheet, store_url)
    assert (again["stored"], again["replaced"], again["exit_code"]) == (4, 4, 0)
    assert stored(store_url, reg) == rows
    corrected = csv_file(
        tmp_path / "corrected.csv", ["enterprise,period,value added", "alu-a,2026-11,90"]
    )
    fixed = imported(registry, corrected, store_url)
    assert (fixed["stored"], fixed["replaced"]) == (1, 1)
    assert stored(store_url, reg) == [rows[0], month("alu-a", 2026, 11, 90.0), *rows[2:]]


def test_xlsx_round_trip_with_month_cells(
    registry: Path, reg: Registry, sqlite_url: str, tmp_path: Path
) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["2026年工业增加值"])  # a title line above the header
    ws.append(["企业代码", "月份", "增加值（万元）"])
    ws.append(["cement-a", dt.datetime(2026, 9, 1), 700])
    ws["B3"].number_format = 'yyyy"年"m"月"'
    ws.append(["cement-a", "2026年10月", 710.25])
    path = tmp_path / "va.xlsx"
    book.save(path)
    report = imported(registry, path, sqlite_url)
    assert report["errors"] == []
    assert report["columns"] == {"enterprise": "A", "period": "B", "value_added": "C"}
    assert stored(sqlite_url, reg) == [
        month("cement-a", 2026, 9, 700.0),
        month("cement-a", 2026, 10, 710.25),
    ]


def test_every_bad_row_is_named_and_nothing_of_the_sheet_is_written(
    registry: Path, reg: Registry, sqlite_url: str, tmp_path: Path
) -> None:
    sheet = csv_file(
        tmp_path / "bad.csv",
        [
            "enterprise,period,value_added",
            "alu-a,2026-06,100",  # 2: good
            "zinc-a,2026-07,5",  # 3: no such enterprise
            "cement-a,2026-07,5",  # 4: outside --scope enterprise:alu-a
            "alu-a,2026-13,5",  # 5: no such month
            "alu-a,2026-07-05,5",  # 6: a day
            "alu-a,2026-07,1e999",  # 7: infinite
            "alu-a,2026-07,lots",  # 8: not a number
            "alu-a,2026-06,90",  # 9: row 2's month again
            "alu-a,2999-01,5",  # 10: has not begun
            "alu-a,2026-09,5",  # 11: July and August missing before it
        ],
    )
    report = imported(registry, sheet, sqlite_url, "--scope", "enterprise:alu-a")
    found = [(e["row"], e["cell"], e["column"], e["reason"]) for e in report["errors"]]
    assert found == [
        (3, "A3", "enterprise", "unknown_enterprise"),
        (4, "A4", "enterprise", "out_of_scope"),
        (5, "B5", "period", "bad_period"),
        (6, "B6", "period", "bad_period"),
        (7, "C7", "value_added", "non_finite"),
        (8, "C8", "value_added", "not_a_number"),
        (9, "B9", "period", "duplicate"),
        (10, "B10", "period", "future"),
        (11, "B11", "period", "missing_month"),
    ]
    details = {e["row"]: e["detail"] for e in report["errors"]}
    assert "value added is entered per month (give 2026-07)" in details[6]
    assert "enterprise 'alu-a' has value added for 2026-06 in row 2 already" in details[9]
    assert "no value added for 2026-07 to 2026-08 (2 months)" in details[11]
    assert "smartpark import template value-added" in details[3]
    assert (report["stored"], report["rejected"], report["exit_code"]) == (0, 9, 1)
    assert stored(sqlite_url, reg) == []


def test_a_month_that_has_not_begun_with_a_pinned_clock(reg: Registry, tmp_path: Path) -> None:
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 'park.db'}"), reg)
    try:
        sheet = csv_file(
            tmp_path / "clock.csv",
            ["enterprise,period,value_added", "alu-a,2026-11,10", "alu-a,2026-12,10"],
        )
        now = ms(2026, 11, 15)
        report = import_value_added(sheet, reg, store.value_added, now_ms=now)
        assert [(e.row, e.reason) for e in report.errors] == [(3, "future")]
        assert store.value_added.read(*ALL_TIME) == []
    finally:
        store.close()


def test_the_template_filled_in_is_imported(
    registry: Path, reg: Registry, sqlite_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "template.xlsx"
    done = smartpark(registry, "import", "template", "value-added", "--out", str(out))
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == [
        "工业增加值 value added",
        "说明 instructions",
        "企业 enterprises",
        "lists",
    ]
    data = book["工业增加值 value added"]
    assert [c.value for c in data[1]] == [
        "企业编号 enterprise",
        "统计期 period",
        "工业增加值 value_added (万元)",
    ]
    assert [c.value for c in book["lists"]["A"]] == ["enterprises", "alu-a", "cement-a"]
    data.append(["alu-a", "2026-11", 1234.5])
    book.save(out)
    report = imported(registry, out, sqlite_url)
    assert (report["stored"], report["exit_code"]) == (1, 0)
    assert stored(sqlite_url, reg) == [month("alu-a", 2026, 11, 1234.5)]
