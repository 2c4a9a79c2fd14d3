"""The fill-in templates of ``smartpark import template``: written by the one workbook
writer, read back by openpyxl and by the importers' own reader."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from smartpark.core.sheets import open_sheet
from smartpark.core.template import Template, TemplateColumn, write_template
from tests.core.test_sheets import FIELDS, METER, TIME, VALUE


def test_a_template_reads_back(tmp_path: Path) -> None:
    many = [f"meter-{i:03d}" for i in range(120)]  # > 255 characters: a range, not a list
    template = Template(
        sheet="读数 readings",
        columns=(
            TemplateColumn(METER, choices="meters", prompt="choose"),
            TemplateColumn(TIME, num_format="yyyy-mm-dd hh:mm"),
            TemplateColumn(VALUE),
        ),
        lists={"meters": ["=cmd|' /C calc'!A0", *many]},
        instructions=["Title", "=1+1 is text here"],
        reference_sheet="meters",
        reference_header=("meter",),
        reference_rows=[["@SUM(1)"]],
    )
    path = write_template(tmp_path / "t.xlsx", template)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["读数 readings", "说明 instructions", "meters", "lists"]
    assert [ws.sheet_state for ws in book.worksheets] == ["visible"] * 3 + ["hidden"]
    data = book["读数 readings"]
    assert [c.value for c in data[1]] == ["表计编号 meter", "抄表时间 time", "读数 value"]
    assert data.freeze_panes == "A2"
    (valid,) = [v for v in data.data_validations.dataValidation if v.type == "list"]
    assert valid.formula1 == "lists!$A$2:$A$122"
    assert str(valid.sqref) == "A2:A1048576"
    lists = book["lists"]
    assert lists["A2"].value == "'=cmd|' /C calc'!A0"  # text, never a formula
    for ws in book.worksheets:
        for row in ws.iter_rows():
            assert all(c.data_type != "f" for c in row)
    assert book["说明 instructions"]["A2"].value == "'=1+1 is text here"
    # and the empty template reads as a sheet with a header and no rows
    with open_sheet(path, FIELDS) as reader:
        assert reader.sheet == "读数 readings"
        assert list(reader.rows()) == []
