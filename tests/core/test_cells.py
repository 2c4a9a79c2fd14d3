"""Cells no spreadsheet reads as a formula (OWASP "CSV Injection"): known answers of
``safe_cell``, and the CSV ``write_csv``/``csv_text`` write read back with the csv module."""

from __future__ import annotations

import csv
import datetime as dt
import io
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from smartpark.core import cells
from smartpark.core.cells import FORMULA_STARTS, csv_text, safe_cell, write_csv


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("=1+1", "'=1+1"),
        ("+1+1", "'+1+1"),
        ("-1+1|cmd", "'-1+1|cmd"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-3.5", "'-3.5"),  # text that looks like a number is still text
        ("=", "'="),
        ("'=1+1", "'=1+1"),  # already quoted: unchanged, not quoted twice
    ],
)
def test_a_text_cell_starting_a_formula_gets_a_leading_quote(cell: str, written: str) -> None:
    assert safe_cell(cell) == written


@pytest.mark.parametrize(
    "cell",
    [
        "",
        "petrochem",
        "cn-2023-northwest",
        "a=1+1",  # only the first character counts
        " =1+1",
        "2026-12-01T00:00:00+08:00",
        "电",
        "\n=1+1",  # a newline is not on OWASP's list; csv quotes the cell
    ],
)
def test_other_text_is_unchanged(cell: str) -> None:
    assert safe_cell(cell) is cell


@pytest.mark.parametrize(
    "number",
    [0, 7, -7, -3.5, 2.5e-05, -1e16, float("-inf"), True, np.float64(-3.5), np.int64(-2)],
)
def test_numbers_are_numbers_even_negative(number: object) -> None:
    assert safe_cell(number) is number


def test_none_and_other_values() -> None:
    assert safe_cell(None) is None
    day = dt.date(2026, 12, 1)
    assert safe_cell(day) is day
    assert safe_cell(Fraction(-1, 2)) == Fraction(-1, 2)  # a number: written -1/2

    class Formula:
        def __str__(self) -> str:
            return "=HYPERLINK(1)"

    assert safe_cell(Formula()) == "'=HYPERLINK(1)"  # what the csv module would print


def test_the_rule_is_owasps() -> None:
    assert FORMULA_STARTS == ("=", "+", "-", "@", "\t", "\r")


HOSTILE = ['=HYPERLINK("http://x")', "@SUM(1+1)", "-1+1|cmd", "+1", "\tx", "\r=1", "ok"]


@pytest.fixture(params=["this python", "before 3.11.9"])
def csv_module(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways ``write_csv`` writes: with a csv module that quotes a cell holding a
    carriage return (CPython >= 3.11.9) and with one that does not (gh-67044)."""
    if request.param == "before 3.11.9":
        monkeypatch.setattr(cells, "_QUOTES_CR", False)
    return str(request.param)


def test_csv_text_reads_back_quoted_text_and_plain_numbers(csv_module: str) -> None:
    text = csv_text([["name", "value", "note"], *([h, -3.5, None] for h in HOSTILE)])
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["name", "value", "note"]
    assert [r[0] for r in rows[1:]] == ["'" + h for h in HOSTILE[:-1]] + ["ok"]
    assert {r[1] for r in rows[1:]} == {"-3.5"}
    assert {r[2] for r in rows[1:]} == {""}
    assert text.startswith('name,value,note\n"\'=HYPERLINK(""http://x"")",-3.5,\n\'@SUM(1+1),')


def test_a_carriage_return_inside_a_cell_does_not_start_a_line(csv_module: str) -> None:
    """Unquoted, ``x\\r=1`` would be read as a cell ``x`` and a line starting ``=1``."""
    text = csv_text([["a", "b"], ["x\r=1", 1], ["y\r\n@2", 2], ["plain", -2]])
    assert text == 'a,b\n"x\r=1",1\n"y\r\n@2",2\nplain,-2\n'
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["a", "b"], ["x\r=1", "1"], ["y\r\n@2", "2"], ["plain", "-2"]]


def test_write_csv_to_a_file_with_crlf(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        write_csv(f, [("a", "b"), ("=1+1", -1), ("x\ry", 2)], lineterminator="\r\n")
    assert path.read_bytes() == b'a,b\r\n\'=1+1,-1\r\n"x\ry",2\r\n'
