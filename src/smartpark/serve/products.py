"""The registry's products as the API and the web view show them: who may see which,
what each is graded against, and its latest month from the stored KPI rows.

A product is the caller's when its enterprise is (:class:`~smartpark.core.scopes.Visible`):
a zone or park scope sees the products of its enterprises, an enterprise scope its own.
An unknown product and one outside the scope are the same ``False``. Its KPI rows are
those of scope ``product`` (analytics/products/unit_energy.py); the graded value, the
limit and the gap are in its standard's unit (kgce/t or kWh/t), the output in its unit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

from smartpark.analytics.kpis.catalogue import ALL_KPIS
from smartpark.analytics.periods import from_ms, local_midnight_ms
from smartpark.core.registry import Product, Registry
from smartpark.core.scopes import Visible
from smartpark.store.base import Store

# The product KPIs in the unit of the value its standard grades (kgce/t or kWh/t).
GRADED: Final = ("benchmark_value", "limit_value", "gap_to_next_level")
# What the web view shows of a product's latest month.
SHOWN: Final = ("product_output", "product_energy_tce", *GRADED, "benchmark_level")
LOOKBACK_MS: Final = 400 * 86_400_000  # how far back a latest month is looked for


def allows(reg: Registry, vis: Visible, ident: str) -> bool:
    """Whether product ``ident`` is the caller's (False for an unknown id)."""
    product = reg.products.get(ident)
    return product is not None and vis.allows("enterprise", product.enterprise)


def visible(reg: Registry, vis: Visible, enterprises: Collection[str] | None = None) -> list[str]:
    """The ids of the caller's products (of ``enterprises`` only, when given), sorted."""
    return [
        p
        for p in reg.product_ids
        if allows(reg, vis, p)
        and (enterprises is None or reg.products[p].enterprise in enterprises)
    ]


def unit_of(product: Product, kpi: str) -> str:
    """The unit of product KPI ``kpi`` for ``product``: its standard's for the graded
    value, limit and gap, its output unit for the output, else the catalogue's."""
    if kpi in GRADED:
        return product.limit.unit
    if kpi == "product_output":
        return product.unit
    spec = ALL_KPIS.get(kpi)
    return spec.unit if spec else ""


def timezone(reg: Registry, ident: str) -> str:
    """The time zone of a product's periods: its park's."""
    return reg.parks[reg.park_of_product(ident)].timezone


def records(reg: Registry, vis: Visible) -> list[dict[str, Any]]:
    """``GET /api/v1/products``: the caller's products (docs/api.md)."""
    return [record(reg, p) for p in visible(reg, vis)]


def record(reg: Registry, ident: str) -> dict[str, Any]:
    """One product: who makes it, what it is graded against, the levels corrected for
    the plant (its correction inputs: altitude, clinker share) and where they come from."""
    p = reg.products[ident]
    limit = p.limit
    levels = limit.corrected(p.inputs)
    return {
        "id": p.id,
        "name": p.name,
        "name_zh": p.name_zh,
        "enterprise": p.enterprise,
        "park": reg.park_of_product(ident),
        "unit": p.unit,
        "standard": limit.standard,
        "title_zh": limit.title_zh,
        "category": limit.category,
        "category_zh": limit.category_zh,
        "indicator": limit.indicator,
        "indicator_zh": limit.indicator_zh,
        "value_unit": limit.unit,
        "level_1": levels[0],
        "level_2": levels[1],
        "level_3": levels[2],
        "correction": limit.correction,
        "inputs": dict(p.inputs),
        "output": "metered" if p.output_meter else "entered",
        "output_meter": p.output_meter,
        "source": limit.source,
        "checked": limit.checked,
    }


@dataclass(frozen=True, slots=True)
class Month:
    """A product's latest month that has ended: its start and its stored KPI values."""

    product: str
    start_ms: int
    values: dict[str, float]  # kpi -> value; a KPI without a stored value is missing


def month_end_ms(start_ms: int, tz: str) -> int:
    """The end of the local month that starts at ``start_ms``."""
    first = from_ms(start_ms, tz).date().replace(day=1)
    return local_midnight_ms((first + dt.timedelta(days=32)).replace(day=1), tz)


def latest_months(store: Store, reg: Registry, ids: list[str], until_ms: int) -> dict[str, Month]:
    """Per product of ``ids``, its latest month ended by ``until_ms`` that has stored KPI
    rows (a month of the year or so before), with the values of :data:`SHOWN` stored
    for it (a KPI without a value, such as the graded value of a month without output,
    has no row: it is missing here too)."""
    if not ids:
        return {}
    rows = store.read_kpis(
        until_ms - LOOKBACK_MS, until_ms, "product", "month", ids=ids, kpis=SHOWN
    )
    starts: dict[str, int] = {}
    for r in rows:
        if (
            r.start_ms > starts.get(r.id, -1)
            and month_end_ms(r.start_ms, timezone(reg, r.id)) <= until_ms
        ):
            starts[r.id] = r.start_ms
    out = {p: Month(p, s, {}) for p, s in starts.items()}
    for r in rows:
        if starts.get(r.id) == r.start_ms:
            out[r.id].values[r.kpi] = r.value
    return out


__all__ = [
    "GRADED",
    "SHOWN",
    "Month",
    "allows",
    "latest_months",
    "month_end_ms",
    "record",
    "records",
    "timezone",
    "unit_of",
    "visible",
]
