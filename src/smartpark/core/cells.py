"""Spreadsheet cells that hold data, never a formula (OWASP "CSV Injection",
https://owasp.org/www-community/attacks/CSV_Injection).

A spreadsheet opening a CSV file reads a cell that starts with ``=``, ``+``, ``-``,
``@``, tab or carriage return as a formula: a token named ``=HYPERLINK("http://x")``
becomes a link, ``-1+1|cmd`` a command. :func:`safe_cell` applies OWASP's rule: such a
text cell gets a leading single quote, which a spreadsheet takes as "this is text" and
does not show. Numbers are numbers (``-3.5`` stays ``-3.5``); every other cell is
unchanged.

Every CSV smartpark writes goes through :func:`write_csv` or :func:`csv_text`, which
pass every cell through :func:`safe_cell`; a writer of any other spreadsheet format
must call :func:`safe_cell` on each cell too, as :mod:`smartpark.core.workbook` (every
.xlsx) does.
"""

from __future__ import annotations

import csv
import io
import numbers
from collections.abc import Iterable
from typing import Any, Final, Protocol

FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST: Final = frozenset(FORMULA_STARTS)


class _TextSink(Protocol):
    def write(self, s: str, /) -> Any: ...


def safe_cell(value: object) -> object:
    """``value`` as a cell no spreadsheet runs: text (a ``str``, or what a value that is
    neither a number nor None prints as) starting with one of :data:`FORMULA_STARTS`
    gets a leading ``'``; numbers (int, float, numpy's), None and other text unchanged.
    The text ``=SUM(1)`` becomes ``'=SUM(1)``, the text ``-3.5`` becomes ``'-3.5``, the
    float -3.5 stays -3.5.
    """
    if type(value) is str:  # exact types first: this runs once per cell of every export
        return "'" + value if value[:1] in _FORMULA_FIRST else value
    if type(value) is float or type(value) is int or _is_number(value):
        return value
    text = str(value)
    return "'" + text if text[:1] in _FORMULA_FIRST else value


def write_csv(
    sink: _TextSink, rows: Iterable[Iterable[object]], *, lineterminator: str = "\n"
) -> None:
    """``rows`` (the header first) to ``sink`` as CSV, every cell through :func:`safe_cell`
    (None is an empty cell), a cell holding a carriage return quoted on every Python."""
    writer = csv.writer(sink, lineterminator=lineterminator)
    if _QUOTES_CR or "\r" in lineterminator:
        writer.writerows([safe_cell(v) for v in row] for row in rows)
        return
    # CPython before 3.11.9 (gh-67044) quotes a cell holding "\r" only when "\r" is in
    # the line terminator: unquoted, "x\r=1" would start a line with the formula "=1".
    buf = io.StringIO()
    crlf = csv.writer(buf, lineterminator="\r\n")
    for row in rows:
        cells = [safe_cell(v) for v in row]
        if not _holds_cr(cells):
            writer.writerow(cells)
            continue
        crlf.writerow(cells)
        sink.write(buf.getvalue()[:-2] + lineterminator)
        buf.seek(0)
        buf.truncate()


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    """``rows`` (the header first) as CSV text: :func:`write_csv` into a string."""
    out = io.StringIO()
    write_csv(out, rows)
    return out.getvalue()


def _is_number(value: object) -> bool:
    """None or a number: what the csv module writes without any text of its own."""
    return value is None or isinstance(value, int | float | numbers.Real)


def _holds_cr(cells: list[object]) -> bool:
    """Whether a cell of ``cells`` is written with a carriage return in it."""
    for c in cells:
        if type(c) is str:
            if "\r" in c:
                return True
        elif not _is_number(c) and "\r" in str(c):
            return True
    return False


def _quotes_cr() -> bool:
    """Whether this Python's csv module quotes a cell holding a carriage return when the
    line terminator is a bare newline (CPython 3.11.9 and later)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(["\r"])
    return out.getvalue() == '"\r"\n'


_QUOTES_CR: Final = _quotes_cr()
