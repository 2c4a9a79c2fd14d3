"""Known-answer tests for the KPI formulas (docs/kpis.md, "Known-answer checks")."""

from typing import Any

import numpy as np
import pytest

from smartpark.analytics.kpis import catalogue
from smartpark.analytics.kpis.compute import compute_kpis
from smartpark.analytics.kpis.table import KpiTable
from smartpark.analytics.readings import emissions

from .parks import DAY_MS, HOUR_MS, columns, day_ms, park_registry

START = day_ms(2026, 11, 1)
MIN = 60_000


def one_day(meters: dict[str, dict[str, Any]], deltas: dict[str, float], **kw: Any) -> KpiTable:
    """Each counter meter reads 0 at the day's start and ``delta`` at its end."""
    reg = park_registry(meters, **kw)
    rows = []
    for m, d in deltas.items():
        rows += [(m, START, 0.0), (m, START + DAY_MS, d)]
    return compute_kpis(reg, columns(reg, rows), START, START + DAY_MS, ["day"])


def day_value(table: KpiTable, kpi: str, scope: str = "enterprise", ident: str = "e1") -> float:
    return table.value(scope, ident, "day", START, kpi)  # type: ignore[arg-type]


IMPORT = {"quantity": "electricity_import", "interval_s": 60}


def test_1000_kwh_is_0_1229_tce_and_0_5306_tco2_with_defaults() -> None:
    table = one_day({"m": IMPORT}, {"m": 1000.0})
    assert day_value(table, "electricity_kwh") == pytest.approx(1000.0)
    assert day_value(table, "energy_tce") == pytest.approx(0.1229)
    assert day_value(table, "co2_scope2_t") == pytest.approx(0.5306)
    assert day_value(table, "co2_total_t") == pytest.approx(0.5306)
    assert day_value(table, "carbon_per_energy") == pytest.approx(0.5306 / 0.1229)
    assert table.block("enterprise", "day").factors_versions == ("cn-2023-national",)


def test_northwest_grid_factor_gives_0_5543_and_names_its_factor_set() -> None:
    park = {"factors": {"grid_tco2_per_mwh": 0.5543, "factors_version": "cn-2023-northwest"}}
    table = one_day({"m": IMPORT}, {"m": 1000.0}, park=park)
    assert day_value(table, "co2_scope2_t") == pytest.approx(0.5543)
    assert day_value(table, "co2_scope2_t", "park", "p1") == pytest.approx(0.5543)
    assert day_value(table, "co2_scope2_t", "zone", "z1") == pytest.approx(0.5543)
    assert table.block("park", "day").factors_versions == ("cn-2023-northwest",)


def test_1000_m3_natural_gas_is_1_2143_tce_and_2_162_tco2() -> None:
    table = one_day({"g": {"quantity": "natural_gas"}}, {"g": 1000.0})
    assert day_value(table, "energy_tce") == pytest.approx(1.2143)
    assert day_value(table, "co2_scope1_t") == pytest.approx(2.162)
    assert day_value(table, "co2_scope2_t") == 0.0
    assert day_value(table, "clean_energy_share") == 0.0


def test_clean_share_counts_gas_only_where_the_park_says_so() -> None:
    meters = {"g": {"quantity": "natural_gas"}, "pv": {"quantity": "pv_generation"}}
    deltas = {"g": 1000.0, "pv": 1000.0}
    plain = one_day(meters, deltas)
    gas_clean = one_day(meters, deltas, park={"clean_includes_natural_gas": True})
    total = 1.2143 + 0.1229
    assert day_value(plain, "renewable_share") == pytest.approx(100 * 0.1229 / total)
    assert day_value(plain, "clean_energy_share") == pytest.approx(100 * 0.1229 / total)
    assert day_value(gas_clean, "clean_energy_share") == pytest.approx(100.0)


def test_green_electricity_has_no_scope2_and_export_nets_import() -> None:
    meters = {
        "imp": IMPORT,
        "exp": {"quantity": "electricity_export"},
        "green": {"quantity": "green_electricity_import"},
    }
    table = one_day(meters, {"imp": 3000.0, "exp": 1000.0, "green": 500.0})
    assert day_value(table, "electricity_kwh") == pytest.approx(2500.0)
    assert day_value(table, "co2_scope2_t") == pytest.approx(2.0 * 0.5306)
    assert day_value(table, "clean_energy_share") == pytest.approx(100 * 500 / 2500)
    exporter = one_day(meters, {"imp": 1000.0, "exp": 3000.0, "green": 0.0})
    assert day_value(exporter, "co2_scope2_t") == 0.0  # max(0, import - export)


def test_heat_and_steam_scope2_and_intensities() -> None:
    meters = {
        "heat": {"quantity": "heat"},
        "steam": {"quantity": "steam"},
        "out": {"quantity": "output_value", "interval_s": 3600},
        "fresh": {"quantity": "fresh_water"},
        "rec": {"quantity": "recycled_water"},
    }
    table = one_day(
        meters, {"heat": 100.0, "steam": 10.0, "out": 1e6, "fresh": 200.0, "rec": 800.0}
    )
    steam_gj = 10 * 0.1286 / 0.03412
    co2 = (100 + steam_gj) * 0.11
    tce = 100 * 0.03412 + 10 * 0.1286
    assert day_value(table, "co2_scope2_t") == pytest.approx(co2)
    assert day_value(table, "energy_tce") == pytest.approx(tce)
    assert day_value(table, "carbon_intensity") == pytest.approx(co2 / 100)
    assert day_value(table, "energy_intensity") == pytest.approx(tce / 100)
    assert day_value(table, "water_intensity") == pytest.approx(200 / 100)
    assert day_value(table, "water_reuse_rate") == pytest.approx(80.0)


def test_solid_waste_utilisation_and_coal_diesel_factors() -> None:
    meters = {
        "gen": {"quantity": "solid_waste_generated", "interval_s": 86400},
        "used": {"quantity": "solid_waste_utilised", "interval_s": 86400},
        "coal": {"quantity": "coal"},
        "diesel": {"quantity": "diesel"},
    }
    table = one_day(meters, {"gen": 10.0, "used": 8.5, "coal": 1.0, "diesel": 1.0})
    assert day_value(table, "solid_waste_utilisation_rate") == pytest.approx(85.0)
    assert day_value(table, "co2_scope1_t") == pytest.approx(1.900 + 3.096)
    assert day_value(table, "energy_tce") == pytest.approx(0.7143 + 1.4571)


def test_sub_meters_never_add_to_totals() -> None:
    meters = {"main": IMPORT, "line": {**IMPORT, "role": "sub", "parent": "main"}}
    table = one_day(meters, {"main": 1000.0, "line": 600.0})
    for scope, ident in (("enterprise", "e1"), ("park", "p1"), ("zone", "z1")):
        assert day_value(table, "electricity_kwh", scope, ident) == pytest.approx(1000.0)


def test_park_and_zone_sum_their_enterprises_with_each_parks_factor() -> None:
    reg_meters = {
        "a": {**IMPORT, "enterprise": "e1"},
        "b": {**IMPORT, "enterprise": "e2"},
        "c": {**IMPORT, "enterprise": "e3"},
    }
    table = one_day(
        reg_meters,
        {"a": 1000.0, "b": 2000.0, "c": 1000.0},
        enterprises=("e1", "e2", "e3"),
        extra_parks={"p2": {"factors": {"grid_tco2_per_mwh": 0.5543}}},
        enterprise_park={"e3": "p2"},
    )
    assert day_value(table, "electricity_kwh", "park", "p1") == pytest.approx(3000.0)
    assert day_value(table, "co2_scope2_t", "park", "p2") == pytest.approx(0.5543)
    assert day_value(table, "co2_scope2_t", "zone", "z1") == pytest.approx(3 * 0.5306 + 0.5543)
    zone = table.block("zone", "day")
    assert zone.factors_versions == ("cn-2023-national,cn-2023-national+p2",)


def test_o2_correction_40_mg_at_6_percent_to_3_5_is_46_67() -> None:
    assert emissions.o2_corrected(np.array([40.0]), np.array([6.0]), np.array([3.5]))[
        0
    ] == pytest.approx(46.6667, abs=1e-4)
    assert np.isnan(emissions.o2_corrected(np.array([40.0]), np.array([21.0]), np.array([3.5]))[0])


@pytest.mark.parametrize("dense", [True, False])
def test_stack_mass_and_exceedance_hours(dense: bool) -> None:
    stack = {"stack": "boiler"}
    meters = {
        "nox": {"quantity": "nox", "o2_ref": 3.5, **stack},
        "o2": {"quantity": "o2", **stack},
        "flow": {"quantity": "flue_gas_flow", **stack},
    }
    reg = park_registry(meters, park={"limits": {"nox": 45.0}})
    rows = []
    for k in range(0, 120):  # two hours of minute samples
        t = START + k * MIN
        nox = 40.0 if k < 60 else 30.0  # first hour 46.67 corrected (> 45), second 35 (<)
        rows += [("nox", t, nox), ("o2", t, 6.0), ("flow", t, 10_000.0)]
    if not dense:
        rows.append(("o2", START + 30 * MIN + 1, 6.0))  # breaks the shared timestamp row
    table = compute_kpis(
        reg, columns(reg, rows), START, START + 2 * HOUR_MS, ["hour"], use_dense=dense
    )
    nox_kg = table.block("enterprise", "hour").values["nox_kg"][0]
    assert nox_kg.tolist() == pytest.approx([40 * 17.5 / 15 * 0.01, 30 * 17.5 / 15 * 0.01])
    exceed = table.block("enterprise", "hour").values["nox_exceed_h"][0]
    assert exceed.tolist() == [1.0, 0.0]
    assert table.block("park", "hour").values["nox_exceed_h"][0].tolist() == [1.0, 0.0]


@pytest.mark.parametrize("dense", [True, False])
def test_peak_demand_from_power_and_from_import(dense: bool) -> None:
    meters = {
        "p": {"quantity": "active_power", "interval_s": 60},
        "imp2": {**IMPORT, "enterprise": "e2"},
    }
    reg = park_registry(meters, enterprises=("e1", "e2"))
    rows = []
    for k in range(60):
        t = START + k * MIN
        rows.append(("p", t, 100.0 if k < 45 else 400.0))
        rows.append(("imp2", t, 10.0 * k))  # 10 kWh a minute = 600 kW
    rows.append(("imp2", START + HOUR_MS, 600.0))
    if not dense:
        rows.append(("p", START + 59 * MIN + 30_000, 400.0))
    table = compute_kpis(reg, columns(reg, rows), START, START + HOUR_MS, ["hour"], use_dense=dense)
    hour = table.block("enterprise", "hour")
    assert hour.values["peak_demand_kw"][:, 0].tolist() == pytest.approx([400.0, 600.0])
    assert hour.values["load_factor"][:, 0].tolist() == pytest.approx([100 * 175 / 400, 100.0])
    park = table.value("park", "p1", "hour", START, "peak_demand_kw")
    assert park == pytest.approx(1000.0)  # coincident: both peak in the last quarter


def test_month_follows_the_park_time_zone_across_month_end() -> None:
    reg = park_registry({"m": IMPORT})
    nov, dec = day_ms(2026, 11, 1), day_ms(2026, 12, 1)
    # 10 kWh in the last local minute of November, 20 in the first of December.
    rows = [("m", dec - MIN, 0.0), ("m", dec, 10.0), ("m", dec + MIN, 30.0)]
    table = compute_kpis(reg, columns(reg, rows), nov, day_ms(2027, 1, 1), ["month"])
    months = table.block("enterprise", "month")
    assert months.starts.tolist() == [nov, dec]
    assert months.values["electricity_kwh"][0].tolist() == pytest.approx([10.0, 20.0])
    assert dec == 1_796_054_400_000  # 2026-11-30T16:00Z: December in Shanghai


def test_completeness_flags_missing_samples() -> None:
    reg = park_registry({"m": IMPORT})
    rows = [("m", START + k * MIN, float(k)) for k in range(60) if k % 2 == 0]
    table = compute_kpis(reg, columns(reg, rows), START, START + HOUR_MS, ["hour"])
    block = table.block("enterprise", "hour")
    assert block.values["completeness"][0, 0] == pytest.approx(50.0)
    assert block.incomplete()[0, 0]


def test_every_kpi_is_in_the_catalogue_with_a_unit() -> None:
    table = one_day({"m": IMPORT}, {"m": 1.0})
    assert set(table.block("park", "day").values) == set(catalogue.KPI_NAMES)
    assert catalogue.unit("energy_tce") == "tce"
    assert all(spec.unit for spec in catalogue.KPIS.values())


def test_zone_and_park_in_different_time_zones_each_use_their_own_days() -> None:
    reg = park_registry({"m": IMPORT}, park={"timezone": "Asia/Kolkata"})
    kolkata = day_ms(2026, 11, 2, "Asia/Kolkata")  # 2026-11-01T18:30Z
    shanghai = day_ms(2026, 11, 2)  # 2026-11-01T16:00Z
    # 1 kWh a minute from 16:00Z to 20:00Z (Shanghai's day 2 starts at 16:00Z, Kolkata's
    # at 18:30Z).
    rows = [("m", shanghai + k * MIN, float(k)) for k in range(241)]
    table = compute_kpis(reg, columns(reg, rows), shanghai - DAY_MS, shanghai + 2 * DAY_MS, ["day"])
    assert table.value("zone", "z1", "day", shanghai, "electricity_kwh") == pytest.approx(240)
    assert table.value("park", "p1", "day", kolkata, "electricity_kwh") == pytest.approx(90)
    assert table.value("park", "p1", "day", kolkata - DAY_MS, "electricity_kwh") == pytest.approx(
        150
    )
    assert table.block("park", "day").timezone == "Asia/Kolkata"


def test_bad_input_is_a_clear_error() -> None:
    from smartpark.core.errors import AnalyticsError
    from smartpark.store.base import ReadingColumns

    reg = park_registry({"m": IMPORT})
    bad = ReadingColumns(np.array([5], np.int32), np.array([START], np.int64), np.array([1.0]))
    with pytest.raises(AnalyticsError, match="meter: code out of range"):
        compute_kpis(reg, bad, START, START + DAY_MS)
    with pytest.raises(AnalyticsError, match="range: end"):
        compute_kpis(reg, ReadingColumns.empty(), START, START)
    with pytest.raises(AnalyticsError, match="scope: unknown scope 'site'"):
        compute_kpis(reg, ReadingColumns.empty(), START, START + DAY_MS, ["day"], ["site"])  # type: ignore[list-item]
