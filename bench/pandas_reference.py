"""A straightforward pandas groupby version of the KPIs, as the benchmark's reference.

Not a dependency of smartpark (install pandas in the bench environment only). It is
what one would write first: diff per meter with ``groupby``, reset handling with a mask,
15-minute and hourly buckets with ``dt.floor``, sums per enterprise / park / zone with
``groupby``. It assumes aligned readings (a delta never straddles a bucket), which holds
for the benchmark's one-minute data, so its numbers can be compared with the engine's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from smartpark.core.registry import Registry
from smartpark.store.base import ReadingColumns

COUNTERS = (
    "electricity_import",
    "electricity_export",
    "green_electricity_import",
    "pv_generation",
    "wind_generation",
    "natural_gas",
    "fresh_water",
    "recycled_water",
)


def meter_table(reg: Registry) -> pd.DataFrame:
    rows = []
    for code, mid in enumerate(reg.meter_ids):
        m = reg.meters[mid]
        park = reg.enterprises[m.enterprise].park
        rows.append(
            {
                "meter": code,
                "enterprise": m.enterprise,
                "park": park,
                "zone": reg.parks[park].zone,
                "quantity": m.quantity,
                "boundary": m.role == "boundary",
                "multiplier": m.multiplier,
                "stack": m.stack,
                "o2_ref": m.o2_ref,
                "interval_s": m.interval_s,
                "tz": reg.parks[park].timezone,
                "grid": reg.parks[park].factor("grid_tco2_per_mwh"),
                "nox_limit": reg.parks[park].limits.get("nox", np.nan),
            }
        )
    table = pd.DataFrame(rows)
    # Categoricals, as a pandas user would: grouping by strings is several times slower.
    for column in ("enterprise", "park", "zone", "quantity", "stack", "tz"):
        table[column] = table[column].astype("category")
    return table


def kpis(reg: Registry, cols: ReadingColumns, start_ms: int, end_ms: int) -> pd.DataFrame:
    """Hour and day KPIs per enterprise, park and zone: one row per (scope, id, period, start)."""
    meters = meter_table(reg)
    tz = meters["tz"].iloc[0]
    df = pd.DataFrame({"meter": cols.meter, "ts": cols.ts, "value": cols.value})
    df = df.merge(meters, on="meter", how="left")
    df = df.sort_values(["meter", "ts"])
    df["time"] = pd.to_datetime(df["ts"], unit="ms", utc=True).dt.tz_convert(tz)

    # Counters: per-meter deltas, resets, multiplier; bucket by the interval's start.
    counters = df[df["quantity"].isin(COUNTERS) & df["boundary"]].copy()
    grouped = counters.groupby(observed=True, by="meter")
    counters["delta"] = grouped["value"].diff()
    counters["start"] = grouped["time"].shift()
    reset = counters["delta"] < 0
    counters.loc[reset, "delta"] = counters.loc[reset, "value"]
    counters["delta"] *= counters["multiplier"]
    counters = counters.dropna(subset=["delta", "start"])
    lo = pd.Timestamp(start_ms, unit="ms", tz="UTC")
    hi = pd.Timestamp(end_ms, unit="ms", tz="UTC")
    counters = counters[(counters["start"] >= lo) & (counters["start"] < hi)]
    counters["window"] = counters["start"].dt.floor("15min")
    sums = (
        counters.groupby(observed=True, by=["enterprise", "park", "zone", "window", "quantity"])[
            "delta"
        ]
        .sum()
        .unstack("quantity", fill_value=0.0)
        .reindex(columns=list(COUNTERS), fill_value=0.0)
        .reset_index()
    )

    # Demand: 15-minute mean active power per meter, summed per enterprise.
    power = df[(df["quantity"] == "active_power") & (df["time"] >= lo) & (df["time"] < hi)].copy()
    power["window"] = power["time"].dt.floor("15min")
    demand = (
        power.groupby(observed=True, by=["meter", "enterprise", "window"])["value"]
        .mean()
        .groupby(observed=True, by=["enterprise", "window"])
        .sum()
    )
    sums = sums.merge(
        demand.rename("demand_kw").reset_index(), on=["enterprise", "window"], how="left"
    )

    # Emissions: one row per (stack, time) with its gauges side by side.
    cems = df[df["stack"].notna() & (df["time"] >= lo) & (df["time"] < hi)]
    wide = cems.pivot_table(
        index=["enterprise", "stack", "time"], columns="quantity", values="value"
    )
    ref = (
        cems[cems["quantity"] == "nox"]
        .groupby(observed=True, by=["enterprise", "stack"])["o2_ref"]
        .first()
    )
    wide = wide.join(ref, on=["enterprise", "stack"])
    wide["nox_c"] = wide["nox"] * (21 - wide["o2_ref"]) / (21 - wide["o2"])
    wide["nox_kg"] = wide["nox_c"] * wide["flue_gas_flow"] * 1e-6 / 60.0  # one-minute samples
    wide = wide.reset_index()
    wide["window"] = wide["time"].dt.floor("15min")
    wide["hour"] = wide["time"].dt.floor("h")
    mass = wide.groupby(observed=True, by=["enterprise", "window"])["nox_kg"].sum()
    sums = sums.merge(mass.reset_index(), on=["enterprise", "window"], how="left")
    hourly = (
        wide.groupby(observed=True, by=["enterprise", "stack", "hour"])["nox_c"]
        .mean()
        .reset_index()
    )
    hourly = hourly.merge(
        meters.groupby(observed=True, by="enterprise")["nox_limit"].first().reset_index(),
        on="enterprise",
    )
    hourly["exceed"] = (hourly["nox_c"] > hourly["nox_limit"]).astype(float)
    exceed = hourly.groupby(observed=True, by=["enterprise", "hour"])["exceed"].sum()

    grid = meters.groupby(observed=True, by="enterprise")["grid"].first()
    out: list[pd.DataFrame] = []
    for period, freq in (("hour", "h"), ("day", "D")):
        sums["period_start"] = sums["window"].dt.floor(freq)
        for scope in ("enterprise", "park", "zone"):
            keys = [scope, "period_start"]
            total = sums.groupby(observed=True, by=keys)[[*COUNTERS, "nox_kg"]].sum()
            demand_scope = sums.groupby(observed=True, by=[scope, "window", "period_start"])[
                "demand_kw"
            ].sum()
            peak = demand_scope.groupby(level=[0, 2], observed=True).max()
            mean = demand_scope.groupby(level=[0, 2], observed=True).mean()
            t = total.copy()
            t["electricity_kwh"] = (
                t["electricity_import"] + t["green_electricity_import"] - t["electricity_export"]
            )
            t["energy_tce"] = (
                t["electricity_kwh"] + t["pv_generation"] + t["wind_generation"]
            ) * 0.0001229 + t["natural_gas"] * 0.0012143
            t["renewable_share"] = (
                100 * (t["pv_generation"] + t["wind_generation"]) * 0.0001229 / t["energy_tce"]
            )
            t["co2_scope1_t"] = t["natural_gas"] / 1000 * 2.162
            net = (t["electricity_import"] - t["electricity_export"]).clip(lower=0) / 1000
            if scope == "enterprise":
                t["co2_scope2_t"] = net * grid.reindex(t.index.get_level_values(0)).to_numpy()
            else:
                per_park = sums.groupby(observed=True, by=["park", "period_start"])[
                    ["electricity_import", "electricity_export"]
                ].sum()
                park_grid = meters.groupby(observed=True, by="park")["grid"].first()
                park_net = (per_park["electricity_import"] - per_park["electricity_export"]).clip(
                    lower=0
                )
                park_co2 = (
                    park_net
                    / 1000
                    * park_grid.reindex(per_park.index.get_level_values(0)).to_numpy()
                )
                if scope == "park":
                    t["co2_scope2_t"] = park_co2
                else:
                    zone_of = meters.groupby(observed=True, by="park")["zone"].first()
                    z = park_co2.groupby(
                        observed=True,
                        by=[
                            zone_of.reindex(park_co2.index.get_level_values(0)).to_numpy(),
                            park_co2.index.get_level_values(1),
                        ],
                    ).sum()
                    t["co2_scope2_t"] = z.to_numpy()
            t["co2_total_t"] = t["co2_scope1_t"] + t["co2_scope2_t"]
            t["carbon_per_energy"] = t["co2_total_t"] / t["energy_tce"]
            t["water_reuse_rate"] = (
                100 * t["recycled_water"] / (t["recycled_water"] + t["fresh_water"])
            )
            t["peak_demand_kw"] = peak
            t["load_factor"] = 100 * mean / peak
            ex = exceed.reset_index()
            ex["period_start"] = ex["hour"].dt.floor(freq)
            ex = (
                ex.merge(
                    meters.groupby(observed=True, by="enterprise")[[scope]].first().reset_index(),
                    on="enterprise",
                )
                if scope != "enterprise"
                else ex
            )
            t["nox_exceed_h"] = ex.groupby(observed=True, by=[scope, "period_start"])[
                "exceed"
            ].sum()
            t = t.reset_index().rename(columns={scope: "id"})
            t["scope"], t["period"] = scope, period
            out.append(t)
    return pd.concat(out, ignore_index=True)


def compare(frame: pd.DataFrame, table: Any, names: tuple[str, ...]) -> dict[str, float]:
    """Largest relative difference per KPI between the pandas frame and a KpiTable."""
    worst: dict[str, float] = {}
    for row in frame.itertuples(index=False):
        start = int(row.period_start.timestamp() * 1000)
        for name in names:
            want = float(getattr(row, name))
            got = table.value(row.scope, row.id, row.period, start, name)
            if np.isfinite(want) and want != 0:
                worst[name] = max(worst.get(name, 0.0), abs(got - want) / abs(want))
    return worst
