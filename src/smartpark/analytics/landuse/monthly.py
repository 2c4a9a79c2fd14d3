"""Monthly telemetry totals per enterprise: electricity, energy and fresh water.

The land-use rules need, per enterprise, monthly ``electricity_kwh`` (idle rules) and
yearly ``energy_tce``, ``electricity_kwh`` and ``fresh_water_m3`` (indicators, park
rates). They arrive as plain arrays of shape (enterprises, months), NaN where a month
has no data, starting at ``first_month``. Three sources fill them: the KPI engine
(:mod:`analytics.landuse.telemetry`), a CSV (``month,enterprise,electricity_kwh,
energy_tce,fresh_water_m3``, loaded by :func:`load` with every error at once), or arrays
a test builds.

Months are coded as ``year * 12 + month - 1`` so a range of months is a range of ints.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from smartpark.core.errors import AnalyticsError, ConfigError

QUANTITIES: Final[tuple[str, ...]] = ("electricity_kwh", "energy_tce", "fresh_water_m3")
HEADER: Final[tuple[str, ...]] = ("month", "enterprise", *QUANTITIES)

FloatArray = npt.NDArray[np.float64]


def month_code(year: int, month: int) -> int:
    return year * 12 + month - 1


def month_label(code: int) -> str:
    return f"{code // 12:04d}-{code % 12 + 1:02d}"


def parse_month(text: str) -> int:
    """``2025-03`` → its month code; ``AnalyticsError`` otherwise."""
    try:
        year_s, month_s = text.split("-")
        year, month = int(year_s), int(month_s)
    except ValueError:
        raise AnalyticsError(f"month must look like 2025-03, got {text!r}") from None
    if not (1 <= month <= 12 and 1900 <= year <= 2200):
        raise AnalyticsError(f"month must look like 2025-03, got {text!r}")
    return month_code(year, month)


@dataclass(frozen=True)
class Monthly:
    """``values[q]`` is (enterprises, months) from month code ``first``; NaN = no data."""

    enterprises: tuple[str, ...]
    first: int
    values: Mapping[str, FloatArray]

    def __post_init__(self) -> None:
        shapes = {v.shape for v in self.values.values()}
        if len(shapes) > 1:
            raise ValueError(f"monthly arrays differ in shape: {sorted(shapes)}")
        for name in self.values:
            if name not in QUANTITIES:
                raise ValueError(f"unknown monthly quantity {name!r}")
        for shape in shapes:
            if shape[0] != len(self.enterprises):
                raise ValueError(f"{shape[0]} rows for {len(self.enterprises)} enterprises")

    @property
    def n_months(self) -> int:
        return next(iter(self.values.values())).shape[1] if self.values else 0

    def get(self, name: str) -> FloatArray:
        """(enterprises, months) of ``name``; all NaN if the source lacks it."""
        if name in self.values:
            return self.values[name]
        return np.full((len(self.enterprises), self.n_months), np.nan)

    def is_empty(self) -> bool:
        """No value at all (nothing was stored for the range)."""
        return not any(np.isfinite(self.get(q)).any() for q in QUANTITIES)

    def window(self, name: str, first: int, n_months: int) -> FloatArray:
        """(enterprises, n_months) of ``name`` from month code ``first``; NaN outside data."""
        out = np.full((len(self.enterprises), n_months), np.nan)
        src = self.get(name)
        lo, hi = max(first, self.first), min(first + n_months, self.first + self.n_months)
        if hi > lo:
            out[:, lo - first : hi - first] = src[:, lo - self.first : hi - self.first]
        return out

    def yearly(self, name: str, years: tuple[int, ...]) -> FloatArray:
        """(enterprises, years) sums; NaN for a year with any month without data."""
        if not years:
            return np.zeros((len(self.enterprises), 0))
        start = month_code(years[0], 1)
        span = month_code(years[-1], 12) - start + 1
        months = self.window(name, start, span)
        cols = np.array([month_code(y, 1) - start for y in years])
        blocks = months[:, cols[:, None] + np.arange(12)]  # (n, years, 12)
        sums: FloatArray = blocks.sum(axis=2)  # NaN propagates: an incomplete year is no year
        return sums

    def reorder(self, enterprises: tuple[str, ...]) -> Monthly:
        """The same data on ``enterprises`` (rows of unknown ones all NaN)."""
        row = {e: i for i, e in enumerate(self.enterprises)}
        idx = np.array([row.get(e, -1) for e in enterprises], dtype=np.intp)
        values = {}
        for name, v in self.values.items():
            padded = np.vstack([v, np.full((1, v.shape[1]), np.nan)])
            values[name] = padded[idx]
        return Monthly(enterprises, self.first, values)


def load(path: str | Path, enterprises: tuple[str, ...]) -> Monthly:
    """Load a monthly CSV for ``enterprises``; ``ConfigError`` lists every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [f"cannot read monthly file: {exc}"]) from None
    return parse(text, enterprises, source=str(path))


def parse(text: str, enterprises: tuple[str, ...], source: str = "<monthly>") -> Monthly:
    position = {e: i for i, e in enumerate(enterprises)}
    rows = list(csv.reader(io.StringIO(text)))
    problems: list[str] = []
    if not rows:
        raise ConfigError(source, ["line 1: empty file, expected the header " + ",".join(HEADER)])
    header = [c.strip() for c in rows[0]]
    for i, name in enumerate(header, start=1):
        if name not in HEADER or header.index(name) != i - 1:
            problems.append(f"line 1, column {i}: unexpected column {name!r}")
    for name in HEADER[:2]:
        if name not in header:
            problems.append(f"line 1: missing column {name!r}")
    parsed: list[tuple[int, int, dict[str, float]]] = []
    seen: dict[tuple[int, str], int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            problems.append(f"line {line}: expected {len(header)} cells, got {len(row)}")
            continue
        cells = dict(zip(header, (c.strip() for c in row), strict=True))
        before = len(problems)
        try:
            month = parse_month(cells.get("month", ""))
        except AnalyticsError as exc:
            problems.append(f"line {line}, column month: {exc}")
            month = -1
        enterprise = cells.get("enterprise", "")
        if enterprise not in position:
            problems.append(f"line {line}, column enterprise: unknown enterprise {enterprise!r}")
        values: dict[str, float] = {}
        for name in QUANTITIES:
            cell = cells.get(name, "")
            if cell == "":
                continue
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or value < 0:
                problems.append(f"line {line}, column {name}: must be a number >= 0, got {cell!r}")
                continue
            values[name] = value
        if len(problems) == before:
            first = seen.setdefault((month, enterprise), line)
            if first != line:
                problems.append(
                    f"line {line}: duplicate row for {month_label(month)}, enterprise "
                    f"{enterprise!r} (first on line {first})"
                )
            else:
                parsed.append((month, position[enterprise], values))
    if problems:
        raise ConfigError(source, problems)
    if not parsed:
        return Monthly(enterprises, 0, {q: np.zeros((len(enterprises), 0)) for q in QUANTITIES})
    first_month = min(m for m, _, _ in parsed)
    n_months = max(m for m, _, _ in parsed) - first_month + 1
    arrays = {q: np.full((len(enterprises), n_months), np.nan) for q in QUANTITIES if q in header}
    for month, e, values in parsed:
        for name, value in values.items():
            arrays[name][e, month - first_month] = value
    return Monthly(enterprises, first_month, arrays)
