"""What ``smartpark targets`` prints: a rich table, CSV, JSON or an .xlsx workbook.

- table: the budgets of every target (plan, actual, used, projection, gap), then each
  target's months when one target is shown (``--id``), then the notes;
- CSV: the budgets (one line per target and budget, units in the headers);
- JSON: ``{"zone", "year", "as_of", "ytd_end", "closed_months", "targets_file",
  "facts_file", "units", "rows", "months", "notes"}``;
- .xlsx: sheet ``targets`` (the CSV's columns) and sheet ``months``.

Cells are written by the shared writers (:func:`~smartpark.core.cells.csv_text`,
:mod:`smartpark.core.workbook`): no cell is ever a formula.
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from smartpark.analytics.dualcontrol.progress import MonthRow, Progress
from smartpark.analytics.landuse.render import Screen
from smartpark.core.cells import csv_text
from smartpark.core.readable import number
from smartpark.core.workbook import Column, Kind, Sheet, xlsx_bytes

Format = Literal["table", "csv", "json", "xlsx"]
# Row columns with the unit they are in ("measure": the row's own unit column).
ROW_COLUMNS: Final = (
    ("scope", ""),
    ("id", ""),
    ("year", ""),
    ("measure", ""),
    ("unit", ""),
    ("budget", "unit"),
    ("plan_ytd", "unit"),
    ("actual_ytd", "unit"),
    ("used_pct", "%"),
    ("projection", "unit"),
    ("projection_method", ""),
    ("gap", "unit"),
    ("gap_pct", "%"),
    ("incomplete", ""),
    ("note", ""),
)
MONTH_COLUMNS: Final = (
    ("scope", ""),
    ("id", ""),
    ("month", ""),
    ("plan_tce", "tce"),
    ("energy_tce", "tce"),
    ("co2_t", "tCO2"),
    ("value_added", "10k CNY"),
    ("closed", ""),
    ("incomplete", ""),
)


def render(progress: Progress, output: Format) -> str | bytes | Screen:
    if output == "json":
        return json.dumps(payload(progress), ensure_ascii=False, indent=2) + "\n"
    if output == "csv":
        return csv_text([_heads(ROW_COLUMNS), *(_cells(r.as_dict()) for r in progress.rows)])
    if output == "xlsx":
        return xlsx_bytes([_rows_sheet(progress), _months_sheet(progress)])
    return _screen(progress)


def payload(progress: Progress) -> dict[str, Any]:
    return {
        "zone": progress.zone,
        "year": progress.year,
        "as_of": progress.as_of.isoformat(),
        "ytd_end": progress.ytd_end.isoformat(),
        "closed_months": progress.closed,
        "targets_file": progress.targets_file,
        "facts_file": progress.facts_file,
        "rows": [r.as_dict() for r in progress.rows],
        "months": [m.as_dict() for m in progress.months],
        "notes": list(progress.notes),
    }


def _heads(columns: tuple[tuple[str, str], ...]) -> list[str]:
    return [name if unit in ("", "unit") else f"{name} [{unit}]" for name, unit in columns]


def _cells(record: dict[str, Any]) -> list[Any]:
    return [record[name] for name, _ in ROW_COLUMNS]


def _lines(progress: Progress, what: str) -> tuple[str, ...]:
    return (
        f"{what}: zone {progress.zone}, {progress.year}",
        f"as of {progress.as_of}: the year to date is the months before {progress.ytd_end} "
        f"({progress.closed} closed)",
        f"targets: {progress.targets_file}; value added: {progress.facts_file or '-'}",
    )


def _columns(columns: tuple[tuple[str, str], ...]) -> tuple[Column, ...]:
    out = []
    for name, unit in columns:
        kind: Kind = "integer" if name == "year" else ("number" if unit else "text")
        out.append(Column(name, "" if unit == "unit" else unit, kind))
    return tuple(out)


def _rows_sheet(progress: Progress) -> Sheet:
    return Sheet(
        "targets",
        _columns(ROW_COLUMNS),
        [_cells(r.as_dict()) for r in progress.rows],
        _lines(progress, "Dual-control targets, plan against actual"),
    )


def _months_sheet(progress: Progress) -> Sheet:
    return Sheet(
        "months",
        _columns(MONTH_COLUMNS),
        [[m.as_dict()[name] for name, _ in MONTH_COLUMNS] for m in progress.months],
        _lines(progress, "Dual-control targets by month"),
    )


def _screen(progress: Progress) -> Screen:
    parts: list[RenderableType] = [_row_table(progress)]
    if len({(r.scope, r.id) for r in progress.rows}) == 1:
        parts.append(_month_table(progress.months))
    parts += [Text(f"note: {n}") for n in progress.notes]
    parts += [Text(f"{r.scope} {r.id} {r.measure}: {r.note}") for r in progress.rows if r.note]
    return Screen(tuple(parts), 160)


def _row_table(progress: Progress) -> Table:
    table = Table(
        title=f"双控目标完成情况 · dual-control targets {progress.year}, zone {progress.zone}, "
        f"as of {progress.as_of} ({progress.closed} month(s) closed)",
        caption="! = a month to date below 99 % completeness; gap > 0: off target",
    )
    for head in ("scope", "id", "measure", "unit", "budget", "plan to date", "actual to date"):
        table.add_column(head, justify="right" if head[0] in "bpa" else "left")
    for head in ("used %", "projection", "method", "gap", "gap %", ""):
        table.add_column(head, justify="left" if head in ("method", "") else "right")
    for r in progress.rows:
        gap = number(r.gap)
        if r.gap is not None:
            gap = f"[red]{gap}[/]" if r.gap > 0 else f"[green]{gap}[/]"
        table.add_row(
            r.scope,
            r.id,
            r.measure,
            r.unit,
            number(r.budget),
            number(r.plan_ytd),
            number(r.actual_ytd),
            number(r.used_pct),
            number(r.projection),
            r.projection_method or "–",
            gap,
            number(r.gap_pct),
            "!" if r.incomplete else "",
        )
    return table


def _month_table(months: tuple[MonthRow, ...]) -> Table:
    first = months[0]
    table = Table(title=f"{first.scope} {first.id} by month")
    for head in ("month", "plan [tce]", "actual [tce]", "CO2 [tCO2]", "value added [10k CNY]"):
        table.add_column(head, justify="left" if head == "month" else "right")
    table.add_column("")
    for m in months:
        table.add_row(
            m.month,
            number(m.plan_tce),
            number(m.energy_tce),
            number(m.co2_t),
            number(m.value_added),
            "!" if m.incomplete else "",
        )
    return table
