import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartpark.core import quantities
from smartpark.core.errors import ContractError


def test_catalogue_has_every_quantity_of_the_design():
    expected = {
        "electricity_import", "electricity_export", "green_electricity_import", "pv_generation",
        "wind_generation", "active_power", "natural_gas", "steam", "heat", "diesel", "coal",
        "fresh_water", "recycled_water", "wastewater_discharge", "water_flow", "so2", "nox",
        "particulate", "flue_gas_flow", "o2", "output_value", "solid_waste_generated",
        "solid_waste_utilised",
        # HJ 212 data loggers (CEMS flue gas, wastewater)
        "co", "flue_gas_velocity", "flue_gas_temperature", "flue_gas_pressure",
        "flue_gas_humidity", "wastewater_flow", "cod", "nh3_n", "ph",
        # a production line's output counter (issue 24: unit-product energy)
        "product_output",
        # the outdoor temperature of energy-saving projects' baselines (issue 25)
        "ambient_temperature",
    }  # fmt: skip
    assert set(quantities.BY_NAME) == expected


@pytest.mark.parametrize(
    ("name", "kind", "nature", "unit"),
    [
        ("electricity_import", "energy", "counter", "kWh"),
        ("active_power", "energy", "gauge", "kW"),
        ("natural_gas", "energy", "counter", "m3"),
        ("steam", "energy", "counter", "t"),
        ("heat", "energy", "counter", "GJ"),
        ("water_flow", "water", "gauge", "m3/h"),
        ("nox", "emissions", "gauge", "mg/m3"),
        ("o2", "emissions", "gauge", "%"),
        ("output_value", "production", "counter", "CNY"),
        ("solid_waste_utilised", "waste", "counter", "t"),
        ("flue_gas_temperature", "emissions", "gauge", "degC"),
        ("flue_gas_pressure", "emissions", "gauge", "kPa"),
        ("cod", "water", "gauge", "mg/L"),
        ("ph", "water", "gauge", "pH"),
    ],
)
def test_kind_nature_and_canonical_unit(name, kind, nature, unit):
    q = quantities.get(name)
    assert (q.kind, q.nature, q.canonical_unit) == (kind, nature, unit)


@pytest.mark.parametrize(
    ("name", "value", "unit", "canonical"),
    [
        ("electricity_import", 1.5, "MWh", 1500.0),
        ("electricity_import", 2500.0, "Wh", 2.5),
        ("heat", 2000.0, "MJ", 2.0),
        ("steam", 1500.0, "kg", 1.5),
        ("fresh_water", 250.0, "L", 0.25),
        ("natural_gas", 2.0, "km3", 2000.0),
        ("active_power", 3.0, "MW", 3000.0),
        ("flue_gas_flow", 1.0, "m3/s", 3600.0),
        ("so2", 50_000.0, "ug/m3", 50.0),
        ("output_value", 3.0, "10k CNY", 30_000.0),
        ("wastewater_flow", 2.0, "L/s", 7.2),
        ("flue_gas_pressure", -250.0, "Pa", -0.25),
        ("cod", 1.0, "g/L", 1000.0),
    ],
)
def test_known_conversions(name, value, unit, canonical):
    assert quantities.get(name).to_canonical(value, unit) == pytest.approx(canonical, rel=1e-15)


def test_codes_of_the_original_quantities_do_not_move():
    assert quantities.get("electricity_import").code == 0
    assert quantities.get("solid_waste_utilised").code == 22
    assert quantities.get("co").code == 23


def test_unknown_quantity_names_the_value():
    with pytest.raises(ContractError) as err:
        quantities.get("gass")
    assert err.value.reason == "unknown_quantity"
    assert "'gass'" in str(err.value)


def test_unknown_unit_is_an_error_not_a_guess():
    with pytest.raises(ContractError) as err:
        quantities.get("electricity_import").to_canonical(1.0, "kwh")
    assert err.value.reason == "bad_unit"
    assert "'kwh'" in str(err.value)
    assert err.value.field == "unit"


def test_unit_table_covers_every_accepted_unit():
    for q in quantities.QUANTITIES:
        for unit, factor in q.units.items():
            assert quantities.UNIT_TABLE[(q.name, unit)] == (q.code, factor)
    assert ("so2", "kWh") not in quantities.UNIT_TABLE


unit_pairs = st.sampled_from([(q.name, unit) for q in quantities.QUANTITIES for unit in q.units])


@given(unit_pairs, st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_round_trip_through_canonical(pair, value):
    name, unit = pair
    q = quantities.get(name)
    back = q.from_canonical(q.to_canonical(value, unit), unit)
    assert math.isclose(back, value, rel_tol=1e-12, abs_tol=1e-300)
