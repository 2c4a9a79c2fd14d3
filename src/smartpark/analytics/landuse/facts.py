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

The rules of one row are :class:`RowCheck`'s, which the importer of facts sheets
(:mod:`smartpark.analytics.landuse.facts_import`, ``smartpark import facts``) applies
too: a row the importer merges into the file is a row this loader accepts.

A loaded :class:`Facts` holds each field as a float64 array of shape (enterprises,
years), NaN where missing, enterprises in the order of the zone's sorted ids.
"""

from __future__ import annotations

import contextlib
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
    parsed: list[tuple[int, int, Mapping[str, float]]] = []  # (year, enterprise, fields)
    check = RowCheck(registry, zone)
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            problems.append(f"line {line}: expected {len(header)} cells, got {len(row)}")
            continue
        good, found = check({name: row[i].strip() for name, i in columns.items()}, line)
        problems.extend(
            f"line {line}, column {p.column}: {p.detail}"
            if p.column
            else f"line {line}: {p.detail}"
            for p in found
        )
        if good is not None:
            parsed.append((good.year, position[good.enterprise], good.values))
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


# -- the rules of one row: a facts CSV's and an imported sheet's ------------------------

# Why a row is refused (machine-readable: the import report's reasons).
MISSING: Final = "missing"
BAD_YEAR: Final = "bad_year"
UNKNOWN_ENTERPRISE: Final = "unknown_enterprise"
OTHER_ZONE: Final = "other_zone"
NOT_A_NUMBER: Final = "not_a_number"
NON_FINITE: Final = "non_finite"
NEGATIVE: Final = "negative"
DUPLICATE: Final = "duplicate"


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong with one row: its column (``""``: the row as a whole), a
    machine-readable reason and the detail a person reads."""

    column: str
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class FactsRow:
    """One valid row: ``values`` holds each of :data:`FIELDS` the row has a column for,
    NaN where its cell is empty (missing, never zero)."""

    year: int
    enterprise: str
    values: Mapping[str, float]


Value = str | float | Problem
"""A cell as :class:`RowCheck` takes it: CSV text (``""``: empty), a number a
spreadsheet cell held, or the :class:`Problem` that kept its cell from being read."""


class RowCheck:
    """The rules every facts row obeys, the same for the facts CSV (:func:`parse`) and
    for a sheet imported into it (:mod:`smartpark.analytics.landuse.facts_import`):

    - ``year``: a whole number within ``years`` (the file: 1900 to 2200);
    - ``enterprise``: an enterprise of the registry, in ``zone``;
    - each amount of :data:`FIELDS`: empty (missing, never zero), or a finite number,
      >= 0 unless the field may be negative (only ``profit``);
    - a (year, enterprise) seen on an earlier row is a duplicate.

    Rows are given in order; ``place`` names them in the duplicate's detail (``first on
    line 2``)."""

    def __init__(
        self,
        registry: Registry,
        zone: str,
        *,
        years: tuple[int, int] = YEAR_RANGE,
        place: str = "line",
    ) -> None:
        self.registry = registry
        self.zone = zone
        self.years = years
        self.place = place
        self._seen: dict[tuple[int, str], int] = {}

    def __call__(
        self, cells: Mapping[str, Value], number: int
    ) -> tuple[FactsRow | None, list[Problem]]:
        """Row ``number`` (its cells by column name) as a :class:`FactsRow`, or None and
        every problem it has, in the order of the columns."""
        problems: list[Problem] = []
        year = self._year(cells.get("year", ""), problems)
        enterprise = self._enterprise(cells.get("enterprise", ""), problems)
        values = {
            name: self._amount(name, cells[name], problems) for name in FIELDS if name in cells
        }
        if year is not None and enterprise is not None:
            first = self._seen.setdefault((year, enterprise), number)
            if first != number:
                problems.append(
                    Problem(
                        "",
                        DUPLICATE,
                        f"duplicate row for year {year}, enterprise {enterprise!r} "
                        f"(first on {self.place} {first})",
                    )
                )
        if problems or year is None or enterprise is None:
            return None, problems
        return FactsRow(year, enterprise, values), problems

    def _year(self, cell: Value, problems: list[Problem]) -> int | None:
        if isinstance(cell, Problem):
            problems.append(cell)
            return None
        year: int | None = None
        if isinstance(cell, str):
            with contextlib.suppress(ValueError):
                year = int(cell)
        elif math.isfinite(cell) and cell.is_integer():
            year = int(cell)
        if year is None:
            reason = MISSING if cell == "" else BAD_YEAR
            problems.append(
                Problem("year", reason, f"must be a year like 2025, got {_shown(cell)!r}")
            )
            return None
        lo, hi = self.years
        if not lo <= year <= hi:
            problems.append(
                Problem("year", BAD_YEAR, f"must be a year from {lo} to {hi}, got {year}")
            )
            return None
        return year

    def _enterprise(self, cell: Value, problems: list[Problem]) -> str | None:
        if isinstance(cell, Problem):
            problems.append(cell)
            return None
        text = _shown(cell)
        if not text:
            problems.append(Problem("enterprise", MISSING, "missing enterprise id"))
            return None
        found = self.registry.enterprises.get(text)
        if found is None:
            problems.append(
                Problem(
                    "enterprise",
                    UNKNOWN_ENTERPRISE,
                    f"unknown enterprise {text!r} (not in the registry)",
                )
            )
            return None
        in_zone = self.registry.parks[found.park].zone
        if in_zone != self.zone:
            problems.append(
                Problem(
                    "enterprise",
                    OTHER_ZONE,
                    f"enterprise {text!r} is in zone {in_zone!r}, not {self.zone!r}",
                )
            )
            return None
        return text

    def _amount(self, name: str, cell: Value, problems: list[Problem]) -> float:
        if isinstance(cell, Problem):
            problems.append(cell)
            return math.nan
        if cell == "":
            return math.nan  # missing, never zero
        if isinstance(cell, str):
            try:
                value = float(cell)
            except ValueError:
                problems.append(Problem(name, NOT_A_NUMBER, f"must be a number, got {cell!r}"))
                return math.nan
        else:
            value = cell
        if not math.isfinite(value):
            problems.append(Problem(name, NON_FINITE, f"must be finite, got {_shown(cell)!r}"))
            return math.nan
        if value < 0 and name not in MAY_BE_NEGATIVE:
            problems.append(
                Problem(
                    name,
                    NEGATIVE,
                    f"must be >= 0, got {_shown(cell)!r} (only profit may be negative)",
                )
            )
            return math.nan
        return value


def _shown(cell: str | float) -> str:
    """A cell as a problem quotes it: CSV text as it is, a number without a needless
    ``.0``."""
    if isinstance(cell, str):
        return cell
    return str(int(cell)) if math.isfinite(cell) and cell.is_integer() else repr(cell)
