"""The annual facts file of a zone (docs/landuse.md §1): tax, revenue, value added, ...

A CSV with the header ``year,enterprise,tax,revenue,value_added,employees,rd_spend,
pollutant_t,profit`` (amounts in 10k CNY, employees as average headcount, pollutant in
t; ``profit`` may be left out). An empty cell is *missing*, never zero.

:func:`load` validates the whole file and raises one :class:`ConfigError` listing every
problem with its line and column (``facts.csv: line 7, column tax: must be >= 0, got
-3``): an enterprise the registry does not know (or of another zone), a duplicate
(year, enterprise), a non-numeric or non-finite cell, a negative amount where only
``profit`` may be negative. Rows that are *absent* are not errors of the file: they are
reported by :meth:`Facts.missing` and :meth:`Facts.gap_years` so that an evaluation
says "not graded: no facts for 2025" instead of guessing.

A loaded :class:`Facts` holds each field as a float64 array of shape (enterprises,
years), NaN where missing, enterprises in the order of the zone's sorted ids.
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
from smartpark.core.registry import Registry

FIELDS: Final[tuple[str, ...]] = (
    "tax",
    "revenue",
    "value_added",
    "employees",
    "rd_spend",
    "pollutant_t",
    "profit",
)
HEADER: Final[tuple[str, ...]] = ("year", "enterprise", *FIELDS)
OPTIONAL_COLUMNS: Final = frozenset({"profit"})
MAY_BE_NEGATIVE: Final = frozenset({"profit"})  # losses are allowed, negative tax is not
YEAR_RANGE: Final = (1900, 2200)

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Facts:
    """Validated annual facts of one zone: ``values[field]`` is (enterprises, years)."""

    source: str
    zone: str
    enterprises: tuple[str, ...]
    years: tuple[int, ...]
    values: Mapping[str, FloatArray]
    present: npt.NDArray[np.bool_]  # a row exists for (enterprise, year)

    def year_index(self, year: int) -> int:
        """Column of ``year``; ``AnalyticsError`` naming the years the file has."""
        if year not in self.years:
            have = ", ".join(map(str, self.years)) or "none"
            raise AnalyticsError(f"{self.source}: no facts for year {year} (the file has {have})")
        return self.years.index(year)

    def field(self, name: str, year: int) -> FloatArray:
        """``name`` for every enterprise in ``year`` (NaN where missing or no row)."""
        return self.values[name][:, self.year_index(year)]

    def missing(self, year: int) -> list[str]:
        """Enterprises of the zone without a row for ``year``."""
        column = self.present[:, self.year_index(year)]
        return [e for e, ok in zip(self.enterprises, column, strict=True) if not ok]

    def gap_years(self) -> list[int]:
        """Years between the first and last year of the file that have no row at all."""
        if not self.years:
            return []
        have = set(self.years)
        return [y for y in range(self.years[0], self.years[-1] + 1) if y not in have]

    def for_years(self, years: tuple[int, ...]) -> Facts:
        """The same facts on the calendar ``years`` (columns of absent years all NaN)."""
        n = len(self.enterprises)
        values = {k: np.full((n, len(years)), np.nan) for k in self.values}
        present = np.zeros((n, len(years)), np.bool_)
        for j, year in enumerate(years):
            if year in self.years:
                i = self.years.index(year)
                for k, v in self.values.items():
                    values[k][:, j] = v[:, i]
                present[:, j] = self.present[:, i]
        return Facts(self.source, self.zone, self.enterprises, years, values, present)


def zone_of(registry: Registry, zone: str | None) -> str:
    """``zone`` checked against the registry, or its only zone when ``zone`` is None."""
    if zone is None:
        if len(registry.zones) != 1:
            raise AnalyticsError(
                f"the registry has {len(registry.zones)} zones "
                f"({', '.join(registry.zone_ids)}): name one with --zone"
            )
        return registry.zone_ids[0]
    if zone not in registry.zones:
        raise AnalyticsError(f"unknown zone {zone!r} (known: {', '.join(registry.zone_ids)})")
    return zone


def zone_enterprises(registry: Registry, zone: str) -> tuple[str, ...]:
    """Sorted ids of the enterprises whose park lies in ``zone``."""
    return tuple(
        e
        for e in registry.enterprise_ids
        if registry.parks[registry.enterprises[e].park].zone == zone
    )


def facts_path(registry: Registry, zone: str) -> Path:
    """The facts file the zone names, relative to the registry file."""
    name = registry.zones[zone].facts
    if name is None:
        raise AnalyticsError(f"zone {zone!r} names no facts file: set facts = ... or use --facts")
    return Path(registry.source).parent / name


def load(path: str | Path, registry: Registry, zone: str | None = None) -> Facts:
    """Load and validate a facts CSV for ``zone``; ``ConfigError`` lists every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [f"cannot read facts file: {exc}"]) from None
    return parse(text, registry, zone, source=str(path))


def parse(text: str, registry: Registry, zone: str | None = None, source: str = "<facts>") -> Facts:
    """Validate facts CSV ``text`` (see :func:`load`)."""
    zone = zone_of(registry, zone)
    enterprises = zone_enterprises(registry, zone)
    position = {e: i for i, e in enumerate(enterprises)}
    problems: list[str] = []
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ConfigError(source, ["line 1: empty file, expected the header " + ",".join(HEADER)])
    header = [c.strip() for c in rows[0]]
    columns = _check_header(header, problems)
    parsed: list[tuple[int, int, dict[str, float]]] = []  # (year, enterprise, fields)
    seen: dict[tuple[int, str], int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            problems.append(f"line {line}: expected {len(header)} cells, got {len(row)}")
            continue
        cells = {name: row[i].strip() for name, i in columns.items()}
        before = len(problems)
        year = _year(cells.get("year", ""), line, problems)
        enterprise = _enterprise(cells.get("enterprise", ""), line, registry, zone, problems)
        values = {
            name: _amount(name, cells[name], line, problems) for name in FIELDS if name in cells
        }
        if year is not None and enterprise is not None:
            first = seen.setdefault((year, enterprise), line)
            if first != line:
                problems.append(
                    f"line {line}: duplicate row for year {year}, enterprise {enterprise!r} "
                    f"(first on line {first})"
                )
        if len(problems) == before and year is not None and enterprise is not None:
            parsed.append((year, position[enterprise], values))
    if problems:
        raise ConfigError(source, problems)
    years = tuple(sorted({y for y, _, _ in parsed}))
    year_col = {y: j for j, y in enumerate(years)}
    shape = (len(enterprises), len(years))
    arrays = {name: np.full(shape, np.nan) for name in FIELDS}
    present = np.zeros(shape, np.bool_)
    for year, e, values in parsed:
        j = year_col[year]
        present[e, j] = True
        for name, value in values.items():
            arrays[name][e, j] = value
    return Facts(source, zone, enterprises, years, arrays, present)


def _check_header(header: list[str], problems: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name not in HEADER:
            problems.append(f"line 1, column {i}: unknown column {name!r}")
        elif name in columns:
            problems.append(f"line 1, column {i}: duplicate column {name!r}")
        else:
            columns[name] = i - 1
    for name in HEADER:
        if name not in columns and name not in OPTIONAL_COLUMNS:
            problems.append(f"line 1: missing column {name!r} (header: {','.join(HEADER)})")
    return columns


def _year(cell: str, line: int, problems: list[str]) -> int | None:
    try:
        year = int(cell)
    except ValueError:
        problems.append(f"line {line}, column year: must be a year like 2025, got {cell!r}")
        return None
    if not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        problems.append(f"line {line}, column year: {year} is outside {YEAR_RANGE}")
        return None
    return year


def _enterprise(
    cell: str, line: int, registry: Registry, zone: str, problems: list[str]
) -> str | None:
    where = f"line {line}, column enterprise"
    if not cell:
        problems.append(f"{where}: missing enterprise id")
        return None
    found = registry.enterprises.get(cell)
    if found is None:
        problems.append(f"{where}: unknown enterprise {cell!r} (not in the registry)")
        return None
    in_zone = registry.parks[found.park].zone
    if in_zone != zone:
        problems.append(f"{where}: enterprise {cell!r} is in zone {in_zone!r}, not {zone!r}")
        return None
    return cell


def _amount(name: str, cell: str, line: int, problems: list[str]) -> float:
    if cell == "":
        return math.nan  # missing, never zero
    where = f"line {line}, column {name}"
    try:
        value = float(cell)
    except ValueError:
        problems.append(f"{where}: must be a number, got {cell!r}")
        return math.nan
    if not math.isfinite(value):
        problems.append(f"{where}: must be finite, got {cell!r}")
        return math.nan
    if value < 0 and name not in MAY_BE_NEGATIVE:
        problems.append(f"{where}: must be >= 0, got {cell!r} (only profit may be negative)")
        return math.nan
    return value
