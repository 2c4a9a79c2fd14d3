"""The demo's product output entered from a sheet, as a plant's statistics report it.

A product whose output no meter counts (no ``output_meter``: the example's aluminium
smelter ``alu-a-liquid``) gets a row for each whole local day of the run in
``DIR/output.csv``, in the columns of ``smartpark import output`` (product, period,
output, unit), imported with that command's own function (docs/import.md) before the
KPIs are computed. The metered product (the cement line's clinker scale) needs none.

A day's output is what its energy boundary used that day in the simulation (the
meters' simulated registers, before the demo's staged faults) divided by a unit
consumption drawn between level 2 and level 3 of its standard: the smelter reports
output that makes it an existing plant inside the limit, level 3 (about 13,200 kWh/t
against GB 21346-2022's 13,000 and 13,350).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from smartpark.analytics.kpis.energy import electricity_kwh, energy_tce
from smartpark.analytics.periods import from_ms, local_midnight_ms
from smartpark.analytics.products.output_import import OutputImportReport, import_output
from smartpark.core.registry import ENERGY_COUNTERS, Product, Registry
from smartpark.gateway.drivers.simulator import SimMeter, sim_meters, values
from smartpark.store.base import Store

SHEET: Final = "output.csv"
COLUMNS: Final = ("product", "period", "output", "unit")


@dataclass(frozen=True)
class EnteredOutput:
    """What the demo imported from its output sheet."""

    path: Path
    products: tuple[str, ...]
    report: OutputImportReport


def whole_days(start_ms: int, end_ms: int, timezone: str) -> list[dt.date]:
    """The local days of ``timezone`` that lie whole inside ``[start_ms, end_ms)``."""
    day = from_ms(start_ms, timezone).date()
    if local_midnight_ms(day, timezone) < start_ms:
        day += dt.timedelta(days=1)
    days = []
    while local_midnight_ms(day + dt.timedelta(days=1), timezone) <= end_ms:
        days.append(day)
        day += dt.timedelta(days=1)
    return days


def boundary_use(
    registry: Registry, product: Product, sims: dict[str, SimMeter], start_ms: int, end_ms: int
) -> float:
    """What ``product``'s boundary used in ``[start_ms, end_ms)`` in the simulation, in
    the unit its standard grades: kWh (unit electricity) or kgce (unit energy)."""
    used = dict.fromkeys(ENERGY_COUNTERS, 0.0)
    for ident in product.meters:
        meter = registry.meters[ident]
        first, last = values(sims[ident], np.array([start_ms, end_ms], np.int64))
        raw = last - first
        if meter.register_max is not None:
            raw %= meter.register_max  # a register that rolled over
        used[meter.quantity] += raw * meter.multiplier
    ch = {q: np.array([v]) for q, v in used.items()}
    if product.limit.indicator == "unit_electricity":
        return float(electricity_kwh(ch)[0])
    park = registry.parks[registry.park_of_product(product.id)]
    return 1000.0 * float(energy_tce(ch, lambda name: np.array([park.factor(name)]))[0])


def import_sheet(
    out: Path, registry: Registry, store: Store, span: tuple[int, int], seed: int
) -> EnteredOutput | None:
    """Write ``out``/output.csv for the products whose output is entered, one row per
    whole local day of ``span`` (epoch ms), and import it into ``store``; None when no
    product's output is entered or the run holds no whole day."""
    entered = [
        registry.products[p] for p in registry.product_ids if not registry.products[p].output_meter
    ]
    meters = sorted({m for p in entered for m in p.meters})
    sims = {s.id: s for s in sim_meters(registry, meters, seed=seed, exceed_probability=0.0)}
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str, float, str]] = []
    for product in entered:
        tz = registry.parks[registry.park_of_product(product.id)].timezone
        level2, level3 = product.limit.corrected(product.inputs)[1:]
        for day in whole_days(span[0], span[1], tz):
            a = local_midnight_ms(day, tz)
            b = local_midnight_ms(day + dt.timedelta(days=1), tz)
            per_unit = level2 + (level3 - level2) * float(rng.uniform(0.2, 0.8))
            output = round(boundary_use(registry, product, sims, a, b) / per_unit, 2)
            rows.append((product.id, day.isoformat(), output, product.unit))
    if not rows:
        return None
    path = out / SHEET
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    report = import_output(path, registry, store.outputs)
    return EnteredOutput(path, tuple(sorted({r[0] for r in rows})), report)


__all__ = ["SHEET", "EnteredOutput", "boundary_use", "import_sheet", "whole_days"]
