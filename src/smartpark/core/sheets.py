"""Sheets in: CSV and .xlsx files read as rows of named cells, and one error report for
every kind of import (``smartpark import``, docs/import.md).

Every importer (readings: ``ingest/importer.py``; land-use facts:
``analytics/landuse/facts_import.py``; product output:
``analytics/products/output_import.py``; targets later) says
which columns its sheet has (:class:`Field`: a name and the headers it is known by, in
English and Chinese) and reads the file with :func:`open_sheet`:

- the file is recognised by its content, not its name: an .xlsx workbook (a zip archive,
  checked before anything is unpacked: entry count, unpacked sizes and compression ratios
  are bounded, so a zip bomb is refused unread), or CSV text (UTF-8 with or without BOM,
  UTF-16 with BOM, else GB18030, which covers the GBK that Excel in Chinese saves; comma,
  tab or semicolon between cells). Anything else (an old .xls, a PDF, an image) is a
  :class:`~smartpark.core.errors.SheetError` that says what to save it as;
- the header row is found among the first :data:`HEADER_SEARCH_ROWS` rows of the first
  visible worksheet that has one (title lines above it are fine); columns are matched by
  their header in either language, in any order; other columns are ignored. A header
  row that lacks a column names what is missing, and merged header cells if it has any;
- rows stream: an .xlsx through openpyxl's read-only mode (the sheet's XML is parsed as
  it is read), CSV line by line. Memory does not grow with the file; at most
  :data:`MAX_ROWS` data rows are read, a file with more is refused whole;
- a cell comes as its value: text, a number, a bool, a date or time (a cell with a date
  format), :class:`Formula` (a formula is never evaluated, nor its cached result used)
  or :class:`ErrorValue` (``#DIV/0!``). :func:`cell_text`, :func:`cell_number`,
  :func:`cell_time` and :func:`cell_period` read one as what its column holds or raise
  :class:`~smartpark.core.errors.CellError` with a reason and what to enter instead.

Each rejected row becomes one :class:`RowError` (row number and cell as the spreadsheet
shows them, column, value, reason, detail) in an :class:`ImportReport`, the one report
every import prints (a table, or JSON with ``--format json``). The .xlsx a person fills
in is written by :mod:`smartpark.core.template`.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import re
import unicodedata
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, ClassVar, Final, Literal, TypeVar
from zoneinfo import ZoneInfo

from smartpark.core.errors import CellError, ContractError, SheetError
from smartpark.core.timestamps import parse_rfc3339

# -- limits (docs/import.md, "Bad input") ---------------------------------------------

MAX_ROWS: Final = 1_048_576  # data rows of one file: what one Excel worksheet holds
MAX_COLUMNS: Final = 64  # columns read per row; the rest of a wider row is ignored
HEADER_SEARCH_ROWS: Final = 20  # the header row is one of the first this many rows
MAX_CSV_BYTES: Final = 512 * 1024**2
MAX_CELL_CHARS: Final = 32_767  # Excel's own limit for one cell
MAX_ZIP_ENTRIES: Final = 10_000
MAX_UNPACKED_BYTES: Final = 1024**3  # all entries of an .xlsx together, unpacked
MAX_SHEET_XML_BYTES: Final = 512 * 1024**2  # one worksheet's XML, unpacked
MAX_STRINGS_XML_BYTES: Final = 128 * 1024**2  # the shared strings (openpyxl loads them whole)
MAX_OTHER_XML_BYTES: Final = 32 * 1024**2  # styles, workbook, anything else
MAX_RATIO: Final = 100  # unpacked / packed, for entries above RATIO_FROM_BYTES
RATIO_FROM_BYTES: Final = 1024**2
MAX_LISTED_ERRORS: Final = 1_000  # row errors kept in a report; the rest are counted
_SNIFF_BYTES: Final = 64 * 1024

EXCEL_EPOCH_1900: Final = dt.datetime(1899, 12, 30)  # serial 1 = 1900-01-01 (after Feb 1900)
EXCEL_EPOCH_1904: Final = dt.datetime(1904, 1, 1)
_MAX_SERIAL: Final = 2_958_465  # 9999-12-31

Format = Literal["csv", "xlsx"]
_T = TypeVar("_T")


# -- what a kind of sheet holds ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """One column of a kind of sheet: its name, its headers in English and Chinese (as a
    template writes them) and any other header it is known by."""

    name: str
    en: str
    zh: str
    aliases: tuple[str, ...] = ()
    required: bool = True
    formatted: bool = False  # its cells' number formats are kept (Row.formats)

    @property
    def header(self) -> str:
        """The header a template writes: ``表计编号 meter``."""
        return f"{self.zh} {self.en}"

    def words(self) -> frozenset[str]:
        return frozenset(_norm(w) for w in (self.name, self.en, self.zh, *self.aliases))


@dataclass(frozen=True, slots=True)
class Formula:
    """A formula cell, as its text (``=B4+10``): never evaluated, always rejected."""

    text: str

    def __str__(self) -> str:
        return self.text if self.text.startswith("=") else f"={self.text}"


@dataclass(frozen=True, slots=True)
class ErrorValue:
    """An error cell (``#DIV/0!``, ``#REF!``)."""

    text: str

    def __str__(self) -> str:
        return self.text


Cell = str | int | float | bool | dt.datetime | dt.date | dt.time | Formula | ErrorValue | None


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its number as the spreadsheet shows it, its cells by field name and,
    for a :attr:`Field.formatted` field, the number format of a cell that has one (an
    .xlsx date or number cell: ``yyyy"年"m"月"`` tells a month cell from a day cell)."""

    number: int
    cells: Mapping[str, Cell]
    formats: Mapping[str, str] = field(default_factory=dict)


# -- the error report ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row was not stored: where (row and cell as the spreadsheet shows them, the
    column), what it held, a machine-readable reason and what to fix."""

    row: int
    column: str
    cell: str
    value: str
    reason: str
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {
            "row": self.row,
            "column": self.column,
            "cell": self.cell,
            "value": self.value,
            "reason": self.reason,
            "detail": self.detail,
        }


@dataclass
class ImportReport:
    """What an import did with a file: rows read, stored, rejected (each with its
    :class:`RowError`, the first :data:`MAX_LISTED_ERRORS` of them listed), or the
    file-level ``error`` that stopped it before anything was stored."""

    kind: str
    file: str
    sheet: str | None = None
    header_row: int | None = None
    columns: dict[str, str] = field(default_factory=dict)  # field -> column letter
    ignored_columns: list[str] = field(default_factory=list)
    rows: int = 0
    stored: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    all_or_nothing: bool = False
    dead_lettered: int = 0
    dead_letter_file: str | None = None
    error: str | None = None  # the file itself could not be imported
    notes: list[str] = field(default_factory=list)

    def found(self, reader: SheetReader) -> None:
        """Note where ``reader`` found its header and columns."""
        self.sheet = reader.sheet
        self.header_row = reader.header_row
        self.columns = reader.columns
        self.ignored_columns = reader.ignored_columns

    def reject(self, error: RowError) -> None:
        self.rejected += 1
        self.reasons[error.reason] += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(error)

    @property
    def exit_code(self) -> int:
        """0: every row stored; 1: a row rejected, nothing stored, or the file refused."""
        ok = self.error is None and self.rows > 0 and self.rejected == 0
        return 0 if ok and self.stored == self.rows else 1

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "file": self.file,
            "sheet": self.sheet,
            "header_row": self.header_row,
            "columns": dict(self.columns),
            "ignored_columns": list(self.ignored_columns),
            "rows": self.rows,
            "stored": self.stored,
            "rejected": self.rejected,
            "all_or_nothing": self.all_or_nothing,
            "reasons": dict(sorted(self.reasons.items())),
            "errors": [e.as_dict() for e in self.errors],
            "errors_not_listed": self.rejected - len(self.errors),
            "dead_lettered": self.dead_lettered,
            "dead_letter_file": self.dead_letter_file,
            "error": self.error,
            "notes": list(self.notes),
            "exit_code": self.exit_code,
        }


def shown(value: Cell, limit: int = 80) -> str:
    """A cell's value as a report shows it: its text, shortened."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        text = str(int(value))
    else:
        text = str(value)
    text = "".join(c if c.isprintable() else " " for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- reading cells ------------------------------------------------------------------------


def _refuse_special(value: Cell) -> None:
    if isinstance(value, Formula):
        raise CellError(
            "formula",
            f"a formula ({shown(str(value), 40)}) is never evaluated: enter the value itself "
            "(copy the column and paste it as values)",
        )
    if isinstance(value, ErrorValue):
        raise CellError("error_cell", f"the cell shows the error {value}: enter the value")


def is_blank(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: Cell) -> str:
    """A text cell (an id, a unit): stripped; a whole number reads as its digits."""
    if type(value) is str:
        text = value.strip()
        if text.isascii() and text:
            return text
    _refuse_special(value)
    if is_blank(value):
        raise CellError("missing", "the cell is empty: fill it in")
    if isinstance(value, bool):
        raise CellError("not_text", f"{value} is not text")
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():
            raise CellError("not_text", f"{shown(value)} is a number, not text")
        return str(int(value))
    if isinstance(value, dt.date | dt.time):
        raise CellError("not_text", f"{shown(value)} is a date, not text")
    return unicodedata.normalize("NFKC", str(value)).strip()


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")


def cell_number(value: Cell) -> float:
    """A number cell, or text holding a plain number (``1234.5``, ``1,234.5``, ``1e3``)."""
    _refuse_special(value)
    if is_blank(value):
        raise CellError("missing", "the cell is empty: enter the number")
    if isinstance(value, bool):
        raise CellError("not_a_number", f"{value} is not a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.date | dt.time):
        raise CellError("not_a_number", f"{shown(value)} is a date, not a number")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    if _GROUPED.fullmatch(text):
        return float(text.replace(",", ""))
    raise CellError("not_a_number", f"{shown(text, 40)!r} is not a number")


_LOCAL = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?"
)
_OFFSET = re.compile(r"(?:[zZ]|[+-]\d{2}:\d{2})$")
_TIME_HELP: Final = (
    "give RFC 3339 with an offset (2026-03-01T08:00:00+08:00), a local date and time "
    "(2026-03-01 08:00, the meter's park time zone) or a date cell"
)


def cell_time(value: Cell, epoch: dt.datetime = EXCEL_EPOCH_1900) -> int | dt.datetime:
    """A time cell: epoch ms when it names its offset (RFC 3339: ``2026-03-01T08:00:00+08:00``,
    ``...Z``; a space for the ``T`` is accepted), else a naive local wall-clock time to be
    placed in a time zone (:func:`local_ms`): a local date and time as text
    (``2026-03-01 08:00``, ``2026/3/1 8:00``, ``2026年3月1日``; a date alone is midnight),
    a date cell, or an Excel serial number (days since ``epoch``, the workbook's date
    system: 45717.5 is 2025-03-01 12:00)."""
    _refuse_special(value)
    if is_blank(value):
        raise CellError("missing", f"the cell is empty: {_TIME_HELP}")
    if isinstance(value, bool):
        raise CellError("bad_ts", f"{value} is not a time: {_TIME_HELP}")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return round(value.timestamp() * 1000)
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, dt.time):
        raise CellError("bad_ts", f"{value} is a time of day without a date: {_TIME_HELP}")
    if isinstance(value, int | float):
        return _serial(float(value), epoch)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if _NUMBER.fullmatch(text):
        return _serial(float(text), epoch)
    text = text.replace("年", "-").replace("月", "-").replace("日", " ").strip()
    if _OFFSET.search(text) and ":" in text:
        # RFC 3339 (the wire contract's parser); a space may stand for the T
        spaced = re.match(r"(\d{4}-\d{2}-\d{2}) +(\d)", text)
        if spaced:
            text = f"{spaced.group(1)}T{text[spaced.end(1) :].lstrip()}"
        try:
            return parse_rfc3339(text, "time")
        except ContractError as exc:
            raise CellError("bad_ts", f"{exc.detail}: {_TIME_HELP}") from None
    match = _LOCAL.fullmatch(text)
    if not match:
        raise CellError("bad_ts", f"{shown(text, 40)!r} is not a time: {_TIME_HELP}")
    y, mo, d, h, mi, s, frac = match.groups()
    try:
        return dt.datetime(
            int(y),
            int(mo),
            int(d),
            int(h or 0),
            int(mi or 0),
            int(s or 0),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError as exc:
        raise CellError("bad_ts", f"{shown(text, 40)!r} is not a real time ({exc})") from None


def _serial(days: float, epoch: dt.datetime) -> dt.datetime:
    if not 1 <= days <= _MAX_SERIAL:
        raise CellError(
            "bad_ts",
            f"{shown(days)} is not an Excel date serial (1 to {_MAX_SERIAL}): {_TIME_HELP}",
        )
    return epoch + dt.timedelta(milliseconds=round(days * 86_400_000))


def local_ms(when: dt.datetime, zone: ZoneInfo) -> int:
    """Epoch ms of the naive local time ``when`` in ``zone``; a time that does not exist
    there (a daylight-saving gap) or exists twice (the hour repeated) is refused."""
    first = when.replace(tzinfo=zone, fold=0)
    second = when.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        raise CellError(
            "bad_ts",
            f"{when:%Y-%m-%d %H:%M} is ambiguous or does not exist in {zone.key} (a "
            "daylight-saving change): give it with its offset (RFC 3339)",
        )
    return (first - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(milliseconds=1)


def in_column(read: Callable[[Cell], _T], column: str, value: Cell) -> _T:
    """``read(value)``, a :class:`~smartpark.core.errors.CellError` it raises naming
    ``column``."""
    try:
        return read(value)
    except CellError as exc:
        raise CellError(exc.reason, exc.detail, column) from None


Period = Literal["month", "day"]
_MONTH_TEXT = re.compile(r"(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:月份?)?")
_DAY_TEXT = re.compile(
    r"(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*[日号]?"
    r"(?:[ T]+0?0:00(?::00(?:\.0+)?)?)?"  # a date exported with its midnight
)
_PERIOD_HELP: Final = (
    "give a month (2026-11, 2026年11月, a month cell) or a day (2026-11-05, 2026年11月5日, "
    "a date cell)"
)


def cell_period(
    value: Cell, number_format: str = "", epoch: dt.datetime = EXCEL_EPOCH_1900
) -> tuple[Period, dt.date]:
    """A calendar month or day: ``("month", its first day)`` or ``("day", the day)``.
    Text ``2026-11``, ``2026/11``, ``2026年11月`` is a month, ``2026-11-05``,
    ``2026/11/5``, ``2026年11月5日`` a day. A date cell is a month when its
    ``number_format`` (:attr:`Row.formats`) shows a month and no day (``yyyy"年"m"月"``,
    ``mmm-yy``), else a day, at midnight; a number is a period only in a date format (an
    Excel serial counted from ``epoch``: Excel in Chinese keeps ``2026年11月`` so).
    :class:`~smartpark.core.errors.CellError` ``bad_period`` for anything else."""
    _refuse_special(value)
    if is_blank(value):
        raise CellError("missing", f"the cell is empty: {_PERIOD_HELP}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not _is_date_format(number_format):
            raise CellError(
                "bad_period", f"{shown(value)} is a number, not a period: {_PERIOD_HELP}"
            )
        if not 1 <= value <= _MAX_SERIAL:
            raise CellError("bad_period", f"{shown(value)} is not an Excel date: {_PERIOD_HELP}")
        value = _serial(float(value), epoch)
    if isinstance(value, dt.datetime | dt.date):
        when = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
        if _shows_month(number_format):
            return "month", dt.date(when.year, when.month, 1)
        if when.time() != dt.time() or when.tzinfo is not None:
            raise CellError(
                "bad_period", f"{shown(value)} is a time, not a day or month: {_PERIOD_HELP}"
            )
        return "day", when.date()
    if not isinstance(value, str):
        raise CellError("bad_period", f"{shown(value)} is no month or day: {_PERIOD_HELP}")
    text = unicodedata.normalize("NFKC", value).strip()
    month = _MONTH_TEXT.fullmatch(text)
    day = None if month else _DAY_TEXT.fullmatch(text)
    found = month or day
    try:
        if found is not None:
            y, m, *d = (int(g) for g in found.groups())
            return ("day", dt.date(y, m, d[0])) if d else ("month", dt.date(y, m, 1))
    except ValueError as exc:
        raise CellError("bad_period", f"{shown(text, 40)!r} is no real date ({exc})") from None
    raise CellError("bad_period", f"{shown(text, 40)!r} is no month or day: {_PERIOD_HELP}")


# The literal parts of a number format: quoted text, [colours and locales], escapes.
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')


def _date_letters(number_format: str) -> str:
    """A number format's first section without its literals, lower case:
    ``yyyy"年"m"月"`` -> ``yyyym``."""
    return _FORMAT_LITERALS.sub("", number_format.split(";")[0]).lower()


def _is_date_format(number_format: str) -> bool:
    letters = _date_letters(number_format)
    return "y" in letters or "d" in letters


def _shows_month(number_format: str) -> bool:
    """A date format that shows a month and no day or time: ``yyyy-mm``, ``mmm-yy``."""
    letters = _date_letters(number_format)
    return "m" in letters and not any(c in letters for c in "dahs")


@dataclass
class MergeReport(ImportReport):
    """:class:`ImportReport` of a sheet merged into a file of its part (land-use facts,
    dual-control targets): rows ``added``, ``replaced`` (changed) and ``unchanged``, and
    whether the file was ``written`` (``stored`` is their sum). A subclass names the
    file's field (:attr:`FILE_FIELD`, e.g. ``facts_file``), kept in the JSON under it."""

    FILE_FIELD: ClassVar[str] = "merged_file"
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    written: bool = False

    def as_dict(self) -> dict[str, object]:
        out = super().as_dict()
        out.pop("dead_lettered")
        out.pop("dead_letter_file")
        exit_code = out.pop("exit_code")
        out.update(
            {self.FILE_FIELD: getattr(self, self.FILE_FIELD)},
            added=self.added,
            replaced=self.replaced,
            unchanged=self.unchanged,
            written=self.written,
            exit_code=exit_code,
        )
        return out


# Spellings a person types for a unit the contract names otherwise (after NFKC, which
# already makes m³ m3): exact words only, never a guess.
UNIT_WORDS: Final[Mapping[str, str]] = {
    "立方米": "m3",
    "方": "m3",
    "标准立方米": "Nm3",
    "标方": "Nm3",
    "升": "L",
    "千瓦时": "kWh",
    "度": "kWh",
    "兆瓦时": "MWh",
    "吨": "t",
    "千克": "kg",
    "公斤": "kg",
    "吉焦": "GJ",
    "兆焦": "MJ",
    "元": "CNY",
    "万元": "10k CNY",
}


def unit_spelling(text: str, units: Sequence[str]) -> str:
    """The spelling in ``units`` (those a column accepts) of the unit ``text``: as given
    when listed, else a listed word (:data:`UNIT_WORDS`: 吨 is ``t``), else a
    case-insensitive match that is unique among ``units``; otherwise ``text`` unchanged
    (for the caller to refuse, naming ``units``)."""
    if text in units:
        return text
    word = UNIT_WORDS.get(text)
    if word is not None and word in units:
        return word
    folded = [u for u in units if u.casefold() == text.casefold()]
    return folded[0] if len(folded) == 1 else text


# -- opening a file -----------------------------------------------------------------------


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


_SPLIT = re.compile(r"[\s/|()\[\]{}<>:;,、_]+")


def _match_header(text: str, words: Mapping[str, str]) -> str | None:
    """The field a header cell names: the whole text, or its words (``表计编号 meter``,
    ``value [kWh]``) when they name one field only."""
    whole = _norm(text)
    if whole in words:
        return words[whole]
    found = {words[w] for w in _SPLIT.split(whole) if w in words}
    return found.pop() if len(found) == 1 else None


@dataclass
class _Header:
    row: int
    positions: dict[str, int]  # field -> column index
    ignored: list[str]
    duplicates: dict[str, list[int]]


def _find_header(
    rows: Sequence[tuple[int, Sequence[Cell]]], fields: Sequence[Field]
) -> tuple[_Header | None, _Header | None]:
    """(the header row, or None; the best candidate row, for the error message)."""
    words: dict[str, str] = {}
    for f in fields:
        for w in f.words():
            words[w] = f.name
    required = {f.name for f in fields if f.required}
    best: _Header | None = None
    for number, cells in rows:
        positions: dict[str, int] = {}
        dups: dict[str, list[int]] = {}
        ignored: list[str] = []
        for i, cell in enumerate(cells):
            if not isinstance(cell, str) or not cell.strip():
                continue
            name = _match_header(cell, words)
            if name is None:
                ignored.append(f"{column_letter(i)} {shown(cell, 30)!r}")
            elif name in positions:
                dups.setdefault(name, [positions[name]]).append(i)
            else:
                positions[name] = i
        cand = _Header(number, positions, ignored, dups)
        if required <= positions.keys():
            return cand, cand
        if best is None or len(positions) > len(best.positions):
            best = cand
    return None, best


class SheetReader:
    """An open sheet: where its header is and which column holds which field; iterate
    :meth:`rows` once. Use as a context manager (it holds the file open)."""

    def __init__(
        self,
        path: Path,
        fields: Sequence[Field],
        *,
        sheet: str | None = None,
        max_rows: int = MAX_ROWS,
    ) -> None:
        self.path = path
        self.fields = tuple(fields)
        self.max_rows = max_rows
        self.format: Format = "csv"
        self.sheet: str | None = None
        self.epoch = EXCEL_EPOCH_1900
        self._close: list[Any] = []
        # (row number, raw cells) from the file; _convert turns a raw cell into a Cell
        self._source: Iterator[tuple[int, Sequence[Any]]] = iter(())
        self._convert: Callable[[Any], Cell] = _csv_cell
        self._head: list[tuple[int, Sequence[Any]]] = []
        try:
            self._open(sheet)
        except BaseException:
            self.close()
            raise

    # -- context manager

    def __enter__(self) -> SheetReader:
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        while self._close:
            closer = self._close.pop()
            with contextlib.suppress(Exception):  # a file read to its end, or abandoned
                closer.close()

    # -- what was found

    @property
    def columns(self) -> dict[str, str]:
        """Field -> the column letter that holds it."""
        return {f: column_letter(i) for f, i in self._header.positions.items()}

    @property
    def header_row(self) -> int:
        return self._header.row

    @property
    def ignored_columns(self) -> list[str]:
        return list(self._header.ignored)

    def cell_ref(self, field_name: str, row: int) -> str:
        index = self._header.positions.get(field_name)
        return f"{column_letter(index)}{row}" if index is not None else f"row {row}"

    def rows(self) -> Iterator[Row]:
        """The data rows below the header, blank rows skipped; a :class:`SheetError` once
        more than ``max_rows`` of them came, or when the file turns out damaged."""
        positions = list(self._header.positions.items())
        formatted = {f.name for f in self.fields if f.formatted}
        keep = [(f, i) for f, i in positions if f in formatted] if self.format == "xlsx" else []
        header_row = self._header.row
        convert = self._convert
        seen = 0
        source = self._source
        pending = [r for r in self._head if r[0] > header_row]
        self._head = []
        try:
            for number, cells in _chain(pending, source):
                if number - header_row > 2 * self.max_rows:  # blank rows take time too
                    raise SheetError(
                        f"{self.path}: more than {2 * self.max_rows:,} rows below the header, "
                        "most of them blank: delete the blank rows (nothing of this file was "
                        "stored)"
                    )
                width = len(cells)
                values = {f: (convert(cells[i]) if i < width else None) for f, i in positions}
                for v in values.values():
                    if v is not None and (type(v) is not str or v.strip()):
                        break
                else:  # a blank row
                    continue
                seen += 1
                if seen > self.max_rows:
                    raise SheetError(
                        f"{self.path}: more than {self.max_rows:,} data rows; split the file "
                        f"into files of at most {self.max_rows:,} rows and import each "
                        "(nothing of this file was stored)"
                    )
                formats = _NO_FORMATS
                if keep:
                    formats = {
                        f: fmt for f, i in keep if i < width and (fmt := _xlsx_format(cells[i]))
                    }
                yield Row(number, values, formats)
        except SheetError:
            raise
        except Exception as exc:  # csv.Error, a decoding error, a bad zip or XML, ...
            raise self._damaged(exc) from None

    # -- opening

    def _damaged(self, exc: BaseException) -> SheetError:
        what = "CSV file" if self.format == "csv" else ".xlsx workbook"
        hint = (
            "save it again as CSV UTF-8"
            if isinstance(exc, UnicodeDecodeError)
            else f"open it in a spreadsheet program and save it again as {what}"
        )
        return SheetError(
            f"{self.path}: the {what} cannot be read past a point ({type(exc).__name__}: "
            f"{shown(str(exc), 160)}): {hint} (nothing of this file was stored)"
        )

    def _open(self, sheet: str | None) -> None:
        try:
            size = self.path.stat().st_size
            with open(self.path, "rb") as f:
                head = f.read(_SNIFF_BYTES)
        except OSError as exc:
            raise SheetError(f"{self.path}: cannot read the file: {exc.strerror or exc}") from None
        kind = _sniff(self.path, head)
        if kind == "xlsx":
            self.format = "xlsx"
            self._open_xlsx(sheet)
            return
        if sheet is not None:
            raise SheetError(f"{self.path}: --sheet {sheet!r}: a CSV file has no sheets")
        if size > MAX_CSV_BYTES:
            raise SheetError(
                f"{self.path}: {size:,} bytes is more than a CSV import takes "
                f"({MAX_CSV_BYTES:,}): split the file (nothing was stored)"
            )
        self._open_csv(head)

    def _open_csv(self, head: bytes) -> None:
        try:
            encoding = _csv_encoding(self.path, head)
        except OSError as exc:
            raise SheetError(f"{self.path}: cannot read the file: {exc.strerror or exc}") from None
        raw = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        self._close.append(raw)
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        self._close.append(text)
        sample = _decode_sample(head, encoding)
        first_line = sample.split("\n", 1)[0]
        delimiter = max((",", "\t", ";"), key=lambda d: (first_line.count(d), d == ","))
        reader = csv.reader(text, delimiter=delimiter)
        self._source = ((n, row[:MAX_COLUMNS]) for n, row in enumerate(reader, start=1))
        self._read_header(self.path.name)

    def _open_xlsx(self, sheet: str | None) -> None:
        _check_zip(self.path)
        import openpyxl  # type: ignore[import-untyped]  # only when an .xlsx comes

        # While the rows stream, openpyxl warns on stderr once per cell whose number has a
        # date format but is no date (99999999), and makes it the error cell #VALUE!: the
        # report names each such cell already, a warning per row would bury it.
        warnings.filterwarnings(
            "ignore", message=r"Cell \S+ is marked as a date", category=UserWarning
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                book = openpyxl.load_workbook(
                    self.path, read_only=True, data_only=False, keep_links=False
                )
        except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
            raise SheetError(
                f"{self.path}: not a readable .xlsx workbook ({type(exc).__name__}: "
                f"{shown(str(exc), 160)}): open it in a spreadsheet program and save it again "
                "as .xlsx"
            ) from None
        self._close.append(book)
        self.epoch = EXCEL_EPOCH_1904 if book.epoch.year == 1904 else EXCEL_EPOCH_1900
        if sheet is not None:
            if sheet not in book.sheetnames:
                raise SheetError(
                    f"{self.path}: no worksheet {sheet!r}; it has "
                    f"{', '.join(repr(s) for s in book.sheetnames)}"
                )
            candidates = [book[sheet]]
        else:
            candidates = [
                ws for ws in book.worksheets if getattr(ws, "sheet_state", "visible") == "visible"
            ]
        first_problem: SheetError | None = None
        for ws in candidates:
            self.sheet = ws.title
            self._source = _xlsx_rows(ws)
            self._convert = _xlsx_cell
            try:
                self._read_header(f"{self.path.name}, sheet {ws.title!r}", ws)
            except SheetError as exc:
                first_problem = first_problem or exc
                continue
            return
        if first_problem is not None:
            raise first_problem
        raise SheetError(f"{self.path}: the workbook has no visible worksheet")

    def _read_header(self, where: str, ws: Any = None) -> None:
        head: list[tuple[int, Sequence[Any]]] = []
        try:
            for row in self._source:
                head.append(row)
                if len(head) >= HEADER_SEARCH_ROWS:
                    break
        except Exception as exc:
            raise self._damaged(exc) from None
        shown_head = [(n, [self._convert(c) for c in cells]) for n, cells in head]
        found, best = _find_header(shown_head, self.fields)
        if found is None:
            raise SheetError(self._no_header(where, shown_head, best, ws))
        if found.duplicates:
            twice = "; ".join(
                f"{' and '.join(column_letter(i) for i in cols)} are all {name!r}"
                for name, cols in found.duplicates.items()
            )
            raise SheetError(
                f"{where}: header row {found.row}: columns {twice}: keep one column of each"
            )
        self._header = found
        self._head = head

    def _no_header(
        self,
        where: str,
        head: Sequence[tuple[int, Sequence[Cell]]],
        best: _Header | None,
        ws: Any,
    ) -> str:
        wanted = ", ".join(f"{f.en} ({f.zh})" for f in self.fields if f.required)
        if not any(any(not is_blank(c) for c in cells) for _, cells in head):
            return f"{where}: the sheet is empty; it needs a header row with {wanted}"
        text = (
            f"{where}: no header row with the columns {wanted} in its first "
            f"{HEADER_SEARCH_ROWS} rows"
        )
        if best is not None and best.positions:
            have = ", ".join(f"{column_letter(i)} {n}" for n, i in best.positions.items())
            missing = [f.en for f in self.fields if f.required and f.name not in best.positions]
            text += f" (row {best.row} has {have}; missing: {', '.join(missing)})"
            if ws is not None:
                merged = _merged_in_row(self.path, ws, best.row)
                if merged:
                    text += (
                        f"; header cells {', '.join(merged)} are merged: unmerge them and "
                        "give each column its own header"
                    )
        return f"{text}. Headers may be English or Chinese (`smartpark import template`)"


def _chain(
    first: Sequence[tuple[int, Sequence[Any]]], rest: Iterator[tuple[int, Sequence[Any]]]
) -> Iterator[tuple[int, Sequence[Any]]]:
    yield from first
    yield from rest


def open_sheet(
    path: str | Path,
    fields: Sequence[Field],
    *,
    sheet: str | None = None,
    max_rows: int = MAX_ROWS,
) -> SheetReader:
    """Open ``path`` (CSV or .xlsx) and find its header; :class:`SheetError` when the
    file is not a spreadsheet, is refused (too big, a suspicious archive) or has no
    header row with every required field."""
    return SheetReader(Path(path), fields, sheet=sheet, max_rows=max_rows)


def _sniff(path: Path, head: bytes) -> Format:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise SheetError(
            f"{path}: an old Excel 97-2003 workbook (.xls) or another OLE2 file: save it "
            "as .xlsx (Excel: File > Save As > Excel Workbook) or as CSV"
        )
    if not head:
        raise SheetError(f"{path}: the file is empty")
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not utf16 and b"\x00" in head:
        what = "a PDF" if head.startswith(b"%PDF") else "binary data"
        raise SheetError(
            f"{path}: not a spreadsheet ({what}): import an .xlsx workbook or a CSV file "
            "(Excel: File > Save As > Excel Workbook or CSV UTF-8)"
        )
    if head.startswith(b"%PDF") or head[:8] in (b"\x89PNG\r\n\x1a\n",):
        raise SheetError(f"{path}: not a spreadsheet: import an .xlsx workbook or a CSV file")
    return "csv"


def _csv_encoding(path: Path, head: bytes) -> str:
    """UTF-16 by its BOM; else UTF-8 when the file's first non-ASCII text reads as UTF-8
    (a BOM included), else GB18030. When the first bytes read are all ASCII (ids, times,
    numbers), the file is scanned on to its first non-ASCII byte: a GBK file's Chinese
    may come late (a unit, a remark in row 5,000)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head if not head.isascii() else _first_non_ascii(path, len(head))
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


_NON_ASCII = re.compile(rb"[\x80-\xff]")


def _first_non_ascii(path: Path, start: int) -> bytes:
    """Up to :data:`_SNIFF_BYTES` of ``path`` from its first non-ASCII byte at or after
    ``start`` (b"" when there is none), read in chunks: memory stays bounded."""
    with open(path, "rb") as f:
        f.seek(start)
        while chunk := f.read(1 << 20):
            found = _NON_ASCII.search(chunk)
            if found is not None:
                return (chunk[found.start() :] + f.read(_SNIFF_BYTES))[:_SNIFF_BYTES]
    return b""


def _decode_sample(head: bytes, encoding: str) -> str:
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)


def _entry_limit(name: str) -> int:
    if name.startswith("xl/worksheets/") and name.endswith(".xml"):
        return MAX_SHEET_XML_BYTES
    if name == "xl/sharedStrings.xml":
        return MAX_STRINGS_XML_BYTES
    return MAX_OTHER_XML_BYTES


def _check_zip(path: Path) -> None:
    """Refuse an archive that is not an .xlsx or would unpack to too much, before any of it
    is unpacked (the sizes are the archive's own; zipfile never unpacks an entry past the
    size it declares, and fails its CRC if the data is longer)."""
    bomb = "refused as a possible zip bomb; a workbook this large is split before import"
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                raise SheetError(f"{path}: {len(infos):,} archive entries: {bomb}")
            total = 0
            for info in infos:
                limit = _entry_limit(info.filename)
                if info.file_size > limit:
                    raise SheetError(
                        f"{path}: entry {shown(info.filename, 60)!r} unpacks to "
                        f"{info.file_size:,} bytes (at most {limit:,}): {bomb}"
                    )
                packed = max(info.compress_size, 1)
                if info.file_size > RATIO_FROM_BYTES and info.file_size / packed > MAX_RATIO:
                    raise SheetError(
                        f"{path}: entry {shown(info.filename, 60)!r} unpacks {info.file_size:,} "
                        f"bytes from {info.compress_size:,} (more than {MAX_RATIO}:1): {bomb}"
                    )
                total += info.file_size
            if total > MAX_UNPACKED_BYTES:
                raise SheetError(
                    f"{path}: unpacks to {total:,} bytes (at most {MAX_UNPACKED_BYTES:,}): {bomb}"
                )
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names:
                if "mimetype" in names and b"opendocument" in archive.read("mimetype")[:100]:
                    raise SheetError(
                        f"{path}: an OpenDocument file (.ods): save it as .xlsx or CSV"
                    )
                raise SheetError(
                    f"{path}: a zip archive, not an .xlsx workbook (no xl/workbook.xml): "
                    "import an .xlsx workbook or a CSV file"
                )
    except zipfile.BadZipFile as exc:
        raise SheetError(
            f"{path}: starts like an .xlsx workbook but is damaged ({exc}): save it again as .xlsx"
        ) from None
    except OSError as exc:
        raise SheetError(f"{path}: cannot read the file: {exc}") from None


def _csv_cell(value: str) -> Cell:
    return value


def _xlsx_rows(ws: Any) -> Iterator[tuple[int, Sequence[Any]]]:
    """(row number, openpyxl cells) of ``ws``, streamed; rows the sheet's XML skips come
    as empty rows, so the numbers are the spreadsheet's."""
    ws.reset_dimensions()  # the sheet's own claim of its size is not trusted
    yield from enumerate(ws.iter_rows(min_row=1, min_col=1, max_col=MAX_COLUMNS), start=1)


def _xlsx_cell(cell: Any) -> Cell:
    value = getattr(cell, "value", None)
    if value is None:
        return None
    kind = cell.data_type
    if kind == "f":
        text = value if isinstance(value, str) else getattr(value, "text", None) or "formula"
        return Formula(str(text))
    if kind == "e":
        return ErrorValue(str(value))
    if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
        return value[:MAX_CELL_CHARS]
    if isinstance(value, dt.timedelta):
        return ErrorValue(f"a duration ({value})")
    if isinstance(value, str | int | float | bool | dt.datetime | dt.date | dt.time):
        return value
    return str(value)


# Excel's built-in date formats of Chinese (zh-CN) workbooks, by id (ECMA-376 Part 1,
# 18.8.30): openpyxl knows them not, reads them as General and the cell as a number.
_ZH_DATE_FORMATS: Final[Mapping[int, str]] = {
    27: 'yyyy"年"m"月"',
    28: 'm"月"d"日"',
    29: 'm"月"d"日"',
    30: "m-d-yy",
    31: 'yyyy"年"m"月"d"日"',
    36: 'yyyy"年"m"月"',
    50: 'yyyy"年"m"月"',
    51: 'm"月"d"日"',
    52: 'yyyy"年"m"月"',
    53: 'm"月"d"日"',
    54: 'm"月"d"日"',
    57: 'yyyy"年"m"月"',
    58: 'm"月"d"日"',
}
_NO_FORMATS: Final[Mapping[str, str]] = MappingProxyType({})


def _xlsx_format(cell: Any) -> str:
    """The number format of an openpyxl read-only cell, ``""`` for none."""
    style = getattr(cell, "style_array", None)
    if style is None or getattr(cell, "value", None) is None:
        return ""
    zh = _ZH_DATE_FORMATS.get(style.numFmtId)
    if zh is not None:
        return zh
    try:
        return str(cell.number_format)
    except (AttributeError, IndexError, KeyError):  # a style the workbook does not define
        return ""


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*ref="([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)"')


def _merged_in_row(path: Path, ws: Any, row: int) -> list[str]:
    """The merged ranges of ``ws`` that cover row ``row`` (found by scanning the sheet's
    XML, bounded by the archive checks; only asked when a header row is incomplete)."""
    name = getattr(ws, "_worksheet_path", None)
    if not isinstance(name, str):
        return []
    found: list[str] = []
    try:
        with zipfile.ZipFile(path) as archive, archive.open(name) as src:
            tail = b""
            while chunk := src.read(1 << 20):
                data = tail + chunk
                for m in _MERGE.finditer(data):
                    lo, hi = int(m.group(2)), int(m.group(4))
                    if lo <= row <= hi:
                        ref = f"{m.group(1).decode()}{lo}:{m.group(3).decode()}{hi}"
                        if ref not in found:
                            found.append(ref)
                tail = data[-200:]
    except (OSError, zipfile.BadZipFile, KeyError):
        return found
    return found[:10]
