"""Every meter's cumulative functions at the grid points, by the fastest path that fits.

Meters that share a timestamp row go through :mod:`analytics.readings.dense` (a matrix per
block); the rest (gaps, jitter, readings to drop) through the general per-reading code
of :mod:`analytics.readings.counters`, :mod:`analytics.readings.gauges` and
:mod:`analytics.readings.emissions`.
Both produce the same quantities, so the KPI formulas never know which path ran; the
tests check the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics.layout import Layout
from smartpark.analytics.periods import Grid
from smartpark.analytics.readings import counters, dense, emissions, gauges
from smartpark.analytics.readings.counters import Events
from smartpark.analytics.readings.series import FloatArray, IntArray, SeriesIndex
from smartpark.store.base import ReadingColumns

MISSING_TS: Final = np.iinfo(np.int64).min // 4


@dataclass(frozen=True)
class MeterGrid:
    """Per meter (rows, by code) at the grid points (columns); differences are per window."""

    register: npt.NDArray[np.longdouble]  # counters: cleaned cumulative consumption
    gauge_g: FloatArray  # gauges: integral of value x ms
    gauge_h: FloatArray  # gauges: covered ms
    conc_g: FloatArray  # boundary pollutants: integral of the O2-corrected concentration
    conc_h: FloatArray
    rate_g: FloatArray  # boundary pollutants: integral of the mass rate (kg/h x ms)
    received: npt.NDArray[np.int64]  # (meters, windows) usable readings per window
    last_ts: IntArray  # last usable reading strictly before each point (MISSING_TS if none)
    events: Events
    dense_meters: int  # meters that took the matrix path


def evaluate(lay: Layout, cols: ReadingColumns, grid: Grid, use_dense: bool = True) -> MeterGrid:
    """``cols`` sorted by (meter, ts)."""
    n, p = lay.n_meters, grid.n_windows + 1
    points = grid.points
    out = MeterGrid(
        register=np.zeros((n, p), np.longdouble),
        gauge_g=np.zeros((n, p)),
        gauge_h=np.zeros((n, p)),
        conc_g=np.zeros((n, p)),
        conc_h=np.zeros((n, p)),
        rate_g=np.zeros((n, p)),
        received=np.zeros((n, p - 1), np.int64),
        last_ts=np.full((n, p), MISSING_TS, np.int64),
        events=Events(),
        dense_meters=0,
    )
    index = SeriesIndex.build(cols, n, presorted=True)
    general = np.ones(n, np.bool_)
    general_emissions = lay.pollutant & lay.boundary
    dense_count = 0
    if use_dense:
        for block in dense.find_blocks(index, np.ones(n, np.bool_)):
            done, emitted = _dense_block(lay, block, points, out)
            general[done] = False
            general_emissions[emitted] = False
            dense_count += done.size
    if general.any():
        _general(lay, cols.take(general[cols.meter]), points, out)
    if general_emissions.any():
        _general_emissions(lay, cols, general_emissions, points, out)
    object.__setattr__(out, "dense_meters", dense_count)
    return out


def _dense_block(
    lay: Layout, block: dense.Block, points: IntArray, out: MeterGrid
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Fill ``out`` for the block's meters; return the meters done and pollutants done."""
    look = dense.RowLookup.of(block.ts, points)
    m = block.meters
    is_counter = lay.is_counter[m]
    counter_block = block.rows(is_counter)
    drop, falls = dense.screen_counter_rows(counter_block.values)
    if drop.any():
        counter_block = counter_block.rows(~drop)
        falls = falls[~drop]
    cm = counter_block.meters
    if cm.size:
        res = dense.counters(
            counter_block, lay.multiplier[cm], lay.register_max[cm], points, look, falls
        )
        out.register[cm] = res.register_at
        out.events.add("reset", cm[res.reset_at[0]], block.ts[res.reset_at[1]])
        out.events.add("rollover", cm[res.rollover_at[0]], block.ts[res.rollover_at[1]])
    gauge_block = block.rows(~is_counter)
    gm = gauge_block.meters
    if gm.size:
        hold = dense.hold_row(block.ts, lay.interval_ms[gm].astype(np.float64))
        g, h = dense.integrals(gauge_block.values, block.ts, hold, points, look)
        out.gauge_g[gm], out.gauge_h[gm] = g, h
    done = np.concatenate([cm, gm]).astype(np.int32)
    out.received[done] = dense.row_counts(look)[None, :]
    out.last_ts[done] = dense.last_before(block.ts, look, MISSING_TS)[None, :]
    emitted = _dense_emissions(lay, block, points, look, out)
    return done, emitted


def _dense_emissions(
    lay: Layout, block: dense.Block, points: IntArray, look: dense.RowLookup, out: MeterGrid
) -> npt.NDArray[np.int32]:
    m = block.meters
    o2_row = dense.partner_rows(block, lay.partner_o2)
    flow_row = dense.partner_rows(block, lay.partner_flow)
    here = (
        lay.pollutant[m]
        & lay.boundary[m]
        & ((lay.partner_o2[m] < 0) | (o2_row >= 0))
        & ((lay.partner_flow[m] < 0) | (flow_row >= 0))
    )
    rows = np.flatnonzero(here)
    if rows.size == 0:
        return np.zeros(0, np.int32)
    pm = m[rows]
    conc = block.values[rows]
    ref = lay.o2_ref[pm]
    corrects = (o2_row[rows] >= 0) & np.isfinite(ref)
    if corrects.all():
        conc = emissions.o2_corrected(conc, block.values[o2_row[rows]], ref[:, None])
    elif corrects.any():
        o2 = block.values[o2_row[rows[corrects]]]
        conc[corrects] = emissions.o2_corrected(conc[corrects], o2, ref[corrects][:, None])
    has_flow = flow_row[rows] >= 0
    if has_flow.all():
        flow = block.values[flow_row[rows]]
    else:
        flow = np.full(conc.shape, np.nan)
        flow[has_flow] = block.values[flow_row[rows[has_flow]]]
    hold = dense.hold_row(block.ts, lay.interval_ms[pm].astype(np.float64))
    out.conc_g[pm], out.conc_h[pm] = dense.integrals(conc, block.ts, hold, points, look)
    out.rate_g[pm] = dense.integrals(
        emissions.mass_rate_kg_h(conc, flow), block.ts, hold, points, look
    )[0]
    return pm


def _general(lay: Layout, cols: ReadingColumns, points: IntArray, out: MeterGrid) -> None:
    counter_mask = lay.is_counter[cols.meter]
    clean = counters.clean(cols.take(counter_mask), lay.n_meters, lay.multiplier, lay.register_max)
    for reason, (meter, ts) in clean.events.by_reason.items():
        out.events.add(reason, meter, ts)
    gauge_cols = cols.take(~counter_mask)
    gauge_index = SeriesIndex.build(gauge_cols, lay.n_meters, presorted=True)
    held = gauges.hold(gauge_index, gauge_cols.value, lay.interval_ms)
    present = np.zeros(lay.n_meters, np.bool_)
    present[cols.meter] = True
    cm = np.flatnonzero(present & lay.is_counter).astype(np.int32)
    gm = np.flatnonzero(present & ~lay.is_counter).astype(np.int32)
    out.register[cm] = clean.consumption_at(cm, points)
    out.gauge_g[gm], out.gauge_h[gm] = held.integral_at(gm, points)
    for index, meters in ((clean.index, cm), (gauge_index, gm)):
        if meters.size == 0 or len(index) == 0:
            continue
        rows = meters.astype(np.intp)[:, None]
        before = index.count_before(rows, points[None, :])
        out.received[meters] = np.diff(before, axis=1)
        j = before - 1
        ts = index.cols.ts[np.clip(j, 0, len(index) - 1)]
        out.last_ts[meters] = np.where(j >= index.first[rows], ts, MISSING_TS)


def _general_emissions(
    lay: Layout,
    cols: ReadingColumns,
    pollutants: npt.NDArray[np.bool_],
    points: IntArray,
    out: MeterGrid,
) -> None:
    pm = np.flatnonzero(pollutants).astype(np.int32)
    partners = np.zeros(lay.n_meters, np.bool_)
    for partner in (lay.partner_o2[pm], lay.partner_flow[pm]):
        partners[partner[partner >= 0]] = True
    partner_cols = cols.take(partners[cols.meter])
    held = gauges.hold(
        SeriesIndex.build(partner_cols, lay.n_meters, presorted=True),
        partner_cols.value,
        lay.interval_ms,
    )
    pol_cols = cols.take(pollutants[cols.meter])
    samples = emissions.stack_samples(
        held,
        pol_cols.meter,
        pol_cols.ts,
        pol_cols.value,
        lay.partner_o2,
        lay.partner_flow,
        lay.o2_ref,
    )
    pol_index = SeriesIndex.build(pol_cols, lay.n_meters, presorted=True)
    conc = gauges.hold(pol_index, samples.concentration, lay.interval_ms)
    rate = gauges.hold(pol_index, samples.rate_kg_h, lay.interval_ms)
    out.conc_g[pm], out.conc_h[pm] = conc.integral_at(pm, points)
    out.rate_g[pm] = rate.integral_at(pm, points)[0]
