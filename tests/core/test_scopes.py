"""Scopes (``zone:ID``, ``park:ID``, ``enterprise:ID``): the grammar, and what each covers."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartpark.core import registry as registry_mod
from smartpark.core.errors import OptionError
from smartpark.core.scopes import covered, may_report, option_scope, parse_scope

EXAMPLE = Path(registry_mod.__file__).parent.parent / "examples" / "registry.toml"


@pytest.fixture(scope="module")
def reg() -> registry_mod.Registry:
    return registry_mod.load(EXAMPLE)


def test_the_grammar_is_the_tokens():
    assert parse_scope("park:petrochem") == ("park", "petrochem")
    for bad in ("park", "county:x", "park:", "park:Big Park", "admin"):
        with pytest.raises(ValueError, match=r"expected zone:ID, park:ID or enterprise:ID"):
            parse_scope(bad)


def test_each_scope_covers_its_own_and_nothing_above(reg):
    zone = covered(reg, "zone:lanzhou-new-area")
    assert zone.ids["park"] == frozenset(reg.parks)
    assert zone.allows("enterprise", "chem-a")
    park = covered(reg, "park:petrochem")
    assert not park.allows("zone", "lanzhou-new-area")  # the zone's totals hold other parks
    assert park.ids["enterprise"] == {"chem-a", "chem-b", "chem-c", "petro-utility"}
    ent = covered(reg, "enterprise:chem-a")
    assert ent.ids["enterprise"] == {"chem-a"}
    assert ent.ids["park"] == frozenset()
    assert ent.ids["gateway"] == {"gw-chem-a"}
    assert covered(reg, "park:atlantis").ids["enterprise"] == frozenset()
    assert covered(reg, None).ids["zone"] == frozenset(reg.zones)


def test_an_option_scope_is_checked_against_the_registry(reg):
    assert option_scope(reg, None) is None  # no --scope: everything
    park = option_scope(reg, "park:petrochem")
    assert park is not None
    assert park.ids["enterprise"] == {"chem-a", "chem-b", "chem-c", "petro-utility"}
    with pytest.raises(OptionError, match=r"^--scope: no park 'atlantis' in the registry "):
        option_scope(reg, "park:atlantis")  # a usage error, not an empty scope
    with pytest.raises(OptionError, match=r"^--scope: expected zone:ID"):
        option_scope(reg, "meter:chem-a-main")


def test_a_region_report_needs_every_park_the_region_counts(reg):
    gaolan = {p for p in reg.parks if "gaolan-county" in reg.regions_of_park(p)}
    assert gaolan == {"new-materials", "coop-enclave"}
    zone = covered(reg, "zone:lanzhou-new-area")
    assert may_report(reg, zone, "region", "gaolan-county")
    assert not may_report(reg, covered(reg, "park:new-materials"), "region", "gaolan-county")
    assert may_report(reg, covered(reg, "park:petrochem"), "park", "petrochem")
    assert not may_report(reg, covered(reg, "enterprise:chem-a"), "park", "petrochem")
    assert not may_report(reg, zone, "region", "atlantis")
