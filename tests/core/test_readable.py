"""Numbers as people read them: separators, precision, never e-notation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartpark.core.readable import decimals, number
from smartpark.core.workbook import number_format


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.0, "0"),
        (415_400.0, "415,400"),
        (1234.5678, "1,235"),
        (385.94, "385.9"),
        (14.72, "14.7"),
        (2.844, "2.84"),
        (0.2163, "0.216"),
        (0.000216, "0.000216"),
        (1e-9, "0.000000"),
        (12.0, "12"),
        (-1500.0, "-1,500"),
        (1e20, "100,000,000,000,000,000,000"),
    ],
)
def test_known_answers(value: float, shown: str) -> None:
    assert number(value) == shown


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf])
def test_no_value_is_blank(value: float | None) -> None:
    assert number(value) == "–"
    assert number(value, blank="") == ""


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30))
def test_never_e_notation_and_three_significant_digits(value: float) -> None:
    shown = number(value)
    assert "e" not in shown.lower()
    if abs(value) >= 1e-3:
        # the slow obvious oracle: what three significant digits (or whole units) read
        back = float(shown.replace(",", ""))
        assert math.isclose(back, value, rel_tol=5e-3, abs_tol=0.5 if abs(value) >= 1000 else 0)


def test_the_xlsx_format_follows_the_same_rule() -> None:
    for value in (415_400.0, 385.94, 2.844, 0.000216, 12.0):
        d = decimals(value)
        assert number_format(value) == ("#,##0." + "0" * d if d else "#,##0")
        assert len(number(value).partition(".")[2]) == d
