"""Reading sheets (core/sheets.py): CSV and .xlsx into rows of named cells, the header found
in either language, every cell as what it holds (a formula never evaluated), bounded
files, and the fill-in templates read back with openpyxl."""

from __future__ import annotations

import datetime as dt
import re
import warnings
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from smartpark.core import sheets
from smartpark.core.errors import CellError, SheetError
from smartpark.core.sheets import (
    EXCEL_EPOCH_1904,
    ErrorValue,
    Field,
    Formula,
    cell_number,
    cell_text,
    cell_time,
    local_ms,
    open_sheet,
)

METER = Field("meter", "meter", "表计编号", ("表计",))
TIME = Field("time", "time", "抄表时间", ("时间",))
VALUE = Field("value", "value", "读数")
NOTE = Field("note", "note", "备注", required=False)
FIELDS = (METER, TIME, VALUE, NOTE)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def read_all(path: Path, **kw):
    with open_sheet(path, FIELDS, **kw) as reader:
        return reader, list(reader.rows())


def xlsx(path: Path, rows: list[list[object]], *, merge: str | None = None) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    for row in rows:
        ws.append(row)
    if merge:
        ws.merge_cells(merge)
    book.save(path)
    return path


# -- CSV --------------------------------------------------------------------------------


def test_csv_header_in_chinese_below_title_lines_extra_columns_ignored(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "手工抄表,,,\n\n读数,表计编号,抄表时间,签字\nm1,2025-03-01 08:00,12.5,王\n,,,\nm2,x,1,\n",
        encoding="utf-8",
    )
    reader, rows = read_all(path)
    assert reader.format == "csv"
    assert reader.header_row == 3
    assert reader.columns == {"value": "A", "meter": "B", "time": "C"}
    assert reader.ignored_columns == ["D '签字'"]
    assert [(r.number, dict(r.cells)) for r in rows] == [
        (4, {"value": "m1", "meter": "2025-03-01 08:00", "time": "12.5"}),  # as the file says
        (6, {"value": "m2", "meter": "x", "time": "1"}),
    ]
    assert reader.cell_ref("time", 6) == "C6"


def test_bilingual_headers_and_encodings(tmp_path: Path) -> None:
    text = "表计编号 meter\t抄表时间 time\t读数 value\nm1\t2025-03-01\t1\n"
    for encoding in ("utf-8-sig", "utf-16", "gb18030"):
        path = tmp_path / f"r-{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        reader, rows = read_all(path)
        assert reader.columns == {"meter": "A", "time": "B", "value": "C"}, encoding
        assert rows[0].cells == {"meter": "m1", "time": "2025-03-01", "value": "1"}
    semicolons = tmp_path / "semi.csv"
    semicolons.write_text("meter;time;value\nm1;2025-03-01;1,5\n")
    _, rows = read_all(semicolons)
    assert rows[0].cells["value"] == "1,5"


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("meter,when,value\nm1,2025-03-01,1\n")
    with pytest.raises(SheetError) as err:
        open_sheet(path, FIELDS)
    message = str(err.value)
    assert (
        "no header row with the columns meter (表计编号), time (抄表时间), value (读数)" in message
    )
    assert "row 1 has A meter, C value; missing: time" in message


def test_a_column_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("meter,time,value,读数\nm1,2025-03-01,1,2\n")
    with pytest.raises(SheetError, match="columns C and D are all 'value': keep one"):
        open_sheet(path, FIELDS)


def test_more_rows_than_the_limit_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("meter,time,value\n" + "m1,2025-03-01,1\n" * 6)
    reader = open_sheet(path, FIELDS, max_rows=5)
    with reader, pytest.raises(SheetError, match="more than 5 data rows; split the file"):
        list(reader.rows())


def test_endless_blank_rows_are_bounded_too(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("meter,time,value\n" + ",,\n" * 11 + "m1,2025-03-01,1\n")
    reader = open_sheet(path, FIELDS, max_rows=5)
    with reader, pytest.raises(SheetError, match="more than 10 rows below the header, most"):
        list(reader.rows())


def test_a_csv_that_is_not_utf8_past_the_sniffed_part_says_so(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"meter,time,value\n" + b"m1,2025-03-01,1\n" * 5000 + b"m2,\xff\xfe,1\n")
    reader = open_sheet(path, FIELDS)
    with reader, pytest.raises(SheetError, match="save it again as CSV UTF-8"):
        list(reader.rows())


def test_a_gbk_csv_whose_chinese_comes_after_the_sniffed_part_is_read(tmp_path: Path) -> None:
    """Ids, times and numbers are ASCII: a GBK file's first Chinese may come rows later,
    past the bytes read to choose the encoding; the first non-ASCII text decides."""
    head = "meter,time,value,note\n" + "m1,2025-03-01,1,\n" * 5000
    assert len(head) > sheets._SNIFF_BYTES
    for encoding in ("gb18030", "utf-8"):
        path = tmp_path / f"late-{encoding}.csv"
        path.write_bytes((head + "m2,2025-03-02,2,抄表员 张三\n").encode(encoding))
        _, rows = read_all(path)
        assert len(rows) == 5001, encoding
        assert rows[-1].cells == {
            "meter": "m2",
            "time": "2025-03-02",
            "value": "2",
            "note": "抄表员 张三",
        }


# -- not a spreadsheet -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a spreadsheet (binary data)"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n\x00", "not a spreadsheet (a PDF)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "an old Excel 97-2003 workbook"),
        (b"PK\x03\x04garbage", "starts like an .xlsx workbook but is damaged"),
    ],
)
def test_a_file_that_is_not_a_spreadsheet_is_named_as_such(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "readings.xlsx"
    path.write_bytes(content)
    with pytest.raises(SheetError, match=re.escape(expected)):
        open_sheet(path, FIELDS)


def test_a_zip_that_is_no_workbook(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(SheetError, match=r"a zip archive, not an \.xlsx workbook"):
        open_sheet(path, FIELDS)
    ods = tmp_path / "r.ods"
    with zipfile.ZipFile(ods, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    with pytest.raises(SheetError, match=r"an OpenDocument file \(.ods\): save it as .xlsx"):
        open_sheet(ods, FIELDS)


def zip_bomb(path: Path, entry: str, megabytes: int) -> Path:
    """A real workbook whose ``entry`` is replaced by ``megabytes`` of one repeated byte."""
    good = xlsx(path.with_suffix(".good.xlsx"), [["meter", "time", "value"]])
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != entry:
                dst.writestr(info, src.read(info))
        with dst.open(entry, "w", force_zip64=True) as out:
            block = b" " * (1 << 20)
            for _ in range(megabytes):
                out.write(block)
    return path


def test_a_zip_bomb_is_refused_before_anything_is_unpacked(tmp_path: Path) -> None:
    bomb = zip_bomb(tmp_path / "bomb.xlsx", "xl/worksheets/sheet1.xml", 50)
    assert bomb.stat().st_size < 200_000  # 50 MB of XML in ~50 kB
    with pytest.raises(SheetError) as err:
        open_sheet(bomb, FIELDS)
    assert "xl/worksheets/sheet1.xml' unpacks 52,428,800 bytes from" in str(err.value)
    assert "refused as a possible zip bomb" in str(err.value)


def test_unpacked_sizes_are_bounded_per_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sheets, "MAX_STRINGS_XML_BYTES", 1024**2)
    monkeypatch.setattr(sheets, "MAX_RATIO", 10**6)
    bomb = zip_bomb(tmp_path / "strings.xlsx", "xl/sharedStrings.xml", 2)
    with pytest.raises(SheetError, match="unpacks to 2,097,152 bytes \\(at most 1,048,576\\)"):
        open_sheet(bomb, FIELDS)


# -- .xlsx --------------------------------------------------------------------------------


def test_xlsx_cells_come_as_what_they_hold(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path / "r.xlsx",
        [
            ["Readings of March"],
            [],
            ["meter", "time", "value", "note"],
            ["m1", dt.datetime(2025, 3, 1, 8, 0), 12.5, None],
            ["m1", "2025-03-02 08:00", "=C4+1", '=HYPERLINK("x")'],
            ["m2", 45718.5, True, "#N/A"],
        ],
    )
    book = openpyxl.load_workbook(path)
    book.active["C6"].value = "#DIV/0!"
    book.active["C6"].data_type = "e"
    book.save(path)
    reader, rows = read_all(path)
    assert reader.format == "xlsx"
    assert reader.sheet == "Sheet"
    assert reader.header_row == 3
    assert [r.number for r in rows] == [4, 5, 6]
    assert rows[0].cells == {
        "meter": "m1",
        "time": dt.datetime(2025, 3, 1, 8, 0),
        "value": 12.5,
        "note": None,
    }
    assert rows[1].cells["value"] == Formula("=C4+1")
    assert rows[1].cells["note"] == Formula('=HYPERLINK("x")')
    assert rows[2].cells["time"] == 45718.5
    assert rows[2].cells["value"] == ErrorValue("#DIV/0!")


def test_a_date_formatted_number_that_is_no_date_is_an_error_cell_without_warnings(
    tmp_path: Path,
) -> None:
    """openpyxl warns once per such cell while the rows stream (a 200,000-row column of
    them would bury the report on stderr); the report names each cell already."""
    path = xlsx(
        tmp_path / "r.xlsx",
        [["meter", "time", "value"], ["m1", 45718.5, 1], ["m1", 99_999_999, 2]],
    )
    book = openpyxl.load_workbook(path)
    for cell in ("B2", "B3"):
        book.active[cell].number_format = "yyyy-mm-dd hh:mm"
    book.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, rows = read_all(path)
    assert rows[0].cells["time"] == dt.datetime(2025, 3, 2, 12, 0)
    assert rows[1].cells["time"] == ErrorValue("#VALUE!")


def test_the_first_visible_sheet_with_the_columns_is_read(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["Fill in the next sheet"])
    hidden = book.create_sheet("old")
    hidden.append(["meter", "time", "value"])
    hidden.sheet_state = "hidden"
    data = book.create_sheet("data")
    data.append(["表计", "时间", "读数"])
    data.append(["m1", "2025-03-01", 1])
    book.save(tmp_path / "r.xlsx")
    reader, rows = read_all(tmp_path / "r.xlsx")
    assert reader.sheet == "data"
    assert len(rows) == 1
    reader, rows = read_all(tmp_path / "r.xlsx", sheet="old")
    assert reader.sheet == "old"
    assert rows == []
    with pytest.raises(SheetError, match="no worksheet 'nope'; it has '说明', 'old', 'data'"):
        open_sheet(tmp_path / "r.xlsx", FIELDS, sheet="nope")


def test_merged_header_cells_are_named(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path / "r.xlsx",
        [["meter", None, "value"], ["m1", "2025-03-01", 1]],
        merge="A1:B1",
    )
    with pytest.raises(SheetError) as err:
        open_sheet(path, FIELDS)
    assert "(row 1 has A meter, C value; missing: time)" in str(err.value)
    assert "header cells A1:B1 are merged: unmerge them" in str(err.value)


def test_dimensions_the_sheet_claims_are_not_trusted(tmp_path: Path) -> None:
    path = xlsx(tmp_path / "r.xlsx", [["meter", "time", "value"], ["m1", "2025-03-01", 1]])
    with zipfile.ZipFile(path) as src:
        parts = {i.filename: src.read(i) for i in src.infolist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b'<dimension ref="A1:C2"/>', b'<dimension ref="A1:XFD1048576"/>'
    )
    with zipfile.ZipFile(path, "w") as dst:
        for name, data in parts.items():
            dst.writestr(name, data)
    _, rows = read_all(path)
    assert len(rows) == 1


# -- cells ------------------------------------------------------------------------------


def test_numbers() -> None:
    assert cell_number(12) == 12.0
    assert cell_number(" 1,234.5 ") == 1234.5
    assert cell_number("1e3") == 1000.0
    assert cell_number("１２") == 12.0  # full-width digits (NFKC)
    for bad, reason in [
        ("abc", "not_a_number"),
        ("nan", "not_a_number"),
        ("", "missing"),
        (None, "missing"),
        (True, "not_a_number"),
        (Formula("=A1"), "formula"),
        (ErrorValue("#REF!"), "error_cell"),
        (dt.date(2025, 1, 1), "not_a_number"),
    ]:
        with pytest.raises(CellError) as err:
            cell_number(bad)
        assert err.value.reason == reason, bad


def test_text() -> None:
    assert cell_text(" m1 ") == "m1"
    assert cell_text(1001.0) == "1001"  # an id Excel stored as a number
    assert cell_text("ｍ３") == "m3"
    with pytest.raises(CellError, match="a number, not text"):
        cell_text(1.5)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2025-03-01T08:00:00+08:00", 1_740_787_200_000),
        ("2025-03-01 08:00:00+08:00", 1_740_787_200_000),  # a space for the T
        ("2025-03-01T00:00:00Z", 1_740_787_200_000),
        (dt.datetime(2025, 3, 1, tzinfo=dt.UTC), 1_740_787_200_000),
        ("2025-03-01 08:00", dt.datetime(2025, 3, 1, 8, 0)),
        ("2025/3/1 8:05:30", dt.datetime(2025, 3, 1, 8, 5, 30)),
        ("2025-03-01T08:00", dt.datetime(2025, 3, 1, 8, 0)),
        ("2025年3月1日", dt.datetime(2025, 3, 1)),
        ("2025-03-01", dt.datetime(2025, 3, 1)),
        (dt.date(2025, 3, 1), dt.datetime(2025, 3, 1)),
        (dt.datetime(2025, 3, 1, 8, 0), dt.datetime(2025, 3, 1, 8, 0)),
        (45717, dt.datetime(2025, 3, 1)),  # an Excel serial date
        (45717.5, dt.datetime(2025, 3, 1, 12, 0)),
        ("45717.25", dt.datetime(2025, 3, 1, 6, 0)),  # a serial as text (CSV)
    ],
)
def test_times(cell: sheets.Cell, expected: object) -> None:
    assert cell_time(cell) == expected


def test_the_1904_date_system() -> None:
    assert cell_time(44255, EXCEL_EPOCH_1904) == dt.datetime(2025, 3, 1)


@pytest.mark.parametrize(
    ("cell", "fragment"),
    [
        ("2025-13-01", "is not a real time"),
        ("01.03.2025", "is not a time"),
        ("yesterday", "is not a time"),
        ("2025-03-01T08:00:00+25:00", "not an RFC 3339 timestamp"),
        (dt.time(8, 0), "a time of day without a date"),
        (3e7, "is not an Excel date serial"),
        (0, "is not an Excel date serial"),
    ],
)
def test_bad_times(cell: sheets.Cell, fragment: str) -> None:
    with pytest.raises(CellError) as err:
        cell_time(cell)
    assert err.value.reason == "bad_ts"
    assert fragment in err.value.detail


def test_local_times_in_a_zone_with_daylight_saving() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert local_ms(dt.datetime(2025, 3, 1, 8, 0), SHANGHAI) == 1_740_787_200_000
    assert local_ms(dt.datetime(2025, 3, 30, 1, 0), berlin) == 1_743_292_800_000  # UTC+1
    for missing_or_twice in (dt.datetime(2025, 3, 30, 2, 30), dt.datetime(2025, 10, 26, 2, 30)):
        with pytest.raises(CellError, match="ambiguous or does not exist in Europe/Berlin"):
            local_ms(missing_or_twice, berlin)
