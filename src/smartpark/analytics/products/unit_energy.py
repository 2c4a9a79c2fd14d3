"""Unit-product energy per product and period, graded against its standard.

For each registry product (``[product.ID]``) and full period (day, month, year in its
park's time zone), from the same day windows as every KPI (analytics/days):

* ``product_energy_tce``: the energy of its boundary meters, GB/T 2589 with its park's
  coefficients of each cell (the formula of ``energy_tce``, analytics/kpis/energy.py);
* ``product_electricity_kwh``: the electricity its boundary consumes (net import plus
  on-site generation);
* ``product_output``: its output counter's consumption (``output_meter``), else the
  output entered with ``smartpark import output`` covering the period whole; missing
  (NaN) otherwise, and wherever it is 0;
* ``unit_energy_kgce`` = 1000 x energy / output, ``unit_electricity_kwh`` = electricity /
  output, each missing where its energy is 0 (nothing measured: not graded level 1); the
  one its standard grades is ``benchmark_value``;
* ``limit_value``: the standard's level 3 corrected for the product (altitude, clinker
  ratio: core/standards.py); ``benchmark_level`` 1, 2, 3 or 4 (above the limit);
  ``gap_to_next_level``: how much ``benchmark_value`` must fall to reach the next level;
* ``completeness``: of its meters' samples, as for every scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from smartpark.analytics import periods
from smartpark.analytics.days.day_windows import DayWindows
from smartpark.analytics.kpis.energy import electricity_kwh, energy_tce
from smartpark.analytics.kpis.factorsets import WindowSets
from smartpark.analytics.kpis.table import KpiBlock
from smartpark.analytics.layout import Layout, group_sum
from smartpark.analytics.periods import PeriodName
from smartpark.analytics.products.outputs import entered
from smartpark.analytics.readings.series import FloatArray, IntArray
from smartpark.core import quantities
from smartpark.core.registry import ENERGY_COUNTERS, Registry
from smartpark.core.standards import ABOVE_LIMIT
from smartpark.store.outputs import OutputRow

_SLOT = {q: k for k, q in enumerate(ENERGY_COUNTERS)}


@dataclass(frozen=True)
class _Products:
    """Products x cells: energy channels, output, and the meters' sample counts."""

    ids: tuple[str, ...]
    tce: FloatArray  # (products, cells)
    kwh: FloatArray
    output: FloatArray  # NaN for a product whose output is entered
    meters: list[IntArray]  # per product: its meters' codes (boundary and output)


def _products(reg: Registry, lay: Layout, dw: DayWindows, sets: WindowSets) -> _Products:
    ids = reg.product_ids
    code = reg.meter_code
    n_c = dw.cells.n_cells
    rows = [(k, code[m]) for k, p in enumerate(ids) for m in reg.products[p].meters]
    prod = np.array([k for k, _ in rows], np.intp)
    meters = np.array([m for _, m in rows], np.intp)
    slot = np.array([_SLOT[lay.quantity[m]] for m in meters.tolist()], np.intp)
    per = group_sum(dw.consumption[meters], prod * len(_SLOT) + slot, len(ids) * len(_SLOT))
    per = per.reshape(len(ids), len(_SLOT), n_c)
    ch = {q: per[:, k] for q, k in _SLOT.items()}
    ent_row = np.array([reg.enterprise_ids.index(reg.products[p].enterprise) for p in ids], np.intp)
    by_ent = slice(0, lay.n_ent)

    def f(name: str) -> FloatArray:
        return sets.factor(name, by_ent)[ent_row]

    output = np.full((len(ids), n_c), np.nan)
    own: list[IntArray] = []
    for k, p in enumerate(ids):
        product = reg.products[p]
        mine = [code[m] for m in product.meters]
        if product.output_meter is not None:
            out_code = code[product.output_meter]
            scale = 1.0 / quantities.BY_NAME["product_output"].factor(product.unit)
            output[k] = dw.consumption[out_code] * scale
            mine.append(out_code)
        own.append(np.array(mine, np.intp))
    return _Products(ids, energy_tce(ch, f), electricity_kwh(ch), output, own)


def _completeness(
    lay: Layout, dw: DayWindows, meters: IntArray, gi: IntArray, pb: IntArray
) -> FloatArray:
    received = np.add.reduceat(dw.samples[meters, : gi[-1]], gi[:-1], axis=1).astype(np.float64)
    expected = np.diff(pb).astype(np.float64)[None, :] / lay.interval_ms[meters, None]
    got = np.minimum(received, expected).sum(axis=0)
    want = np.broadcast_to(expected, received.shape).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(want > 0, 100.0 * got / want, np.nan)
    return out


def grade(values: FloatArray, levels: tuple[float, float, float]) -> tuple[FloatArray, FloatArray]:
    """(level, gap) of each value: level 1, 2, 3 or 4 (above level 3), NaN for NaN; the
    gap to the next better level's bound, NaN at level 1."""
    bounds = np.array(levels, np.float64)
    finite = np.isfinite(values)
    safe = np.where(finite, values, 0.0)
    level = 1 + (safe[..., None] > bounds).sum(axis=-1)
    gap = np.where(level > 1, safe - bounds[np.clip(level - 2, 0, 2)], np.nan)
    return (
        np.where(finite, level.astype(np.float64), np.nan),
        np.where(finite, gap, np.nan),
    )


def product_blocks(
    reg: Registry,
    lay: Layout,
    dw: DayWindows,
    sets: WindowSets,
    outputs: Sequence[OutputRow],
    start_ms: int,
    end_ms: int,
    periods_: Iterable[PeriodName],
    ids: Iterable[str] | None = None,
    *,
    open_end: bool = False,
) -> list[KpiBlock]:
    """One block per time zone and period kind of the products (``ids``: only these)."""
    if not reg.products:
        return []
    wanted = set(reg.product_ids if ids is None else ids)
    pr = _products(reg, lay, dw, sets)
    cells = dw.cells
    tz_of = {
        p: reg.parks[reg.enterprises[reg.products[p].enterprise].park].timezone for p in pr.ids
    }
    versions_of = np.array(
        [reg.enterprise_ids.index(reg.products[p].enterprise) for p in pr.ids], np.intp
    )
    blocks: list[KpiBlock] = []
    for tz in sorted(set(tz_of.values())):
        rows = [k for k, p in enumerate(pr.ids) if tz_of[p] == tz and p in wanted]
        if not rows:
            continue
        for period in periods_:
            pb = periods.kpi_bounds(tz, period, start_ms, end_ms, open_end=open_end)
            if pb.size < 2:
                continue
            gi = cells.index(pb)
            values = _period_values(reg, lay, dw, pr, rows, gi, pb, outputs)
            versions = sets.versions(gi)[versions_of[rows]]
            blocks.append(
                KpiBlock(
                    scope="product",
                    period=period,
                    timezone=tz,
                    ids=tuple(pr.ids[k] for k in rows),
                    starts=pb[:-1].copy(),
                    ends=pb[1:].copy(),
                    values=values,
                    factors_versions=tuple(str(v) for v in versions[:, -1]),
                    period_versions=versions,
                )
            )
    return blocks


def _period_values(
    reg: Registry,
    lay: Layout,
    dw: DayWindows,
    pr: _Products,
    rows: list[int],
    gi: IntArray,
    pb: IntArray,
    outputs: Sequence[OutputRow],
) -> dict[str, FloatArray]:
    def summed(x: FloatArray) -> FloatArray:
        return np.add.reduceat(x[rows, : gi[-1]], gi[:-1], axis=1)

    tce, kwh = summed(pr.tce), summed(pr.kwh)
    output = summed(pr.output)  # NaN for entered output: filled below
    for r, k in enumerate(rows):
        if reg.products[pr.ids[k]].output_meter is None:
            output[r] = entered(outputs, pr.ids[k], pb)
    usable = np.where(output > 0, output, np.nan)
    # No energy measured is no energy known (a boundary without readings), never level 1.
    unit_energy = 1000.0 * np.where(tce > 0, tce, np.nan) / usable
    unit_kwh = np.where(kwh > 0, kwh, np.nan) / usable
    graded = np.empty_like(tce)
    limit = np.empty_like(tce)
    level = np.empty_like(tce)
    gap = np.empty_like(tce)
    completeness = np.empty_like(tce)
    for r, k in enumerate(rows):
        product = reg.products[pr.ids[k]]
        standard = product.limit
        levels = standard.corrected(product.inputs)
        graded[r] = unit_energy[r] if standard.indicator == "unit_energy" else unit_kwh[r]
        limit[r] = levels[2]
        level[r], gap[r] = grade(graded[r], levels)
        completeness[r] = _completeness(lay, dw, pr.meters[k], gi, pb)
    return {
        "product_output": output,
        "product_energy_tce": tce,
        "product_electricity_kwh": kwh,
        "unit_energy_kgce": unit_energy,
        "unit_electricity_kwh": unit_kwh,
        "benchmark_value": graded,
        "limit_value": limit,
        "benchmark_level": level,
        "gap_to_next_level": gap,
        "completeness": completeness,
    }


__all__ = ["ABOVE_LIMIT", "grade", "product_blocks"]
