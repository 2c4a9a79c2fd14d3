"""``[product.ID]`` tables: what a product is graded against, its energy boundary, its
output and its correction inputs; every mistake an error with its path (docs/registry.md,
"Products")."""

import pytest

from smartpark.core import registry
from smartpark.core.errors import ConfigError

BASE = """
[zone.z1]
name = "Zone One"

[park.p1]
zone = "z1"
name = "Park One"

[enterprise.cement]
park = "p1"
name = "Cement Co."

[enterprise.alu]
park = "p1"
name = "Alu Co."

[gateway.g1]
park = "p1"

[meter.cement-main]
enterprise = "cement"
gateway = "g1"
quantity = "electricity_import"

[meter.cement-coal]
enterprise = "cement"
gateway = "g1"
quantity = "coal"

[meter.cement-line1]
enterprise = "cement"
gateway = "g1"
quantity = "electricity_import"
role = "sub"
parent = "cement-main"

[meter.cement-water]
enterprise = "cement"
gateway = "g1"
quantity = "fresh_water"

[meter.cement-power]
enterprise = "cement"
gateway = "g1"
quantity = "active_power"

[meter.cement-scale]
enterprise = "cement"
gateway = "g1"
quantity = "product_output"

[meter.alu-main]
enterprise = "alu"
gateway = "g1"
quantity = "electricity_import"
"""

CLINKER = """
[product.clinker]
enterprise = "cement"
name = "Clinker"
standard = "GB 16780-2021"
category = "clinker"
output_meter = "cement-scale"
inputs = { altitude_m = 2100 }
"""


def load(tmp_path, text):
    path = tmp_path / "registry.toml"
    path.write_text(BASE + text, encoding="utf-8")
    return registry.load(path)


def problems(tmp_path, text):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    return err.value.problems


def test_a_product_of_a_one_product_enterprise_takes_its_boundary_energy_meters(tmp_path):
    reg = load(tmp_path, CLINKER)
    (p,) = reg.products.values()
    # Boundary energy counters only: not the sub meter, the water, the power gauge or
    # the output counter.
    assert p.meters == ("cement-coal", "cement-main")
    assert (p.enterprise, p.name, p.name_zh) == ("cement", "Clinker", "")
    assert p.unit == "t"  # the standard's unit when none is given
    assert p.output_meter == "cement-scale"
    assert p.inputs == {"altitude_m": 2100.0}
    assert p.limit.levels == (100.0, 107.0, 117.0)
    assert reg.product_ids == ("clinker",)
    assert reg.park_of_product("clinker") == "p1"


def test_entered_output_and_named_meters(tmp_path):
    reg = load(
        tmp_path,
        """
[product.liquid]
enterprise = "alu"
name = "Liquid aluminium"
name_zh = "铝液"
unit = "t"
standard = "GB 21346-2022"
category = "aluminium_liquid"

[product.clinker]
enterprise = "cement"
name = "Clinker"
standard = "GB 16780-2021"
category = "clinker"
meters = ["cement-coal"]
inputs = { altitude_m = 1200, pressure_pa = 88000 }
""",
    )
    liquid, clinker = reg.products["liquid"], reg.products["clinker"]
    assert liquid.output_meter is None  # entered from a sheet
    assert liquid.meters == ("alu-main",)
    assert liquid.limit.unit == "kWh/t"
    assert clinker.meters == ("cement-coal",)
    assert clinker.inputs == {"altitude_m": 1200.0, "pressure_pa": 88000.0}


def test_an_unknown_standard_category_or_unit_names_its_path(tmp_path):
    found = problems(
        tmp_path,
        """
[product.a]
enterprise = "cement"
standard = "GB 99999-2030"
category = "clinker"

[product.b]
enterprise = "alu"
standard = "GB 21346-2022"
category = "clinker"
meters = ["alu-main"]

[product.c]
enterprise = "cement"
standard = "GB 16780-2021"
category = "cement"
unit = "m3"
meters = ["cement-main"]
inputs = { clinker_pct = 70, altitude_m = 1000 }
""",
    )
    assert found == [
        "product.a.standard: unknown standard 'GB 99999-2030' (smartpark grades against "
        "GB 16780-2021, GB 21343-2023, GB 21346-2022: docs/kpis.md)",
        "product.b.category: GB 21346-2022 grades no product 'clinker' (it grades "
        "alumina_bayer, aluminium_ingot, aluminium_liquid)",
        "product.c.unit: GB 16780-2021 counts cement in 't', got 'm3'",
    ]


def test_a_product_of_an_enterprise_that_does_not_exist(tmp_path):
    found = problems(
        tmp_path,
        """
[product.ghost]
enterprise = "nobody"
standard = "GB 21346-2022"
category = "aluminium_liquid"
meters = ["alu-main"]
""",
    )
    assert "product.ghost.enterprise: unknown enterprise 'nobody'" in found


def test_boundary_meters_of_another_enterprise_or_not_energy_counters(tmp_path):
    found = problems(
        tmp_path,
        """
[product.clinker]
enterprise = "cement"
standard = "GB 16780-2021"
category = "clinker"
meters = ["alu-main", "cement-water", "cement-power", "nowhere", "cement-main", "cement-main"]
inputs = { altitude_m = 2100 }
""",
    )
    assert found == [
        "product.clinker.meters[0]: meter 'alu-main' belongs to enterprise 'alu', not 'cement'",
        "product.clinker.meters[1]: meter 'cement-water' measures fresh_water: a boundary "
        "counts energy (electricity_import, electricity_export, green_electricity_import, "
        "pv_generation, wind_generation, natural_gas, steam, heat, diesel, coal)",
        "product.clinker.meters[2]: meter 'cement-power' measures active_power: a boundary "
        "counts energy (electricity_import, electricity_export, green_electricity_import, "
        "pv_generation, wind_generation, natural_gas, steam, heat, diesel, coal)",
        "product.clinker.meters[3]: unknown meter 'nowhere'",
        "product.clinker.meters: lists a meter twice",
    ]
    assert problems(tmp_path, CLINKER.replace("output_meter", "meters = []\noutput_meter")) == [
        "product.clinker.meters: must be a non-empty list of meter ids, got []"
    ]


@pytest.mark.parametrize(
    ("meter", "why"),
    [
        ("cement-coal", "meter 'cement-coal' must count product_output of enterprise 'cement'"),
        ("nowhere", "unknown meter 'nowhere'"),
    ],
)
def test_an_output_meter_must_count_product_output_of_the_enterprise(tmp_path, meter, why):
    text = CLINKER.replace('output_meter = "cement-scale"', f'output_meter = "{meter}"')
    assert problems(tmp_path, text) == [f"product.clinker.output_meter: {why}"]


def test_another_enterprises_output_meter_is_refused(tmp_path):
    text = CLINKER.replace('enterprise = "cement"', 'enterprise = "alu"').replace(
        'category = "clinker"', 'category = "clinker"\nmeters = ["alu-main"]'
    )
    assert problems(tmp_path, text) == [
        "product.clinker.output_meter: meter 'cement-scale' must count product_output of "
        "enterprise 'alu'"
    ]


def test_two_products_of_one_enterprise_each_need_their_meters(tmp_path):
    found = problems(
        tmp_path,
        CLINKER
        + """
[product.cement]
enterprise = "cement"
standard = "GB 16780-2021"
category = "cement"
inputs = { clinker_pct = 75, altitude_m = 2100 }
""",
    )
    assert found == [
        "product.clinker.meters: enterprise 'cement' makes other products too (cement): give "
        "each product's meters (its energy boundary)",
        "product.cement.meters: enterprise 'cement' makes other products too (clinker): give "
        "each product's meters (its energy boundary)",
    ]


def test_an_enterprise_without_boundary_energy_meters_needs_the_products_meters(tmp_path):
    found = problems(
        tmp_path,
        """
[enterprise.empty]
park = "p1"
name = "Empty"

[product.liquid]
enterprise = "empty"
standard = "GB 21346-2022"
category = "aluminium_liquid"
""",
    )
    assert found == [
        "product.liquid.meters: enterprise 'empty' has no boundary energy meter: give the "
        "product's meters"
    ]


def test_correction_inputs_required_bounded_and_known(tmp_path):
    missing = CLINKER.replace("inputs = { altitude_m = 2100 }\n", "")
    assert problems(tmp_path, missing) == [
        "product.clinker.inputs.altitude_m: missing required key: GB 16780-2021 corrects "
        "clinker for it (above 1,500 m, level 3 x K, K = 1.179 - 0.211 x P / 101325; "
        "docs/kpis.md)"
    ]
    high = CLINKER.replace("altitude_m = 2100", "altitude_m = 12000, pressure_pa = 5")
    assert problems(tmp_path, high) == [
        "product.clinker.inputs.altitude_m: must be within [0.0, 9000.0], got 12000",
        "product.clinker.inputs.pressure_pa: must be within [30000.0, 110000.0], got 5",
    ]
    unknown = CLINKER.replace("altitude_m = 2100", "altitude_m = 2100, ore_grade = 0.6")
    assert problems(tmp_path, unknown) == [
        "product.clinker.inputs.ore_grade: unknown key 'ore_grade' (GB 16780-2021 clinker "
        "takes altitude_m, pressure_pa)"
    ]
    aluminium = """
[product.liquid]
enterprise = "alu"
standard = "GB 21346-2022"
category = "aluminium_liquid"
inputs = { altitude_m = 2100 }
"""
    assert problems(tmp_path, aluminium) == [
        "product.liquid.inputs.altitude_m: unknown key 'altitude_m' (GB 21346-2022 "
        "aluminium_liquid takes no input)"
    ]
    not_a_table = CLINKER.replace("inputs = { altitude_m = 2100 }", 'inputs = "2100 m"')
    assert problems(tmp_path, not_a_table) == [
        "product.clinker.inputs: must be a table, got '2100 m'"
    ]


def test_missing_keys_and_unknown_keys_of_a_product(tmp_path):
    found = problems(tmp_path, '\n[product.bare]\ncolour = "grey"\n')
    assert found == [
        "product.bare.colour: unknown key 'colour'",
        "product.bare.enterprise: missing required key",
        "product.bare.standard: missing required key",
        "product.bare.category: missing required key",
    ]


def test_every_product_error_comes_at_once_with_the_others(tmp_path):
    found = problems(
        tmp_path,
        CLINKER.replace("altitude_m = 2100", "altitude_m = -1")
        + """
[meter.bad]
enterprise = "cement"
gateway = "g1"
quantity = "gass"
""",
    )
    assert found == [
        "meter.bad.quantity: unknown quantity 'gass'",
        "product.clinker.inputs.altitude_m: must be within [0.0, 9000.0], got -1",
    ]


def test_the_example_zone_grades_a_cement_line_and_an_aluminium_smelter():
    from pathlib import Path

    from smartpark.core.standards import altitude_factor

    reg = registry.load(Path(__file__).resolve().parents[2] / "examples" / "registry.toml")
    assert reg.product_ids == ("alu-a-liquid", "cement-a-clinker")
    liquid, clinker = reg.products["alu-a-liquid"], reg.products["cement-a-clinker"]
    assert liquid.output_meter is None  # entered from a sheet
    assert liquid.meters == ("alu-a-green", "alu-a-main")  # alu-a's boundary energy meters
    assert clinker.output_meter == "cement-a-clinker"
    assert reg.meters["cement-a-clinker"].quantity == "product_output"
    assert clinker.meters == ("cement-a-main", "cement-a-coal")
    # 2,100 m: the standard atmosphere's 78.5 kPa, K = 1.179 - 0.211 x 78513 / 101325.
    k = altitude_factor(clinker.inputs)
    assert k == pytest.approx(1.179 - 0.211 * 78_513.1 / 101_325, abs=1e-6)
    assert clinker.limit.corrected(clinker.inputs) == pytest.approx((100, 107, 117 * k))
