"""The KPI catalogue: every KPI smartpark computes, with its unit and meaning.

Each KPI has its English description, an English label (``en``, a table header's words:
"Energy consumption") and its Chinese name (``zh``), the official term where one exists
(GB/T 2589 综合能源消费量, the zero-carbon park notice's 单位能耗碳排放, ...), so reports
and tables in either language read their labels from here (:meth:`KpiSpec.label`). The
machine name (``energy_tce``) stays the KPI's name in the API, CSV, JSON and the store.
Each KPI also names its ``inputs``: the quantities it is computed from (below, at
:data:`_INPUTS`). Formulas and coefficient sources: ``docs/kpis.md``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Final, Literal

from smartpark.core import quantities
from smartpark.core.registry import POLLUTANTS

Group = Literal["energy", "carbon", "water", "waste", "emissions", "quality", "cost", "product"]


@dataclass(frozen=True, slots=True)
class KpiSpec:
    name: str
    unit: str
    group: Group
    description: str
    en: str = ""  # the English label (_EN)
    zh: str = ""  # the Chinese name (_ZH)
    inputs: frozenset[str] = frozenset()  # the quantities it is computed from (_INPUTS)

    def metered_by(self, quantities: Collection[str]) -> bool:
        """Whether a scope whose boundary meters measure ``quantities`` gets a real value
        of this KPI: one of its ``inputs`` is among them (else the KPI is only a
        constant, 0 or no value, and a page or dashboard shows nothing for it)."""
        return not self.inputs.isdisjoint(quantities)

    def label(self, lang: str) -> str:
        """The KPI's label in ``lang``: "zh" the Chinese term, else the English label
        ("Energy consumption"); the machine name for a spec built without them."""
        return (self.zh if lang == "zh" else self.en) or self.name


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
    KpiSpec(
        "energy_target_tce",
        "tce",
        "energy",
        "energy for dual-control targets: energy_tce - new_renewable_tce - feedstock_tce",
    ),
    KpiSpec(
        "new_renewable_tce",
        "tce",
        "energy",
        "energy_tce of new renewable supplies (meters flagged new_renewable)",
    ),
    KpiSpec(
        "feedstock_tce", "tce", "energy", "energy_tce of feedstock meters (energy as raw material)"
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
    KpiSpec(
        "energy_intensity_va",
        "tce/10k CNY",
        "carbon",
        "energy_target_tce per 10 000 CNY of industrial value added (dual control)",
    ),
    KpiSpec(
        "carbon_intensity_va",
        "tCO2/10k CNY",
        "carbon",
        "co2_total_t per 10 000 CNY of industrial value added (dual control)",
    ),
    KpiSpec(
        "value_added_10k_cny",
        "10k CNY",
        "carbon",
        "industrial value added entered per enterprise and month (smartpark import value-added)",
    ),
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

# Cost KPIs (analytics/kpis/cost.py): priced with the registry's tariffs (docs/registry.md).
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

# The Chinese names: the official terms of the national statistics and notices.
_ZH: Final[dict[str, str]] = {
    "electricity_kwh": "净购入电量",
    "pv_kwh": "光伏发电量",
    "wind_kwh": "风力发电量",
    "energy_tce": "综合能源消费量",
    "energy_target_tce": "纳入考核的能源消费量",
    "new_renewable_tce": "新增可再生能源消费量",
    "feedstock_tce": "原料用能消费量",
    "renewable_share": "可再生能源消费占比",
    "clean_energy_share": "清洁能源消费占比",
    "peak_demand_kw": "最大需量",
    "load_factor": "负荷率",
    "co2_scope1_t": "直接二氧化碳排放量（范围一）",
    "co2_scope2_t": "间接二氧化碳排放量（范围二）",
    "co2_scope2_market_t": "间接二氧化碳排放量（范围二，市场法）",
    "co2_total_t": "二氧化碳排放总量",
    "carbon_per_energy": "单位能耗碳排放",
    "carbon_intensity": "万元产值碳排放",
    "energy_intensity": "万元产值综合能耗",
    "output_value_cny": "工业总产值",
    "energy_intensity_va": "万元工业增加值能耗",
    "carbon_intensity_va": "万元工业增加值二氧化碳排放",
    "value_added_10k_cny": "工业增加值",
    "fresh_water_m3": "新鲜水取水量",
    "water_reuse_rate": "工业用水重复利用率",
    "wastewater_m3": "废水排放量",
    "water_intensity": "万元产值取水量",
    "solid_waste_utilisation_rate": "一般工业固体废物综合利用率",
    "so2_kg": "二氧化硫排放量",
    "nox_kg": "氮氧化物排放量",
    "particulate_kg": "颗粒物排放量",
    "so2_exceed_h": "二氧化硫超标小时数",
    "nox_exceed_h": "氮氧化物超标小时数",
    "particulate_exceed_h": "颗粒物超标小时数",
    "completeness": "数据完整率",
    "resets": "计量表复位次数",
    "spikes_dropped": "剔除异常读数数",
    "stale_meters": "数据中断计量表数",
    "electricity_kwh_sharp": "尖峰时段电量",
    "electricity_kwh_peak": "高峰时段电量",
    "electricity_kwh_flat": "平段电量",
    "electricity_kwh_valley": "低谷时段电量",
    "electricity_cost_cny": "电费",
    "gas_cost_cny": "天然气费",
    "water_cost_cny": "水费",
    "energy_cost_cny": "能源费用",
    "cost_per_output": "万元产值能源及水费用",
    "peak_share": "尖峰及高峰电量占比",
    "peak_shift_saving_cny": "移峰填谷可节省电费",
}

# The English labels: short, as a table header says it, and the same things the Chinese
# names say (净购入电量: net purchased electricity).
_EN: Final[dict[str, str]] = {
    "electricity_kwh": "Net purchased electricity",
    "pv_kwh": "PV generation",
    "wind_kwh": "Wind generation",
    "energy_tce": "Energy consumption",
    "energy_target_tce": "Energy consumption, target accounting",
    "new_renewable_tce": "New renewable energy",
    "feedstock_tce": "Feedstock energy",
    "renewable_share": "Renewable energy share",
    "clean_energy_share": "Clean energy share",
    "peak_demand_kw": "Peak demand",
    "load_factor": "Load factor",
    "co2_scope1_t": "CO2, scope 1",
    "co2_scope2_t": "CO2, scope 2",
    "co2_scope2_market_t": "CO2, scope 2 (market-based)",
    "co2_total_t": "CO2, total",
    "carbon_per_energy": "CO2 per unit of energy",
    "carbon_intensity": "CO2 per output value",
    "energy_intensity": "Energy per output value",
    "output_value_cny": "Industrial output value",
    "energy_intensity_va": "Energy per value added",
    "carbon_intensity_va": "CO2 per value added",
    "value_added_10k_cny": "Industrial value added",
    "fresh_water_m3": "Fresh water intake",
    "water_reuse_rate": "Water reuse rate",
    "wastewater_m3": "Wastewater discharged",
    "water_intensity": "Water per output value",
    "solid_waste_utilisation_rate": "Solid waste utilisation rate",
    "so2_kg": "SO2 emissions",
    "nox_kg": "NOx emissions",
    "particulate_kg": "Particulate emissions",
    "so2_exceed_h": "SO2, hours above the limit",
    "nox_exceed_h": "NOx, hours above the limit",
    "particulate_exceed_h": "Particulates, hours above the limit",
    "completeness": "Data completeness",
    "resets": "Meter resets",
    "spikes_dropped": "Abnormal readings dropped",
    "stale_meters": "Silent meters",
    "electricity_kwh_sharp": "Electricity, sharp-peak hours",
    "electricity_kwh_peak": "Electricity, peak hours",
    "electricity_kwh_flat": "Electricity, flat hours",
    "electricity_kwh_valley": "Electricity, valley hours",
    "electricity_cost_cny": "Electricity cost",
    "gas_cost_cny": "Natural gas cost",
    "water_cost_cny": "Water cost",
    "energy_cost_cny": "Energy cost",
    "cost_per_output": "Energy and water cost per output value",
    "peak_share": "Electricity share, sharp and peak hours",
    "peak_shift_saving_cny": "Peak-shift saving",
}

# The quantities each KPI is computed from. A scope none of whose boundary meters
# measures one of them still gets the KPI, but only as a constant (0, or no value), so a
# dashboard leaves it out (docs/deploy.md, "Dashboards are generated, not edited"). A share
# or intensity names what its denominator is computed from: 0 % renewable energy is a
# figure of a scope that meters energy. Value added is entered, never metered: it and
# the intensities per value added name the quantities of the energy and CO2 they are
# set beside. tests/analytics/test_catalogue_inputs.py checks,
# quantity by quantity, that a KPI without any of its inputs is never anything else.
_ELECTRICITY: Final = ("electricity_import", "green_electricity_import", "electricity_export")
_RENEWABLE: Final = ("pv_generation", "wind_generation")
_FUELS: Final = ("natural_gas", "coal", "diesel")  # scope 1
_BOUGHT: Final = ("electricity_import", "electricity_export", "heat", "steam")  # scope 2
_ENERGY: Final = (*_ELECTRICITY, *_RENEWABLE, *_FUELS, "heat", "steam")  # energy_tce's
_COUNTERS: Final = tuple(q.name for q in quantities.QUANTITIES if q.nature == "counter")
_EVERY: Final = quantities.QUANTITY_NAMES  # of every meter (data quality)
_INPUTS: Final[dict[str, tuple[str, ...]]] = {
    "electricity_kwh": _ELECTRICITY,
    "pv_kwh": ("pv_generation",),
    "wind_kwh": ("wind_generation",),
    "energy_tce": _ENERGY,
    "energy_target_tce": _ENERGY,
    "new_renewable_tce": ("pv_generation", "wind_generation", "green_electricity_import"),
    "feedstock_tce": ("natural_gas", "coal", "diesel", "steam", "heat"),
    "renewable_share": _ENERGY,
    "clean_energy_share": _ENERGY,
    "peak_demand_kw": ("active_power", "electricity_import"),  # else 4 x import per quarter
    "load_factor": ("active_power", "electricity_import"),
    "co2_scope1_t": _FUELS,
    "co2_scope2_t": _BOUGHT,
    "co2_scope2_market_t": _BOUGHT,
    "co2_total_t": (*_FUELS, *_BOUGHT),
    "carbon_per_energy": _ENERGY,
    "carbon_intensity": ("output_value",),
    "energy_intensity": ("output_value",),
    "output_value_cny": ("output_value",),
    "energy_intensity_va": _ENERGY,
    "carbon_intensity_va": (*_FUELS, *_BOUGHT),
    "value_added_10k_cny": _ENERGY,
    "fresh_water_m3": ("fresh_water",),
    "water_reuse_rate": ("fresh_water", "recycled_water"),
    "wastewater_m3": ("wastewater_discharge",),
    "water_intensity": ("output_value",),
    "solid_waste_utilisation_rate": ("solid_waste_generated",),
    **{f"{p}_kg": (p,) for p in POLLUTANTS},
    **{f"{p}_exceed_h": (p,) for p in POLLUTANTS},
    "completeness": _EVERY,
    "resets": _COUNTERS,
    "spikes_dropped": _COUNTERS,
    "stale_meters": _EVERY,
    **{
        f"electricity_kwh_{p}": ("electricity_import",) for p in ("sharp", "peak", "flat", "valley")
    },
    "electricity_cost_cny": ("electricity_import",),
    "gas_cost_cny": ("natural_gas",),
    "water_cost_cny": ("fresh_water",),
    "energy_cost_cny": ("electricity_import", "natural_gas", "steam", "heat"),
    "cost_per_output": ("output_value",),
    "peak_share": ("electricity_import",),
    "peak_shift_saving_cny": ("electricity_import",),
}


def _check_complete(names: tuple[str, ...], **tables: Mapping[str, object]) -> None:
    """Every KPI has an entry in each of ``tables``, and no table names an unknown KPI."""
    for table, entries in tables.items():
        missing = [n for n in names if n not in entries]
        unknown = [n for n in entries if n not in names]
        fixes = [f"add {n!r}" for n in missing] + [f"remove {n!r} (no such KPI)" for n in unknown]
        if fixes:
            raise RuntimeError(f"analytics/kpis/catalogue.py, {table}: {'; '.join(fixes)}")


_check_complete(tuple(s.name for s in (*_SPECS, *_COST_SPECS)), _EN=_EN, _ZH=_ZH, _INPUTS=_INPUTS)

KPIS: Final[dict[str, KpiSpec]] = {
    s.name: replace(s, en=_EN[s.name], zh=_ZH[s.name], inputs=frozenset(_INPUTS[s.name]))
    for s in (*_SPECS, *_COST_SPECS)
}
KPI_NAMES: Final[tuple[str, ...]] = tuple(KPIS)

# The KPIs of a product (scope "product", analytics/products/unit_energy.py): its
# unit-product energy graded against its standard (core/unit_energy_limits.csv).
# ``completeness`` is the product's too (of its boundary and output meters).
_ENERGY_IN: Final = frozenset(_ENERGY)
PRODUCT_KPIS: Final[dict[str, KpiSpec]] = {
    s.name: s
    for s in (
        KpiSpec(
            "product_output",
            "t",
            "product",
            "output: the output meter's count, or the entered output covering the period",
            "Product output",
            "产品产量",
            frozenset({"product_output"}),
        ),
        KpiSpec(
            "product_energy_tce",
            "tce",
            "product",
            "energy of the product's boundary meters (GB/T 2589)",
            "Product energy consumption",
            "产品综合能耗",
            _ENERGY_IN,
        ),
        KpiSpec(
            "product_electricity_kwh",
            "kWh",
            "product",
            "electricity of the product's boundary: net import + on-site generation",
            "Product electricity consumption",
            "产品耗电量",
            frozenset(_ELECTRICITY),
        ),
        KpiSpec(
            "unit_energy_kgce",
            "kgce/t",
            "product",
            "1000 x product_energy_tce / product_output",
            "Energy per unit of product",
            "单位产品综合能耗",
            _ENERGY_IN,
        ),
        KpiSpec(
            "unit_electricity_kwh",
            "kWh/t",
            "product",
            "product_electricity_kwh / product_output",
            "Electricity per unit of product",
            "单位产品电耗",
            frozenset(_ELECTRICITY),
        ),
        KpiSpec(
            "benchmark_value",
            "kgce/t or kWh/t",
            "product",
            "the unit value its standard grades (unit_energy_kgce or unit_electricity_kwh)",
            "Graded unit value",
            "对标值",
            _ENERGY_IN,
        ),
        KpiSpec(
            "limit_value",
            "kgce/t or kWh/t",
            "product",
            "the standard's level 3 (the limit), corrected for the plant",
            "Limit (level 3)",
            "限定值（3级）",
            _ENERGY_IN,
        ),
        KpiSpec(
            "benchmark_level",
            "level",
            "product",
            "1, 2 or 3: the best level met; 4: above the limit",
            "Level reached",
            "能耗等级",
            _ENERGY_IN,
        ),
        KpiSpec(
            "gap_to_next_level",
            "kgce/t or kWh/t",
            "product",
            "benchmark_value minus the next better level's value",
            "Gap to the next level",
            "距上一等级差距",
            _ENERGY_IN,
        ),
        replace(KPIS["completeness"], description="usable samples / expected, its meters"),
    )
}
# Rows written beside the computed KPIs: a dual-control target's monthly energy plan
# (analytics/dualcontrol/planrows.py, ``smartpark targets --write``).
WRITTEN_KPIS: Final[dict[str, KpiSpec]] = {
    "energy_plan_tce": KpiSpec(
        "energy_plan_tce",
        "tce",
        "energy",
        "the month's energy plan of a dual-control target, written by smartpark targets --write",
        "Energy plan",
        "能源消费计划",
        frozenset(_ENERGY),
    )
}
# Every KPI name a KPI table or the store may carry: the scopes', the products', the plans'.
ALL_KPIS: Final[dict[str, KpiSpec]] = (
    KPIS | {k: spec for k, spec in PRODUCT_KPIS.items() if k not in KPIS} | WRITTEN_KPIS
)


def unit(name: str) -> str:
    return ALL_KPIS[name].unit
