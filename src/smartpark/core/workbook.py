"""Tables as an Excel workbook (.xlsx): the one writer every smartpark spreadsheet uses.

A :class:`Sheet` is a name, a few lines saying what the table is (its scope, period,
data source and time zone), its :class:`Column` s and its rows. :func:`xlsx_bytes` and
:func:`write_xlsx` lay every sheet out the same way, with XlsxWriter
(https://xlsxwriter.readthedocs.io), never hand-written XML:

- the lines first (the first one bold), an empty row, then the header row: each
  column's header with its unit in brackets (``energy_tce [tce]``), bold, frozen so it
  stays in view while scrolling, with a filter on every column;
- a number is a number cell with a number format: thousands separators, and the
  column's decimals or, without them, decimals by the value's size
  (:func:`number_format`: 182,981, 385.9, 2.84, 0.216); a date or time is a date cell
  (its wall-clock time: the lines name the time zone); a bool is a bool; None, "", NaN
  and infinity are an empty cell;
- every other cell is text, passed through :func:`~smartpark.core.cells.safe_cell` and
  written as a string: the text ``=HYPERLINK("http://x")`` is stored as
  ``'=HYPERLINK("http://x")``, exactly as in smartpark's CSV, and no cell is ever a
  formula.

Rows are streamed to disk as they are written (XlsxWriter's ``constant_memory``), so a
long table costs little memory; a sheet holds at most :data:`MAX_ROWS` rows.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import numbers
import os
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import xlsxwriter  # type: ignore[import-untyped]

from smartpark.core.cells import safe_cell
from smartpark.core.errors import OptionError, OutputError
from smartpark.core.readable import decimals as shown_decimals

MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXCEL_ROWS: Final = 1_048_576  # rows of one worksheet in Excel
MAX_LINES: Final = 8
MAX_ROWS: Final = EXCEL_ROWS - MAX_LINES - 2  # data rows below the lines and the header
_BAD_NAME_CHARS: Final = frozenset("[]:*?/\\")
_WORKBOOK_OPTIONS: Final = {
    # belt and braces: cells are written with write_string/write_number, never write()
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}

Kind = Literal["text", "number", "integer", "date", "datetime", "month", "bool"]
_DATE_FORMATS: Final = {"date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm", "month": "yyyy-mm"}


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its header, the unit its numbers are in, and how they are shown.

    ``kind`` "number" shows ``decimals`` decimals, or (None) decimals by each value's
    size; "integer" none; "date", "datetime" and "month" format dates; "text" and
    "bool" are for the reader of the code: a cell's type comes from its value.
    """

    header: str
    unit: str = ""
    kind: Kind = "number"
    decimals: int | None = None

    def __post_init__(self) -> None:
        if not self.header:
            raise ValueError("Column: empty header")
        if self.decimals is not None and not (self.kind == "number" and 0 <= self.decimals <= 9):
            raise ValueError(f"Column {self.header!r}: decimals {self.decimals} (0-9, numbers)")

    @property
    def title(self) -> str:
        """The header as shown: ``energy_tce [tce]``."""
        return f"{self.header} [{self.unit}]" if self.unit else self.header


@dataclass(frozen=True, slots=True)
class Sheet:
    """One worksheet: ``lines`` above the header (title, scope, source, time zone), the
    columns, then the rows, each as long as ``columns``."""

    name: str
    columns: tuple[Column, ...]
    rows: Sequence[Sequence[object]]
    lines: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if sheet_name(self.name) != self.name:
            raise ValueError(
                f"Sheet {self.name!r}: not a worksheet name (1-31 characters, none of "
                "[]:*?/\\, no leading or trailing '); use sheet_name()"
            )
        if not self.columns:
            raise ValueError(f"Sheet {self.name!r}: no columns")
        if len(self.lines) > MAX_LINES:
            raise ValueError(f"Sheet {self.name!r}: {len(self.lines)} lines, at most {MAX_LINES}")
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"Sheet {self.name!r}: row {i} has {len(row)} cells for "
                    f"{len(self.columns)} columns"
                )


def sheet_name(text: str) -> str:
    """``text`` as a worksheet name Excel accepts: the characters ``[]:*?/\\`` as spaces,
    no leading or trailing ``'`` or space, at most 31 characters ("Sheet" if none left)."""
    name = "".join(" " if c in _BAD_NAME_CHARS or not c.isprintable() else c for c in text)
    name = name.strip(" '")[:31].rstrip(" '")
    return name or "Sheet"


def xlsx_bytes(sheets: Iterable[Sheet]) -> bytes:
    """The sheets as the bytes of one .xlsx file (:func:`write_xlsx` without a file)."""
    checked = _checked(sheets)
    out = io.BytesIO()
    _book(out, lambda book: _fill(book, checked), True)
    return out.getvalue()


def write_xlsx(path: Path, sheets: Iterable[Sheet]) -> Path:
    """The sheets as one .xlsx file at ``path`` (its folder made if needed), replaced
    whole: a reader never sees half a file."""
    checked = _checked(sheets)
    return write_book(path, lambda book: _fill(book, checked))


def write_book(path: Path, fill: Callable[[Any], None], *, streamed: bool = True) -> Path:
    """An .xlsx at ``path`` made by ``fill`` on an XlsxWriter workbook with the rules of
    every smartpark workbook (no text is ever taken for a formula, URL or number), its
    folder made if needed, replaced whole. ``streamed`` rows go to disk as written (each
    sheet in row order); a fill that writes out of order (the import templates) passes
    False."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError.cannot_write(path, exc) from None
    os.close(fd)
    try:
        with open(tmp, "wb") as sink:
            _book(sink, fill, streamed)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError.cannot_write(path, exc) from None
        raise
    return path


def number_format(value: float, places: int | None = None) -> str:
    """The Excel number format of ``value``: thousands separators and ``places``
    decimals, or (None) :func:`~smartpark.core.readable.decimals` of it, the rule every
    table smartpark shows follows (385.9, 14.7, 2.84, 0.216)."""
    shown = shown_decimals(value) if places is None else places
    return "#,##0." + "0" * shown if shown else "#,##0"


def _checked(sheets: Iterable[Sheet]) -> list[Sheet]:
    out = list(sheets)
    if not out:
        raise ValueError("a workbook needs at least one sheet")
    names = [s.name.casefold() for s in out]
    if len(set(names)) != len(names):
        raise ValueError(f"sheet names repeat: {', '.join(s.name for s in out)}")
    for s in out:
        if len(s.rows) > MAX_ROWS:
            raise OptionError(
                f"--format xlsx: {len(s.rows):,} rows do not fit on one sheet ({s.name!r} "
                f"holds at most {MAX_ROWS:,}); narrow the range or use --format csv"
            )
    return out


def _book(target: Any, fill: Callable[[Any], None], streamed: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="smartpark-xlsx-") as tmp:
        options = {**_WORKBOOK_OPTIONS, "constant_memory": streamed, "tmpdir": tmp}
        book = xlsxwriter.Workbook(target, options)
        try:
            fill(book)
        finally:
            book.close()


def _fill(book: Any, sheets: list[Sheet]) -> None:
    styles = _Styles(book)
    for s in sheets:
        _sheet(book.add_worksheet(s.name), s, styles)


class _Styles:
    """The workbook's formats, made once each."""

    def __init__(self, book: Any) -> None:
        self._book = book
        self._made: dict[tuple[str, bool], Any] = {}

    def get(self, num_format: str = "", bold: bool = False) -> Any:
        key = (num_format, bold)
        if key not in self._made:
            props: dict[str, object] = {"bold": True} if bold else {}
            if num_format:
                props["num_format"] = num_format
            self._made[key] = self._book.add_format(props)
        return self._made[key]


def _sheet(ws: Any, sheet: Sheet, styles: _Styles) -> None:
    head = len(sheet.lines) + 1 if sheet.lines else 0
    for c, width in enumerate(_widths(sheet)):
        ws.set_column(c, c, width)
    ws.freeze_panes(head + 1, 0)
    ws.repeat_rows(head)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    if sheet.rows:
        ws.autofilter(head, 0, head + len(sheet.rows), len(sheet.columns) - 1)
    for r, line in enumerate(sheet.lines):
        ws.write_string(r, 0, str(safe_cell(line)), styles.get(bold=r == 0))
    header = styles.get(bold=True)
    for c, column in enumerate(sheet.columns):
        ws.write_string(head, c, str(safe_cell(column.title)), header)
    for r, row in enumerate(sheet.rows, start=head + 1):
        for c, (value, column) in enumerate(zip(row, sheet.columns, strict=True)):
            _cell(ws, r, c, value, column, styles)


def _cell(ws: Any, r: int, c: int, value: object, column: Column, styles: _Styles) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        ws.write_boolean(r, c, value)
    elif isinstance(value, numbers.Real):
        number = float(value)
        if math.isfinite(number):
            decimals = 0 if column.kind == "integer" else column.decimals
            ws.write_number(r, c, number, styles.get(number_format(number, decimals)))
    elif isinstance(value, dt.datetime | dt.date):
        if isinstance(value, dt.datetime):
            when = value.replace(tzinfo=None)  # its wall-clock time; the lines name the zone
        else:
            when = dt.datetime(value.year, value.month, value.day)
        fmt = _DATE_FORMATS.get(column.kind, _DATE_FORMATS["datetime"])
        ws.write_datetime(r, c, when, styles.get(fmt))
    else:
        ws.write_string(r, c, str(safe_cell(str(value))))


def _widths(sheet: Sheet) -> list[float]:
    """Each column's width in characters: its header or its widest cell, within 8-60."""
    widths = [_text_width(c.title) for c in sheet.columns]
    for row in sheet.rows[:2000]:
        for c, (value, column) in enumerate(zip(row, sheet.columns, strict=True)):
            widths[c] = max(widths[c], _shown_width(value, column))
    return [min(60.0, max(8.0, w + 2.0)) for w in widths]


def _shown_width(value: object, column: Column) -> int:
    if value is None or isinstance(value, bool):
        return 5
    if isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number):
            return 0
        decimals = 0 if column.kind == "integer" else column.decimals
        fmt = number_format(number, decimals)
        return len(f"{number:,.{len(fmt) - fmt.index('.') - 1 if '.' in fmt else 0}f}")
    if isinstance(value, dt.date):
        return len(_DATE_FORMATS.get(column.kind, _DATE_FORMATS["datetime"]))
    return _text_width(str(value))


def _text_width(text: str) -> int:
    """Columns ``text`` takes: wide (CJK) characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
