"""Every KPI of docs/kpis.md for every enterprise, park and zone, per hour/day/month/year.

The pipeline, all on numpy arrays:

1. Readings (sorted by (meter, ts)) split into counters and gauges. Counters are cleaned
   (:mod:`analytics.readings.counters`) and evaluated at the points of a 15-minute grid;
   gauges are held (:mod:`analytics.readings.gauges`) and integrated on the same grid.
2. The columns the KPIs are computed on (:mod:`analytics.days.day_windows`) are those
   15-minute windows (hours need them) or day cells, the windows summed per local day
   (read from the day level where it is current); what sums cannot carry (exceedance
   hours, kWh per time-of-use period, coincident and billed demand peaks) is formed
   per window first.
3. Per-meter column values are summed into *channels* per enterprise (boundary meters
   only; sub meters never reach a total). Channels that need the park's coefficients
   (tce, scope 1 CO2, heat CO2, clean energy) are formed per enterprise, where the park
   is known, so parks and zones with different factor sets still add up.
4. Enterprise channels are summed into parks and parks into zones: one array of
   scope rows (enterprises, parks, zones) x columns. Regions are weighted sums of the
   parks' period values (:mod:`analytics.kpis.attribution`, enclave shares per family).
5. Per time zone and period kind, the columns are reduced to full calendar periods
   (:mod:`analytics.periods`) and the formulas applied to the period sums.

Entry points: :func:`compute_kpis` (readings), :func:`kpis_of_windows` (15-minute
windows), :func:`kpis_of_days` (day windows).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics import periods
from smartpark.analytics.days import day_windows
from smartpark.analytics.days.day_windows import DayWindows
from smartpark.analytics.kpis import cost
from smartpark.analytics.kpis.attribution import Attribution
from smartpark.analytics.kpis.catalogue import KPI_NAMES
from smartpark.analytics.kpis.energy import energy_tce
from smartpark.analytics.kpis.factorsets import WindowSets
from smartpark.analytics.kpis.market import certificate_kwh
from smartpark.analytics.kpis.table import KpiBlock, KpiTable
from smartpark.analytics.kpis.valueadded import value_added as value_added_of
from smartpark.analytics.layout import Layout, group_sum
from smartpark.analytics.periods import Grid, PeriodName
from smartpark.analytics.products.unit_energy import product_blocks
from smartpark.analytics.readings.series import FloatArray, IntArray, sort_readings
from smartpark.analytics.windows import meter_windows
from smartpark.analytics.windows.meter_windows import MeterWindows
from smartpark.analytics.windows.stacks import finish_ms
from smartpark.core import quantities
from smartpark.core.errors import AnalyticsError
from smartpark.core.logs import get_logger
from smartpark.core.registry import (
    FEEDSTOCK_QUANTITIES,
    POLLUTANTS,
    RENEWABLE_SUPPLIES,
    Registry,
)
from smartpark.store.base import ReadingColumns, Scope
from smartpark.store.outputs import OutputRow

SCOPES: Final[tuple[Scope, ...]] = ("enterprise", "park", "zone", "region")
# With the products of the registry (analytics/products): what a KPI table may hold.
ALL_SCOPES: Final[tuple[Scope, ...]] = (*SCOPES, "product")
_log = get_logger(__name__)
STALE_INTERVALS: Final = 5

_COUNTERS: Final = tuple(q.name for q in quantities.QUANTITIES if q.nature == "counter")
_Q: Final = {name: k for k, name in enumerate(_COUNTERS)}  # counter quantity -> channel slot


@dataclass(frozen=True)
class _Windows:
    """Scope rows x cells: additive channels and demand; per-meter counts and staleness."""

    names: tuple[str, ...]  # channel names
    channels: FloatArray  # (rows, channels, cells)
    days: DayWindows
    demand_peak: FloatArray  # (rows, cells): the largest coincident 15-minute demand
    widths: IntArray  # 15-minute windows per cell
    last_ts: IntArray  # (meters, cells + 1): last usable reading before each edge
    sets: WindowSets  # the factor set of each enterprise and park row and cell


def _windows(reg: Registry, lay: Layout, dw: DayWindows) -> _Windows:
    cells = dw.cells
    n_c = cells.n_cells

    # Counter consumption per boundary meter and cell, summed per enterprise x quantity.
    def per_quantity(mask: npt.NDArray[np.bool_]) -> dict[str, FloatArray]:
        meters = lay.meters_where(lay.is_counter & mask)
        slot = np.array([_Q[lay.quantity[m]] for m in meters], np.intp)
        per_eq = group_sum(
            dw.consumption[meters],
            lay.enterprise[meters] * len(_COUNTERS) + slot,
            lay.n_ent * len(_COUNTERS),
        )
        per_eq = per_eq.reshape(lay.n_ent, len(_COUNTERS), n_c)
        return {q: per_eq[:, k] for q, k in _Q.items()}

    ch = per_quantity(lay.boundary)

    # Coefficient channels per enterprise and cell, with its park's set of the cell.
    parks = [reg.parks[reg.enterprises[e].park] for e in reg.enterprise_ids]
    sets = WindowSets.of(reg, cells.starts)

    def f(name: str) -> FloatArray:
        return sets.factor(name, slice(0, lay.n_ent))

    gas_clean = np.array([p.clean_includes_natural_gas for p in parks], np.float64)[:, None]
    renewable = ch["pv_generation"] + ch["wind_generation"]
    gas_tce = ch["natural_gas"] * f("natural_gas_tce_per_m3")
    ch["energy_tce"] = energy_tce(ch, f)
    # Dual-control accounting: feedstock energy and new renewable supplies, in tce.
    excluded = per_quantity(lay.boundary & lay.excluded)
    ch["feedstock_tce"] = energy_tce(
        {q: v if q in FEEDSTOCK_QUANTITIES else np.zeros_like(v) for q, v in excluded.items()}, f
    )
    ch["new_renewable_tce"] = energy_tce(
        {q: v if q in RENEWABLE_SUPPLIES else np.zeros_like(v) for q, v in excluded.items()}, f
    )
    ch["renewable_tce"] = renewable * f("electricity_tce_per_kwh")
    ch["clean_tce"] = (renewable + ch["green_electricity_import"]) * f(
        "electricity_tce_per_kwh"
    ) + gas_clean * gas_tce
    ch["co2_scope1_t"] = (
        ch["natural_gas"] / 1000.0 * f("natural_gas_tco2_per_km3")
        + ch["coal"] * f("coal_tco2_per_t")
        + ch["diesel"] * f("diesel_tco2_per_t")
    )
    ch["co2_heat_t"] = (ch["heat"] + ch["steam"] * f("steam_gj_per_t")) * f("heat_tco2_per_gj")
    ch["certificates_kwh"] = certificate_kwh(reg, cells.points)

    # Emissions: mass and exceedance hours per pollutant (analytics/windows/stacks.py).
    pm = lay.meters_where(lay.pollutant & lay.boundary)
    for name in POLLUTANTS:
        of_q = pm[np.array([lay.quantity[m] == name for m in pm.tolist()], np.bool_)]
        ents = lay.enterprise[of_q]
        ch[f"{name}_kg"] = group_sum(dw.mass_kg[of_q], ents, lay.n_ent)
        ch[f"{name}_exceed_h"] = group_sum(dw.exceed_h[of_q], ents, lay.n_ent)

    # Data quality events, of every meter (sub meters too).
    ch["resets"] = lay.by_enterprise.sum(dw.resets.astype(np.float64))
    ch["spikes_dropped"] = lay.by_enterprise.sum(dw.spikes.astype(np.float64))
    # Demand (analytics/days/day_windows.py): summed per cell for the mean; the peak is
    # the coincident one of each scope row, never lifted.
    names = (*ch, "demand_kw")
    stacked = np.stack([*ch.values(), dw.demand_sum[: lay.n_ent]], axis=1)
    return _Windows(
        names,
        lay.lift(stacked),
        dw,
        dw.demand_peak,
        cells.widths,
        dw.last_before_points(),
        sets,
    )


def _ratio(num: FloatArray, den: FloatArray, scale: float = 1.0) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den * scale, np.nan)


def _period_kpis(
    reg: Registry, lay: Layout, win: _Windows, gi: npt.NDArray[np.intp], pb: IntArray
) -> dict[str, FloatArray]:
    """All KPIs for all scope rows over the periods ``pb[k]..pb[k+1]`` (grid indices ``gi``)."""

    sums = np.add.reduceat(win.channels[:, :, : gi[-1]], gi[:-1], axis=2)
    s = {name: sums[:, k] for k, name in enumerate(win.names)}
    out: dict[str, FloatArray] = {}
    imp, exp_ = s["electricity_import"], s["electricity_export"]
    out["electricity_kwh"] = imp + s["green_electricity_import"] - exp_
    out["pv_kwh"] = s["pv_generation"]
    out["wind_kwh"] = s["wind_generation"]
    energy = s["energy_tce"]
    out["energy_tce"] = energy
    out["feedstock_tce"] = s["feedstock_tce"]
    out["new_renewable_tce"] = s["new_renewable_tce"]
    out["energy_target_tce"] = energy - s["feedstock_tce"] - s["new_renewable_tce"]
    # Hidden sums (names with "_", never written): the regions form their ratios from them.
    out["_renewable_tce"], out["_clean_tce"] = s["renewable_tce"], s["clean_tce"]
    out["renewable_share"] = _ratio(s["renewable_tce"], energy, 100.0)
    out["clean_energy_share"] = _ratio(s["clean_tce"], energy, 100.0)

    peak = np.maximum.reduceat(win.demand_peak[:, : gi[-1]], gi[:-1], axis=1)
    windows = np.add.reduceat(win.widths[: gi[-1]], gi[:-1]).astype(np.float64)
    mean = s["demand_kw"] / windows[None, :]
    out["peak_demand_kw"] = peak
    out["load_factor"] = _ratio(mean, peak, 100.0)

    # Scope 2 nets import against export per scope and period (max(0, .)), each park with
    # its own grid factor (netted per part where a period straddles a factor change); a
    # zone adds its parks' scope 2. Market-based: certificates reduce the net first, and
    # what remains takes the residual factor.
    e_p = lay.n_ent + lay.n_park
    channel = {name: win.channels[:e_p, k, :] for k, name in enumerate(win.names)}
    net_w = channel["electricity_import"] - channel["electricity_export"]
    elec_co2 = win.sets.netted("grid_tco2_per_mwh", gi, imp[:e_p] - exp_[:e_p], net_w)
    cert = s["certificates_kwh"][:e_p]
    market_co2 = win.sets.netted(
        "grid_residual_tco2_per_mwh",
        gi,
        imp[:e_p] - exp_[:e_p] - cert,
        net_w - channel["certificates_kwh"],
    )
    zone_elec = group_sum(elec_co2[lay.n_ent :], lay.park_zone, lay.n_zone)
    scope2 = np.concatenate([elec_co2, zone_elec], axis=0) + s["co2_heat_t"]
    zone_market = group_sum(market_co2[lay.n_ent :], lay.park_zone, lay.n_zone)
    out["co2_scope2_market_t"] = np.concatenate([market_co2, zone_market]) + s["co2_heat_t"]
    out["co2_scope1_t"] = s["co2_scope1_t"]
    out["co2_scope2_t"] = scope2
    co2 = s["co2_scope1_t"] + scope2
    out["co2_total_t"] = co2
    out["carbon_per_energy"] = _ratio(co2, energy)
    output = s["output_value"]
    out["carbon_intensity"] = _ratio(co2, output, 1e4)
    out["energy_intensity"] = _ratio(energy, output, 1e4)
    out["output_value_cny"] = output

    fresh, recycled = s["fresh_water"], s["recycled_water"]
    out["fresh_water_m3"] = fresh
    out["water_reuse_rate"] = _ratio(recycled, recycled + fresh, 100.0)
    out["_recycled_water"] = recycled
    out["_solid_waste_generated"] = s["solid_waste_generated"]
    out["_solid_waste_utilised"] = s["solid_waste_utilised"]
    out["wastewater_m3"] = s["wastewater_discharge"]
    out["water_intensity"] = _ratio(fresh, output, 1e4)
    out["solid_waste_utilisation_rate"] = _ratio(
        s["solid_waste_utilised"], s["solid_waste_generated"], 100.0
    )
    for name in POLLUTANTS:
        out[f"{name}_kg"] = s[f"{name}_kg"]
        out[f"{name}_exceed_h"] = s[f"{name}_exceed_h"]

    # Completeness: per meter, received samples (capped at expected) over expected.
    received = np.add.reduceat(win.days.samples[:, : gi[-1]], gi[:-1], axis=1).astype(np.float64)
    expected = np.diff(pb).astype(np.float64)[None, :] / lay.interval_ms[:, None]
    capped = np.minimum(received, expected)
    got = lay.lift(lay.by_enterprise.sum(capped))
    want = lay.lift(lay.by_enterprise.sum(np.broadcast_to(expected, capped.shape)))
    out["completeness"] = _ratio(got, want, 100.0)
    out["_completeness_got"], out["_completeness_want"] = got, want
    out["resets"] = s["resets"]
    out["spikes_dropped"] = s["spikes_dropped"]
    out["stale_meters"] = lay.lift(lay.by_enterprise.sum(_stale(lay, win, gi, pb[1:])))
    return out


def _stale(lay: Layout, win: _Windows, gi: npt.NDArray[np.intp], ends: IntArray) -> FloatArray:
    """1.0 where a meter's last reading before a period's end is older than 5 intervals."""
    last_ts = win.last_ts[:, gi[1:]]
    limit = STALE_INTERVALS * lay.interval_ms[:, None]
    return (ends[None, :] - last_ts > limit).astype(np.float64)


def _cost_windows(reg: Registry, lay: Layout, win: _Windows, peak_shift: float) -> cost.CostWindows:
    """The cost channels (analytics/kpis/cost.py) from the enterprises' consumption channels."""
    ent = {q: win.channels[: lay.n_ent, win.names.index(q)] for q in cost.QUANTITIES}
    return cost.CostWindows.of(reg, lay, win.days, ent, peak_shift)


def compute_kpis(
    registry: Registry,
    readings: ReadingColumns,
    start_ms: int,
    end_ms: int,
    periods_: Iterable[PeriodName] = ("hour", "day", "month"),
    scopes: Iterable[Scope] = ALL_SCOPES,
    ids: Mapping[Scope, Iterable[str]] | None = None,
    *,
    use_dense: bool = True,
    peak_shift: float = cost.DEFAULT_PEAK_SHIFT,
) -> KpiTable:
    """KPIs of every full period inside ``[start_ms, end_ms)`` for the requested scopes.

    ``readings`` are canonical values with meter codes into ``registry.meter_ids``; they
    may (and, for exact edges, should) include each counter's last reading before
    ``start_ms`` and first after ``end_ms`` (see :mod:`analytics.readings.readers`). Periods are
    calendar periods in each scope's time zone (enterprise and park: the park's; zone:
    the zone's; region: the region's). ``ids`` optionally restricts a scope level to some
    ids. ``use_dense`` False forces the general per-reading path (the tests compare
    both). ``peak_shift`` is the % of sharp and peak kWh that ``peak_shift_saving_cny``
    moves to valley hours.
    """
    if end_ms <= start_ms:
        raise AnalyticsError(f"range: end {end_ms} must be after start {start_ms}")
    lay = Layout.of(registry)
    started = time.perf_counter()
    mw = meter_windows.of_readings(
        lay,
        sort_readings(readings),
        Grid.covering(start_ms, end_ms + finish_ms(registry)),
        use_dense=use_dense,
    )
    table = kpis_of_windows(
        registry, mw, start_ms, end_ms, periods_, scopes, ids, peak_shift=peak_shift
    )
    _log.debug(
        "kpis_computed",
        readings=len(readings),
        meters=lay.n_meters,
        dense_meters=mw.dense_meters,
        blocks=len(table.blocks),
        ms=round(1000 * (time.perf_counter() - started), 1),
    )
    return table


def kpis_of_windows(
    registry: Registry,
    mw: MeterWindows,
    start_ms: int,
    end_ms: int,
    periods_: Iterable[PeriodName] = ("hour", "day", "month"),
    scopes: Iterable[Scope] = ALL_SCOPES,
    ids: Mapping[Scope, Iterable[str]] | None = None,
    *,
    peak_shift: float = cost.DEFAULT_PEAK_SHIFT,
    open_end: bool = False,
    outputs: Sequence[OutputRow] = (),
    value_added: Sequence[OutputRow] = (),
) -> KpiTable:
    """KPIs of every full period inside ``[start_ms, end_ms)`` from per-meter windows.

    ``mw`` covers at least the range (raw-evaluated, read from rollups, or both joined);
    windows before ``start_ms`` only tell when each meter last reported. With
    ``open_end`` the period in progress at ``end_ms`` is included too, ending there (the
    month so far: its block's ``ends`` say so); such a row is shown, never stored.
    ``outputs`` and ``value_added``: as :func:`kpis_of_days`.
    """
    grid = mw.grid
    if grid.start_ms > start_ms or grid.end_ms < end_ms:
        raise AnalyticsError(
            f"range: windows [{grid.start_ms}, {grid.end_ms}) do not cover [{start_ms}, {end_ms})"
        )
    dw = day_windows.of_windows(registry, mw)
    return kpis_of_days(
        registry,
        dw,
        start_ms,
        end_ms,
        periods_,
        scopes,
        ids,
        peak_shift=peak_shift,
        open_end=open_end,
        outputs=outputs,
        value_added=value_added,
    )


def kpis_of_days(
    registry: Registry,
    dw: DayWindows,
    start_ms: int,
    end_ms: int,
    periods_: Iterable[PeriodName] = ("day", "month"),
    scopes: Iterable[Scope] = ALL_SCOPES,
    ids: Mapping[Scope, Iterable[str]] | None = None,
    *,
    peak_shift: float = cost.DEFAULT_PEAK_SHIFT,
    open_end: bool = False,
    outputs: Sequence[OutputRow] = (),
    value_added: Sequence[OutputRow] = (),
) -> KpiTable:
    """:func:`kpis_of_windows` from day windows (cells: 15-minute windows or day cells,
    :mod:`analytics.days`); every period's boundaries must be cell edges (day cells
    carry days, months and years, not hours). Products (scope ``product``) take their
    entered output from ``outputs`` (store/outputs.py); the KPIs per value added take
    the enterprises' monthly figures from ``value_added`` (analytics/kpis/valueadded.py)."""
    wanted_periods = [periods.parse_period(p) for p in periods_]
    wanted_scopes = list(scopes)
    for sc in wanted_scopes:
        if sc not in ALL_SCOPES:
            raise AnalyticsError(f"scope: unknown scope {sc!r} (expected one of {ALL_SCOPES})")
    lay = Layout.of(registry)
    cells = dw.cells
    if cells.start_ms > start_ms or cells.end_ms < end_ms:
        raise AnalyticsError(
            f"range: cells [{cells.start_ms}, {cells.end_ms}) do not cover [{start_ms}, {end_ms})"
        )
    att = Attribution.of(registry, cells) if "region" in wanted_scopes else None
    row_ids = lay.row_ids + (att.row_ids if att else ())
    row_tz = lay.row_tz + (att.timezones if att else ())
    win = _windows(registry, lay, dw)
    costs = _cost_windows(registry, lay, win, peak_shift)
    blocks: list[KpiBlock] = []
    for tz in sorted(set(row_tz)):
        for period in wanted_periods:
            pb = periods.kpi_bounds(tz, period, start_ms, end_ms, open_end=open_end)
            if pb.size < 2:
                continue
            gi = cells.index(pb)
            values = _period_kpis(registry, lay, win, gi, pb)
            values.update(cost.period_kpis(costs, lay, gi, values["output_value_cny"]))
            va = value_added_of(registry, lay, value_added, pb, values["energy_tce"])
            values["value_added_10k_cny"] = va
            values["energy_intensity_va"] = _ratio(values["energy_target_tce"], va)
            values["carbon_intensity_va"] = _ratio(values["co2_total_t"], va)
            versions = win.sets.versions(gi)
            if att is not None:
                parks = slice(lay.n_ent, lay.n_ent + lay.n_park)
                regional = att.values({k: v[parks] for k, v in values.items()}, gi)
                values = {k: np.concatenate([values[k], regional[k]]) for k in KPI_NAMES}
                versions = np.concatenate([versions, att.versions(versions[parks], gi)])
            for sc in wanted_scopes:
                keep = ids.get(sc) if ids else None
                rows = [
                    r
                    for r, (s, ident) in enumerate(row_ids)
                    if s == sc and row_tz[r] == tz and (keep is None or ident in set(keep))
                ]
                if not rows:
                    continue
                blocks.append(
                    KpiBlock(
                        scope=sc,
                        period=period,
                        timezone=tz,
                        ids=tuple(row_ids[r][1] for r in rows),
                        starts=pb[:-1].copy(),
                        ends=pb[1:].copy(),
                        values={k: values[k][rows] for k in KPI_NAMES},
                        factors_versions=tuple(str(versions[r, -1]) for r in rows),
                        period_versions=versions[rows],
                    )
                )
    if "product" in wanted_scopes:
        blocks += product_blocks(
            registry,
            lay,
            dw,
            win.sets,
            outputs,
            start_ms,
            end_ms,
            wanted_periods,
            ids.get("product") if ids else None,
            open_end=open_end,
        )
    return KpiTable(tuple(blocks))


__all__ = ["ALL_SCOPES", "SCOPES", "compute_kpis", "kpis_of_days", "kpis_of_windows"]
