"""Regions and enclave sharing in the registry (docs/registry.md)."""

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from smartpark.core import registry
from smartpark.core.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.toml"


def test_the_example_regions_own_every_park_and_the_enclave_shares_with_its_partner() -> None:
    reg = registry.load(EXAMPLE)
    assert reg.region_ids == ("gaolan-county", "lanzhou-city", "partner-city", "yongdeng-county")
    assert all(p.region for p in reg.parks.values())
    assert reg.region_chain("gaolan-county") == ("gaolan-county", "lanzhou-city")
    enclave = reg.parks["coop-enclave"]
    assert enclave.region == "gaolan-county"
    (period,) = enclave.sharing
    assert period.partner == "partner-city"
    assert period.valid_from == dt.date(2024, 1, 1)
    assert period.valid_to is None
    assert period.partner_share("output_value") == 0.6
    assert period.partner_share("energy") == 0.5
    assert reg.regions_of_park("coop-enclave") == ["gaolan-county", "lanzhou-city", "partner-city"]


def base() -> dict[str, Any]:
    return {
        "zone": {"z": {"name": "Z"}},
        "region": {"a": {"name": "A"}, "b": {"name": "B"}},
        "park": {"p": {"zone": "z", "name": "P", "region": "a"}},
    }


def test_a_registry_without_regions_loads_as_before() -> None:
    reg = registry.from_dict(
        {"zone": {"z": {"name": "Z"}}, "park": {"p": {"zone": "z", "name": "P"}}}
    )
    assert reg.regions == {}
    assert reg.parks["p"].region is None


def test_periods_end_where_the_next_begins_and_gaps_share_nothing() -> None:
    d = base()
    d["park"]["p"] |= {
        "enclave": True,
        "sharing": {
            "partner": "b",
            "periods": [
                {"valid_from": dt.date(2026, 1, 1), "tax": {"a": 0.5, "b": 0.5}},
                {
                    "valid_from": dt.date(2024, 1, 1),
                    "valid_to": dt.date(2025, 1, 1),
                    "tax": {"b": 1.0},
                },
            ],
        },
    }
    periods = registry.from_dict(d).parks["p"].sharing
    assert [(s.valid_from, s.valid_to) for s in periods] == [
        (dt.date(2024, 1, 1), dt.date(2025, 1, 1)),
        (dt.date(2026, 1, 1), None),
    ]
    assert [s.partner_share("tax") for s in periods] == [1.0, 0.5]


def test_every_sharing_mistake_is_reported_with_its_path() -> None:
    d = base()
    d["park"]["p"] |= {
        "sharing": {"partner": "a", "energy": {"a": 1.2, "c": 0.1}, "colour": 1},
    }
    d["park"]["q"] = {"zone": "z", "name": "Q", "region": "nowhere"}
    d["region"]["b"]["parent"] = "ghost"
    with pytest.raises(ConfigError) as err:
        registry.from_dict(d)
    text = str(err.value)
    for expected in (
        "park.p.sharing: only an enclave park shares; set enclave = true",
        "park.p.sharing.partner: is the park's own region 'a'",
        "park.p.sharing.energy.a: must be within [0.0, 1.0], got 1.2",
        "park.p.sharing.energy.c: not a side of this agreement",
        "park.p.sharing.colour: unknown key 'colour'",
        "park.q.region: unknown region 'nowhere'",
        "region.b.parent: unknown region 'ghost'",
    ):
        assert expected in text, (expected, text)


def test_sharing_needs_regions() -> None:
    doc = {
        "zone": {"z": {"name": "Z"}},
        "park": {"p": {"zone": "z", "name": "P", "enclave": True, "sharing": {"partner": "b"}}},
    }
    with pytest.raises(ConfigError, match=r"park.p.sharing: an enclave shares between regions"):
        registry.from_dict(doc)
