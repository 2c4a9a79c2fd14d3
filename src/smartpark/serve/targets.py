"""Dual-control targets as the API and the web view show them: plan against actual of the
targets a caller may see (docs/api.md, docs/dualcontrol.md).

A target is the caller's when its scope row is: an enterprise, park or zone it sees
(:class:`~smartpark.core.scopes.Visible`), a region every counted park of which it sees
(:func:`~smartpark.core.scopes.may_report`, as for the region's report). Each zone that
names a targets file is planned against actual (:mod:`analytics.dualcontrol`) for the
visible targets of the year only; a zone with none of them is not computed at all.

``GET /api/v1/targets`` gives the rows (:func:`of_caller`); a zone, park or enterprise
page shows its scope's targets and those below it (:func:`page_section`), as of the end
of the page's period (or now, for a period in progress).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from smartpark.analytics.dualcontrol.progress import Progress
from smartpark.analytics.dualcontrol.scoped import as_of_after, progress_of, under
from smartpark.analytics.dualcontrol.targets import TargetScope
from smartpark.analytics.report import dualcontrol as words
from smartpark.analytics.report.labels import LABELS
from smartpark.core.errors import AnalyticsError, ConfigError
from smartpark.core.readable import number
from smartpark.core.registry import Lang, Registry
from smartpark.core.scopes import Visible, may_report
from smartpark.store.base import Store

Visibility = Callable[[TargetScope, str], bool]


def allows(reg: Registry, vis: Visible, scope: TargetScope, ident: str) -> bool:
    """Whether target ``scope`` ``ident`` is the caller's."""
    if scope == "region":
        return may_report(reg, vis, "region", ident)
    return vis.allows(scope, ident)


def of_caller(
    store: Store,
    reg: Registry,
    vis: Visible,
    year: int | None,
    as_of: dt.date | None,
    keep: Visibility | None = None,
) -> list[Progress]:
    """Plan against actual of the visible targets (and those ``keep`` keeps) of every
    zone that names a targets file; ``as_of`` None: today in each zone's time zone,
    ``year`` None: the as-of year. Raises what :func:`~.scoped.progress_of` raises."""
    out = []
    for zone in reg.zone_ids:
        if not reg.zones[zone].dual_control:
            continue
        day = as_of or dt.datetime.now(ZoneInfo(reg.zones[zone].timezone)).date()
        done = progress_of(
            store,
            reg,
            zone,
            day.year if year is None else year,
            day,
            lambda s, i: allows(reg, vis, s, i) and (keep is None or keep(s, i)),
        )
        if done is not None:
            out.append(done)
    return out


def records(done: list[Progress]) -> list[dict[str, Any]]:
    """One record per target and budget, its zone first (docs/dualcontrol.md's columns)."""
    return [{"zone": p.zone, **r.as_dict()} for p in done for r in p.rows]


def payload(done: list[Progress], year: int | None, as_of: dt.date | None) -> dict[str, Any]:
    """The JSON answer: what was asked, each zone's year to date, the rows and months."""
    return {
        "year": year,
        "as_of": None if as_of is None else as_of.isoformat(),
        "zones": [
            {
                "zone": p.zone,
                "year": p.year,
                "as_of": p.as_of.isoformat(),
                "ytd_end": p.ytd_end.isoformat(),
                "closed_months": p.closed,
                "notes": list(p.notes),
            }
            for p in done
        ],
        "rows": records(done),
        "months": [{"zone": p.zone, **m.as_dict()} for p in done for m in p.months],
    }


def page_section(
    store: Store,
    reg: Registry,
    vis: Visible,
    kind: str,
    ident: str,
    lang: str,
    period: tuple[dt.date, dt.date],
    today: dt.date,
) -> dict[str, Any] | None:
    """The targets of a zone, park or enterprise page and those below it that the caller
    sees, for the year of the page's ``period`` (first and last day) as of the day after
    it, or ``today`` while it is in progress; None where the zone names no targets file
    or has none of them. A targets file that does not load is said, not raised."""
    first, last = period
    mine = under(reg, kind, ident)
    day = max(as_of_after(last, today), dt.date(first.year, 1, 1))
    try:
        done = of_caller(store, reg, vis, first.year, day, lambda s, i: (s, i) in mine)
    except (AnalyticsError, ConfigError) as exc:
        return {"error": str(exc).replace("\n", " ")}
    if not done:
        return None
    lang_: Lang = "zh" if lang == "zh" else "en"
    w = LABELS[lang_]
    rows = []
    for p in done:
        for r in p.rows:
            over = r.gap is not None and r.gap > 0
            rows.append(
                {
                    "scope": r.scope,
                    "id": r.id,
                    "measure": r.measure,
                    "cells": [
                        {"text": words.target_name(reg, lang_, r), "css": ""},
                        {"text": words.measure(lang_, r), "css": ""},
                        {"text": r.unit, "css": ""},
                        {"text": number(r.budget), "css": "num"},
                        {"text": number(r.plan_ytd), "css": "num"},
                        {"text": number(r.actual_ytd), "css": "num"},
                        {"text": number(r.used_pct, 1), "css": "num"},
                        {"text": number(r.projection), "css": "num"},
                        {"text": words.method(lang_, r), "css": ""},
                        {
                            "text": number(r.gap),
                            "css": "num"
                            if r.gap is None
                            else f"num {'misses' if over else 'meets'}",
                        },
                        {"text": number(r.gap_pct, 1), "css": "num"},
                        {"text": r.note, "css": ""},
                    ],
                }
            )
    heads = ("dc_target", "kpi", "unit", "dc_budget", "dc_plan", "dc_actual", "dc_used")
    tail = ("dc_projection", "dc_method", "dc_gap", "dc_gap_pct", "note")
    return {
        "text": [words.text(lang_, p) for p in done],
        "headers": [w[h] for h in (*heads, *tail)],
        "rows": rows,
    }


__all__ = ["allows", "of_caller", "page_section", "payload", "records"]
