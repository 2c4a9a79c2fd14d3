"""Unit-product energy panels: each product's graded value against its limit, and the
level each product reached (analytics/products/unit_energy.py, docs/kpis.md).

They read the product KPI rows (measurement ``kpi``, ``scope`` = ``product``, ``id`` =
the product) and are made only for the products of a dashboard's parks: a park's
dashboard has its own products' panels and no other park's; a registry without products
has none.

- per product, a time series of ``benchmark_value`` (the value its standard grades,
  kgce/t or kWh/t) per ``$period``, with ``limit_value`` (level 3 corrected for the
  plant) as a dashed red line: the plan/limit line;
- a table of the latest ``benchmark_level`` of each product, named and coloured: levels
  1 and 2 green, 3 orange, 4 (above the limit) red.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from smartpark.core.registry import Product, Registry
from smartpark.core.standards import ABOVE_LIMIT, LEVELS
from smartpark.grafana.kpis import describe, grafana_unit, kpi_query, kpi_timeseries, unit
from smartpark.grafana.panels import Json, Panel, Row, table

ROW: Final = "Unit-product energy against the limit standards (KPIs per $period)"
LEVEL_COLOURS: Final = {1: "green", 2: "green", 3: "orange", ABOVE_LIMIT: "red"}


def products_of(registry: Registry, parks: Iterable[str] | None = None) -> list[str]:
    """The products made in ``parks`` (every park when None), in id order."""
    wanted = None if parks is None else set(parks)
    return [
        p for p in registry.product_ids if wanted is None or registry.park_of_product(p) in wanted
    ]


def product_panels(registry: Registry, parks: Iterable[str] | None = None) -> list[Panel | Row]:
    """The row, one graded-value panel per product of ``parks`` and the level table;
    nothing where they make no product."""
    products = [registry.products[p] for p in products_of(registry, parks)]
    if not products:
        return []
    return [Row(ROW), *(_trend(p) for p in products), level_table(products)]


def level_panels(registry: Registry) -> list[Panel | Row]:
    """The row and the level table of every product (the zone overview); nothing
    without products."""
    products = [registry.products[p] for p in registry.product_ids]
    return [Row(ROW), level_table(products)] if products else []


def _trend(product: Product) -> Panel:
    limit = product.limit
    name = product.name
    levels = limit.corrected(product.inputs)
    note = (
        f"{name} ({product.enterprise}) is graded by {limit.standard} {limit.title_zh}, "
        f"{limit.category} ({limit.indicator_zh}, {limit.unit}): level 1 <= {levels[0]:g}, "
        f"level 2 <= {levels[1]:g}, level 3 (the limit, red dashed) <= {levels[2]:.4g}"
        + (f", corrected ({limit.correction})" if limit.correction else "")
        + ". Lower is better. A period without output has no graded value (a gap)."
    )
    return kpi_timeseries(
        f"{name}: graded value against the limit ({limit.standard} {limit.category}, {limit.unit})",
        [
            kpi_query("product", "benchmark_value", product.id, alias=name),
            kpi_query("product", "limit_value", product.id, alias="limit (level 3)"),
        ],
        width=12,
        note=note,
        overrides=[_limit_line("limit (level 3)")],
    )


def _limit_line(series: str) -> Json:
    """The limit series drawn as a dashed red line, without fill."""
    return {
        "matcher": {"id": "byName", "options": series},
        "properties": [
            {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}},
            {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
            {"id": "custom.fillOpacity", "value": 0},
        ],
    }


def level_table(products: list[Product]) -> Panel:
    """The latest level of each of ``products`` in a table: the product by name, the
    level in words on its colour."""
    ids = "(" + "|".join(p.id for p in products) + ")"
    levels = {
        str(k): {"text": f"level {k}", "color": LEVEL_COLOURS[k], "index": k - 1} for k in LEVELS
    }
    levels[str(ABOVE_LIMIT)] = {
        "text": "above the limit",
        "color": LEVEL_COLOURS[ABOVE_LIMIT],
        "index": ABOVE_LIMIT - 1,
    }
    names = {p.id: {"text": p.name, "index": k} for k, p in enumerate(products)}
    query = kpi_query("product", "benchmark_level", ids, select='last("value")', fmt="table")
    note = "Products without output in the period have no level."
    return table(
        f"Level reached per product (latest per $period; {unit('benchmark_level')} 1-3, "
        "4 = above the limit)",
        query,
        width=24,
        height=max(4, 3 + len(products)),
        unit=grafana_unit(unit("benchmark_level")),
        description=describe([query], note),
        overrides=[
            _mapped("last", "level", levels, {"id": "custom.cellOptions", "value": _COLOURED}),
            _mapped("id", "product", names),
        ],
    )


_COLOURED: Final = {"type": "color-background"}


def _mapped(field: str, shown: str, mapping: Json, *extra: Json) -> Json:
    """Field ``field`` shown as ``shown``, its values mapped (text, colour)."""
    return {
        "matcher": {"id": "byName", "options": field},
        "properties": [
            {"id": "displayName", "value": shown},
            {"id": "mappings", "value": [{"type": "value", "options": mapping}]},
            *extra,
        ],
    }


__all__ = ["ROW", "level_panels", "level_table", "product_panels", "products_of"]
