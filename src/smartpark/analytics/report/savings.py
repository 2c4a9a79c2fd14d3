"""The monthly report's section on energy-saving projects (节能项目节能量): for each
project of the scope's enterprises (``[project.ID]``, docs/savings.md), the report
month's measured savings and those since go-live, from the CalTRACK daily baseline
(analytics/savings). A project whose savings cannot be computed yet (before go-live, a
baseline without data or temperature, eemeter not installed) is a note saying what is
missing and how to supply it, never a zero.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from smartpark.analytics.report.html import Section, Table, number
from smartpark.analytics.report.labels import LABELS, name
from smartpark.analytics.savings.caltrack import METHOD
from smartpark.analytics.savings.savings import Month, Savings, savings
from smartpark.core.errors import AnalyticsError, MissingExtraError, OptionError
from smartpark.core.registry import Lang, Registry
from smartpark.core.workbook import Column, Sheet
from smartpark.store.base import Store


@dataclass(frozen=True)
class ProjectSavings:
    """A project's savings up to the end of the report month, and that month's."""

    savings: Savings
    month: Month | None  # the report month's (None: no counted day in it)


def gather(
    store: Store, registry: Registry, enterprises: set[str], first: dt.date, end: dt.date
) -> tuple[list[ProjectSavings], list[str]]:
    """The savings of the projects of ``enterprises`` from go-live to ``end`` (the day
    after the report month, exclusive), and a note per project that has none yet."""
    out: list[ProjectSavings] = []
    notes: list[str] = []
    for ident in sorted(p for p, pr in registry.projects.items() if pr.enterprise in enterprises):
        project = registry.projects[ident]
        if end <= project.go_live:
            continue  # not live in the report month: nothing to say yet
        try:
            s = savings(store, registry, ident, project.go_live, end, today=end)
        except (AnalyticsError, OptionError, MissingExtraError) as exc:
            notes.append(f"{ident}: {exc}")
            continue
        key = f"{first:%Y-%m}"
        out.append(ProjectSavings(s, next((m for m in s.months if m.month == key), None)))
    return out, notes


def _pm(value: float, uncertainty: float) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{number(value)} ± {number(uncertainty)}"


def section(registry: Registry, lang: Lang, found: list[ProjectSavings]) -> Section:
    """One row per project: the month's and the go-live-to-date avoided energy (± the
    90 % uncertainty), its share of the baseline, and the avoided tce, tCO2 and cost."""
    w = LABELS[lang]
    rows = []
    for p in found:
        s, m, t = p.savings, p.month, p.savings.total
        rows.append(
            [
                name(s.project, lang),
                name(registry.enterprises[s.project.enterprise], lang),
                s.unit,
                "–" if m is None else _pm(m.avoided, m.uncertainty),
                "–" if m is None else f"{m.avoided_pct:.1f}",
                _pm(t.avoided, t.uncertainty),
                number(t.avoided_tce),
                number(t.avoided_tco2),
                number(t.avoided_cost_cny),
                f"{s.project.go_live:%Y-%m-%d}",
            ]
        )
    heads = [
        w["sv_project"],
        w["enterprise"],
        w["unit"],
        w["sv_month"],
        w["sv_month_pct"],
        w["sv_total"],
        w["sv_tce"],
        w["sv_tco2"],
        w["sv_cost"],
        w["sv_go_live"],
    ]
    return Section(
        w["savings"], text=w["sv_text"].format(method=METHOD), tables=[Table(heads, rows)]
    )


def sheet(
    registry: Registry, lang: Lang, found: list[ProjectSavings], lines: tuple[str, ...]
) -> Sheet:
    """The section as a sheet, numbers as numbers."""
    w = LABELS[lang]
    columns = (
        Column(w["sv_project"], kind="text"),
        Column("id", kind="text"),
        Column(w["enterprise"], kind="text"),
        Column(w["unit"], kind="text"),
        Column(w["sv_month"]),
        Column(w["sv_uncertainty"]),
        Column(w["sv_total"]),
        Column(w["sv_uncertainty"]),
        Column(w["sv_tce"]),
        Column(w["sv_tco2"]),
        Column(w["sv_cost"]),
        Column(w["sv_go_live"], kind="text"),
    )

    def finite(x: float | None) -> float | None:
        return x if x is not None and math.isfinite(x) else None

    cells = [
        [
            name(p.savings.project, lang),
            p.savings.project.id,
            name(registry.enterprises[p.savings.project.enterprise], lang),
            p.savings.unit,
            finite(p.month.avoided) if p.month else None,
            finite(p.month.uncertainty) if p.month else None,
            finite(p.savings.total.avoided),
            finite(p.savings.total.uncertainty),
            finite(p.savings.total.avoided_tce),
            finite(p.savings.total.avoided_tco2),
            finite(p.savings.total.avoided_cost_cny),
            f"{p.savings.project.go_live:%Y-%m-%d}",
        ]
        for p in found
    ]
    return Sheet(w["sheet_savings"], columns, cells, (*lines, w["sv_text"].format(method=METHOD)))
