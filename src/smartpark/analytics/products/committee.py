"""For the management committee: per park and zone, the output made at each level of the
limit standards, the enterprises above the limit, and the output that is missing.

From the product KPIs of one month or year (:mod:`.unit_energy`, docs/kpis.md "Unit-product
energy against the limit standards"):

* each product's period is *graded* (level 1, 2, 3 or above the limit), *ungraded*
  (output known, no unit value: its energy is not known) or has *no output* (none
  metered or entered, or 0);
* :class:`Shares`: per park, per zone and per standard category (shares only within one
  category: the units of different products do not add up), the output at each level,
  and each level's share in % of the category's graded output;
* :class:`AboveLimit`: the products above the limit (level 3, corrected for the plant),
  with their enterprise and excess: the rectify-or-exit list that feeds land use;
* :class:`MissingOutput`: the products whose period used energy but has no output, and
  how to supply it (``smartpark import output FILE``, or check the output meter).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from smartpark.analytics.kpis.table import KpiTable
from smartpark.analytics.periods import from_ms
from smartpark.core.registry import Registry
from smartpark.core.standards import ABOVE_LIMIT

Standing = Literal["level_1", "level_2", "level_3", "above_limit", "ungraded", "no_output"]
STANDINGS: Final[tuple[Standing, ...]] = (
    "level_1",
    "level_2",
    "level_3",
    "above_limit",
    "ungraded",
    "no_output",
)
# The standings of a product with a level: benchmark_level 1, 2, 3, 4 (above the limit).
GRADED: Final[tuple[Standing, ...]] = STANDINGS[:ABOVE_LIMIT]
IMPORT_COMMAND: Final = "smartpark import output FILE"
NAN: Final = float("nan")


@dataclass(frozen=True)
class Graded:
    """One product's period: its output, its graded unit value and the level reached."""

    product: str
    enterprise: str
    park: str
    zone: str
    standard: str
    category: str
    output: float  # in the product's unit; NaN: none
    energy_tce: float  # of its boundary; NaN: not known
    benchmark_value: float  # the value its standard grades (limit.unit); NaN: none
    limit_value: float  # level 3 corrected for the plant
    gap: float  # to the next better level; NaN at level 1 or ungraded
    standing: Standing

    @property
    def level(self) -> int | None:
        """1, 2, 3 or 4 (above the limit); None when not graded."""
        return GRADED.index(self.standing) + 1 if self.standing in GRADED else None


@dataclass(frozen=True)
class Shares:
    """The output of one standard category in one park or zone, per standing.

    ``output`` has the five standings with output (in ``unit``; not ``no_output``: its
    output is not known), ``products`` the number of products of every standing and
    ``share`` the % of the category's graded output (levels 1-3 and above the limit
    only; NaN when nothing was graded)."""

    scope: Literal["park", "zone"]
    id: str
    standard: str
    category: str
    unit: str
    output: Mapping[Standing, float]
    products: Mapping[Standing, int]
    share: Mapping[Standing, float]

    @property
    def graded_output(self) -> float:
        return sum(self.output[s] for s in GRADED)


@dataclass(frozen=True)
class AboveLimit:
    """A product above its limit: the enterprise must rectify or exit."""

    enterprise: str
    product: str
    park: str
    benchmark_value: float
    limit_value: float
    excess: float  # benchmark_value - limit_value
    unit: str  # of the graded value: kgce/t, kWh/t


@dataclass(frozen=True)
class MissingOutput:
    """A product whose period used energy and has no output: no unit value, no level."""

    product: str
    enterprise: str
    energy_tce: float
    output_meter: str | None  # metered output: this meter; None: entered from a sheet

    @property
    def hint(self) -> str:
        """How to supply the output."""
        if self.output_meter is None:
            return f"import it: {IMPORT_COMMAND}"
        return f"check output meter {self.output_meter} (its readings of the period)"


@dataclass(frozen=True)
class Committee:
    """The products of one period graded, summed per park and zone, and listed."""

    grades: tuple[Graded, ...]
    shares: tuple[Shares, ...]
    above_limit: tuple[AboveLimit, ...]  # furthest above first (excess / limit)
    missing_output: tuple[MissingOutput, ...]


def values_of(
    table: KpiTable, period: Literal["month", "year"], first_day: dt.date
) -> dict[str, dict[str, float]]:
    """Each product's KPIs of the ``period`` that begins on ``first_day`` (a local date
    in its park's time zone) in ``table``'s product blocks."""
    out: dict[str, dict[str, float]] = {}
    for b in table.blocks:
        if b.scope != "product" or b.period != period:
            continue
        for k, start in enumerate(b.starts.tolist()):
            if from_ms(start, b.timezone).date() != first_day:
                continue
            for i, product in enumerate(b.ids):
                out[product] = {kpi: float(v[i, k]) for kpi, v in b.values.items()}
    return out


def committee(
    registry: Registry,
    values: Mapping[str, Mapping[str, float]],
    products: Iterable[str] | None = None,
) -> Committee:
    """The committee's view of ``products`` (default: all the registry's) from their
    KPIs ``values`` of one period (product -> KPI -> value; a product without values
    has no output)."""
    ids = registry.product_ids if products is None else tuple(products)
    grades = tuple(grade_of(registry, p, values.get(p, {})) for p in ids)
    above = sorted(
        (
            AboveLimit(
                g.enterprise,
                g.product,
                g.park,
                g.benchmark_value,
                g.limit_value,
                g.benchmark_value - g.limit_value,
                registry.products[g.product].limit.unit,
            )
            for g in grades
            if g.standing == "above_limit"
        ),
        key=lambda a: (-a.excess / a.limit_value, a.product),
    )
    missing = tuple(
        MissingOutput(
            g.product, g.enterprise, g.energy_tce, registry.products[g.product].output_meter
        )
        for g in grades
        if g.energy_tce > 0 and not g.output > 0
    )
    return Committee(grades, shares_of(registry, grades), tuple(above), missing)


def of_table(
    registry: Registry,
    table: KpiTable,
    period: Literal["month", "year"],
    first_day: dt.date,
    products: Iterable[str] | None = None,
) -> Committee:
    """:func:`committee` of the period beginning on ``first_day`` in ``table``."""
    return committee(registry, values_of(table, period, first_day), products)


def grade_of(registry: Registry, product: str, values: Mapping[str, float]) -> Graded:
    """One product's standing from its KPIs (missing KPIs are NaN)."""
    p = registry.products[product]
    park = registry.park_of_product(product)

    def get(kpi: str) -> float:
        return values.get(kpi, NAN)

    output, level = get("product_output"), get("benchmark_level")
    if not output > 0:
        standing: Standing = "no_output"
    elif math.isfinite(level):
        standing = GRADED[int(level) - 1]
    else:
        standing = "ungraded"
    limit = get("limit_value")
    return Graded(
        product=product,
        enterprise=p.enterprise,
        park=park,
        zone=registry.parks[park].zone,
        standard=p.standard,
        category=p.category,
        output=output,
        energy_tce=get("product_energy_tce"),
        benchmark_value=get("benchmark_value"),
        limit_value=limit if math.isfinite(limit) else p.limit.corrected(p.inputs)[2],
        gap=get("gap_to_next_level"),
        standing=standing,
    )


def shares_of(registry: Registry, grades: Iterable[Graded]) -> tuple[Shares, ...]:
    """Per standard category, the zone's and then each park's output per standing."""
    groups: dict[tuple[str, str, int, str], list[Graded]] = {}
    for g in grades:
        for rank, ident in ((0, g.zone), (1, g.park)):
            groups.setdefault((g.standard, g.category, rank, ident), []).append(g)
    out = []
    for (standard, category, rank, ident), members in sorted(groups.items()):
        output = {
            s: math.fsum(g.output for g in members if g.standing == s) for s in STANDINGS[:-1]
        }
        graded = sum(output[s] for s in GRADED)
        out.append(
            Shares(
                scope="zone" if rank == 0 else "park",
                id=ident,
                standard=standard,
                category=category,
                unit=registry.products[members[0].product].unit,
                output=output,
                products={s: sum(g.standing == s for g in members) for s in STANDINGS},
                share={s: 100.0 * output[s] / graded if graded > 0 else NAN for s in GRADED},
            )
        )
    return tuple(out)
