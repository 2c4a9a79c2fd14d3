"""``smartpark import output`` end to end, on a small registry of a cement line (clinker,
metered) and an aluminium smelter (liquid aluminium, entered) in Asia/Shanghai: CSV and
.xlsx round trips into the store (the periods' edges computed here with zoneinfo), a
re-import that changes nothing, a corrected sheet replacing its periods, every kind of
bad row refused with its row, cell and reason and nothing of that sheet written, a GBK
CSV, the JSON report, the template filled in and imported, and ``smartpark kpi`` showing
the imported output. SQLite, and one round trip through a real influxd. Pinned dates
(2026) only: the future is checked with a pinned clock and the year 2999."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from smartpark.analytics.products.output_import import import_output
from smartpark.core import registry as registry_mod
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import Store
from smartpark.store.open import open_store
from smartpark.store.outputs import OutputRow

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALL_TIME = (0, 2**62)

REGISTRY: dict[str, dict[str, dict[str, Any]]] = {
    "zone": {"gansu": {"name": "Zone", "timezone": "Asia/Shanghai"}},
    "park": {"west": {"zone": "gansu", "name": "West park"}},
    "enterprise": {
        "cement-a": {"park": "west", "name": "Cement A"},
        "alu-a": {"park": "west", "name": "Aluminium A"},
    },
    "gateway": {"gw-west": {"park": "west"}},
    "meter": {
        "cement-a-el": {
            "enterprise": "cement-a",
            "gateway": "gw-west",
            "quantity": "electricity_import",
        },
        "alu-a-el": {"enterprise": "alu-a", "gateway": "gw-west", "quantity": "electricity_import"},
    },
    "product": {
        "clinker": {
            "enterprise": "cement-a",
            "name": "Clinker",
            "name_zh": "熟料",
            "unit": "t",
            "standard": "GB 16780-2021",
            "category": "clinker",
            "inputs": {"altitude_m": 2100},
        },
        "aluminium": {
            "enterprise": "alu-a",
            "name": "Liquid aluminium",
            "name_zh": "铝液",
            "unit": "t",
            "standard": "GB 21346-2022",
            "category": "aluminium_liquid",
        },
    },
}


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value, ensure_ascii=False)  # strings and numbers read the same in TOML


def toml(doc: dict[str, dict[str, dict[str, Any]]]) -> str:
    lines = []
    for section, tables in doc.items():
        for ident, table in tables.items():
            lines.append(f"[{section}.{ident}]")
            lines += [f"{key} = {toml_value(value)}" for key, value in table.items()]
            lines.append("")
    return "\n".join(lines)


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


@pytest.fixture
def store(sqlite_url: str, reg: Registry) -> Iterator[Store]:
    opened = open_store(parse_store_url(sqlite_url), reg)
    yield opened
    opened.close()


def smartpark(
    registry: Path, *args: str, store: str | None = None
) -> subprocess.CompletedProcess[str]:
    extra = ["--registry", str(registry)] + (["--store", store] if store else [])
    return subprocess.run(
        [sys.executable, "-m", "smartpark", *args, *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


def imported(registry: Path, sheet: Path, url: str, *args: str) -> dict[str, Any]:
    done = smartpark(registry, "import", "output", str(sheet), "--format", "json", *args, store=url)
    report: dict[str, Any] = json.loads(done.stdout)
    assert done.returncode == report["exit_code"], done.stderr
    return report


def stored(url: str, reg: Registry) -> list[OutputRow]:
    opened = open_store(parse_store_url(url), reg)
    try:
        return opened.outputs.read(*ALL_TIME)
    finally:
        opened.close()


def ms(y: int, m: int, d: int = 1) -> int:
    """Epoch ms of local midnight in Shanghai (UTC+8, no daylight saving)."""
    return int(dt.datetime(y, m, d, tzinfo=SHANGHAI).timestamp() * 1000)


def month(product: str, y: int, m: int, value: float) -> OutputRow:
    after = (y + 1, 1) if m == 12 else (y, m + 1)
    return OutputRow(product, "month", ms(y, m), ms(*after), value)


def day(product: str, y: int, m: int, d: int, value: float) -> OutputRow:
    return OutputRow(product, "day", ms(y, m, d), ms(y, m, d) + 86_400_000, value)


def csv_file(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def test_month_edges_are_shanghai_midnights() -> None:
    # the known answer the tests compare with, by hand: 2026-11-01 00:00 +08:00
    assert ms(2026, 11) == 1_793_462_400_000
    assert month("x", 2026, 12, 1.0).end_ms - ms(2026, 12) == 31 * 86_400_000


def test_csv_round_trip_reimport_and_a_corrected_sheet(
    registry: Path, reg: Registry, store_url: str, tmp_path: Path
) -> None:
    sheet = csv_file(
        tmp_path / "output.csv",
        [
            "产品编号,统计期,产量,单位",
            "aluminium,2026-09,1000,t",
            "aluminium,2026年10月,1100.5,吨",
            "aluminium,2026/11,1200,",
            "clinker,2026-11-05,300,t",
            "clinker,2026/11/6,310,t",
        ],
    )
    report = imported(registry, sheet, store_url)
    assert (report["rows"], report["stored"], report["replaced"], report["rejected"]) == (
        5, 5, 0, 0,
    )  # fmt: skip
    rows = [
        month("aluminium", 2026, 9, 1000),
        month("aluminium", 2026, 10, 1100.5),
        month("aluminium", 2026, 11, 1200),
        day("clinker", 2026, 11, 5, 300),
        day("clinker", 2026, 11, 6, 310),
    ]
    assert stored(store_url, reg) == rows
    # the same sheet again: every row replaces itself, the store as it was
    again = imported(registry, sheet, store_url)
    assert (again["stored"], again["replaced"], again["exit_code"]) == (5, 5, 0)
    assert stored(store_url, reg) == rows
    # a corrected sheet: November's aluminium, and clinker's November as a month
    corrected = csv_file(
        tmp_path / "corrected.csv",
        ["product,period,output", "aluminium,2026-11,1250", "clinker,2026-11,9300"],
    )
    fixed = imported(registry, corrected, store_url)
    assert (fixed["stored"], fixed["replaced"]) == (2, 3)  # one month, two days replaced
    assert stored(store_url, reg) == [
        *rows[:2],
        month("aluminium", 2026, 11, 1250),
        month("clinker", 2026, 11, 9300),
    ]


def _builtin_format(path: Path, builtin: int, instead: int) -> None:
    """Rewrite the workbook's cell formats of built-in id ``builtin`` as ``instead``."""
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    styles = files["xl/styles.xml"]
    assert f'numFmtId="{builtin}"'.encode() in styles
    files["xl/styles.xml"] = styles.replace(
        f'numFmtId="{builtin}"'.encode(), f'numFmtId="{instead}"'.encode()
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)


def test_xlsx_round_trip_with_month_and_date_cells(
    registry: Path, reg: Registry, sqlite_url: str, tmp_path: Path
) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["2026年产品产量统计表"])  # a title line above the header
    ws.append(["产品 product", "月份 month", "产量（吨）", "单位", "备注 remark"])
    ws.append(["aluminium", dt.datetime(2026, 9, 1), 1000, "t", "a month cell"])
    ws["B3"].number_format = 'yyyy"年"m"月"'
    ws.append(["aluminium", dt.datetime(2026, 10, 1), 1100, "吨"])
    ws["B4"].number_format = "mmm-yy"  # saved as built-in 17, rewritten below as zh-CN 57
    ws.append(["aluminium", "2026-11", 1200.25, None])
    ws.append(["clinker", dt.datetime(2026, 11, 1), 300, "t"])
    ws["B6"].number_format = "yyyy-mm-dd"  # a day cell: the first of November only
    ws.append(["clinker", "2026年11月2日", "310", "T"])
    path = tmp_path / "output.xlsx"
    book.save(path)
    # Excel in Chinese keeps 2026年10月 as a number in its built-in format 57
    _builtin_format(path, 17, 57)
    report = imported(registry, path, sqlite_url)
    assert report["errors"] == []
    assert (report["header_row"], report["rows"], report["stored"]) == (2, 5, 5)
    assert report["columns"] == {"product": "A", "period": "B", "output": "C", "unit": "D"}
    assert report["ignored_columns"] == ["E '备注 remark'"]
    assert stored(sqlite_url, reg) == [
        month("aluminium", 2026, 9, 1000),
        month("aluminium", 2026, 10, 1100),
        month("aluminium", 2026, 11, 1200.25),
        day("clinker", 2026, 11, 1, 300),
        day("clinker", 2026, 11, 2, 310),
    ]


def test_every_bad_row_is_named_and_nothing_of_the_sheet_is_written(
    registry: Path, reg: Registry, sqlite_url: str, tmp_path: Path
) -> None:
    before = csv_file(tmp_path / "before.csv", ["product,period,output", "aluminium,2026-05,800"])
    assert imported(registry, before, sqlite_url)["exit_code"] == 0
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["产品编号 product", "统计期 period", "产量 output", "单位 unit"])
    for row in [
        ["aluminium", "2026-06", 1000, "t"],  # 2: good
        ["aluminium", "2026-07", None, "t"],  # 3: missing
        ["aluminium", "2026-07", "=C2*2", "t"],  # 4: a formula
        ["aluminium", "2026-07", "#DIV/0!", "t"],  # 5: an error cell
        ["aluminium", "2026-07", "lots", "t"],  # 6: not a number
        ["zinc", "2026-07", 5, "t"],  # 7: no such product
        ["clinker", "2026-07", 5, "t"],  # 8: outside --scope enterprise:alu-a
        ["aluminium", "2026-13", 5, "t"],  # 9: no such month
        ["aluminium", "2026-07", 5, "kWh"],  # 10: not the product's unit
        ["aluminium", "2026-07", 0, "t"],  # 11: zero
        ["aluminium", "2026-07", -3, "t"],  # 12: negative
        ["aluminium", "2026-07", "1e999", "t"],  # 13: infinite
        ["aluminium", "2026-06", 900, "t"],  # 14: row 2's month again
        ["aluminium", "2026-06-15", 10, "t"],  # 15: a day inside row 2's month
        ["aluminium", "2999-01", 5, "t"],  # 16: has not begun
        ["aluminium", "2026-09", 1000, "t"],  # 17: July and August missing before it
    ]:
        ws.append(row)
    sheet = tmp_path / "bad.xlsx"
    book.save(sheet)
    report = imported(registry, sheet, sqlite_url, "--scope", "enterprise:alu-a")
    found = [(e["row"], e["cell"], e["column"], e["value"], e["reason"]) for e in report["errors"]]
    assert found == [
        (3, "C3", "output", "", "missing"),
        (4, "C4", "output", "=C2*2", "formula"),
        (5, "C5", "output", "#DIV/0!", "error_cell"),
        (6, "C6", "output", "lots", "not_a_number"),
        (7, "A7", "product", "zinc", "unknown_product"),
        (8, "A8", "product", "clinker", "out_of_scope"),
        (9, "B9", "period", "2026-13", "bad_period"),
        (10, "D10", "unit", "kWh", "bad_unit"),
        (11, "C11", "output", "0", "non_positive"),
        (12, "C12", "output", "-3", "non_positive"),
        (13, "C13", "output", "1e999", "non_finite"),
        (14, "B14", "period", "2026-06", "duplicate"),
        (15, "B15", "period", "2026-06-15", "duplicate"),
        (16, "B16", "period", "2999-01", "future"),
        (17, "B17", "period", "2026-09", "missing_month"),
    ]
    details = {e["row"]: e["detail"] for e in report["errors"]}
    assert "2026-07 to 2026-08 (2 months) between 2026-06 (row 2) and 2026-09" in details[17]
    assert "for 2026-06 in row 2 already" in details[14]
    assert "for 2026-06 in row 2 already" in details[15]
    assert "give t or leave the cell empty" in details[10]
    assert (report["rows"], report["stored"], report["rejected"], report["exit_code"]) == (
        16, 0, 15, 1,
    )  # fmt: skip
    assert report["reasons"]["non_positive"] == 2
    assert "dead_lettered" not in report
    assert report["replaced"] == 0
    assert any(n.startswith("nothing stored: 15 row(s) rejected") for n in report["notes"])
    assert stored(sqlite_url, reg) == [month("aluminium", 2026, 5, 800)]  # as it was
    # the table says the same, by row
    done = smartpark(registry, "import", "output", str(sheet), store=sqlite_url)
    assert done.returncode == 1
    out = " ".join(done.stdout.split())
    assert "16 row(s) · stored 0 · rejected 14" in out
    assert "17 │ B17 │ period │ 2026-09 │ missing_month" in out
    assert "8 │ A8 │ product │ clinker" not in out  # no --scope: clinker may be written
    assert stored(sqlite_url, reg) == [month("aluminium", 2026, 5, 800)]


def test_a_single_bad_row_keeps_the_good_ones_out_too(
    registry: Path, reg: Registry, sqlite_url: str, tmp_path: Path
) -> None:
    sheet = csv_file(
        tmp_path / "one-bad.csv",
        ["product,period,output", "aluminium,2026-10,1000", "aluminium,2026-12,1000"],
    )
    report = imported(registry, sheet, sqlite_url)
    assert [(e["row"], e["reason"]) for e in report["errors"]] == [(3, "missing_month")]
    assert (
        "no output for 2026-11 between 2026-10 (row 2) and 2026-12" in report["errors"][0]["detail"]
    )
    assert (report["stored"], report["exit_code"]) == (0, 1)
    assert stored(sqlite_url, reg) == []


def test_periods_with_a_pinned_clock_and_days_filling_a_month(
    reg: Registry, store: Store, tmp_path: Path
) -> None:
    now = ms(2026, 11, 15) + 12 * 3_600_000  # 2026-11-15 12:00 in Shanghai
    sheet = csv_file(
        tmp_path / "clock.csv",
        [
            "product,period,output",
            "aluminium,2026-09,900",
            "aluminium,2026-10-01,30",  # October given by days: no missing month
            "aluminium,2026-11,500",  # the month in progress has begun
            "clinker,2026-11-15,20",  # today has begun
            "clinker,2026-11-16,20",  # tomorrow has not
            "clinker,2026-12,20",  # nor next month
        ],
    )
    report = import_output(sheet, reg, store.outputs, now_ms=now)
    assert [(e.row, e.reason) for e in report.errors] == [(6, "future"), (7, "future")]
    assert "2026-11-16 has not begun (Asia/Shanghai)" in report.errors[0].detail
    ok = csv_file(tmp_path / "ok.csv", sheet.read_text(encoding="utf-8").splitlines()[:5])
    report = import_output(ok, reg, store.outputs, now_ms=now)
    assert (report.stored, report.rejected, report.exit_code) == (4, 0, 0)
    assert store.outputs.read(*ALL_TIME) == [
        month("aluminium", 2026, 9, 900),
        day("aluminium", 2026, 10, 1, 30),
        month("aluminium", 2026, 11, 500),
        day("clinker", 2026, 11, 15, 20),
    ]


def test_a_gbk_csv_with_chinese_headers_and_units(
    registry: Path, reg: Registry, sqlite_url: str, tmp_path: Path
) -> None:
    sheet = csv_file(
        tmp_path / "统计局产量.csv",
        [
            "产品,月份,产量（吨）,计量单位",
            "aluminium,2026年10月,1100,吨",
            'aluminium,2026年11月,"1,200",吨',
        ],
        encoding="gbk",
    )
    report = imported(registry, sheet, sqlite_url)
    assert (report["stored"], report["exit_code"]) == (2, 0)
    assert stored(sqlite_url, reg) == [
        month("aluminium", 2026, 10, 1100),
        month("aluminium", 2026, 11, 1200),
    ]


def test_the_template_filled_in_is_imported(
    registry: Path, reg: Registry, sqlite_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "template.xlsx"
    done = smartpark(registry, "import", "template", "output", "--out", str(out))
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["产量 output", "说明 instructions", "产品 products", "lists"]
    data = book["产量 output"]
    assert [c.value for c in data[1]] == [
        "产品编号 product",
        "统计期 period",
        "产量 output",
        "单位 unit",
    ]
    assert [c.value for c in book["lists"]["A"]] == ["products", "aluminium", "clinker"]
    assert [c.value for c in book["lists"]["B"]][:3] == ["units", "t", None]
    products = [[c.value for c in row] for row in book["产品 products"].iter_rows()]
    assert products[0][:8] == [
        "产品编号 product", "名称 name", "中文名称 name (zh)", "企业 enterprise", "园区 park",
        "单位 unit", "标准 standard", "类别 category",
    ]  # fmt: skip
    assert products[1][:8] == [
        "aluminium", "Liquid aluminium", "铝液", "alu-a", "west", "t", "GB 21346-2022",
        "aluminium_liquid",
    ]  # fmt: skip
    sources = {v.formula1 for v in data.data_validations.dataValidation if v.type == "list"}
    assert sources == {"lists!$A$2:$A$3", "lists!$B$2:$B$2"}
    assert book["lists"].sheet_state == "hidden"
    # --scope: the products of that enterprise only
    scoped = tmp_path / "alu.xlsx"
    args = ("import", "template", "output", "--out", str(scoped), "--scope", "enterprise:alu-a")
    assert smartpark(registry, *args).returncode == 0
    assert [c.value for c in openpyxl.load_workbook(scoped)["lists"]["A"]][1:] == ["aluminium"]
    # filled in and imported
    for row in [["aluminium", "2026-11", 1200, "t"], ["clinker", "2026-11-05", 300, None]]:
        data.append(row)
    filled = tmp_path / "filled.xlsx"
    book.save(filled)
    report = imported(registry, filled, sqlite_url)
    assert (report["sheet"], report["stored"], report["exit_code"]) == ("产量 output", 2, 0)
    assert stored(sqlite_url, reg) == [
        month("aluminium", 2026, 11, 1200),
        day("clinker", 2026, 11, 5, 300),
    ]


def test_kpi_shows_the_imported_output(registry: Path, sqlite_url: str, tmp_path: Path) -> None:
    sheet = csv_file(tmp_path / "nov.csv", ["product,period,output", "aluminium,2026-11,1200"])
    assert imported(registry, sheet, sqlite_url)["exit_code"] == 0
    done = smartpark(
        registry, "kpi", "--scope", "product", "--period", "month", "--from", "2026-11-01",
        "--to", "2026-12-01", "--format", "json", store=sqlite_url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = {r["id"]: r for r in json.loads(done.stdout)["rows"]}
    assert rows["aluminium"]["start"] == "2026-11-01T00:00:00+08:00"
    assert rows["aluminium"]["product_output"] == 1200
    assert rows["clinker"]["product_output"] is None  # nothing entered, no output meter


def test_exit_codes_and_a_file_refused_whole(
    registry: Path, sqlite_url: str, tmp_path: Path
) -> None:
    sheet = csv_file(tmp_path / "ok.csv", ["product,period,output", "aluminium,2026-11,1"])
    bad_scope = smartpark(
        registry, "import", "output", str(sheet), "--scope", "meter:x", store=sqlite_url
    )
    assert bad_scope.returncode == 2
    unknown = smartpark(
        registry, "import", "output", str(sheet), "--scope", "park:east", store=sqlite_url
    )
    assert unknown.returncode == 2
    missing = smartpark(registry, "import", "output", str(tmp_path / "nope.csv"), store=sqlite_url)
    assert missing.returncode == 2
    photo = tmp_path / "photo.xlsx"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    refused = smartpark(registry, "import", "output", str(photo), store=sqlite_url)
    assert refused.returncode == 1
    assert "not a spreadsheet" in " ".join(refused.stderr.split())
    report = imported(registry, photo, sqlite_url)
    assert "not a spreadsheet" in report["error"]
    assert (report["stored"], report["replaced"], report["exit_code"]) == (0, 0, 1)
    header_only = csv_file(tmp_path / "empty.csv", ["产品编号,统计期,产量"])
    assert imported(registry, header_only, sqlite_url)["exit_code"] == 1
    no_header = csv_file(tmp_path / "readings.csv", ["meter,time,value,unit"])
    done = smartpark(registry, "import", "output", str(no_header), store=sqlite_url)
    assert done.returncode == 1
    assert "missing: product, period, output" in " ".join(done.stderr.split())
