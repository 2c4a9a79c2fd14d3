"""The KPI catalogue: every KPI smartpark computes, with its unit and meaning.

Formulas and coefficient sources: ``docs/kpis.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Group = Literal["energy", "carbon", "water", "waste", "emissions", "quality", "cost"]


@dataclass(frozen=True, slots=True)
class KpiSpec:
    name: str
    unit: str
    group: Group
    description: str


_SPECS: Final[tuple[KpiSpec, ...]] = (
    KpiSpec(
        "electricity_kwh",
        "kWh",
        "energy",
        "net purchased electricity: import + green import - export",
    ),
    KpiSpec("pv_kwh", "kWh", "energy", "on-site photovoltaic generation"),
    KpiSpec("wind_kwh", "kWh", "energy", "on-site wind generation"),
    KpiSpec(
        "energy_tce", "tce", "energy", "energy consumption in tonnes of standard coal (GB/T 2589)"
    ),
    KpiSpec("renewable_share", "%", "energy", "on-site renewable electricity / energy_tce"),
    KpiSpec(
        "clean_energy_share",
        "%",
        "energy",
        "(on-site renewable + green purchase [+ gas]) / energy_tce",
    ),
    KpiSpec(
        "peak_demand_kw", "kW", "energy", "largest 15-minute mean demand (coincident for the scope)"
    ),
    KpiSpec("load_factor", "%", "energy", "mean 15-minute demand / peak demand"),
    KpiSpec("co2_scope1_t", "tCO2", "carbon", "direct emissions from fuels (gas, coal, diesel)"),
    KpiSpec("co2_scope2_t", "tCO2", "carbon", "purchased electricity (net, >= 0) and heat/steam"),
    KpiSpec(
        "co2_scope2_market_t",
        "tCO2",
        "carbon",
        "market-based scope 2: electricity net of green certificates x residual factor, + heat",
    ),
    KpiSpec("co2_total_t", "tCO2", "carbon", "scope 1 + scope 2"),
    KpiSpec(
        "carbon_per_energy",
        "tCO2/tce",
        "carbon",
        "co2_total_t / energy_tce (zero-carbon park indicator)",
    ),
    KpiSpec(
        "carbon_intensity", "tCO2/10k CNY", "carbon", "co2_total_t per 10 000 CNY output value"
    ),
    KpiSpec("energy_intensity", "tce/10k CNY", "carbon", "energy_tce per 10 000 CNY output value"),
    KpiSpec("output_value_cny", "CNY", "carbon", "output value (the intensities' denominator)"),
    KpiSpec("fresh_water_m3", "m3", "water", "fresh water intake"),
    KpiSpec("water_reuse_rate", "%", "water", "recycled / (recycled + fresh)"),
    KpiSpec("wastewater_m3", "m3", "water", "wastewater discharged"),
    KpiSpec("water_intensity", "m3/10k CNY", "water", "fresh water per 10 000 CNY output value"),
    KpiSpec("solid_waste_utilisation_rate", "%", "waste", "solid waste utilised / generated"),
    KpiSpec("so2_kg", "kg", "emissions", "SO2 mass (O2-corrected concentration x flue gas flow)"),
    KpiSpec("nox_kg", "kg", "emissions", "NOx mass"),
    KpiSpec("particulate_kg", "kg", "emissions", "particulate mass"),
    KpiSpec(
        "so2_exceed_h", "h", "emissions", "hours whose mean SO2 concentration is above the limit"
    ),
    KpiSpec(
        "nox_exceed_h", "h", "emissions", "hours whose mean NOx concentration is above the limit"
    ),
    KpiSpec(
        "particulate_exceed_h", "h", "emissions", "hours whose mean particulate is above the limit"
    ),
    KpiSpec(
        "completeness",
        "%",
        "quality",
        "usable samples received / expected, over the scope's meters",
    ),
    KpiSpec("resets", "count", "quality", "counter resets and rollovers handled"),
    KpiSpec("spikes_dropped", "count", "quality", "impossible counter readings dropped"),
    KpiSpec(
        "stale_meters",
        "count",
        "quality",
        "meters with no reading in the last 5 intervals of the period",
    ),
)

# Cost KPIs (analytics/cost.py): priced with the registry's tariffs (docs/registry.md).
_COST_SPECS: Final[tuple[KpiSpec, ...]] = (
    *(
        KpiSpec(f"electricity_kwh_{p}", "kWh", "cost", f"electricity imported in {p} hours")
        for p in ("sharp", "peak", "flat", "valley")
    ),
    KpiSpec(
        "electricity_cost_cny",
        "CNY",
        "cost",
        "electricity energy charge by time-of-use period + demand or capacity charge",
    ),
    KpiSpec("gas_cost_cny", "CNY", "cost", "natural gas at its tariff"),
    KpiSpec("water_cost_cny", "CNY", "cost", "fresh water at its tariff"),
    KpiSpec("energy_cost_cny", "CNY", "cost", "electricity + gas + steam + heat cost"),
    KpiSpec(
        "cost_per_output",
        "CNY/10k CNY",
        "cost",
        "energy and water cost per 10 000 CNY output value",
    ),
    KpiSpec("peak_share", "%", "cost", "sharp + peak kWh / imported kWh"),
    KpiSpec(
        "peak_shift_saving_cny",
        "CNY",
        "cost",
        "energy charge saved by moving X % (smartpark kpi --peak-shift) of sharp and peak kWh "
        "into valley hours",
    ),
)

KPIS: Final[dict[str, KpiSpec]] = {s.name: s for s in (*_SPECS, *_COST_SPECS)}
KPI_NAMES: Final[tuple[str, ...]] = tuple(KPIS)


def unit(name: str) -> str:
    return KPIS[name].unit
