"""Cost KPIs (docs/kpis.md, "6. Cost"): energy and water priced by each window's tariff.

Each enterprise buys each quantity on its own tariff or its park's
(:class:`~smartpark.core.tariffs.TariffBook`). A tariff becomes per-window arrays on the
KPI grid (:func:`~smartpark.core.tariffs.window_prices`: the time-of-use period, the
price and the demand and capacity rates of the version in force in that window), so a
period that straddles a version change prices every window by its own version. The
per-window products are formed once per run (:class:`CostWindows`); every period kind
then reduces them with one ``reduceat``:

* energy charge = sum over windows of kWh x price of the window's period;
* demand charge = the period's largest 15-minute demand (4 x the window's kWh) x the
  sum over its windows of (demand price / windows of that local month): for a calendar
  month exactly max kW x price (with two versions, their time-weighted mean); for an
  hour or a day the month's charge pro rata, on the period's own maximum;
* capacity charge = transformer kVA x the same pro-rata sum of the capacity price;
* peak-shift saving = X % x sum over sharp and peak windows of kWh x (price - valley
  price of the window's version): what moving X % of those kWh into valley hours saves
  on the energy charge (the demand charge is left as it is).

Enterprises are billed one by one, so a park's or zone's cost is the sum of its
enterprises' (never priced on a coincident demand). Where an enterprise has no tariff
for a quantity it consumed, its cost (and its park's and zone's) is NaN and not written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics.days.day_windows import DayWindows
from smartpark.analytics.layout import Layout, group_sum
from smartpark.analytics.periods import Grid
from smartpark.analytics.readings.series import FloatArray
from smartpark.core.registry import Registry
from smartpark.core.tariffs import ELECTRICITY, PERIODS, QUANTITIES, WindowPrices, window_prices

DEFAULT_PEAK_SHIFT: Final = 10.0  # % of sharp and peak kWh moved into valley hours
OTHERS: Final = tuple(q for q in QUANTITIES if q != ELECTRICITY)

# Channels of CostWindows.channels, in order.
_KWH: Final = tuple(f"kwh_{p}" for p in PERIODS)
_NAMES: Final = (
    *_KWH,
    "kwh_unpriced",  # priced enterprise, window without a tariff version in force
    "energy_charge",
    "shift_base",
    "demand_rate",
    "capacity_charge",
    *(f"cost_{q}" for q in OTHERS),
    *(f"untariffed_{q}" for q in QUANTITIES),  # consumption of enterprises without a tariff
)
_C: Final = {name: k for k, name in enumerate(_NAMES)}


@dataclass(frozen=True)
class CostWindows:
    """Enterprise rows x cost channels x columns (windows or day cells), and each
    column's largest billed demand (kW)."""

    channels: FloatArray  # (enterprises, channels, cells)
    demand_kw: FloatArray  # (enterprises, cells): the largest 4 x a window's imported kWh
    peak_shift: float  # % of sharp and peak kWh moved to valley hours

    @classmethod
    def of(
        cls,
        reg: Registry,
        lay: Layout,
        dw: DayWindows,
        consumption: Mapping[str, FloatArray],
        peak_shift: float = DEFAULT_PEAK_SHIFT,
    ) -> CostWindows:
        """``consumption``: per quantity of ``tariffs.QUANTITIES``, enterprises x cells.

        Prices are read per 15-minute window and summed into the cells (rates) or taken
        per time-of-use period (a tariff version, and so each period's price, holds for
        whole local days of the park, which cells never straddle); the kWh of each
        period come from ``dw.kwh``.
        """
        cells = dw.cells
        gi = cells.window_index()
        out = np.zeros((lay.n_ent, len(_NAMES), cells.n_cells))
        prices = _enterprise_prices(reg, cells.grid)
        imports = lay.meters_where(lay.of_quantity(ELECTRICITY) & lay.boundary & lay.is_counter)
        kwh = np.stack(
            [
                group_sum(dw.kwh[k, imports], lay.enterprise[imports], lay.n_ent)
                for k in range(len(PERIODS))
            ]
        )
        for q in QUANTITIES:
            cons = consumption[q]
            has = np.array([p is not None for p in prices[q]], np.bool_)
            out[~has, _C[f"untariffed_{q}"]] = cons[~has]
            if not has.any():
                continue
            rows = np.flatnonzero(has)
            wp = [p for p in prices[q] if p is not None]
            c = cons[rows]
            if q != ELECTRICITY:
                out[rows, _C[f"cost_{q}"]] = c * _first(np.stack([w.price for w in wp]), gi)
                continue
            period = np.stack([w.period for w in wp])
            price = np.stack([w.price for w in wp])
            unpriced = _cell_sum((period < 0).astype(np.float64), gi)
            valley = _first(np.stack([w.valley for w in wp]), gi)
            charge = np.zeros_like(c)
            shift = np.zeros_like(c)
            for k in range(len(PERIODS)):
                band = kwh[k, rows]
                out[rows, _C[_KWH[k]]] = band
                p = _period_price(period, price, k, gi)
                charge += band * p
                if k <= 1:
                    shift += band * (p - valley)
            out[rows, _C["kwh_unpriced"]] = unpriced
            out[rows, _C["energy_charge"]] = np.where(unpriced > 0, np.nan, charge)
            out[rows, _C["shift_base"]] = shift
            out[rows, _C["demand_rate"]] = _cell_sum(np.stack([w.demand_rate for w in wp]), gi)
            kva = np.array(
                [reg.tariffs.transformer_kva.get(reg.enterprise_ids[r], 0.0) for r in rows]
            )
            out[rows, _C["capacity_charge"]] = kva[:, None] * _cell_sum(
                np.stack([w.capacity_rate for w in wp]), gi
            )
        return cls(out, dw.bill_peak_kw, peak_shift)


def _enterprise_prices(reg: Registry, grid: Grid) -> dict[str, list[WindowPrices | None]]:
    """Per quantity, per enterprise (sorted ids): its tariff on the grid, or None."""
    cache: dict[tuple[str, str], WindowPrices] = {}
    out: dict[str, list[WindowPrices | None]] = {q: [] for q in QUANTITIES}
    for e in reg.enterprise_ids:
        park = reg.parks[reg.enterprises[e].park]
        for q in QUANTITIES:
            t = reg.tariffs.tariff_for(e, park.id, q)
            if t is None:
                out[q].append(None)
                continue
            key = (t.id, park.timezone)
            if key not in cache:
                cache[key] = window_prices(t, park.timezone, grid.start_ms, grid.n_windows)
            out[q].append(cache[key])
    return out


def _cell_sum(x: FloatArray, gi: npt.NDArray[np.intp]) -> FloatArray:
    return np.add.reduceat(x[:, : gi[-1]], gi[:-1], axis=1)


def _first(x: FloatArray, gi: npt.NDArray[np.intp]) -> FloatArray:
    """The value of each cell's first window (constant within a cell)."""
    return x[:, gi[:-1]]


def _period_price(
    period: npt.NDArray[np.int8], price: FloatArray, k: int, gi: npt.NDArray[np.intp]
) -> FloatArray:
    """The price of time-of-use period ``k`` in each cell (0 where it has no such window)."""
    of_k = period == k
    n = _cell_sum(of_k.astype(np.float64), gi)
    total = _cell_sum(np.where(of_k, price, 0.0), gi)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / n, 0.0)


def period_kpis(
    cw: CostWindows, lay: Layout, gi: npt.NDArray[np.intp], output: FloatArray
) -> dict[str, FloatArray]:
    """The cost KPIs of every scope row over the periods ``gi[k]..gi[k+1]``.

    ``output`` is ``output_value_cny`` of the same rows and periods.
    """
    sums = np.add.reduceat(cw.channels[:, :, : gi[-1]], gi[:-1], axis=2)
    s = {name: sums[:, k] for k, name in enumerate(_NAMES)}
    peak_kw = np.maximum.reduceat(cw.demand_kw[:, : gi[-1]], gi[:-1], axis=1)

    def priced(value: FloatArray, quantity: str) -> FloatArray:
        """NaN where an enterprise without a tariff consumed ``quantity``."""
        return np.where(s[f"untariffed_{quantity}"] != 0, np.nan, value)

    unknown = (s["kwh_unpriced"] > 0) | (s[f"untariffed_{ELECTRICITY}"] != 0)
    per_ent: dict[str, FloatArray] = {}
    for p, name in zip(PERIODS, _KWH, strict=True):
        per_ent[f"electricity_kwh_{p}"] = np.where(unknown, np.nan, s[name])
    elec = s["energy_charge"] + peak_kw * s["demand_rate"] + s["capacity_charge"]
    elec = priced(elec, ELECTRICITY)
    per_ent["electricity_cost_cny"] = elec
    others = {q: priced(s[f"cost_{q}"], q) for q in OTHERS}
    per_ent["gas_cost_cny"] = others["natural_gas"]
    per_ent["water_cost_cny"] = others["fresh_water"]
    per_ent["energy_cost_cny"] = elec + others["natural_gas"] + others["steam"] + others["heat"]
    per_ent["peak_shift_saving_cny"] = priced(cw.peak_shift / 100.0 * s["shift_base"], ELECTRICITY)

    out = {k: lay.lift(v) for k, v in per_ent.items()}
    high = out["electricity_kwh_sharp"] + out["electricity_kwh_peak"]
    total = high + out["electricity_kwh_flat"] + out["electricity_kwh_valley"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["peak_share"] = np.where(total > 0, high / total * 100.0, np.nan)
        spent = out["energy_cost_cny"] + out["water_cost_cny"]
        out["cost_per_output"] = np.where(output > 0, spent / output * 1e4, np.nan)
    return out


__all__ = ["DEFAULT_PEAK_SHIFT", "QUANTITIES", "CostWindows", "period_kpis"]
