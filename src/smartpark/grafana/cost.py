"""The park dashboard's cost panels: the cost KPIs of analytics/kpis/cost.py (docs/kpis.md).

Prices come from the registry's tariffs (docs/registry.md); a park without one shows no
cost (its cost KPIs are not written).
"""

from __future__ import annotations

from smartpark.analytics.kpis.cost import DEFAULT_PEAK_SHIFT
from smartpark.core.tariffs import PERIODS
from smartpark.grafana.kpis import KpiQuery, kpi_query, kpi_stat, kpi_timeseries, unit
from smartpark.grafana.panels import Panel, Row

TOU_NOTE = (
    "Imported electricity per time-of-use period of the park's tariff (sharp peak / "
    "peak / flat / valley, by the park's local time)."
)


def cost_panels() -> list[Panel | Row]:
    """Key cost figures, the time-of-use stacked bar and cost by carrier, per $period."""
    cny = unit("energy_cost_cny")

    def total(kpi: str) -> KpiQuery:
        return kpi_query("park", kpi, "$park", select='sum("value")', group_by='"kpi"')

    return [
        Row("Cost (KPIs per $period, priced with the registry's tariffs)"),
        kpi_stat(f"Energy cost ({cny})", total("energy_cost_cny"), decimals=0, width=6),
        kpi_stat(
            f"Electricity cost ({cny})",
            total("electricity_cost_cny"),
            decimals=0,
            width=6,
        ),
        kpi_stat(
            "Peak share (latest)",
            kpi_query("park", "peak_share", "$park", select='last("value")'),
            decimals=1,
            width=6,
        ),
        kpi_stat(
            f"Peak-shift saving ({cny})",
            total("peak_shift_saving_cny"),
            decimals=0,
            width=6,
            note=f"Computed with smartpark kpi --peak-shift (default {DEFAULT_PEAK_SHIFT:g} %).",
        ),
        kpi_timeseries(
            f"Electricity by time-of-use period ({unit('electricity_kwh_peak')})",
            [
                kpi_query("park", f"electricity_kwh_{p}", "$park", alias=f"$tag_id {p}")
                for p in PERIODS
            ],
            bars=True,
            stacked=True,
            width=12,
            note=TOU_NOTE,
        ),
        kpi_timeseries(
            f"Cost by carrier ({cny})",
            [
                kpi_query("park", "electricity_cost_cny", "$park", alias="$tag_id electricity"),
                kpi_query("park", "gas_cost_cny", "$park", alias="$tag_id gas"),
                kpi_query("park", "water_cost_cny", "$park", alias="$tag_id water"),
            ],
            bars=True,
            stacked=True,
            width=12,
        ),
        kpi_timeseries(
            f"Cost per output ({unit('cost_per_output')})",
            [kpi_query("park", "cost_per_output", "$park")],
            width=24,
        ),
    ]
