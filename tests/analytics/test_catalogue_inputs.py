"""Each KPI's ``inputs`` in the catalogue: without any of them, the KPI is only a constant.

The dashboards leave out a KPI whose inputs their scope does not meter
(smartpark.grafana.needs), so an input missing from the catalogue would hide a KPI that
has data. Oracle: for every quantity, a registry whose one enterprise has one boundary
meter of that quantity, a day of readings, and every KPI the quantity is not an input of
must come out 0 or empty for the enterprise, its park and its zone.
"""

from __future__ import annotations

import numpy as np
import pytest

from smartpark.analytics.kpis.catalogue import KPIS
from smartpark.analytics.kpis.compute import compute_kpis
from smartpark.core import quantities
from smartpark.core.registry import POLLUTANTS

from .parks import DAY_MS, columns, day_ms, park_registry

START = day_ms(2026, 3, 1)
STEP_MS = 60_000
# Gauge values that make their KPIs non-zero where they count: a pollutant far above any
# limit, O2 below the reference, a load.
GAUGE = {"o2": 6.0, "ph": 7.0, **dict.fromkeys(POLLUTANTS, 900.0)}


def _one_meter_day(quantity: str) -> dict[str, np.ndarray]:
    q = quantities.BY_NAME[quantity]
    table = {"quantity": quantity, "interval_s": 60}
    if quantity in POLLUTANTS:
        table |= {"stack": "s1"}
    reg = park_registry({"m": table})
    times = range(START, START + DAY_MS + 1, STEP_MS)
    if q.nature == "counter":
        rows = [("m", t, 100.0 + k) for k, t in enumerate(times)]  # 1 unit a minute
    else:
        rows = [("m", t, GAUGE.get(quantity, 50.0)) for t in times]
    kpis = compute_kpis(reg, columns(reg, rows), START, START + DAY_MS, ["day"])
    return {
        kpi: np.concatenate(
            [
                kpis.block(scope, "day").values[kpi].ravel()
                for scope in ("enterprise", "park", "zone")
            ]
        )
        for kpi in KPIS
    }


@pytest.mark.parametrize("quantity", quantities.QUANTITY_NAMES)
def test_a_kpi_none_of_whose_inputs_is_metered_is_zero_or_empty(quantity: str) -> None:
    values = _one_meter_day(quantity)
    for kpi, spec in KPIS.items():
        if quantity in spec.inputs:
            continue
        v = values[kpi]
        assert np.all(np.isnan(v) | (v == 0)), (
            f"{kpi} = {v.tolist()} from a {quantity} meter alone: "
            f"add {quantity!r} to its inputs in analytics/kpis/catalogue.py (_INPUTS)"
        )


def test_every_kpi_names_inputs_that_are_quantities() -> None:
    for kpi, spec in KPIS.items():
        assert spec.inputs, kpi
        assert spec.inputs <= set(quantities.QUANTITY_NAMES), kpi


def test_a_metered_input_gives_the_kpi_a_value() -> None:
    """The other way round, where one meter is enough: inputs are not just any quantity."""
    for quantity, kpi in [
        ("pv_generation", "pv_kwh"),
        ("pv_generation", "renewable_share"),
        ("natural_gas", "co2_scope1_t"),
        ("heat", "co2_scope2_t"),
        ("recycled_water", "water_reuse_rate"),
        ("active_power", "peak_demand_kw"),
        ("nox", "nox_exceed_h"),
        ("wastewater_discharge", "wastewater_m3"),
    ]:
        assert quantity in KPIS[kpi].inputs
        assert np.nanmax(_one_meter_day(quantity)[kpi]) > 0, (quantity, kpi)


def test_a_kpi_is_metered_by_a_scope_measuring_one_of_its_inputs() -> None:
    so2 = KPIS["so2_kg"]
    assert so2.metered_by({"so2", "electricity_import"})
    assert not so2.metered_by({"nox", "electricity_import"})
    assert not so2.metered_by(set())
    energy = KPIS["energy_tce"]
    assert energy.metered_by({"natural_gas"})  # any one of its inputs is enough
    assert not energy.metered_by({"fresh_water"})
