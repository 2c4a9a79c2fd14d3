"""The monthly telemetry of the example zone, 2022-01 to 2025-12, built in code.

``examples/monthly-energy.csv`` is this table written out (``python -m
tests.analytics.landuse.example_months > examples/monthly-energy.csv``); a test keeps
the two equal. It is what the demo's meters would add up to per month, shaped so the
idle rules occur: battery-a stops in November 2024 (14 stopped months by 2025-12:
suspected_idle, stopped_1y, and with three loss years zombie_candidate), textile-a
runs at 20 % from October 2025 (suspected_idle only), carbon-fiber draws construction
power from its land grant (March 2023; no meter, so no rows, before) until production
starts in October 2024.
"""

from __future__ import annotations

import io
import math

import numpy as np

from smartpark.analytics.landuse.monthly import QUANTITIES, Monthly, month_code, month_label
from smartpark.analytics.landuse.park import start_ms
from smartpark.store.base import KpiRow

FIRST = month_code(2022, 1)
N_MONTHS = 48
NO_METER_BEFORE = {"carbon-fiber": month_code(2023, 3)}

# enterprise: (kWh per month, tce per tce of electricity, fresh water m3 per month)
PROFILE = {
    "alu-a": (15_000_000, 1.05, 30_000),
    "battery-a": (250_000, 1.0, 3_000),
    "carbon-fiber": (1_200_000, 2.0, 8_000),
    "chem-a": (3_000_000, 3.0, 40_000),
    "chem-b": (1_500_000, 2.5, 25_000),
    "chem-c": (60_000, 1.2, 1_500),
    "food-a": (20_000, 1.5, 800),
    "petro-utility": (2_000_000, 8.0, 90_000),
    "pv-glass": (4_000_000, 4.0, 20_000),
    "textile-a": (600_000, 2.0, 15_000),
}
TCE_PER_KWH = 0.0001229  # equivalent value of electricity (docs/kpis.md)


def activity(enterprise: str, code: int) -> float:
    """Share of normal operation in month ``code``."""
    if enterprise == "battery-a" and code >= month_code(2024, 11):
        return 0.08 if code % 2 else 0.03  # stopped, some months near zero
    if enterprise == "textile-a" and code >= month_code(2025, 10):
        return 0.20
    if enterprise == "carbon-fiber" and code < month_code(2024, 10):
        return 0.025  # construction power only
    return 1.0


def build() -> Monthly:
    ids = tuple(sorted(PROFILE))
    kwh = np.zeros((len(ids), N_MONTHS))
    tce = np.zeros_like(kwh)
    water = np.zeros_like(kwh)
    for e, ident in enumerate(ids):
        base_kwh, tce_factor, base_water = PROFILE[ident]
        for k in range(N_MONTHS):
            code = FIRST + k
            season = 1 + 0.05 * math.cos(2 * math.pi * (code % 12) / 12 + e)
            share = activity(ident, code) * season
            if code < NO_METER_BEFORE.get(ident, FIRST):
                kwh[e, k] = tce[e, k] = water[e, k] = np.nan
                continue
            kwh[e, k] = round(base_kwh * share)
            tce[e, k] = round(kwh[e, k] * TCE_PER_KWH * tce_factor, 3)
            water[e, k] = round(base_water * share)
    return Monthly(ids, FIRST, {"electricity_kwh": kwh, "energy_tce": tce, "fresh_water_m3": water})


def kpi_rows(timezone: str = "Asia/Shanghai") -> list[KpiRow]:
    """The table as the monthly enterprise KPIs ``smartpark kpi --write`` puts in a store."""
    monthly = build()
    rows = []
    for e, ident in enumerate(monthly.enterprises):
        for k in range(monthly.n_months):
            if math.isnan(monthly.values["electricity_kwh"][e, k]):
                continue  # no meter yet
            code = monthly.first + k
            start = start_ms(code // 12, code % 12 + 1, timezone)
            for q in QUANTITIES:
                value = float(monthly.values[q][e, k])
                rows.append(KpiRow("enterprise", ident, "month", q, start, value))
            rows.append(KpiRow("enterprise", ident, "month", "completeness", start, 100.0))
    return rows


def csv_text() -> str:
    monthly = build()
    out = io.StringIO()
    out.write("month,enterprise,electricity_kwh,energy_tce,fresh_water_m3\n")
    kwh, tce, water = (
        monthly.values[q] for q in ("electricity_kwh", "energy_tce", "fresh_water_m3")
    )
    for k in range(N_MONTHS):
        for e, ident in enumerate(monthly.enterprises):
            if np.isnan(kwh[e, k]):
                continue
            month = month_label(FIRST + k)
            out.write(f"{month},{ident},{kwh[e, k]:.0f},{tce[e, k]:.3f},{water[e, k]:.0f}\n")
    return out.getvalue()


if __name__ == "__main__":
    print(csv_text(), end="")
