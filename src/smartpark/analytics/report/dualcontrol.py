"""The monthly report's section 双控目标完成情况 ("Dual-control targets", docs/report.md):
the zone's dual-control targets of the report's year for its scope, parks and
enterprises, each budget against the actual to date, the year-end projection with its
method and the projected gap (red above zero), from :mod:`analytics.dualcontrol`.

The report's month closes the year to date: the as-of day is the first day after it (a
month in progress: today, so the year to date stops before it). A zone that names no
targets file has no section and no note; a file that does not load, or holds no target
of the scope for the year, is said in the missing-data box with what supplies it, and so
is a missing value added behind an intensity target.

:func:`gather` runs plan against actual, :func:`section` lays it out for the HTML (and
so the PDF), :func:`sheet` for the workbook (numbers as numbers, "off target" in words).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from smartpark.analytics.dualcontrol.progress import Progress, Row
from smartpark.analytics.dualcontrol.scoped import progress_of, under
from smartpark.analytics.dualcontrol.targets import targets_path
from smartpark.analytics.dualcontrol.valueadded import IMPORT_HINT
from smartpark.analytics.report.html import Section, Table, number
from smartpark.analytics.report.labels import LABELS, name
from smartpark.core.errors import AnalyticsError, ConfigError
from smartpark.core.registry import Lang, Registry
from smartpark.core.workbook import Column, Sheet
from smartpark.store.base import Store

IMPORT_COMMAND = "smartpark import targets FILE"


@dataclass(frozen=True)
class DualControl:
    """The scope's targets of the report's year, planned against actual."""

    progress: Progress


def gather(
    store: Store,
    registry: Registry,
    lang: Lang,
    zone: str,
    scope: str,
    ident: str,
    day: dt.date,
) -> tuple[DualControl | None, list[str]]:
    """The section of ``scope`` ``ident`` (its zone ``zone``) as of ``day`` (the year:
    the year of the day before it), and the missing-data notes; no section and no note
    when the zone names no targets file."""
    w = LABELS[lang]
    if not registry.zones[zone].dual_control:
        return None, []
    year = (day - dt.timedelta(days=1)).year
    keep = under(registry, scope, ident)
    try:
        done = progress_of(store, registry, zone, year, day, lambda s, i: (s, i) in keep)
    except ConfigError as exc:
        reason = f"{exc.source}: {'; '.join(exc.problems)}"
        return None, [w["dc_unreadable"].format(reason=reason, command=IMPORT_COMMAND)]
    except AnalyticsError as exc:
        return None, [w["dc_unreadable"].format(reason=exc, command=IMPORT_COMMAND)]
    if done is None:
        path = targets_path(registry, zone)
        return None, [w["dc_none"].format(path=path, year=year, command=IMPORT_COMMAND)]
    notes = {
        w["dc_missing"].format(target=target_name(registry, lang, r), note=r.note)
        for r in done.rows
        if IMPORT_HINT in r.note
    }
    return DualControl(done), sorted(notes)


def target_name(registry: Registry, lang: Lang, row: Row) -> str:
    """The target's scope by name: ``Petrochemical Park (石化园区)``."""
    if row.scope == "enterprise":
        return name(registry.enterprises[row.id], lang)
    if row.scope == "park":
        return name(registry.parks[row.id], lang)
    if row.scope == "zone":
        return name(registry.zones[row.id], lang)
    return name(registry.regions[row.id], lang)


def measure(lang: Lang, row: Row) -> str:
    return LABELS[lang][f"measure_{row.measure}"]


def method(lang: Lang, row: Row) -> str:
    return LABELS[lang][f"method_{row.projection_method}"] if row.projection_method else "–"


def text(lang: Lang, p: Progress) -> str:
    """What the year to date is, how the projection is made, and the progress notes."""
    w = LABELS[lang]
    first = [
        w["dc_text"].format(as_of=p.as_of.isoformat(), year=p.year, closed=p.closed),
        *p.notes,
    ]
    return "\n".join(first)


def _no_value(closed: int, w: dict[str, str], value: float | None) -> str:
    """A figure: the number, "no data" for a closed year to date without it, else "–"."""
    if value is not None:
        return number(value)
    return w["no_data"] if closed else "–"


def section(registry: Registry, lang: Lang, dc: DualControl) -> Section:
    """One row per target and budget: budget, plan and actual to date, share used, the
    projection and its method, the projected gap (red above zero) and the notes."""
    w = LABELS[lang]
    p = dc.progress
    rows: list[list[str]] = []
    marks: dict[tuple[int, int], str] = {}
    for i, r in enumerate(p.rows):
        rows.append(
            [
                target_name(registry, lang, r),
                measure(lang, r),
                r.unit,
                number(r.budget),
                "–" if r.plan_ytd is None else number(r.plan_ytd),
                _no_value(p.closed, w, r.actual_ytd),
                "–" if r.used_pct is None else f"{r.used_pct:.1f}",
                "–" if r.projection is None else number(r.projection),
                method(lang, r),
                _no_value(p.closed if r.actual_ytd is None else 0, w, r.gap),
                "–" if r.gap_pct is None else f"{r.gap_pct:+.1f}",
                r.note,
            ]
        )
        if r.gap is not None:
            mark = "bad" if r.gap > 0 else "good"
            marks[(i, 9)] = marks[(i, 10)] = mark
    heads = [
        w["dc_target"],
        w["kpi"],
        w["unit"],
        w["dc_budget"],
        w["dc_plan"],
        w["dc_actual"],
        w["dc_used"],
        w["dc_projection"],
        w["dc_method"],
        w["dc_gap"],
        w["dc_gap_pct"],
        w["note"],
    ]
    return Section(w["dualcontrol"], text=text(lang, p), tables=[Table(heads, rows, marks=marks)])


def sheet(registry: Registry, lang: Lang, dc: DualControl, lines: tuple[str, ...]) -> Sheet:
    """The section as a sheet: the scope and id beside the name, numbers as numbers, an
    "off target" column (yes above zero) for the red of the HTML."""
    w = LABELS[lang]
    columns = (
        Column(w["dc_target"], kind="text"),
        Column(w["scope"], kind="text"),
        Column("id", kind="text"),
        Column(w["kpi"], kind="text"),
        Column(w["unit"], kind="text"),
        Column(w["dc_budget"]),
        Column(w["dc_plan"]),
        Column(w["dc_actual"]),
        Column(w["dc_used"], decimals=1),
        Column(w["dc_projection"]),
        Column(w["dc_method"], kind="text"),
        Column(w["dc_gap"]),
        Column(w["dc_gap_pct"], decimals=1),
        Column(w["dc_off"], kind="text"),
        Column(w["note"], kind="text"),
    )
    cells = [
        [
            target_name(registry, lang, r),
            r.scope,
            r.id,
            measure(lang, r),
            r.unit,
            r.budget,
            r.plan_ytd,
            r.actual_ytd,
            r.used_pct,
            r.projection,
            method(lang, r) if r.projection_method else None,
            r.gap,
            r.gap_pct,
            None if r.gap is None else (w["yes"] if r.gap > 0 else w["no"]),
            r.note or None,
        ]
        for r in dc.progress.rows
    ]
    return Sheet(w["sheet_dualcontrol"], columns, cells, (*lines, text(lang, dc.progress)))
