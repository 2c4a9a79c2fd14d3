"""The monthly report's section 单位产品能耗对标 ("Unit-product energy against the limit
standards", docs/report.md): one row per product of the scope, graded against its
national limit standard; then the committee's output per level per park (and zone), the
products above the limit, and the output that is missing with how to supply it
(:mod:`analytics.products.committee`). A scope without products has no section.

:func:`gather` takes the products' month KPIs from the report's rows, :func:`section`
lays them out for the HTML (and so the PDF); the workbook's sheets
(:mod:`analytics.report.xlsx`) use the same committee and the same words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from smartpark.analytics.kpis.catalogue import ALL_KPIS
from smartpark.analytics.periods import local_midnight_ms
from smartpark.analytics.products.committee import (
    GRADED,
    IMPORT_COMMAND,
    Committee,
    Graded,
    MissingOutput,
    Shares,
    committee,
)
from smartpark.analytics.report.html import Section, Table, number
from smartpark.analytics.report.labels import LABELS, name
from smartpark.core import standards
from smartpark.core.registry import Lang, Registry
from smartpark.store.base import Scope

# The report's KPI values by (scope, id, period, start ms).
Found = Mapping[tuple[str, str, str, int], Mapping[str, float]]


@dataclass(frozen=True)
class Products:
    """The scope's products in the month: graded and summed (``committee``), and those
    with no KPI of the month at all (``unread``: month rows stored without them)."""

    committee: Committee
    unread: tuple[str, ...]


def gather(
    registry: Registry, found: Found, products: Sequence[str], first: dt.date, scope: Scope
) -> Products:
    """The month beginning on ``first`` of ``products`` (each month in its park's time
    zone); a park's or region's report sums its parks only (not a part of a zone)."""
    values: dict[str, Mapping[str, float]] = {}
    for p in products:
        tz = registry.parks[registry.park_of_product(p)].timezone
        got = found.get(("product", p, "month", local_midnight_ms(first, tz)))
        if got is not None:
            values[p] = got
    done = committee(registry, values, products)
    if scope != "zone":
        done = replace(done, shares=tuple(s for s in done.shares if s.scope == "park"))
    return Products(done, tuple(p for p in products if p not in values))


def standard_text(lang: Lang, standard: str, category: str) -> str:
    """``GB 16780-2021 clinker (熟料)``; in Chinese ``GB 16780-2021 熟料``."""
    limit = standards.table().get(standard, category)
    if lang == "zh":
        return f"{limit.standard} {limit.category_zh}"
    return f"{limit.standard} {limit.category} ({limit.category_zh})"


def indicator_text(registry: Registry, lang: Lang, product: str) -> str:
    """What the standard grades: the KPI's label, in Chinese the standard's own term."""
    limit = registry.products[product].limit
    if lang == "zh":
        return limit.indicator_zh
    kpi = "unit_energy_kgce" if limit.indicator == "unit_energy" else "unit_electricity_kwh"
    return ALL_KPIS[kpi].label(lang)


def hint(lang: Lang, missing: MissingOutput) -> str:
    """How to supply a missing output: import it, or check its output meter."""
    w = LABELS[lang]
    if missing.output_meter is None:
        return w["hint_import"].format(command=IMPORT_COMMAND)
    return w["hint_meter"].format(meter=missing.output_meter)


def notes(registry: Registry, lang: Lang, products: Products, first: dt.date) -> list[str]:
    """The missing-data lines: products without KPIs, output missing and how to supply it."""
    w = LABELS[lang]
    out = []
    if products.unread:
        after = (first + dt.timedelta(days=31)).replace(day=1)
        out.append(
            w["products_unread"].format(
                products=", ".join(products.unread), first=first.isoformat(), next=after.isoformat()
            )
        )
    for m in products.committee.missing_output:
        out.append(
            w["output_missing"].format(
                product=name(registry.products[m.product], lang),
                enterprise=name(registry.enterprises[m.enterprise], lang),
                tce=number(m.energy_tce),
                hint=hint(lang, m),
            )
        )
    return out


def section(registry: Registry, lang: Lang, products: Products) -> Section:
    """The section: the products, output per level, above the limit, output missing."""
    w = LABELS[lang]
    c = products.committee
    tables = [_graded(registry, lang, c.grades), _levels(registry, lang, c.shares)]
    if c.above_limit:
        tables.append(_above(registry, lang, c))
    if c.missing_output:
        tables.append(_missing(registry, lang, c))
    text = w["products_text"] if c.above_limit else f"{w['products_text']}\n{w['none_above']}"
    return Section(w["products"], text=text, tables=tables)


def _with_unit(value: float, unit: str, blank: str) -> str:
    return f"{number(value)} {unit}" if np.isfinite(value) else blank


def _graded(registry: Registry, lang: Lang, grades: Sequence[Graded]) -> Table:
    w = LABELS[lang]
    rows = []
    for g in grades:
        product = registry.products[g.product]
        unit = product.limit.unit
        rows.append(
            [
                name(product, lang),
                name(registry.enterprises[g.enterprise], lang),
                standard_text(lang, g.standard, g.category),
                _with_unit(g.output, product.unit, w["no_data"]),
                indicator_text(registry, lang, g.product),
                _with_unit(g.benchmark_value, unit, w["no_data"]),
                _with_unit(g.limit_value, unit, w["no_data"]),
                w[g.standing],
                _with_unit(g.gap, unit, "–" if g.level == 1 else ""),
            ]
        )
    heads = [
        w["product"],
        w["enterprise"],
        w["standard"],
        ALL_KPIS["product_output"].label(lang),
        w["indicator"],
        *(ALL_KPIS[k].label(lang) for k in ("benchmark_value", "limit_value")),
        *(ALL_KPIS[k].label(lang) for k in ("benchmark_level", "gap_to_next_level")),
    ]
    return Table(heads, rows)


def scope_name(registry: Registry, lang: Lang, shares: Shares) -> str:
    """The park's or zone's name of a row of output per level."""
    if shares.scope == "zone":
        return name(registry.zones[shares.id], lang)
    return name(registry.parks[shares.id], lang)


def _amount_share(amount: float, share: float) -> str:
    """``72,000.0 (100.0 %)``; a level without output is ``0``."""
    return f"{number(amount)} ({share:.1f} %)" if amount > 0 else number(amount)


def _levels(registry: Registry, lang: Lang, shares: Sequence[Shares]) -> Table:
    w = LABELS[lang]
    rows = [
        [
            scope_name(registry, lang, s),
            standard_text(lang, s.standard, s.category),
            s.unit,
            *(_amount_share(s.output[k], s.share[k]) for k in GRADED),
            number(s.output["ungraded"]),
            str(s.products["no_output"]),
        ]
        for s in shares
    ]
    heads = [
        w["park_or_zone"],
        w["standard"],
        w["output_unit"],
        *(w[k] for k in GRADED),
        w["ungraded"],
        w["without_output"],
    ]
    return Table(heads, rows, caption=w["levels_caption"])


def _above(registry: Registry, lang: Lang, c: Committee) -> Table:
    w = LABELS[lang]
    rows = [
        [
            name(registry.enterprises[a.enterprise], lang),
            name(registry.products[a.product], lang),
            name(registry.parks[a.park], lang),
            f"{number(a.benchmark_value)} {a.unit}",
            f"{number(a.limit_value)} {a.unit}",
            f"{number(a.excess)} {a.unit}",
        ]
        for a in c.above_limit
    ]
    heads = [
        w["enterprise"],
        w["product"],
        w["park"],
        *(ALL_KPIS[k].label(lang) for k in ("benchmark_value", "limit_value")),
        w["excess"],
    ]
    return Table(heads, rows, caption=w["above_caption"])


def _missing(registry: Registry, lang: Lang, c: Committee) -> Table:
    w = LABELS[lang]
    rows = [
        [
            name(registry.products[m.product], lang),
            name(registry.enterprises[m.enterprise], lang),
            number(m.energy_tce),
            hint(lang, m),
        ]
        for m in c.missing_output
    ]
    energy = f"{ALL_KPIS['product_energy_tce'].label(lang)} (tce)"
    return Table(
        [w["product"], w["enterprise"], energy, w["how"]], rows, caption=w["missing_caption"]
    )
