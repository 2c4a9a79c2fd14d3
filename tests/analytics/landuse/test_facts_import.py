"""Annual facts imported from a sheet into a zone's facts file (analytics/landuse/
facts_import.py): the facts file's own rules (one ``RowCheck`` with the loader) plus a
plausible year and ``--scope``; each bad row named by row, cell, column and reason; the
good rows merged in place, written atomically, loadable by the loader; nothing written
with ``all_or_nothing``; a re-import leaves the file byte for byte as it was.

Every year is pinned: the importer's "current year" comes from ``today``, never the
clock."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartpark.analytics.landuse import facts
from smartpark.analytics.landuse.facts_import import (
    FactsText,
    facts_template,
    import_facts,
    merge,
    number_text,
)
from smartpark.core import registry
from smartpark.core.errors import ConfigError, OptionError, OutputError, SheetError
from smartpark.core.registry import Registry
from smartpark.core.template import write_template

TODAY = dt.date(2026, 6, 1)  # the importer's current year: 2026
HEADER = "year,enterprise,tax,revenue,value_added,employees,rd_spend,pollutant_t,profit\n"
DOC: dict[str, Any] = {
    "zone": {
        "z": {"name": "Zone", "facts": "facts.csv"},
        "other": {"name": "Other zone"},
    },
    "park": {
        "p1": {"zone": "z", "name": "Park 1"},
        "p2": {"zone": "z", "name": "Park 2"},
        "p9": {"zone": "other", "name": "Elsewhere"},
    },
    "enterprise": {
        "e1": {"park": "p1", "name": "E1", "land_m2": 20_000},
        "e2": {"park": "p1", "name": "E2"},
        "e3": {"park": "p2", "name": "E3"},
        "x1": {"park": "p9", "name": "X1"},
    },
}
FILE = HEADER + (
    "2024,e1,100,1000,300,50,20,1.5,40\n"
    "2024,e2,80,900,200,40,10,,-5\n"
    "2025,e1,110,1100,320,52,22,1.4,45\n"
    "2025,e3,8.5,90,20,4,0,,1\n"
)


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    return registry.from_dict(DOC, source=str(tmp_path / "registry.toml"))


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "facts.csv"
    path.write_text(FILE, encoding="utf-8")
    return path


def filled(
    tmp_path: Path, reg: Registry, rows: list[list[Any]], name: str = "s.xlsx", zone: str = "z"
) -> Path:
    """The zone's template, filled in with openpyxl as a person would."""
    template = facts_template(reg, zone=zone)
    book = openpyxl.load_workbook(write_template(tmp_path / "t.xlsx", template))
    for row in rows:
        book.worksheets[0].append(row)
    book.save(tmp_path / name)
    return tmp_path / name


def run(sheet: Path, reg: Registry, **kw: Any):
    kw.setdefault("zone", "z")
    return import_facts(sheet, reg, today=TODAY, **kw)


def test_good_rows_replace_theirs_in_place_and_new_ones_come_last(
    tmp_path: Path, reg: Registry, target: Path
) -> None:
    sheet = filled(
        tmp_path,
        reg,
        [
            [2025, "e3", 9, 95, 21, 4, 0, None, -2.5],  # replaces the 2025 e3 row
            [2026, "e2", 85, 950, 210, 41, 11, 0.25, 7],  # new
            [2025, "e2", "1,200", 1e3, 250.5, 40, 10, 0, 0],  # new; text with a separator
            [2024, "e1", 100, 1000, 300, 50, 20, 1.5, 40],  # as it is
        ],
    )
    report = run(sheet, reg)
    assert report.errors == []
    assert (report.rows, report.stored, report.rejected, report.exit_code) == (4, 4, 0, 0)
    assert (report.added, report.replaced, report.unchanged, report.written) == (2, 1, 1, True)
    assert report.facts_file == str(target)
    assert target.read_text(encoding="utf-8") == HEADER + (
        "2024,e1,100,1000,300,50,20,1.5,40\n"
        "2024,e2,80,900,200,40,10,,-5\n"
        "2025,e1,110,1100,320,52,22,1.4,45\n"
        "2025,e3,9,95,21,4,0,,-2.5\n"
        "2025,e2,1200,1000,250.5,40,10,0,0\n"
        "2026,e2,85,950,210,41,11,0.25,7\n"
    )
    loaded = facts.load(target, reg, "z")  # the loader takes what the importer wrote
    assert loaded.years == (2024, 2025, 2026)
    assert loaded.field("tax", 2025).tolist() == [110, 1200, 9]
    assert math.isnan(loaded.field("pollutant_t", 2025)[2])  # an empty cell: missing
    assert "1 row(s) replaced" not in " ".join(report.notes)
    assert f"facts file {target} updated: 2 row(s) added, 1 replaced, 1 unchanged" in report.notes


def test_the_same_sheet_twice_leaves_the_file_byte_identical(
    tmp_path: Path, reg: Registry, target: Path
) -> None:
    sheet = filled(tmp_path, reg, [[2025, "e1", 111, 1100, 320, 52, 22, 1.4, 45]])
    first = run(sheet, reg)
    assert (first.replaced, first.written) == (1, True)
    data, stat = target.read_bytes(), target.stat()
    again = run(sheet, reg)
    assert (again.stored, again.unchanged, again.written, again.exit_code) == (1, 1, False, 0)
    assert target.read_bytes() == data
    assert target.stat().st_mtime_ns == stat.st_mtime_ns  # not even rewritten
    assert "unchanged, every row was already there" in again.notes[0]
    # a corrected sheet replaces its row, and only its row
    fixed = filled(tmp_path, reg, [[2025, "e1", 112, 1100, 320, 52, 22, 1.4, 45]], "fix.xlsx")
    assert run(fixed, reg).replaced == 1
    assert target.read_text(encoding="utf-8") == FILE.replace("2025,e1,110,", "2025,e1,112,")


# Each bad row, what it is, and where and why it is refused.
BAD_ROWS: list[list[Any]] = [
    [2025, "e1", 120, 1200, 330, 53, 23, 1.3, 50],  # 2: good
    [2025, "e9", 1, 1, 1, 1, 1, 1, 1],  # 3: unknown enterprise
    [2025, "e2", -5, 1, 1, 1, 1, 1, 1],  # 4: negative tax
    [2025, "e3", 1, "lots", 1, 1, 1, 1, 1],  # 5: text in a number column
    [2024, "e1", 1, 1, "=C6*2", 1, 1, 1, 1],  # 6: a formula
    ["2025年", "e1", 1, 1, 1, 1, 1, 1, 1],  # 7: duplicate of row 2 (the year as text)
    [2025, "x1", 1, 1, 1, 1, 1, 1, 1],  # 8: another zone
    [1999, "e2", 1, 1, 1, 1, 1, 1, 1],  # 9: before 2000
    [2027, "e2", 1, 1, 1, 1, 1, 1, 1],  # 10: after the current year
    [2025.5, "e2", 1, 1, 1, 1, 1, 1, 1],  # 11: not a whole year
    [None, "e2", 1, 1, 1, 1, 1, 1, 1],  # 12: no year
    [2024, None, 1, 1, 1, 1, 1, 1, 1],  # 13: no enterprise
    [None] * 9,  # blank: skipped
    [2024, "e2", 1, 1, 1, 1, 1, "1e999", 1],  # 15: not finite
    [2024, "e3", 1, 1, 1, True, 1, 1, 1],  # 16: a bool
    [2026, "e3", 1, 1, 1, 1, 1, 1, -7],  # 17: good: a loss
]
BAD_EXPECTED = [
    (3, "enterprise", "B3", "e9", "unknown_enterprise"),
    (4, "tax", "C4", "-5", "negative"),
    (5, "revenue", "D5", "lots", "not_a_number"),
    (6, "value_added", "E6", "=C6*2", "formula"),
    (7, "enterprise", "B7", "2025年 e1", "duplicate"),
    (8, "enterprise", "B8", "x1", "other_zone"),
    (9, "year", "A9", "1999", "bad_year"),
    (10, "year", "A10", "2027", "bad_year"),
    (11, "year", "A11", "2025.5", "bad_year"),
    (12, "year", "A12", "", "missing"),
    (13, "enterprise", "B13", "", "missing"),
    (15, "pollutant_t", "H15", "1e999", "non_finite"),
    (16, "employees", "F16", "True", "not_a_number"),
]


def test_every_bad_row_is_named_and_only_good_rows_are_written(
    tmp_path: Path, reg: Registry, target: Path
) -> None:
    report = run(filled(tmp_path, reg, BAD_ROWS), reg)
    got = [(e.row, e.column, e.cell, e.value, e.reason) for e in report.errors]
    assert got == BAD_EXPECTED
    assert (report.rows, report.stored, report.rejected, report.exit_code) == (15, 2, 13, 1)
    details = {e.row: e.detail for e in report.errors}
    assert details[3] == (
        "unknown enterprise 'e9' (not in the registry): check the id "
        "(`smartpark import template facts` lists them)"
    )
    assert details[4] == "must be >= 0, got '-5' (only profit may be negative)"
    assert "never evaluated" in details[6]
    assert details[7] == (
        "duplicate row for year 2025, enterprise 'e1' (first on row 2): keep one of the two rows"
    )
    assert details[8] == "enterprise 'x1' is in zone 'other', not 'z'"
    assert details[10] == "must be a year from 2000 to 2026, got 2027"
    text = target.read_text(encoding="utf-8")
    assert "2025,e1,120,1200,330,53,23,1.3,50\n" in text
    assert text.endswith("2026,e3,1,1,1,1,1,1,-7\n")
    assert len(text.splitlines()) == len(FILE.splitlines()) + 1  # one replaced, one added


def test_scope_limits_the_enterprises_an_import_may_write(
    tmp_path: Path, reg: Registry, target: Path
) -> None:
    sheet = filled(
        tmp_path,
        reg,
        [[2025, "e1", 1, 1, 1, 1, 1, 1, 1], [2025, "e3", 2, 2, 2, 2, 2, 2, 2]],
    )
    report = import_facts(sheet, reg, scope="park:p2", today=TODAY)  # the zone: p2's
    assert [(e.row, e.column, e.reason) for e in report.errors] == [
        (2, "enterprise", "out_of_scope")
    ]
    assert "outside this import's --scope" in report.errors[0].detail
    assert "2025,e3,2,2,2,2,2,2,2\n" in target.read_text(encoding="utf-8")
    with pytest.raises(OptionError, match="--scope: no park 'p7'"):
        import_facts(sheet, reg, scope="park:p7", today=TODAY)
    with pytest.raises(OptionError, match="--scope: expected zone:ID"):
        import_facts(sheet, reg, scope="meter:x", today=TODAY)
    with pytest.raises(OptionError, match="--zone: the registry has 2 zones"):
        import_facts(sheet, reg, today=TODAY)
    with pytest.raises(OptionError, match="--facts: zone 'other' names no facts file"):
        import_facts(sheet, reg, zone="other", today=TODAY)


def test_all_or_nothing_writes_nothing_when_a_row_fails(
    tmp_path: Path, reg: Registry, target: Path
) -> None:
    sheet = filled(
        tmp_path, reg, [[2025, "e1", 1, 1, 1, 1, 1, 1, 1], [2025, "e2", -1, 1, 1, 1, 1, 1, 1]]
    )
    report = run(sheet, reg, all_or_nothing=True)
    assert (report.stored, report.rejected, report.written, report.exit_code) == (0, 1, False, 1)
    assert "nothing written: --all-or-nothing and 1 row(s) rejected" in report.notes[0]
    assert target.read_text(encoding="utf-8") == FILE
    # every row bad, without the option: nothing to write either
    bad = filled(tmp_path, reg, [[2025, "e9", 1, 1, 1, 1, 1, 1, 1]], "bad.xlsx")
    assert "nothing written: every row was rejected" in run(bad, reg).notes[0]
    assert target.read_text(encoding="utf-8") == FILE


def test_a_csv_in_gb18030_with_chinese_headers_and_units(
    tmp_path: Path, reg: Registry, target: Path
) -> None:
    sheet = tmp_path / "统计局.csv"
    sheet.write_bytes(
        (
            "2025年度亩均数据（统计局）\n"  # a title line above the header
            "年份,企业编号,税收（万元）,营业收入（万元）,工业增加值（万元）,从业人员（人）,"
            "研发投入（万元）,主要污染物排放量（吨）,利润（万元）,备注\n"
            "2025,e2,70,800,190,38,9,0.5,-12,补报\n"
            "2025年,e3,9,95,21,4,0,,3,\n"
        ).encode("gb18030")
    )
    report = run(sheet, reg)
    assert report.errors == []
    assert (report.header_row, report.stored, report.exit_code) == (2, 2, 0)
    assert report.ignored_columns == ["J '备注'"]
    loaded = facts.load(target, reg, "z")
    assert loaded.field("tax", 2025).tolist() == [110, 70, 9]
    assert loaded.field("profit", 2025).tolist() == [45, -12, 3]


def test_a_sheet_without_profit_keeps_the_files_profit(
    tmp_path: Path, reg: Registry, target: Path
) -> None:
    sheet = tmp_path / "no-profit.csv"
    sheet.write_text(
        "year,enterprise,tax,revenue,value_added,employees,rd_spend,pollutant_t\n"
        "2024,e2,81,900,200,40,10,\n"
        "2026,e1,1,2,3,4,5,6\n",
        encoding="utf-8",
    )
    report = run(sheet, reg)
    assert (report.replaced, report.added) == (1, 1)
    text = target.read_text(encoding="utf-8")
    assert "2024,e2,81,900,200,40,10,,-5\n" in text  # profit -5 kept
    assert text.endswith("2026,e1,1,2,3,4,5,6,\n")  # a new row: profit missing


def test_a_file_without_profit_gets_the_column_when_a_sheet_brings_it(
    tmp_path: Path, reg: Registry
) -> None:
    path = tmp_path / "facts.csv"
    path.write_bytes(
        b"\xef\xbb\xbfyear,enterprise,tax,revenue,value_added,employees,rd_spend,pollutant_t\r\n"
        b"2024,e1,100,1000,300,50,20,1.5\r\n\r\n"
    )
    sheet = filled(tmp_path, reg, [[2025, "e1", 1, 1, 1, 1, 1, 1, -3]])
    assert run(sheet, reg).exit_code == 0
    assert path.read_bytes() == (
        b"\xef\xbb\xbfyear,enterprise,tax,revenue,value_added,employees,rd_spend,pollutant_t,"
        b"profit\r\n2024,e1,100,1000,300,50,20,1.5,\r\n\r\n2025,e1,1,1,1,1,1,1,-3\r\n"
    )  # its BOM, its line ends and its blank line kept
    assert facts.load(path, reg, "z").field("profit", 2025)[0] == -3


def test_a_new_facts_file_is_created_and_the_permissions_of_one_kept(
    tmp_path: Path, reg: Registry, target: Path
) -> None:
    sheet = filled(tmp_path, reg, [[2025, "e1", 1, 2, 3, 4, 5, 6, 7]])
    new = tmp_path / "later" / "facts-2025.csv"
    report = run(sheet, reg, facts=new)
    assert (report.added, report.written) == (1, True)
    assert new.read_text(encoding="utf-8") == HEADER + "2025,e1,1,2,3,4,5,6,7\n"
    assert f"facts file {new} created" in report.notes[0]
    target.chmod(0o640)
    run(sheet, reg)
    assert target.stat().st_mode & 0o777 == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_facts_file_that_cannot_be_written_is_an_error_naming_it(
    tmp_path: Path, reg: Registry
) -> None:
    """Its folder a link to a share that is gone: OutputError (exit code 1, the file
    named), not a traceback; nothing written."""
    sheet = filled(tmp_path, reg, [[2025, "e1", 1, 2, 3, 4, 5, 6, 7]])
    (tmp_path / "share").symlink_to(tmp_path / "unmounted" / "share")
    with pytest.raises(OutputError, match=r"share/facts\.csv: cannot write the facts file: "):
        run(sheet, reg, facts=tmp_path / "share" / "facts.csv")
    assert not (tmp_path / "unmounted").exists()


def test_a_facts_file_the_loader_refuses_is_left_alone(
    tmp_path: Path, reg: Registry, target: Path
) -> None:
    broken = FILE + "2025,e1,1,1,1,1,1,1,1\n"  # a duplicate already in the file
    target.write_text(broken, encoding="utf-8")
    sheet = filled(tmp_path, reg, [[2025, "e2", 1, 1, 1, 1, 1, 1, 1]])
    with pytest.raises(ConfigError) as err:
        run(sheet, reg)
    assert err.value.problems == [
        "line 6: duplicate row for year 2025, enterprise 'e1' (first on line 4)"
    ]
    assert target.read_text(encoding="utf-8") == broken


def test_a_file_that_is_no_sheet_or_lacks_a_column_writes_nothing(
    tmp_path: Path, reg: Registry, target: Path
) -> None:
    photo = tmp_path / "photo.xlsx"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(SheetError, match="not a spreadsheet"):
        run(photo, reg)
    short = tmp_path / "short.csv"
    short.write_text("年份,企业编号,税收\n2025,e1,1\n", encoding="utf-8")
    with pytest.raises(SheetError, match="missing: revenue, value_added"):
        run(short, reg)
    assert target.read_text(encoding="utf-8") == FILE


def test_the_template_lists_the_zones_enterprises_within_the_scope(
    tmp_path: Path, reg: Registry
) -> None:
    book = openpyxl.load_workbook(
        write_template(tmp_path / "t.xlsx", facts_template(reg, "park:p1"))
    )
    assert book.sheetnames == ["年度数据 facts", "说明 instructions", "企业 enterprises", "lists"]
    data = book["年度数据 facts"]
    assert [c.value for c in data[1]] == [
        "年份 year",
        "企业编号 enterprise",
        "税收 tax (万元)",
        "营业收入 revenue (万元)",
        "工业增加值 value_added (万元)",
        "从业人员 employees (人)",
        "研发投入 rd_spend (万元)",
        "主要污染物排放量 pollutant_t (吨)",
        "利润 profit (万元)",
    ]
    assert data.freeze_panes == "A2"
    assert book["lists"].sheet_state == "hidden"
    assert [c.value for c in book["lists"]["A"][1:]] == ["e1", "e2"]
    (drop_down,) = [v for v in data.data_validations.dataValidation if v.type == "list"]
    assert drop_down.formula1 == "lists!$A$2:$A$3"
    assert str(drop_down.sqref) == "B2:B1048576"
    reference = [[c.value for c in r] for r in book["企业 enterprises"].iter_rows(min_row=2)]
    assert reference[0][:6] == ["e1", "E1", "", "p1", "", "30"]  # 20 000 m2 = 30 mu
    with pytest.raises(OptionError, match="--zone: the registry has 2 zones"):
        facts_template(reg)


def test_number_text_reads_back_as_the_same_float() -> None:
    for value in (0.0, -0.0, 5400.0, 8.5, 0.1, 1 / 3, -600.0, 1e20, 2.5e-7):
        assert float(number_text(value)) == value
    assert number_text(5400.0) == "5400"
    assert number_text(math.nan) == ""


def test_merge_keeps_rows_it_does_not_name_as_they_were() -> None:
    existing = FactsText(
        tuple(HEADER.strip().split(",")),
        (("2024", "e1", "100.0", "1e3", "300", "50", "20", "1.50", "40"),),
    )
    merged = merge(existing, [], [])
    assert merged.data == (HEADER + "2024,e1,100.0,1e3,300,50,20,1.50,40\n").encode()


# -- the importer and the loader apply the same rules -----------------------------------

# Mostly good cells, so that whole sheets pass too; every kind of bad one now and then.
YEARS = st.sampled_from(["2025", "2025", "2024", "2024", "2026", "", "x", "2025.5", "1e3", "e1"])
ENTERPRISES = st.sampled_from(["e1", "e2", "e3", "e1", "e2", "e3", "x1", "e9", "", "2025"])
AMOUNTS = st.sampled_from(["1", "0", "2.5", "", " 7 ", "1e3"] * 8 + ["-1", "nan", "inf", "x"])
ROWS = st.tuples(YEARS, ENTERPRISES, *[AMOUNTS] * 7).map(list)


@given(rows=st.lists(ROWS, min_size=1, max_size=5))
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_a_row_the_loader_refuses_is_a_row_the_importer_refuses(
    rows: list[list[str]], tmp_path: Path, reg: Registry
) -> None:
    """The same CSV as a facts file (the loader) and as an imported sheet: the same rows
    refused (reasons may differ: ``inf`` is not finite to one, not a number to the other),
    and, when none is, the file written loads to the same facts."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([HEADER.strip().split(","), *rows])
    text = out.getvalue()
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(text, encoding="utf-8")
    blank = {i for i, r in enumerate(rows, start=2) if not any(c.strip() for c in r)}
    try:
        expected = facts.parse(text, reg, "z")
        refused: set[int] = set()
    except ConfigError as exc:
        refused = {int(p.split(",")[0].split(":")[0].removeprefix("line ")) for p in exc.problems}
    target = tmp_path / "facts.csv"
    target.unlink(missing_ok=True)
    if len(blank) == len(rows):
        return  # no data rows: nothing to compare
    report = run(sheet, reg)
    assert {e.row for e in report.errors} == refused
    if not refused:
        loaded = facts.load(target, reg, "z")
        assert loaded.years == expected.years
        for name, values in expected.values.items():
            assert np.array_equal(loaded.values[name], values, equal_nan=True), name


def test_importing_into_a_copy_of_the_example_keeps_every_other_row(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[3] / "examples"
    for name in ("registry.toml", "facts.csv", "tariffs-gansu.toml"):
        (tmp_path / name).write_bytes((examples / name).read_bytes())
    reg = registry.load(tmp_path / "registry.toml")
    before = (tmp_path / "facts.csv").read_text(encoding="utf-8")
    row = [2025, "chem-a", 5580, 90000, 22000, 600, 2700, 45, 6000]
    sheet = filled(tmp_path, reg, [row], zone="lanzhou-new-area")
    report = import_facts(sheet, reg, today=TODAY)
    assert (report.replaced, report.exit_code) == (1, 0)
    after = (tmp_path / "facts.csv").read_text(encoding="utf-8")
    assert after == before.replace("2025,chem-a,5400,", "2025,chem-a,5580,")
    assert os.path.samefile(report.facts_file or "", tmp_path / "facts.csv")
