"""Reading back the .xlsx workbooks smartpark writes (core/workbook.py), with openpyxl:
an independent reader, so a test sees what Excel or LibreOffice would."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.escape import unescape
from openpyxl.worksheet.worksheet import Worksheet


@dataclass
class Table:
    """One sheet as smartpark lays it out: lines, an empty row, the header, the rows."""

    name: str
    lines: list[str]
    header: list[str]
    rows: list[list[Any]]
    freeze: str | None
    sheet: Worksheet

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.header, row, strict=True)) for row in self.rows]

    def column(self, head: str) -> list[Any]:
        i = self.header.index(head)
        return [row[i] for row in self.rows]


def load(data: bytes | Path) -> openpyxl.Workbook:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    return openpyxl.load_workbook(source)


def tables(data: bytes | Path) -> dict[str, Table]:
    """Every sheet of the workbook, by name, in order; every cell checked not a formula."""
    book = load(data)
    assert_no_formula(book)
    return {ws.title: table(ws) for ws in book.worksheets}


def table(ws: Worksheet) -> Table:
    # text as Excel reads it: XML's escapes of control characters (_x000D_: "\r") decoded
    values = [
        [unescape(v) if isinstance(v, str) else v for v in row]
        for row in ws.iter_rows(values_only=True)
    ]
    width = ws.max_column
    values = [row + [None] * (width - len(row)) for row in values]
    # the header is the row the panes are frozen below
    assert ws.freeze_panes is not None, f"{ws.title}: no frozen header"
    head = int(ws.freeze_panes.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) - 2
    lines = [row[0] for row in values[:head] if row[0] is not None]
    header = [c for c in values[head] if c is not None]
    rows = [row[: len(header)] for row in values[head + 1 :]]
    return Table(ws.title, lines, header, rows, ws.freeze_panes, ws)


def assert_no_formula(book: openpyxl.Workbook) -> None:
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula"


def same(cell: Any, value: Any) -> bool:
    """Whether a cell read back holds ``value``: a float to the 16 significant digits
    XlsxWriter writes (Excel shows 15), anything else exactly, a number as a number."""
    if isinstance(value, float) and not isinstance(cell, bool):
        return isinstance(cell, int | float) and math.isclose(cell, value, rel_tol=1e-15)
    return bool(cell == value)
