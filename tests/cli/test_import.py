"""``smartpark import`` end to end, on the example registry's hand-read gas meter
(chem-c-gas): the template, filled with openpyxl, imported, and ``smartpark kpi`` showing
the consumption of the imported register readings, known by hand; rollups dirty until a
``kpi --follow`` cycle; exit codes 0 / 1 / 2. Real SQLite and influxd stores; pinned
dates (March 2025) only."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.workbooks import same, tables

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.toml"
GAS_TCE_PER_M3 = 0.0012143  # GB/T 2589 (core/factors.py)
GAS_TCO2_PER_KM3 = 2.162


def smartpark(*args: str, store: str | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--registry", str(EXAMPLE)]
    if store is not None:
        extra += ["--store", store]
    return subprocess.run(
        [sys.executable, "-m", "smartpark", *args, *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(params=["sqlite", "influxdb"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'park.db'}"
    request.applymarker(pytest.mark.servers)
    influxd = request.getfixturevalue("influxd")
    return str(influxd.store_url(request.getfixturevalue("influx_db")))


def template(tmp_path: Path) -> Path:
    out = tmp_path / "template.xlsx"
    done = smartpark("import", "template", "readings", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def fill(tmp_path: Path, rows: list[list[Any]], name: str) -> Path:
    book = openpyxl.load_workbook(template(tmp_path))
    for row in rows:
        book.worksheets[0].append(row)
    book.save(tmp_path / name)
    return tmp_path / name


KPI_ARGS = (
    "kpi", "--from", "2025-03-01", "--to", "2025-03-03", "--period", "day", "--scope",
    "enterprise", "--park", "petrochem", "--kpi", "energy_tce", "--kpi", "co2_scope1_t",
)  # fmt: skip


def kpis(store: str) -> dict[str, list[float]]:
    done = smartpark(*KPI_ARGS, "--format", "json", store=store)
    assert done.returncode == 0, done.stderr
    rows = [r for r in json.loads(done.stdout)["rows"] if r["id"] == "chem-c"]
    return {k: [r[k] for r in rows] for k in ("energy_tce", "co2_scope1_t")}


def exported(store: str, out: Path) -> dict[str, list[float]]:
    """The same KPIs through ``kpi --format xlsx``, read back with openpyxl."""
    done = smartpark(*KPI_ARGS, "--format", "xlsx", "--out", str(out), "--lang", "en", store=store)
    assert done.returncode == 0, done.stderr
    (sheet,) = tables(out).values()
    rows = [r for r in sheet.records() if r["ID"] == "chem-c"]
    return {
        k: [r[head] for r in rows]
        for k, head in (
            ("energy_tce", "Energy consumption [tce]"),
            ("co2_scope1_t", "CO2, scope 1 [tCO2]"),
        )
    }


def test_the_template_lists_the_registry(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(template(tmp_path))
    assert book.sheetnames == ["读数 readings", "说明 instructions", "表计 meters", "lists"]
    data = book["读数 readings"]
    assert [c.value for c in data[1]] == [
        "表计编号 meter",
        "抄表时间 time",
        "读数 value",
        "单位 unit",
    ]
    assert data.freeze_panes == "A2"
    lists = book["lists"]
    assert lists.sheet_state == "hidden"
    meters = [c.value for c in lists["A"][1:] if c.value]
    assert meters[0] == "chem-c-gas"  # the meters read by hand first
    assert len(meters) == 91
    units = [c.value for c in lists["B"][1:] if c.value]
    assert {"m3", "Nm3", "km3", "kWh", "t"} <= set(units)
    sources = {v.formula1 for v in data.data_validations.dataValidation if v.type == "list"}
    assert sources == {"lists!$A$2:$A$92", f"lists!$B$2:$B${len(units) + 1}"}
    reference = {r[0].value: [c.value for c in r] for r in book["表计 meters"].iter_rows(min_row=2)}
    assert reference["chem-c-gas"][4:8] == [
        "natural_gas",
        "m3",
        "m3, Nm3, km3, Nkm3",
        "手工 by hand",
    ]


def test_template_filled_imported_and_kpis_show_it(tmp_path: Path, store_url: str) -> None:
    rows = [
        ["chem-c-gas", dt.datetime(2025, 3, 1, 0, 0), 1000, "m3"],
        ["chem-c-gas", "2025-03-02 00:00", 1240, "m3"],
        ["chem-c-gas", 45719, 1.6, "km3"],  # 2025-03-03 00:00, in thousands of m3
    ]
    sheet = fill(tmp_path, rows, "march.xlsx")
    done = smartpark("import", "readings", str(sheet), "--format", "json", store=store_url)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["rows"], report["stored"], report["rejected"]) == (3, 3, 0)
    # by hand: 240 m3 on 1 March, 360 m3 on 2 March (local days of Asia/Shanghai)
    got = kpis(store_url)
    assert got["energy_tce"] == pytest.approx([240 * GAS_TCE_PER_M3, 360 * GAS_TCE_PER_M3])
    assert got["co2_scope1_t"] == pytest.approx(
        [0.240 * GAS_TCO2_PER_KM3, 0.360 * GAS_TCO2_PER_KM3]
    )
    # ... and the same numbers, as numbers, in the .xlsx export (the round trip).
    sheet = exported(store_url, tmp_path / "kpis.xlsx")
    for k, values in got.items():
        assert all(same(a, b) for a, b in zip(sheet[k], values, strict=True)), k

    # Roll the days up, then correct a reading: its windows are dirty until a cycle.
    rolled = smartpark("rollup", "--from", "2025-03-01", "--to", "2025-03-04", store=store_url)
    assert rolled.returncode == 0, rolled.stderr
    fix = fill(tmp_path, [["chem-c-gas", "2025-03-02 00:00", 1300, "m3"]], "fix.xlsx")
    again = smartpark("import", "readings", str(fix), store=store_url)
    assert again.returncode == 0, again.stderr
    assert "1 row(s) · stored 1 · rejected 0" in again.stdout
    check = ["rollup", "--from", "2025-03-01", "--to", "2025-03-04", "--check"]
    before = smartpark(*check, store=store_url)
    assert ", 0 dirty" not in before.stdout, before.stdout
    assert "dirty (readings written after they were rolled up" in before.stdout
    follow = smartpark(
        "kpi", "--follow", "--cycles", "1", "--interval", "0.1", "--period", "day", store=store_url
    )
    assert follow.returncode == 0, follow.stderr
    after = smartpark(*check, store=store_url)
    assert ", 0 dirty," in after.stdout, after.stdout
    got = kpis(store_url)
    assert got["energy_tce"] == pytest.approx([300 * GAS_TCE_PER_M3, 300 * GAS_TCE_PER_M3])


def test_exit_codes_and_what_the_table_says(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'park.db'}"
    sheet = fill(
        tmp_path,
        [
            ["chem-c-gas", "2025-03-01 00:00", 1000, "m3"],
            ["chem-a-gas", "2025-03-01 00:00", "=1+1", "m3"],
            ["chem-c-gas", "2025-03-02 00:00", 1100, "kWh"],
        ],
        "bad.xlsx",
    )
    scoped = smartpark(
        "import", "readings", str(sheet), "--scope", "enterprise:chem-c", store=store
    )
    assert scoped.returncode == 1
    out = " ".join(scoped.stdout.split())
    assert "3 row(s) · stored 1 · rejected 2" in out
    assert "3 │ A3 │ meter │ chem-a-gas │ out_of_scope" in out
    assert "4 │ D4 │ unit │ kWh │ bad_unit" in out
    # all or nothing: the good row is not written either (it is there from the run above,
    # so a fresh store shows it)
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    none = smartpark("import", "readings", str(sheet), "--all-or-nothing", store=fresh)
    assert none.returncode == 1
    assert "nothing stored: --all-or-nothing and 2 row(s) rejected" in " ".join(none.stdout.split())
    # usage: exit 2
    assert (
        smartpark("import", "readings", str(sheet), "--scope", "meter:x", store=store).returncode
        == 2
    )
    assert smartpark("import", "readings", str(tmp_path / "nope.xlsx"), store=store).returncode == 2
    assert smartpark("import", "template", "no-such-kind", "--out", "x.xlsx").returncode == 2
    # a file that is not a spreadsheet: exit 1, what to do
    photo = tmp_path / "photo.xlsx"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    refused = smartpark("import", "readings", str(photo), store=store)
    assert refused.returncode == 1
    assert "not a spreadsheet" in " ".join(refused.stderr.split())  # rich wraps at 80
    as_json = smartpark("import", "readings", str(photo), "--format", "json", store=store)
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert "not a spreadsheet" in report["error"]
    assert (report["stored"], report["exit_code"]) == (0, 1)
