"""The vectorized engine against a slow, obviously-correct per-reading reference.

The reference below walks readings one by one with plain Python: it cleans each
counter, splits every delta over the periods it overlaps in proportion to time, holds
each gauge sample and integrates the overlaps. Random data with jitter, gaps, resets,
rollovers and spikes; the engine must agree to 1e-9 relative on both of its paths.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from typing import Any

import numpy as np
import pytest

from smartpark.analytics import periods
from smartpark.analytics.kpis.compute import compute_kpis
from smartpark.core.registry import Registry
from smartpark.store.base import ReadingColumns

from .parks import DAY_MS, columns, day_ms, park_registry

START = day_ms(2026, 11, 1)
END = START + 2 * DAY_MS
WINDOW = 900_000
MIN = 60_000

METERS: dict[str, dict[str, Any]] = {
    "a-imp": {"enterprise": "a", "quantity": "electricity_import", "multiplier": 40.0},
    "a-roll": {"enterprise": "a", "quantity": "electricity_import", "register_max": 5000.0},
    "a-sub": {
        "enterprise": "a",
        "quantity": "electricity_import",
        "role": "sub",
        "parent": "a-imp",
    },
    "a-pv": {"enterprise": "a", "quantity": "pv_generation", "interval_s": 300},
    "a-power": {"enterprise": "a", "quantity": "active_power"},
    "b-imp": {"enterprise": "b", "quantity": "electricity_import", "interval_s": 300},
    "b-exp": {"enterprise": "b", "quantity": "electricity_export", "interval_s": 300},
    "b-gas": {"enterprise": "b", "quantity": "natural_gas"},
    "b-fresh": {"enterprise": "b", "quantity": "fresh_water", "interval_s": 900},
    "b-rec": {"enterprise": "b", "quantity": "recycled_water", "interval_s": 900},
    "b-nox": {"enterprise": "b", "quantity": "nox", "stack": "s1", "o2_ref": 3.5},
    "b-o2": {"enterprise": "b", "quantity": "o2", "stack": "s1"},
    "b-flow": {"enterprise": "b", "quantity": "flue_gas_flow", "stack": "s1", "interval_s": 120},
    "c-imp": {"enterprise": "c", "quantity": "electricity_import"},
    "c-coal": {"enterprise": "c", "quantity": "coal", "interval_s": 3600},
}


def make_registry() -> Registry:
    return park_registry(
        METERS,
        enterprises=("a", "b", "c"),
        extra_parks={"p2": {"factors": {"grid_tco2_per_mwh": 0.5543}, "limits": {"nox": 40.0}}},
        enterprise_park={"b": "p2", "c": "p2"},
    )


def random_readings(reg: Registry, seed: int, regular: bool) -> list[tuple[str, int, float]]:
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, int, float]] = []
    for mid, meter in reg.meters.items():
        step = meter.interval_s * 1000
        t = START - step - (0 if regular else int(rng.integers(0, step)))
        value = float(rng.uniform(0, 1000))
        counter = meter.quantity not in ("active_power", "nox", "o2", "flue_gas_flow")
        spiked = False
        while t < END + step:
            if counter:
                value += float(rng.uniform(0, 3))
                if meter.register_max and value >= meter.register_max:
                    value -= meter.register_max
                reading = value
                if not regular and not spiked and rng.random() < 0.01:
                    value = float(rng.uniform(0, 5))  # reset
                    reading = value
                # An isolated spike (not next to a reset, where it would be a real delta).
                spiked = not regular and rng.random() < 0.005
                if spiked:
                    reading = value * 1e6
            elif meter.quantity == "o2":
                reading = float(rng.uniform(3, 12))
            else:
                reading = float(rng.uniform(10, 80 if meter.quantity == "nox" else 900))
            rows.append((mid, t, reading))
            if regular:
                t += step
            else:
                t += step + int(rng.integers(-step // 3, step // 3))
                if rng.random() < 0.01:
                    t += int(rng.integers(1, 20)) * step  # a gap
    return rows


# ---------------------------------------------------------------------------------------
# The reference: per reading, plain Python.


def overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def clean_counter(
    samples: list[tuple[int, float]], top: float | None
) -> list[tuple[int, int, float]]:
    """(t_prev, t, delta) intervals after the cleaning rules."""
    kept = [(t, v) for t, v in samples if math.isfinite(v) and v >= 0]
    dedup: list[tuple[int, float]] = []
    for t, v in kept:
        if dedup and dedup[-1][0] == t:
            dedup[-1] = (t, v)
        else:
            dedup.append((t, v))
    spikes = set()
    for i in range(1, len(dedup) - 1):
        lo, mid, hi = dedup[i - 1][1], dedup[i][1], dedup[i + 1][1]
        if lo <= hi and (mid > hi or mid < lo):
            spikes.add(i)
    good = [s for i, s in enumerate(dedup) if i not in spikes]
    out = []
    for (t0, v0), (t1, v1) in itertools.pairwise(good):
        d = v1 - v0
        if d < 0 and d >= -1e-9 * abs(v0):
            d = 0.0
        if d < 0:
            d = v1 + top - v0 if top is not None and v0 >= top / 2 and v1 < top / 2 else v1
        out.append((t0, t1, d))
    return out


def consumption(intervals: list[tuple[int, int, float]], a: int, b: int, mult: float) -> float:
    return sum(d * mult * overlap(t0, t1, a, b) / (t1 - t0) for t0, t1, d in intervals)


def holds(samples: list[tuple[int, float]], interval_ms: int) -> list[tuple[int, int, float]]:
    out = []
    for i, (t, v) in enumerate(samples):
        w = min(samples[i + 1][0] - t, 2 * interval_ms) if i + 1 < len(samples) else interval_ms
        out.append((t, t + w, v))
    return out


def held_at(held: list[tuple[int, int, float]], t: int) -> float:
    value = math.nan
    for t0, t1, v in held:
        if t0 <= t < t1:
            value = v
    return value


def integral(held: list[tuple[int, int, float]], a: int, b: int) -> tuple[float, float]:
    g = h = 0.0
    for t0, t1, v in held:
        if math.isfinite(v):
            g += v * overlap(t0, t1, a, b)
            h += overlap(t0, t1, a, b)
    return g, h


def reference(
    reg: Registry, rows: list[tuple[str, int, float]], bounds: list[int]
) -> dict[str, dict[str, list[float]]]:
    """KPIs per enterprise id for the periods ``bounds[k]..bounds[k+1]``."""
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for m, t, v in sorted(rows, key=lambda r: (r[0], r[1])):
        series[m].append((t, v))
    periods_ = list(itertools.pairwise(bounds))
    out: dict[str, dict[str, list[float]]] = {}
    for ent in reg.enterprise_ids:
        park = reg.parks[reg.enterprises[ent].park]
        mine = {m: reg.meters[m] for m in reg.meters if reg.meters[m].enterprise == ent}
        total: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(periods_))
        for mid, meter in mine.items():
            if meter.role != "boundary" or meter.quantity in (
                "active_power",
                "nox",
                "o2",
                "flue_gas_flow",
            ):
                continue
            intervals = clean_counter(series[mid], meter.register_max)
            for k, (a, b) in enumerate(periods_):
                total[meter.quantity][k] += consumption(intervals, a, b, meter.multiplier)
        imp, exp_ = total["electricity_import"], total["electricity_export"]
        res: dict[str, list[float]] = {}
        res["electricity_kwh"] = [i - e for i, e in zip(imp, exp_, strict=True)]
        res["energy_tce"] = [
            (imp[k] - exp_[k] + total["pv_generation"][k]) * 0.0001229
            + total["natural_gas"][k] * 0.0012143
            + total["coal"][k] * 0.7143
            for k in range(len(periods_))
        ]
        res["co2_scope1_t"] = [
            total["natural_gas"][k] / 1000 * 2.162 + total["coal"][k] * 1.9
            for k in range(len(periods_))
        ]
        grid = park.factor("grid_tco2_per_mwh")
        res["co2_scope2_t"] = [
            max(0.0, imp[k] - exp_[k]) / 1000 * grid for k in range(len(periods_))
        ]
        res["fresh_water_m3"] = total["fresh_water"]
        res["water_reuse_rate"] = [
            100 * r / (r + f) if r + f > 0 else math.nan
            for r, f in zip(total["recycled_water"], total["fresh_water"], strict=True)
        ]
        # Demand: the enterprise's power meter's 15-minute means, else 4 x import per window.
        power = [m for m, meter in mine.items() if meter.quantity == "active_power"]
        peaks = []
        for a, b in periods_:
            demand = []
            for w0 in range(a, b, WINDOW):
                if power:
                    g, h = integral(
                        holds(series[power[0]], mine[power[0]].interval_s * 1000), w0, w0 + WINDOW
                    )
                    demand.append(g / h if h > 0 else 0.0)
                else:
                    kwh = 0.0
                    for mid, meter in mine.items():
                        if meter.quantity == "electricity_import" and meter.role == "boundary":
                            kwh += consumption(
                                clean_counter(series[mid], meter.register_max),
                                w0,
                                w0 + WINDOW,
                                meter.multiplier,
                            )
                    demand.append(4 * kwh)
            peaks.append(max(demand))
        res["peak_demand_kw"] = peaks
        # Emissions.
        nox = [m for m, meter in mine.items() if meter.quantity == "nox"]
        res["nox_kg"] = [0.0] * len(periods_)
        res["nox_exceed_h"] = [0.0] * len(periods_)
        if nox:
            meter = mine[nox[0]]
            o2_held = holds(series["b-o2"], 60_000)
            flow_held = holds(series["b-flow"], 120_000)
            conc_samples, rate_samples = [], []
            for t, c in series[nox[0]]:
                o2 = held_at(o2_held, t)
                conc = c * (21 - 3.5) / (21 - o2) if o2 < 21 else math.nan
                conc_samples.append((t, conc))
                rate_samples.append((t, conc * held_at(flow_held, t) * 1e-6))
            conc_held = [
                (t0, t1 if math.isfinite(v) else t0, v) for t0, t1, v in holds(conc_samples, 60_000)
            ]
            rate_held = [
                (t0, t1 if math.isfinite(v) else t0, v) for t0, t1, v in holds(rate_samples, 60_000)
            ]
            for k, (a, b) in enumerate(periods_):
                res["nox_kg"][k] = integral(rate_held, a, b)[0] / 3_600_000
                for h0 in range(a, b, 3_600_000):
                    g, h = integral(conc_held, h0, h0 + 3_600_000)
                    if h > 0 and g / h > park.limits["nox"]:
                        res["nox_exceed_h"][k] += 1
        out[ent] = res
    return out


@pytest.mark.parametrize(("seed", "regular"), [(1, False), (2, False), (3, True)])
@pytest.mark.parametrize("period", ["hour", "day"])
def test_engine_agrees_with_the_per_reading_reference(
    seed: int, regular: bool, period: str
) -> None:
    reg = make_registry()
    rows = random_readings(reg, seed, regular)
    bounds = periods.boundaries("Asia/Shanghai", period, START, END).tolist()  # type: ignore[arg-type]
    if period == "hour":
        bounds = bounds[20:29]  # the reference is slow; nine hours are enough
    expected = reference(reg, rows, bounds)
    cols = columns(reg, rows)
    for dense in (True, False):
        table = compute_kpis(reg, cols, START, END, [period], ["enterprise"], use_dense=dense)  # type: ignore[list-item]
        block = table.block("enterprise", period)  # type: ignore[arg-type]
        first = block.column_of(bounds[0])
        for ent, kpis in expected.items():
            row = block.row_of(ent)
            for kpi, want in kpis.items():
                got = block.values[kpi][row, first : first + len(want)]
                np.testing.assert_allclose(
                    got, want, rtol=1e-9, atol=1e-9, err_msg=f"{ent} {kpi} dense={dense}"
                )
    assert any(abs(v) > 0 for v in expected["a"]["electricity_kwh"])
    assert any(v > 0 for v in expected["b"]["nox_kg"])


def test_dense_and_general_paths_agree_on_everything() -> None:
    reg = make_registry()
    rows = random_readings(reg, 5, regular=True)
    # A reset in the middle of two regular counters (one with a multiplier).
    for meter in ("c-imp", "a-imp"):
        at = [k for k, r in enumerate(rows) if r[0] == meter][700]
        drop = rows[at][2] - 2.0
        rows = [
            (m, t, v - drop if m == meter and k >= at else v) for k, (m, t, v) in enumerate(rows)
        ]
    cols = columns(reg, rows)
    fast = compute_kpis(reg, cols, START, END)
    slow = compute_kpis(reg, cols, START, END, use_dense=False)
    assert len(fast.blocks) == len(slow.blocks) == 6  # no full month in two days
    for a, b in zip(fast.blocks, slow.blocks, strict=True):
        for kpi in a.values:
            np.testing.assert_allclose(
                a.values[kpi], b.values[kpi], rtol=1e-9, atol=1e-9, err_msg=kpi
            )
    assert fast.value("enterprise", "c", "day", START, "resets") == 1
    assert fast.value("enterprise", "a", "day", START, "resets") >= 1


@pytest.mark.parametrize("glitch", [1e6, 0.0, -1.0, float("nan")])
def test_regular_meters_take_the_dense_path_and_spiky_ones_do_not(glitch: float) -> None:
    from smartpark.analytics.layout import Layout
    from smartpark.analytics.periods import Grid
    from smartpark.analytics.readings.meters import evaluate
    from smartpark.analytics.readings.series import sort_readings

    reg = make_registry()
    lay = Layout.of(reg)
    grid = Grid.covering(START, END)
    regular = sort_readings(columns(reg, random_readings(reg, 5, regular=True)))
    jittered = sort_readings(columns(reg, random_readings(reg, 5, regular=False)))
    # Every meter but the two lone short schedules (b-flow 120 s, c-coal 3600 s) shares
    # its timestamp row with another meter.
    assert evaluate(lay, regular, grid).dense_meters == len(reg.meters) - 2
    # Jittered meters share no timestamp row: all take the general path.
    assert evaluate(lay, jittered, grid).dense_meters == 0
    # A counter with a reading to drop takes the general path even when regular, and the
    # result equals the all-general computation.
    spiky = regular.value.copy()
    at = np.flatnonzero(regular.meter == reg.meter_code["a-imp"])[10]
    spiky[at] = spiky[at] * glitch if glitch > 1 else glitch
    spiked = ReadingColumns(regular.meter, regular.ts, spiky)
    assert evaluate(lay, spiked, grid).dense_meters == len(reg.meters) - 3
    fast = compute_kpis(reg, spiked, START, END, ["day"])
    slow = compute_kpis(reg, spiked, START, END, ["day"], use_dense=False)
    for kpi in ("electricity_kwh", "spikes_dropped", "resets"):
        np.testing.assert_allclose(
            fast.block("enterprise", "day").values[kpi], slow.block("enterprise", "day").values[kpi]
        )
    assert fast.value("enterprise", "a", "day", START, "spikes_dropped") == 1


@pytest.mark.parametrize("jitter", [0, 20_000])
def test_dense_shared_hold_integrals_equal_the_cumulative_route(jitter: int) -> None:
    from smartpark.analytics.readings import dense

    rng = np.random.default_rng(jitter)
    ts = START - MIN + np.arange(500, dtype=np.int64) * MIN
    ts += rng.integers(-jitter, jitter + 1, ts.size) if jitter else 0
    ts[200:] += 10 * MIN  # a gap longer than the hold
    values = rng.uniform(0, 100, (3, ts.size))
    points = START + np.arange(0, 6 * 3_600_000 + 1, WINDOW, dtype=np.int64)
    look = dense.RowLookup.of(ts, points)
    hold = dense.hold_row(ts, np.full(3, float(MIN)))
    assert hold.shape[0] == 1
    fast = dense.integrals(values, ts, hold, points, look)
    slow = dense.integrals(values, ts, np.repeat(hold, 3, axis=0), points, look)
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-6)
    assert float(np.diff(fast[1], axis=1).min()) >= 0


def test_one_odd_meter_does_not_spoil_its_group_for_the_dense_path() -> None:
    from smartpark.analytics.layout import Layout
    from smartpark.analytics.periods import Grid
    from smartpark.analytics.readings.meters import evaluate
    from smartpark.analytics.readings.series import sort_readings

    reg = make_registry()
    # a-imp (the first meter code) reads one second late; its count is unchanged.
    rows = [(m, t + 1000 if m == "a-imp" else t, v) for m, t, v in random_readings(reg, 6, True)]
    cols = sort_readings(columns(reg, rows))
    grid = Grid.covering(START, END)
    assert evaluate(Layout.of(reg), cols, grid).dense_meters == len(reg.meters) - 3
    fast = compute_kpis(reg, cols, START, END, ["hour"])
    slow = compute_kpis(reg, cols, START, END, ["hour"], use_dense=False)
    for a, b in zip(fast.blocks, slow.blocks, strict=True):
        for kpi in a.values:
            np.testing.assert_allclose(a.values[kpi], b.values[kpi], rtol=1e-9, atol=1e-9)
