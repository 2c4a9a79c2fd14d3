"""The one .xlsx writer (core/workbook.py), read back with openpyxl: numbers as numbers
with formats, dates as dates, the lines and a frozen header, text never a formula."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest

from smartpark.core import workbook
from smartpark.core.cells import safe_cell
from smartpark.core.errors import OptionError, OutputError
from smartpark.core.workbook import Column, Sheet, number_format, sheet_name, write_xlsx, xlsx_bytes
from tests.workbooks import load, tables

HOSTILE = ('=HYPERLINK("http://x")', "@SUM(1+1)", "-1+1|cmd", "+1+1", "\t=1+1", "\r=1+1", "-3.5")


def test_cells_keep_their_types_and_get_number_formats() -> None:
    columns = (
        Column("id", kind="text"),
        Column("start", kind="date"),
        Column("at", kind="datetime"),
        Column("energy", "tce"),
        Column("share", "%", decimals=1),
        Column("count", kind="integer"),
        Column("ok", kind="bool"),
    )
    aware = dt.datetime(2026, 11, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    rows = [
        ["a", dt.date(2026, 11, 1), aware, 182_980.8, 14.66, 3, True],
        [
            "b",
            dt.datetime(2026, 11, 2),
            dt.datetime(2026, 11, 2, 9),
            0.216,
            -2.0,
            np.int64(7),
            False,
        ],
        ["c", None, None, math.nan, math.inf, None, None],
        ["d", None, None, np.float64(2.84), 100.0, 1_000_000, None],
    ]
    sheet = Sheet("KPIs", columns, rows, ("Title", "Scope: park petrochem · Source: rollups"))
    (t,) = tables(xlsx_bytes([sheet])).values()
    assert t.lines == ["Title", "Scope: park petrochem · Source: rollups"]
    assert t.header == ["id", "start", "at", "energy [tce]", "share [%]", "count", "ok"]
    assert t.freeze == "A5"  # lines, an empty row, the header: rows 1-4 stay in view
    assert t.rows[0] == [
        "a",
        dt.datetime(2026, 11, 1),
        dt.datetime(2026, 11, 1, 8, 30),  # the wall-clock time; the lines name the zone
        182_980.8,
        14.66,
        3,
        True,
    ]
    assert t.rows[1][3:6] == [0.216, -2.0, 7]
    assert t.rows[2][1:] == [None] * 6  # None, NaN and infinity: empty cells
    formats = [[c.number_format for c in row] for row in t.sheet.iter_rows(min_row=5)]
    assert formats[0][1:6] == ["yyyy-mm-dd", "yyyy-mm-dd hh:mm", "#,##0", "#,##0.0", "#,##0"]
    assert formats[1][3] == "#,##0.000"  # 0.216: three significant digits
    assert formats[3][3:6] == ["#,##0.00", "#,##0.0", "#,##0"]
    assert t.sheet.auto_filter.ref == "A4:G8"
    assert isinstance(t.rows[1][3], float)
    assert t.sheet.cell(4, 1).font.b  # the header (row 4) is bold


@pytest.mark.parametrize(
    ("value", "decimals", "fmt"),
    [
        (182_980.8, None, "#,##0"),
        (1234.5, None, "#,##0"),
        (385.9, None, "#,##0.0"),
        (14.7, None, "#,##0.0"),
        (2.84, None, "#,##0.00"),
        (0.216, None, "#,##0.000"),
        (-0.00012, None, "#,##0.000000"),
        (3.0, None, "#,##0"),
        (0.0, None, "#,##0"),
        (2.84, 1, "#,##0.0"),
        (2.84, 0, "#,##0"),
    ],
)
def test_number_formats_have_separators_and_sensible_decimals(
    value: float, decimals: int | None, fmt: str
) -> None:
    assert number_format(value, decimals) == fmt


def test_text_is_never_a_formula_and_starts_with_a_quote_as_in_the_csv() -> None:
    """Every text cell (lines, headers, values, a value that is not a str) goes through
    safe_cell and is stored as a string."""

    class Named:
        def __str__(self) -> str:
            return "=1+2"

    columns = (Column("=name", "=u", kind="text"), Column("value"))
    rows = [[text, -1.5] for text in HOSTILE] + [[Named(), 1.0]]
    data = xlsx_bytes([Sheet("s", columns, rows, ('=HYPERLINK("http://x")',))])
    (t,) = tables(data).values()  # tables() fails on any formula cell
    assert t.lines == ['\'=HYPERLINK("http://x")']
    assert t.header == ["'=name [=u]", "value"]
    assert t.column(t.header[0]) == [safe_cell(text) for text in HOSTILE] + ["'=1+2"]
    assert all(isinstance(v, str) and v.startswith("'") for v in t.column(t.header[0]))
    assert t.column("value") == [-1.5] * len(HOSTILE) + [1.0]  # a negative number stays one
    for row in t.sheet.iter_rows():
        for cell in row:
            assert cell.data_type in ("s", "n", "b", "d"), cell.coordinate


def test_a_sheet_without_lines_has_its_header_first_and_several_sheets_keep_their_order(
    tmp_path: Path,
) -> None:
    a = Sheet("Zeta", (Column("x"),), [[1], [2]])
    b = Sheet("指标", (Column("名称", kind="text"),), [])
    path = write_xlsx(tmp_path / "sub" / "book.xlsx", [a, b])
    assert path.exists()
    assert not [p for p in path.parent.iterdir() if p.name != "book.xlsx"]  # no temp file left
    got = tables(path)
    assert list(got) == ["Zeta", "指标"]
    assert (got["Zeta"].lines, got["Zeta"].header, got["Zeta"].rows) == ([], ["x"], [[1], [2]])
    assert got["Zeta"].freeze == "A2"
    assert got["指标"].header == ["名称"]
    assert got["指标"].rows == []
    assert load(path)["指标"].column_dimensions["A"].width >= 8


def test_a_file_that_cannot_be_written_is_an_error_naming_it(tmp_path: Path) -> None:
    """An --out in a folder that is a file, or onto a folder: OutputError (the command's
    clear message and exit code 1), no traceback, no temporary file left behind."""
    sheet = Sheet("s", (Column("x"),), [[1]])
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OutputError, match=r"file/book\.xlsx: cannot write the file: "):
        write_xlsx(tmp_path / "file" / "book.xlsx", [sheet])
    (tmp_path / "folder").mkdir()
    with pytest.raises(OutputError, match="folder: cannot write the file: "):
        write_xlsx(tmp_path / "folder", [sheet])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder"]


def test_bad_sheets_are_refused_with_what_is_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="not a worksheet name"):
        Sheet("a/b", (Column("x"),), [])
    with pytest.raises(ValueError, match="row 0 has 2 cells for 1 columns"):
        Sheet("s", (Column("x"),), [[1, 2]])
    with pytest.raises(ValueError, match="decimals"):
        Column("x", kind="text", decimals=2)
    with pytest.raises(ValueError, match="sheet names repeat"):
        xlsx_bytes([Sheet("Data", (Column("x"),), []), Sheet("data", (Column("x"),), [])])
    monkeypatch.setattr(workbook, "MAX_ROWS", 2)
    with pytest.raises(OptionError, match="--format xlsx: 3 rows do not fit on one sheet"):
        xlsx_bytes([Sheet("s", (Column("x"),), [[1], [2], [3]])])


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Electricity by time-of-use period", "Electricity by time-of-use peri"),
        ("a/b:c*d?e[f]g\\h", "a b c d e f g h"),
        ("'quoted'", "quoted"),
        ("", "Sheet"),
        ("分时电量", "分时电量"),
    ],
)
def test_sheet_name_makes_a_name_excel_accepts(text: str, name: str) -> None:
    assert sheet_name(text) == name
    Sheet(sheet_name(text), (Column("x"),), [])
