import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from smartpark.core import registry
from smartpark.core.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.toml"

MINIMAL = """
[zone.z1]
name = "Zone One"
timezone = "Asia/Shanghai"

[park.p1]
zone = "z1"
name = "Park One"
[park.p1.factors]
grid_tco2_per_mwh = 0.5543
[park.p1.limits]
nox = 150

[enterprise.e1]
park = "p1"
name = "E One"
land_m2 = 6666.7
scale = "above"
production_start = 2020-01-01

[gateway.g1]
park = "p1"

[meter.m-main]
enterprise = "e1"
gateway = "g1"
quantity = "electricity_import"
interval_s = 60
multiplier = 40.0

[meter.m-sub]
enterprise = "e1"
gateway = "g1"
quantity = "electricity_import"
role = "sub"
parent = "m-main"
"""


def load_text(tmp_path, text):
    path = tmp_path / "registry.toml"
    path.write_text(text)
    return registry.load(path)


def errors_of(tmp_path, text):
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, text)
    return err.value.problems


def test_example_registry_loads_and_covers_every_kind():
    reg = registry.load(EXAMPLE)
    assert len(reg.zones) == 1
    assert len(reg.parks) == 3
    assert any(p.enclave for p in reg.parks.values())
    assert 8 <= len(reg.enterprises) <= 12
    assert 50 <= len(reg.meters) <= 100
    kinds = {reg.kind_of_meter(m) for m in reg.meters}
    assert kinds == {"energy", "water", "emissions", "waste", "production"}
    from smartpark.core.quantities import BY_NAME

    assert {m.quantity for m in reg.meters.values()} == set(BY_NAME)


def test_minimal_registry_fields_and_defaults(tmp_path):
    reg = load_text(tmp_path, MINIMAL)
    park = reg.parks["p1"]
    assert park.timezone == "Asia/Shanghai"  # inherited from the zone
    assert park.factor("grid_tco2_per_mwh") == 0.5543
    assert park.factor("heat_tco2_per_gj") == 0.11  # the default
    assert park.factors_version != "cn-2023-national"  # an override changes the version
    assert park.limits == {"particulate": 20.0, "so2": 50.0, "nox": 150.0}
    e = reg.enterprises["e1"]
    assert (e.scale, e.production_start, e.utility) == ("above", dt.date(2020, 1, 1), False)
    main, sub = reg.meters["m-main"], reg.meters["m-sub"]
    assert (main.role, main.multiplier, main.interval_s) == ("boundary", 40.0, 60)
    assert (sub.role, sub.parent) == ("sub", "m-main")


def test_columnar_view(tmp_path):
    reg = load_text(tmp_path, MINIMAL)
    assert reg.meter_ids == ("m-main", "m-sub")
    assert reg.meter_code == {"m-main": 0, "m-sub": 1}
    assert reg.meter_boundary.tolist() == [True, False]
    assert reg.meter_multiplier.tolist() == [40.0, 1.0]
    assert reg.meter_enterprise.dtype == np.int32
    assert reg.meter_park.tolist() == [0, 0]
    assert reg.park_of_meter("m-sub") == "p1"


def test_every_error_is_reported_at_once_with_its_path(tmp_path):
    text = (
        MINIMAL
        + """
[meter.bad-q]
enterprise = "e1"
gateway = "g1"
quantity = "gass"

[meter.bad-ent]
enterprise = "nobody"
gateway = "g1"
quantity = "coal"
colour = "red"

[meter.bad-num]
enterprise = "e1"
gateway = "g1"
quantity = "coal"
interval_s = -5
multiplier = "x"
role = "main"
"""
    )
    problems = errors_of(tmp_path, text)
    assert "meter.bad-q.quantity: unknown quantity 'gass'" in problems
    assert "meter.bad-ent.enterprise: unknown enterprise 'nobody'" in problems
    assert "meter.bad-ent.colour: unknown key 'colour'" in problems
    assert any(p.startswith("meter.bad-num.interval_s: must be > 0") for p in problems)
    assert any(p.startswith("meter.bad-num.multiplier: must be a number") for p in problems)
    assert any(p.startswith("meter.bad-num.role: must be one of boundary, sub") for p in problems)
    assert len(problems) == 6


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ('[zone.z1]\nname = "again"\n', "invalid TOML"),  # duplicate id
        ("[meter.m-main]\nquantity = 'x'\n", "invalid TOML"),  # meter defined twice
        ("[zone.z1\n", "invalid TOML"),
        ('[widgets.w]\nname = "w"\n', "widgets: unknown section"),
        ('[park.BadId]\nzone = "z1"\nname = "x"\n', "park.BadId: invalid id"),
        ('[park.p2]\nzone = "z9"\nname = "x"\n', "park.p2.zone: unknown zone 'z9'"),
        ('[park.p2]\nzone = "z1"\nname = "x"\ntimezone = "Mars/Base"\n',
         "park.p2.timezone: unknown time zone 'Mars/Base'"),
        ('[park.p2]\nzone = "z1"\nname = "x"\n[park.p2.factors]\ngrid = 0.5\n',
         "park.p2.factors.grid: unknown key 'grid'"),
        ('[park.p2]\nzone = "z1"\nname = "x"\n[park.p2.limits]\nnox = -1\n',
         "park.p2.limits.nox: must be > 0"),
        ('[enterprise.e2]\npark = "p1"\nname = "x"\nproduction_start = "2020"\n',
         "enterprise.e2.production_start: must be a date"),
        ('[meter.x]\nenterprise = "e1"\ngateway = "g1"\nquantity = "electricity_import"\n'
         'parent = "m-main"\n', "meter.x.role: meter has parent 'm-main' and would be counted"),
        ('[meter.x]\nenterprise = "e1"\ngateway = "g1"\nquantity = "coal"\nrole = "sub"\n'
         'parent = "m-main"\n', "meter.x.parent: parent 'm-main' must measure coal"),
        ('[meter.x]\nenterprise = "e1"\ngateway = "g1"\nquantity = "nox"\nregister_max = 9.0\n',
         "meter.x.register_max: only counters roll over"),
        ('[park.p2]\nzone = "z1"\nname = "x"\n[gateway.g2]\npark = "p2"\n'
         '[meter.x]\nenterprise = "e1"\ngateway = "g2"\nquantity = "coal"\n',
         "meter.x.gateway: gateway 'g2' is in park 'p2'"),
    ],
)  # fmt: skip
def test_bad_registry_entries(tmp_path, patch, expected):
    problems = errors_of(tmp_path, MINIMAL + "\n" + patch)
    assert any(expected in p for p in problems), problems


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read registry"):
        registry.load(tmp_path / "missing.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError):
        registry.load(tmp_path / "bin.toml")


def test_empty_registry_is_an_error(tmp_path):
    assert errors_of(tmp_path, "") == ["zone: registry defines no zone"]


def test_stack_partners_pair_pollutants_with_their_emission_point(tmp_path):
    text = MINIMAL + "".join(
        f'[meter.{mid}]\nenterprise = "e1"\ngateway = "g1"\nquantity = "{q}"\nstack = "{st}"\n'
        for mid, q, st in [
            ("b1-nox", "nox", "b1"), ("b1-o2", "o2", "b1"), ("b1-flow", "flue_gas_flow", "b1"),
            ("b2-so2", "so2", "b2"), ("b2-flow", "flue_gas_flow", "b2"),
        ]
    )  # fmt: skip
    reg = load_text(tmp_path, text)
    code = reg.meter_code
    o2, flow = reg.stack_partner("o2"), reg.stack_partner("flue_gas_flow")
    assert o2[code["b1-nox"]] == code["b1-o2"]
    assert flow[code["b1-nox"]] == code["b1-flow"]
    assert o2[code["b2-so2"]] == -1  # no O2 analyser on stack b2
    assert flow[code["b2-so2"]] == code["b2-flow"]
    assert o2[code["m-main"]] == -1


HAND_READ = """
[meter.m-gas]
enterprise = "e1"
source = "manual"
quantity = "natural_gas"
name = "city gas, read monthly"
"""


def test_a_meter_read_by_hand_has_no_gateway(tmp_path):
    reg = load_text(tmp_path, MINIMAL + HAND_READ)
    gas = reg.meters["m-gas"]
    assert (gas.manual, gas.source, gas.gateway) == (True, "manual", "")
    assert gas.interval_s == registry.MANUAL_INTERVAL_S == 30 * 86_400  # monthly by default
    assert not reg.meters["m-main"].manual
    # no gateway code (ingest rejects its MQTT readings as wrong_gateway), read by no gateway
    assert reg.meter_gateway[reg.meter_code["m-gas"]] == -1
    assert reg.meter_gateway[reg.meter_code["m-main"]] == reg.gateway_ids.index("g1")
    assert [m.id for m in reg.meters_of_gateway("g1")] == ["m-main", "m-sub"]
    assert reg.meters_of_gateway("") == []


def test_the_example_registry_has_one_meter_read_by_hand():
    reg = registry.load(EXAMPLE)
    manual = [m for m in reg.meters.values() if m.manual]
    assert [(m.id, m.quantity, m.enterprise) for m in manual] == [
        ("chem-c-gas", "natural_gas", "chem-c")
    ]


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ('[meter.x]\nenterprise = "e1"\nquantity = "coal"\n',
         'meter.x.gateway: missing required key (a meter read by hand has none: set source = '
         '"manual")'),
        ('[meter.x]\nenterprise = "e1"\ngateway = "g1"\nsource = "manual"\nquantity = "coal"\n',
         'meter.x.gateway: a meter read by hand (source = "manual") has no gateway'),
        ('[meter.x]\nenterprise = "e1"\nsource = "manual"\nquantity = "nox"\n',
         "meter.x.quantity: a meter read by hand reads a register: nox is a gauge"),
        ('[meter.x]\nenterprise = "e1"\nsource = "paper"\ngateway = "g1"\nquantity = "coal"\n',
         "meter.x.source: must be one of gateway, manual, got 'paper'"),
        ('[meter.x]\nenterprise = "e1"\nsource = "manual"\n',
         "meter.x.quantity: missing required key"),
    ],
)  # fmt: skip
def test_bad_hand_read_meters(tmp_path, patch, expected):
    problems = errors_of(tmp_path, MINIMAL + "\n" + patch)
    assert any(p.startswith(expected) for p in problems), problems
