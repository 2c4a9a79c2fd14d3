"""Energy in tonnes of standard coal (GB/T 2589) from consumption channels: the one
formula of ``energy_tce`` for enterprises (analytics/kpis/compute.py) and for products'
energy boundaries (analytics/products/unit_energy.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from smartpark.analytics.readings.series import FloatArray

Factor = Callable[[str], FloatArray]


def electricity_kwh(ch: Mapping[str, FloatArray]) -> FloatArray:
    """Electricity consumed: net import (import + green import - export) + on-site
    renewable generation."""
    net = ch["electricity_import"] + ch["green_electricity_import"] - ch["electricity_export"]
    return net + (ch["pv_generation"] + ch["wind_generation"])


def energy_tce(ch: Mapping[str, FloatArray], f: Factor) -> FloatArray:
    """tce of the channels (canonical units), ``f(name)`` each coefficient per row and
    cell (its park's factor set)."""
    return (
        electricity_kwh(ch) * f("electricity_tce_per_kwh")
        + ch["natural_gas"] * f("natural_gas_tce_per_m3")
        + ch["coal"] * f("coal_tce_per_t")
        + ch["diesel"] * f("diesel_tce_per_t")
        + ch["heat"] * f("heat_tce_per_gj")
        + ch["steam"] * f("steam_tce_per_t")
    )
