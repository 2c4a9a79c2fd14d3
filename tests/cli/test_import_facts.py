"""``smartpark import facts`` end to end, on a copy of the example zone (the example's own
facts file is never written): the template, filled with openpyxl, imported into the
zone's facts file, and ``smartpark landuse`` grading with the imported rows (a known
change: chem-a's tax per mu); bad rows named by row, column and reason; --all-or-nothing;
a re-import byte-identical; a GB18030 CSV with Chinese headers; exit codes 0 / 1 / 2.
Pinned years (2024, 2025) only."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CHEM_A_MU = 180  # chem-a's land: 120 000 m2


@pytest.fixture
def zone(tmp_path: Path) -> Path:
    """A copy of the example registry's folder: its registry, facts, tariffs, months."""
    folder = tmp_path / "zone"
    shutil.copytree(EXAMPLES, folder)
    return folder


def smartpark(zone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartpark", *args, "--registry", str(zone / "registry.toml")],
        capture_output=True,
        text=True,
        timeout=120,
    )


def fill(zone: Path, rows: list[list[Any]], name: str, *template_args: str) -> Path:
    template = zone.parent / f"template-{name}"
    done = smartpark(zone, "import", "template", "facts", "--out", str(template), *template_args)
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(template)
    for row in rows:
        book.worksheets[0].append(row)
    book.save(zone.parent / name)
    return zone.parent / name


def grades(zone: Path) -> dict[str, dict[str, Any]]:
    done = smartpark(
        zone, "landuse", "--monthly", str(zone / "monthly-energy.csv"), "--year", "2025",
        "--format", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return {e["enterprise"]: e for e in json.loads(done.stdout)["enterprises"]}


def test_the_template_lists_the_zones_enterprises(zone: Path, tmp_path: Path) -> None:
    out = tmp_path / "facts.xlsx"
    done = smartpark(zone, "import", "template", "facts", "--out", str(out))
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["年度数据 facts", "说明 instructions", "企业 enterprises", "lists"]
    data = book["年度数据 facts"]
    assert [c.value for c in data[1]][:3] == ["年份 year", "企业编号 enterprise", "税收 tax (万元)"]
    enterprises = [c.value for c in book["lists"]["A"][1:]]
    assert enterprises == sorted(enterprises)
    assert len(enterprises) == 11
    assert {"chem-a", "pv-glass", "battery-a"} <= set(enterprises)
    sources = {v.formula1 for v in data.data_validations.dataValidation if v.type == "list"}
    assert sources == {"lists!$A$2:$A$12"}
    scoped = tmp_path / "petrochem.xlsx"
    done = smartpark(
        zone, "import", "template", "facts", "--out", str(scoped), "--scope", "park:petrochem"
    )
    assert done.returncode == 0, done.stderr
    listed = [c.value for c in openpyxl.load_workbook(scoped)["lists"]["A"][1:]]
    assert listed == ["chem-a", "chem-b", "chem-c", "petro-utility"]
    # --zone belongs to facts; a kind the command does not know is a usage error
    readings = ("import", "template", "readings", "--out", str(tmp_path / "r.xlsx"))
    assert smartpark(zone, *readings, "--zone", "lanzhou-new-area").returncode == 2
    assert smartpark(zone, "import", "template", "no-such-kind", "--out", "x.xlsx").returncode == 2


def test_template_filled_imported_and_landuse_grades_with_it(zone: Path) -> None:
    example = (EXAMPLES / "facts.csv").read_bytes()
    before = grades(zone)["chem-a"]
    assert before["indicators"]["tax_per_mu"] == pytest.approx(5400 / CHEM_A_MU)
    # chem-a's 2025 tax raised by 180 (10k CNY): one more per mu; a new 2024 row unchanged
    sheet = fill(zone, [[2025, "chem-a", 5580, 90000, 22000, 600, 2700, 45, 6000]], "up.xlsx")
    done = smartpark(zone, "import", "facts", str(sheet), "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["rows"], report["stored"], report["rejected"]) == (1, 1, 0)
    assert (report["replaced"], report["added"], report["written"]) == (1, 0, True)
    assert Path(report["facts_file"]).resolve() == (zone / "facts.csv").resolve()
    assert "2025,chem-a,5580,90000,22000,600,2700,45,6000\n" in (zone / "facts.csv").read_text()
    after = grades(zone)["chem-a"]
    assert after["indicators"]["tax_per_mu"] == pytest.approx(5580 / CHEM_A_MU)
    assert after["indicators"]["tax_per_mu"] - before["indicators"]["tax_per_mu"] == (
        pytest.approx(1.0)
    )
    assert after["indicators"]["va_per_mu"] == before["indicators"]["va_per_mu"]
    assert (EXAMPLES / "facts.csv").read_bytes() == example  # the example is untouched

    # the same sheet again: the file byte for byte as it was
    data = (zone / "facts.csv").read_bytes()
    again = smartpark(zone, "import", "facts", str(sheet))
    assert again.returncode == 0, again.stderr
    assert "1 row(s) · stored 1 · rejected 0" in again.stdout
    assert "unchanged, every row was already there" in again.stdout
    assert (zone / "facts.csv").read_bytes() == data


def test_bad_rows_are_named_and_all_or_nothing_writes_none(zone: Path) -> None:
    rows = [
        [2025, "chem-b", 2100, 40000, 9000, 350, 1000, 30, 2200],  # 2: good
        [2025, "chem-z", 1, 1, 1, 1, 1, 1, 1],  # 3: unknown enterprise
        [2025, "chem-c", -5, 600, 100, 25, 0, None, -10],  # 4: negative tax
        [2025, "petro-utility", 600, "lots", 5000, 200, 50, 120, 800],  # 5: text, a number
        [2025, "chem-a", 5400, 90000, "=C6*4", 600, 2700, 45, 6000],  # 6: a formula
        [2025, "chem-b", 2000, 40000, 9000, 350, 1000, 30, 2200],  # 7: row 2 again
        [2025, "alu-a", 4500, 150000, 25000, 1200, 1500, 200, 3000],  # 8: outside the scope
    ]
    sheet = fill(zone, rows, "bad.xlsx")
    facts = zone / "facts.csv"
    original = facts.read_bytes()
    # all or nothing: nothing written
    none = smartpark(
        zone, "import", "facts", str(sheet), "--scope", "park:petrochem", "--all-or-nothing"
    )
    assert none.returncode == 1
    assert "nothing written: --all-or-nothing and 6 row(s) rejected" in " ".join(
        none.stdout.split()
    )
    assert facts.read_bytes() == original
    # without it: the good row written, each bad one named
    done = smartpark(zone, "import", "facts", str(sheet), "--scope", "park:petrochem")
    assert done.returncode == 1
    out = " ".join(done.stdout.split())
    assert "7 row(s) · stored 1 · rejected 6" in out
    assert "3 │ B3 │ enterprise │ chem-z │ unknown_enterprise" in out
    assert "4 │ C4 │ tax │ -5 │ negative" in out
    assert "5 │ D5 │ revenue │ lots │ not_a_number" in out
    assert "6 │ E6 │ value_added │ =C6*4 │ formula" in out
    assert "7 │ B7 │ enterprise │ 2025 chem-b │ duplicate" in out
    assert "8 │ B8 │ enterprise │ alu-a │ out_of_scope" in out
    text = facts.read_text()
    assert "2025,chem-b,2100,40000,9000,350,1000,30,2200\n" in text
    assert text.replace("2025,chem-b,2100,", "2025,chem-b,2000,").encode() == original
    assert grades(zone)["chem-b"]["indicators"]["tax_per_mu"] == pytest.approx(
        2100 / 120
    )  # 80 000 m2: 120 mu


def test_a_gb18030_csv_with_chinese_headers(zone: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "统计局2025.csv"
    sheet.write_bytes(
        (
            "年份,企业编号,税收（万元）,营业收入（万元）,工业增加值（万元）,从业人员（人）,"
            "研发投入（万元）,主要污染物排放量（吨）,利润（万元）\n"
            "2025,chem-a,5580,90000,22000,600,2700,45,6000\n"
            "2025年,pv-glass,1800,45000,10000,500,1400,,1500\n"
        ).encode("gb18030")
    )
    done = smartpark(zone, "import", "facts", str(sheet), "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["replaced"], report["unchanged"]) == (1, 1)
    assert report["columns"]["tax"] == "C"
    assert grades(zone)["chem-a"]["indicators"]["tax_per_mu"] == pytest.approx(31.0)


def test_exit_codes(zone: Path, tmp_path: Path) -> None:
    sheet = fill(zone, [[2025, "chem-a", 5400, 90000, 22000, 600, 2700, 45, 6000]], "ok.xlsx")
    assert smartpark(zone, "import", "facts", str(sheet), "--scope", "meter:x").returncode == 2
    assert smartpark(zone, "import", "facts", str(sheet), "--zone", "nowhere").returncode == 2
    assert smartpark(zone, "import", "facts", str(tmp_path / "nope.xlsx")).returncode == 2
    photo = tmp_path / "photo.xlsx"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    refused = smartpark(zone, "import", "facts", str(photo))
    assert refused.returncode == 1
    assert "not a spreadsheet" in " ".join(refused.stderr.split())
    as_json = smartpark(zone, "import", "facts", str(photo), "--format", "json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert "not a spreadsheet" in report["error"]
    assert (report["stored"], report["written"], report["exit_code"]) == (0, False, 1)
    # a facts file the loader refuses: named with its problems, nothing imported
    (zone / "facts.csv").write_text("year,enterprise,tax\n", encoding="utf-8")
    broken = smartpark(zone, "import", "facts", str(sheet))
    assert broken.returncode == 1
    assert "missing column 'revenue'" in " ".join(broken.stderr.split())
    assert (zone / "facts.csv").read_text(encoding="utf-8") == "year,enterprise,tax\n"
    # --facts names another file: created
    other = tmp_path / "facts-import.csv"
    done = smartpark(zone, "import", "facts", str(sheet), "--facts", str(other))
    assert done.returncode == 0, done.stderr
    assert other.read_text(encoding="utf-8").splitlines()[1] == (
        "2025,chem-a,5400,90000,22000,600,2700,45,6000"
    )
