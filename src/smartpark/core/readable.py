"""Numbers as people read them: thousands separators, a sensible precision, never
e-notation.

:func:`decimals` is the one rule for how many decimals a value shows (whole numbers
from 1,000 up, else three significant digits with at least one decimal: 385.9, 14.7,
2.84, 0.216); the web view formats with :func:`number`, and the .xlsx writer
(:func:`~smartpark.core.workbook.number_format`) gives a cell the same format.
"""

from __future__ import annotations

import math
from typing import Final

MAX_DECIMALS: Final = 6


def decimals(value: float) -> int:
    """Decimals shown for ``value``: none from 1,000 up or for a whole number, else three
    significant digits and at least one decimal, at most :data:`MAX_DECIMALS`."""
    size = abs(value)
    if size >= 1000 or value == int(value):
        return 0
    return min(MAX_DECIMALS, max(1, 2 - math.floor(math.log10(size))))


def number(value: float | None, places: int | None = None, blank: str = "–") -> str:
    """``value`` with thousands separators and :func:`decimals` (or ``places``) decimals;
    ``blank`` for None, NaN or an infinity. ``1e-9`` reads ``0.000000``, never ``1e-09``."""
    if value is None or not math.isfinite(value):
        return blank
    if value == 0:
        return "0"
    return f"{value:,.{decimals(value) if places is None else places}f}"


__all__ = ["MAX_DECIMALS", "decimals", "number"]
