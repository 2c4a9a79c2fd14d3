"""What a scope page and a meter page show, as template context (templates/view.html).

A scope page (zone, region, park, enterprise) has what the monthly report has, for the
picked day, month or year: headline KPIs against the zero-carbon line, the energy and
CO2 of each finer period (chart), time-of-use electricity, water, pollutants against
the park's limits, data quality, the children's key KPIs (a zone's regions, a region's
parks, a park's enterprises), its products' unit energy against their limit standards
(the latest month ended), its dual-control targets and those below it (a zone, park or
enterprise page: plan against actual as of the period's end), land-use grades, the
alerts of its subjects and freshness (an enterprise's meters are listed there, each
linking to its page). A meter page shows the meter's facts and freshness. Every KPI is
shown under its catalogue label in the page's language, every number with
:func:`~smartpark.core.readable.number`, every time in the scope's time zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from smartpark.analytics.kpis import targets
from smartpark.analytics.kpis.catalogue import KPIS, PRODUCT_KPIS
from smartpark.analytics.periods import from_ms
from smartpark.analytics.report import monthly
from smartpark.core import quantities
from smartpark.core.errors import AnalyticsError, ConfigError
from smartpark.core.readable import number
from smartpark.core.registry import POLLUTANTS, Product, Registry
from smartpark.core.scopes import Visible
from smartpark.core.timestamps import format_rfc3339, parse_rfc3339
from smartpark.serve import data, products
from smartpark.serve import targets as dual_control
from smartpark.serve.figures import Figures, Wanted, figures, finite
from smartpark.serve.labels import LABELS, QUANTITY_LABELS
from smartpark.serve.nav import Link, Navigator, display_name
from smartpark.serve.nav import href as nav_href
from smartpark.serve.period import KINDS, PagePeriod

TOU_KPIS: Final = tuple(f"electricity_kwh_{p}" for p in monthly.TOU)
CHART_KPIS: Final = ("energy_tce", "co2_total_t")
CHILD_KPIS: Final = monthly.PARK_KPIS
PRODUCT_COLUMNS: Final = (
    "product_output",
    "product_energy_tce",
    "benchmark_value",
    "limit_value",
    "benchmark_level",
    "gap_to_next_level",
)


@dataclass(frozen=True)
class Page:
    """The request a page answers: who, what, when, in which language."""

    registry: Registry
    vis: Visible
    kind: str
    id: str
    period: PagePeriod
    lang: str
    now_ms: int

    @property
    def timezone(self) -> str:
        return data.timezone_of(self.registry, self.kind, self.id)


def frame(page: Page) -> dict[str, Any]:
    """What every page has: names, breadcrumb, side list and the period picker."""
    nav = Navigator(page.registry, page.vis, page.lang, page.period.query)
    t = LABELS[page.lang]
    p = page.period
    base = f"/view/{page.kind}/{page.id}?lang={page.lang}"
    previous, following = p.previous(), p.next()
    name = display_name(page.registry, page.kind, page.id, page.lang)
    return {
        "name": name,
        "ident": f"{page.kind}:{page.id}",  # the id beside the name, as people quote it
        "breadcrumb": nav.breadcrumb(page.kind, page.id),
        "side": nav.side(page.kind, page.id),
        "period": {
            "label": p.label,
            "kind": p.kind,
            "prev": None
            if previous is None
            else {"href": f"{base}&{previous.query}", "label": previous.label},
            "next": None
            if following is None
            else {"href": f"{base}&{following.query}", "label": following.label},
            "tabs": [
                {"kind": k, "label": t[f"tab_{k}"], "href": f"{base}&{p.as_kind(k).query}"}
                for k in KINDS
            ],
        },
    }


def _figures(src: data.Sources, page: Page) -> tuple[Figures, list[Link]]:
    """The page's figures and the links of its children with KPIs (not meters)."""
    nav = Navigator(page.registry, page.vis, page.lang, page.period.query)
    links = [nav.link(k, i) for k, i in nav.children(page.kind, page.id) if k != "meter"]
    kinds = dict.fromkeys(c.kind for c in links)
    wanted = Wanted(
        page.kind,  # type: ignore[arg-type]
        page.id,
        tuple((k, tuple(c.id for c in links if c.kind == k)) for k in kinds),  # type: ignore[misc]
        page.period.kind,
        page.period.finer,
    )
    tz = page.timezone
    fig = figures(src.store, page.registry, wanted, page.period.bounds(tz), tz, page.now_ms)
    return fig, links


def rows(src: data.Sources, page: Page) -> list[dict[str, Any]]:
    """The page's KPIs as records (its period's for it and its children, then its finer
    series), with machine names and RFC 3339 UTC times, for CSV and .xlsx downloads."""
    fig, _ = _figures(src, page)
    start = format_rfc3339(fig.start_ms)
    out: list[dict[str, Any]] = []
    for (scope, ident), values in fig.values.items():
        out += [
            {
                "scope": scope,
                "id": ident,
                "period": page.period.kind,
                "start": start,
                "kpi": k,
                "value": finite(v),
                "unit": KPIS[k].unit,
            }
            for k, v in values.items()
            if k in KPIS
        ]
    for k, series in fig.series.items():
        if k not in KPIS:
            continue
        out += [
            {
                "scope": page.kind,
                "id": page.id,
                "period": page.period.finer,
                "start": format_rfc3339(s),
                "kpi": k,
                "value": finite(v),
                "unit": KPIS[k].unit,
            }
            for s, v in zip(fig.series_starts, series, strict=True)
        ]
    return out


def scope_page(src: data.Sources, page: Page) -> dict[str, Any]:
    """The context of a zone, region, park or enterprise page."""
    t, lang, tz = LABELS[page.lang], page.lang, page.timezone
    fig, child_links = _figures(src, page)
    values = _measured(page.registry, page.kind, page.id, fig)
    if not values.get("completeness", 0.0) > 0:
        values = {}  # not one reading: every value is "–", never a zero
    energy = values.get("energy_tce", float("nan"))
    span = fig.end_ms - fig.start_ms
    annual = targets.annualised(energy, span) if span > 0 and energy == energy else None
    ctx: dict[str, Any] = {
        **frame(page),
        "note": _note(fig, t, tz) if values or fig.source == "none" else t["no_data"],
        "downloads": _downloads(page),
        "headline": [_card(k, values, annual, t, lang) for k in monthly.HEADLINE],
        "chart": _chart(fig, page, t, tz),
        "tou": _rows(TOU_KPIS + monthly.TOU_TOTALS, values, lang),
        "water": _rows(monthly.WATER, values, lang),
        "pollutants": _pollutants(page, values, lang),
        "quality": _rows(monthly.QUALITY, values, lang),
        "children": _children(page.registry, child_links, fig),
        "child_kpis": [_header(k, lang) for k in CHILD_KPIS],
        "products": _products(src, page),
        "targets": _targets(src, page),
        "landuse": _landuse(src, page),
        "alerts": _alerts(src, page, t, tz),
        "freshness": _freshness(src, page, t, tz),
    }
    return ctx


def meter_page(src: data.Sources, page: Page) -> dict[str, Any]:
    """The context of a meter page: what the meter is and when it last reported."""
    reg, t = page.registry, LABELS[page.lang]
    m = reg.meters[page.id]
    q = quantities.BY_NAME.get(m.quantity)
    facts = [
        (t["quantity"], QUANTITY_LABELS[page.lang].get(m.quantity, m.quantity)),
        (t["unit"], q.canonical_unit if q else ""),
        (t["role"], t[f"role_{m.role}"]),
        (t["interval"], f"{number(m.interval_s)} s"),
        (t["enterprise"], display_name(reg, "enterprise", m.enterprise, page.lang)),
        (t["gateway"], m.gateway or t["manual"]),
        (t["multiplier"], number(m.multiplier)),
    ]
    if m.stack:
        facts.append((t["stack"], m.stack))
    return {
        **frame(page),
        "period": None,  # a meter page has no KPIs to pick a period for
        "facts": facts,
        "freshness": _freshness(src, page, t, page.timezone),
    }


def _note(fig: Figures, t: dict[str, str], tz: str) -> str:
    if fig.source == "none":
        return t["nothing_yet"]
    if fig.partial:
        return t["partial"].format(end=local_time(fig.end_ms, tz))
    if fig.source == "computed":
        return t["computed"]
    return ""


def _downloads(page: Page) -> list[dict[str, str]]:
    """The page's KPI rows as CSV and .xlsx; a zone, region or park page also links the
    monthly report of the period's (first) month as PDF, HTML and .xlsx."""
    t = LABELS[page.lang]
    base = f"/download/{page.kind}/{page.id}?{page.period.query}&lang={page.lang}"
    out = [
        {"label": "CSV", "href": f"{base}&format=csv"},
        {"label": "Excel", "href": f"{base}&format=xlsx"},
    ]
    if page.kind in ("zone", "park", "region"):
        month = page.period.first.strftime("%Y-%m")
        report = f"/report/{page.kind}/{page.id}?month={month}"
        out += [
            {
                "label": f"{t['report']} {month} ({name})",
                "href": f"{report}&format={fmt}&lang={page.lang}",
            }
            for fmt, name in (("pdf", "PDF"), ("html", "HTML"), ("xlsx", "Excel"))
        ]
    return out


def _header(kpi: str, lang: str) -> dict[str, str]:
    return {"kpi": kpi, "label": KPIS[kpi].label(lang), "unit": KPIS[kpi].unit}


def _card(
    kpi: str, values: dict[str, float], annual: float | None, t: dict[str, str], lang: str
) -> dict[str, str]:
    value = values.get(kpi, float("nan"))
    ok = targets.meets(kpi, value, annual)
    line = data.line_of(kpi)
    shown = ""
    if line is not None and (kpi != "carbon_per_energy" or annual is not None):
        threshold = (
            targets.carbon_per_energy_line(annual)
            if kpi == "carbon_per_energy" and annual is not None
            else line["value"]
        )
        shown = f"{t['line']}: {'≤' if line['side'] == 'below' else '≥'} {number(threshold)}"
        if ok is not None:
            shown += f" · {t['meets'] if ok else t['misses']}"
    return {
        **_header(kpi, lang),
        "value": number(value),
        "line": shown,
        "css": "" if ok is None else ("meets" if ok else "misses"),
    }


def _rows(kpis: tuple[str, ...], values: dict[str, float], lang: str) -> list[dict[str, str]]:
    return [{**_header(k, lang), "value": number(values.get(k))} for k in kpis]


def _pollutants(page: Page, values: dict[str, float], lang: str) -> list[dict[str, str]]:
    """Mass and hours above the limit per pollutant; the park's limit (mg/m³) where the
    page is one park's."""
    reg = page.registry
    park = None
    if page.kind == "park":
        park = reg.parks[page.id]
    elif page.kind == "enterprise":
        park = reg.parks[reg.enterprises[page.id].park]
    t = LABELS[lang]
    return [
        {
            "name": {"so2": "SO2", "nox": "NOx"}.get(p) or t["particulate"],
            "kg": number(values.get(f"{p}_kg")),
            "hours": number(values.get(f"{p}_exceed_h")),
            "limit": number(park.limits.get(p)) if park is not None else "",
        }
        for p in POLLUTANTS
    ]


def _children(reg: Registry, links: list[Link], fig: Figures) -> list[dict[str, Any]]:
    out = []
    for c in links:
        values = _measured(reg, c.kind, c.id, fig)
        out.append({"link": c, "cells": [number(values.get(k)) for k in CHILD_KPIS]})
    return out


def _measured(reg: Registry, kind: str, ident: str, fig: Figures) -> dict[str, float]:
    """The KPIs of ``kind:ident`` its boundary meters can give: a KPI none of whose inputs
    they measure (SO2 of a park without a stack) is left out, shown "–", not 0."""
    metered = {
        reg.meters[m].quantity for m in _meters(reg, kind, ident) if reg.meters[m].in_boundary
    }
    values = fig.values.get((kind, ident), {})
    return {k: v for k, v in values.items() if k not in KPIS or KPIS[k].metered_by(metered)}


def _chart(fig: Figures, page: Page, t: dict[str, str], tz: str) -> dict[str, Any]:
    fmt = (
        "%H:%M"
        if page.period.kind == "day"
        else "%m-%d"
        if page.period.kind == "month"
        else "%Y-%m"
    )
    # A finer period without a single reading is a gap, not a zero.
    coverage = fig.series.get("completeness") or [100.0] * len(fig.series_starts)
    read = [c > 0 for c in coverage]
    return {
        "labels": [local_time(s, tz, fmt) for s in fig.series_starts],
        "series": [
            {
                "label": f"{KPIS[k].label(page.lang)} ({KPIS[k].unit})",
                "values": [
                    v if v == v and ok else None
                    for v, ok in zip(fig.series.get(k, []), read, strict=False)
                ],
            }
            for k in CHART_KPIS
        ],
        "title": t[f"chart_{page.period.kind}"],
    }


def _products(src: data.Sources, page: Page) -> dict[str, Any] | None:
    """Unit-product energy against the limit standards: each product of the scope (that
    the caller sees) in its latest month ended by the page's period, from the stored KPI
    rows; None where the scope makes no product."""
    reg, lang, t = page.registry, page.lang, LABELS[page.lang]
    ids = products.visible(reg, page.vis, set(_enterprises(reg, page.kind, page.id)))
    if not ids:
        return None
    until = min(page.period.bounds(page.timezone)[1], page.now_ms)
    months = products.latest_months(src.store, reg, ids, until)
    nav = Navigator(reg, page.vis, lang, page.period.query)
    rows = []
    for p in ids:
        product, month = reg.products[p], months.get(p)
        limit = product.limit
        category = limit.category_zh if lang == "zh" else limit.category
        rows.append(
            {
                "id": p,
                "name": product.name_zh if lang == "zh" and product.name_zh else product.name,
                "enterprise": nav.link("enterprise", product.enterprise),
                "standard": f"{limit.standard} {category}{'' if limit.checked else ' *'}",
                "month": local_time(month.start_ms, products.timezone(reg, p), "%Y-%m")
                if month
                else "",
                "cells": [_product_cell(product, month, k, t) for k in PRODUCT_COLUMNS],
            }
        )
    return {
        "headers": [
            {"label": PRODUCT_KPIS[k].label(lang), "css": "" if k == "benchmark_level" else "num"}
            for k in PRODUCT_COLUMNS
        ],
        "rows": rows,
        "missing": any(
            m is None or "benchmark_level" not in m.values for m in map(months.get, ids)
        ),
        "unchecked": any(not reg.products[p].limit.checked for p in ids),
    }


def _targets(src: data.Sources, page: Page) -> dict[str, Any] | None:
    """The dual-control targets of a zone, park or enterprise page and those below it,
    as of the end of the page's period (or today, while it is in progress)."""
    if page.kind not in ("zone", "park", "enterprise"):
        return None
    last = page.period.following_first - dt.timedelta(days=1)
    today = from_ms(page.now_ms, page.timezone).date()
    return dual_control.page_section(
        src.store,
        page.registry,
        page.vis,
        page.kind,
        page.id,
        page.lang,
        (page.period.first, last),
        today,
    )


def _product_cell(
    product: Product, month: products.Month | None, kpi: str, t: dict[str, str]
) -> dict[str, str]:
    """A value with its unit for the product (the graded ones in its standard's unit);
    the level in words, or why there is none (no month stored, no output entered)."""
    value = month.values.get(kpi) if month else None
    if kpi != "benchmark_level":
        shown = number(value)
        unit = products.unit_of(product, kpi)
        return {"text": shown if value is None else f"{shown} {unit}", "css": "num"}
    if value is None:
        return {"text": t["no_output" if month else "no_month"], "css": "late"}
    return {"text": t[f"level_{int(value)}"], "css": "misses" if value > 3 else "meets"}


def _landuse(src: data.Sources, page: Page) -> dict[str, Any] | None:
    """Land-use grades of the scope's enterprises for the year before the period."""
    year = page.period.first.year - 1
    try:
        rows = data.landuse(src, page.vis, year)["enterprises"]
    except (AnalyticsError, ConfigError):
        return None
    reg, t = page.registry, LABELS[page.lang]
    mine = set(_enterprises(reg, page.kind, page.id))
    return {
        "year": year,
        "rows": [
            {
                "name": display_name(reg, "enterprise", r["enterprise"], page.lang),
                "grade": r.get("grade") or "",
                "flags": ", ".join(t.get(f"rule_{f}", f) for f in r.get("flags") or ()),
            }
            for r in rows
            if r["enterprise"] in mine
        ],
    }


def _enterprises(reg: Registry, kind: str, ident: str) -> list[str]:
    if kind == "enterprise":
        return [ident]
    if kind == "park":
        return [e.id for e in reg.enterprises.values() if e.park == ident]
    if kind == "zone":
        parks = {p.id for p in reg.parks.values() if p.zone == ident}
    else:
        parks = {p for p in reg.parks if ident in reg.regions_of_park(p)}
    return [e.id for e in reg.enterprises.values() if e.park in parks]


def _alerts(src: data.Sources, page: Page, t: dict[str, str], tz: str) -> list[dict[str, Any]]:
    """The active alerts of the page's subjects (itself and everything below it)."""
    below = _subjects(page.registry, page.kind, page.id)
    nav = Navigator(page.registry, page.vis, page.lang, page.period.query)
    return [
        {
            "rule": a["rule"],
            "subject": f"{t['gateway']} {a['id']}" if a["scope"] == "gateway" else "",
            "link": None if a["scope"] == "gateway" else nav.link(a["scope"], a["id"]),
            "status": a["status"],
            "status_label": t.get(f"alert_{a['status']}", a["status"]),
            "since": local_time(parse_rfc3339(a["since"], "since"), tz),
        }
        for a in data.alerts(src, page.vis, history=False)
        if (a["scope"], a["id"]) in below
    ]


def _subjects(reg: Registry, kind: str, ident: str) -> set[tuple[str, str]]:
    """``kind:ident`` and every subject below it: parks, enterprises, meters, gateways."""
    ents = _enterprises(reg, kind, ident)
    meters = _meters(reg, kind, ident)
    out = {(kind, ident)}
    out |= {("enterprise", e) for e in ents}
    out |= {("park", reg.enterprises[e].park) for e in ents if kind in ("zone", "region")}
    out |= {("meter", m) for m in meters}
    out |= {("gateway", reg.meters[m].gateway) for m in meters if reg.meters[m].gateway}
    return out


def _freshness(src: data.Sources, page: Page, t: dict[str, str], tz: str) -> dict[str, Any]:
    """Whether the page's meters and gateways report as expected: on time, late (relative
    to each meter's own interval) or never reported. An enterprise or meter page lists
    its meters (each linking to its page) and gateways; a park, region or zone page its
    gateways and its meters counted by status (a zone has thousands)."""
    reg = page.registry
    meters = frozenset(_meters(reg, page.kind, page.id)) & page.vis.ids.get("meter", frozenset())
    gateways = frozenset(reg.meters[m].gateway for m in meters if reg.meters[m].gateway)
    narrowed = Visible(
        {"meter": meters, "gateway": gateways & page.vis.ids.get("gateway", frozenset())}
    )
    records = data.freshness(src, narrowed, page.now_ms)
    listed = page.kind in ("enterprise", "meter")
    rows = []
    counts = {"ok": 0, "late": 0, "never": 0}
    for f in records:
        status = f["status"]
        if f["kind"] == "meter":
            counts[status] += 1
            if not listed:
                continue
        last = f["last"]
        rows.append(
            {
                "kind": t[f["kind"]],
                "id": f["id"],
                "href": nav_href("meter", f["id"], page.lang, page.period.query)
                if f["kind"] == "meter"
                else "",
                "last": local_time(parse_rfc3339(last, "last"), tz) if last else "",
                "status": status,
                "status_label": t[f"status_{status}"],
            }
        )
    return {"rows": rows, "summary": "" if listed else t["meters_by_status"].format(**counts)}


def _meters(reg: Registry, kind: str, ident: str) -> list[str]:
    if kind == "meter":
        return [ident]
    ents = set(_enterprises(reg, kind, ident))
    return [m.id for m in reg.meters.values() if m.enterprise in ents]


def local_time(ms: int, tz: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant as wall-clock time in ``tz``."""
    return from_ms(ms, tz).strftime(fmt)


__all__ = ["Page", "frame", "local_time", "meter_page", "rows", "scope_page"]
