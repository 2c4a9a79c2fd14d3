"""Figures per id and period imported from a sheet: the reader product output (``smartpark
import output``) and value added (``smartpark import value-added``) share (docs/import.md).

A :class:`FigureKind` says what a kind's sheet holds: the id column (a product, an
enterprise) and how an id is checked and placed (its park's time zone), the value column
and how a value is checked beyond being finite, the periods a row may give (a month; a
day too for output). :func:`import_figures` reads the sheet on the shared reader
(:func:`smartpark.core.sheets.open_sheet`) and stores it with
:meth:`~smartpark.store.outputs.OutputStore.replace`:

- a row is an id the kind accepts, a period (a month ``2026-11``, ``2026年11月``, a
  month cell, or a day ``2026-11-05``, a date cell: :func:`~smartpark.core.sheets.
  cell_period`) placed in the id's park time zone (a month row covers its local month, a
  day row its local day: the edges of the KPI periods,
  :func:`~smartpark.analytics.periods.local_midnight_ms`) that has begun, and a finite
  value the kind accepts. The first problem of a row rejects it, with its row, cell,
  column and reason;
- across rows: a period that overlaps an earlier row's for the same id (the same month
  twice, a day inside a month row) is a ``duplicate``, and a month missing between an
  id's first and last month row (and no day row inside it) a ``missing_month``, named on
  the row after the gap;
- **all or nothing**: when any row is rejected nothing of the sheet is stored. Else its
  rows replace the stored rows of their ids they overlap, in one write: importing the
  same sheet again leaves the store as it was, a corrected sheet replaces its periods.

Sheets are small (ids × months or days), so the good rows are kept until the write.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Final, TypeVar

from smartpark.analytics.periods import local_midnight_ms
from smartpark.core.errors import CellError
from smartpark.core.logs import get_logger
from smartpark.core.sheets import (
    MAX_ROWS,
    Cell,
    Field,
    ImportReport,
    Period,
    Row,
    RowError,
    SheetReader,
    cell_number,
    cell_period,
    cell_text,
    in_column,
    open_sheet,
    shown,
)
from smartpark.core.timestamps import now_ms as clock_ms
from smartpark.store.outputs import OutputRow, OutputStore

log = get_logger("analytics.periodfigures")
_A = TypeVar("_A")
_T = TypeVar("_T")

FIRST_YEAR: Final = 2000  # the first plausible period of a sheet
OUT_OF_SCOPE: Final = "out_of_scope"
BAD_PERIOD: Final = "bad_period"
FUTURE: Final = "future"
NON_FINITE: Final = "non_finite"
DUPLICATE: Final = "duplicate"
MISSING_MONTH: Final = "missing_month"

PERIOD = Field(
    "period",
    "period",
    "统计期",
    ("month", "day", "date", "月份", "日期", "统计月份", "统计期间", "期间", "年月"),
    formatted=True,
)


@dataclass(frozen=True)
class FigureKind:
    """What a kind of sheet holds and how its rows are checked.

    ``place`` turns an id cell's text into the id's park time zone, or raises
    :class:`~smartpark.core.errors.CellError` (an unknown id, one outside the import's
    scope); ``check_value`` raises one for a finite value the kind refuses; ``check_row``
    reads the row's other cells (the output's unit) once the value is good.
    """

    kind: str  # the report's kind: output, value_added
    id_field: Field
    value_field: Field
    fields: tuple[Field, ...]  # every column the reader looks for
    noun: str  # the figure in messages: output, value added
    periods: tuple[Period, ...]  # what a row may give
    place: Callable[[str], str]
    check_value: Callable[[float], None]
    gap_hint: str  # what a missing month's message suggests
    check_row: Callable[[str, Mapping[str, Cell]], None] | None = None


@dataclass
class FigureImportReport(ImportReport):
    """:class:`~smartpark.core.sheets.ImportReport` of a figures import, with how many
    stored rows the sheet's rows ``replaced`` (a re-import replaces every row it stores)."""

    replaced: int = 0

    def as_dict(self) -> dict[str, object]:
        out = super().as_dict()
        out.pop("dead_lettered")
        out.pop("dead_letter_file")
        exit_code = out.pop("exit_code")
        out.update(replaced=self.replaced, exit_code=exit_code)
        return out


def import_figures(
    path: str | Path,
    kind: FigureKind,
    store: OutputStore,
    *,
    sheet: str | None = None,
    max_rows: int = MAX_ROWS,
    now_ms: int | None = None,
) -> tuple[FigureImportReport, list[OutputRow]]:
    """Import the figures of ``path`` (CSV or .xlsx) into ``store``; see the module
    docstring. ``now_ms`` fixes the clock (a period that has not begun is refused).
    Answers the report and the rows stored (none when a row was rejected). A file that
    cannot be read as a sheet is a :class:`~smartpark.core.errors.SheetError` (nothing
    stored)."""
    report = FigureImportReport(kind.kind, str(path), all_or_nothing=True)
    started = time.monotonic()
    now = clock_ms() if now_ms is None else now_ms
    with open_sheet(path, kind.fields, sheet=sheet, max_rows=max_rows) as reader:
        report.found(reader)
        rows = _Rows(kind, reader, now, report)
        for row in reader.rows():
            report.rows += 1
            rows.take(row)
        rows.missing_months()
    if rows.zones:
        report.notes.append(
            f"periods were read as local {' and '.join(p + 's' for p in kind.periods)} of "
            f"the {kind.id_field.name}'s park: " + ", ".join(sorted(rows.zones))
        )
    good: list[OutputRow] = []
    if report.rows == 0:
        report.notes.append("the sheet has a header but no data rows: nothing to store")
    elif report.rejected:
        report.notes.append(
            f"nothing stored: {report.rejected:,} row(s) rejected, and a sheet is stored "
            "whole or not at all; fix them and import the file again"
        )
    else:
        good = [e.figure for e in rows.entries]
        report.replaced = store.replace(good)
        report.stored = len(good)
        report.notes.append(
            f"{kind.id_field.name} {kind.noun}: stored {report.stored:,}, replaced "
            f"{report.replaced:,} (a row replaces the stored {kind.noun} of its "
            f"{kind.id_field.name} that it overlaps)"
        )
    report.errors.sort(key=lambda e: e.row)
    log.info(
        "sheet_imported",
        kind=kind.kind,
        file=str(path),
        rows=report.rows,
        stored=report.stored,
        replaced=report.replaced,
        rejected=report.rejected,
        seconds=round(time.monotonic() - started, 3),
    )
    return report, good


@dataclass(frozen=True, slots=True)
class _Entry:
    """A good row: its number, the period's first local day, its cell as shown, the row."""

    row: int
    first_day: dt.date
    shown: str
    figure: OutputRow


@dataclass
class _Taken:
    """One id's good rows so far, by month and by day."""

    months: dict[dt.date, _Entry] = field(default_factory=dict)  # first day -> row
    days: dict[dt.date, _Entry] = field(default_factory=dict)
    day_months: dict[dt.date, _Entry] = field(default_factory=dict)  # first day -> 1st day row


class _Rows:
    """Turns sheet rows into figure rows and keeps the good ones, id by id."""

    def __init__(
        self, kind: FigureKind, reader: SheetReader, now_ms: int, report: ImportReport
    ) -> None:
        self.kind = kind
        self.reader = reader
        self.now_ms = now_ms
        self.report = report
        self.entries: list[_Entry] = []
        self.taken: dict[str, _Taken] = {}
        self.zones: set[str] = set()

    def take(self, row: Row) -> None:
        try:
            entry = self._entry(row)
            self._check_overlap(entry)
        except CellError as exc:
            self.reject(row.number, exc.column, shown(row.cells.get(exc.column)), exc)
            return
        self.entries.append(entry)

    def _entry(self, row: Row) -> _Entry:
        kind, cells = self.kind, row.cells
        id_name, value_name = kind.id_field.name, kind.value_field.name
        ident = in_column(cell_text, id_name, cells[id_name])
        zone = _in(id_name, kind.place, ident)
        raw = cells["period"]
        fmt = row.formats.get("period", "")
        period, first = in_column(lambda v: cell_period(v, fmt, self.reader.epoch), "period", raw)
        start, end = self._edges(period, first, zone)
        value = in_column(cell_number, value_name, cells[value_name])
        if not math.isfinite(value):
            raise CellError(NON_FINITE, f"{shown(value)} is not a finite number", value_name)
        _in(value_name, kind.check_value, value)
        if kind.check_row is not None:
            kind.check_row(ident, cells)
        self.zones.add(zone)
        return _Entry(row.number, first, shown(raw), OutputRow(ident, period, start, end, value))

    def _edges(self, period: Period, first: dt.date, zone: str) -> tuple[int, int]:
        """[start, end) epoch ms of the local month or day starting on ``first``."""
        label = f"{first:%Y-%m}" if period == "month" else f"{first:%Y-%m-%d}"
        if period not in self.kind.periods:
            raise CellError(
                BAD_PERIOD,
                f"{label} is a {period}: {self.kind.noun} is entered per "
                f"{' or '.join(self.kind.periods)} (give {first:%Y-%m})",
                "period",
            )
        if first.year < FIRST_YEAR:
            raise CellError(BAD_PERIOD, f"{label} is before {FIRST_YEAR}: check the year", "period")
        start = local_midnight_ms(first, zone)  # the KPI periods' own edges
        if start > self.now_ms:  # before the end is asked for: 9999-12 has none
            raise CellError(
                FUTURE,
                f"{label} has not begun ({zone}): {self.kind.noun} is entered for a period "
                "that has begun",
                "period",
            )
        after = next_month(first) if period == "month" else first + dt.timedelta(days=1)
        return start, local_midnight_ms(after, zone)

    def _check_overlap(self, entry: _Entry) -> None:
        """A ``duplicate`` when ``entry`` overlaps an earlier good row of its id."""
        got = entry.figure
        taken = self.taken.setdefault(got.id, _Taken())
        month = entry.first_day.replace(day=1)
        if got.period == "month":
            earlier = taken.months.get(month) or taken.day_months.get(month)
        else:
            earlier = taken.days.get(entry.first_day) or taken.months.get(month)
        if earlier is not None:
            raise CellError(
                DUPLICATE,
                f"{self.kind.id_field.name} {got.id!r} has {self.kind.noun} for "
                f"{earlier.shown} in row {earlier.row} already, and it overlaps this "
                f"{got.period}: keep one of the two rows",
                "period",
            )
        if got.period == "month":
            taken.months[month] = entry
        else:
            taken.days[entry.first_day] = entry
            taken.day_months.setdefault(month, entry)

    def missing_months(self) -> None:
        """A ``missing_month`` on the row after each gap between an id's month rows (a
        month with a day row is no gap)."""
        for ident, taken in sorted(self.taken.items()):
            months = sorted(taken.months)
            for a, b in pairwise(months):
                gap = [m for m in _months_between(a, b) if m not in taken.day_months]
                if not gap:
                    continue
                named = f"{gap[0]:%Y-%m}"
                if len(gap) > 1:
                    named += f" to {gap[-1]:%Y-%m} ({len(gap)} months)"
                before, entry = taken.months[a], taken.months[b]
                detail = (
                    f"{self.kind.id_field.name} {ident!r} has no {self.kind.noun} for {named} "
                    f"between {a:%Y-%m} (row {before.row}) and {b:%Y-%m}: add the missing "
                    f"month ({self.kind.gap_hint})"
                )
                self.reject(entry.row, "period", entry.shown, CellError(MISSING_MONTH, detail))

    def reject(self, number: int, column: str, value: str, exc: CellError) -> None:
        column = column or "period"
        cell = self.reader.cell_ref(column, number)
        self.report.reject(RowError(number, column, cell, value, exc.reason, exc.detail))


def _in(column: str, call: Callable[[_A], _T], arg: _A) -> _T:
    """``call(arg)``, a :class:`~smartpark.core.errors.CellError` it raises naming
    ``column``."""
    try:
        return call(arg)
    except CellError as exc:
        raise CellError(exc.reason, exc.detail, column) from None


def _months_between(a: dt.date, b: dt.date) -> list[dt.date]:
    """The first days of the months after ``a`` and before ``b`` (first days both)."""
    out = []
    m = next_month(a)
    while m < b:
        out.append(m)
        m = next_month(m)
    return out


def next_month(first: dt.date) -> dt.date:
    return dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
