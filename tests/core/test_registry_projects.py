"""``[project.ID]``: energy-saving projects in the registry, every error with its path."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from smartpark.core import registry
from smartpark.core.errors import ConfigError


def doc(**project: Any) -> dict[str, Any]:
    base = {
        "enterprise": "e1",
        "name": "Chiller retrofit",
        "meters": ["e1-main"],
        "baseline_start": dt.date(2024, 1, 1),
        "baseline_end": dt.date(2024, 12, 31),
        "go_live": dt.date(2025, 1, 1),
        "temperature_meter": "p1-temp",
    }
    meters = {
        "e1-main": ("e1", "g1", "electricity_import"),
        "e1-gas": ("e1", "g1", "natural_gas"),
        "e1-water": ("e1", "g1", "fresh_water"),
        "e2-main": ("e2", "g1", "electricity_import"),
        "p1-temp": ("e2", "g1", "ambient_temperature"),
        "p2-temp": ("e3", "g2", "ambient_temperature"),
    }
    return {
        "zone": {"z1": {"name": "Z1"}},
        "park": {"p1": {"zone": "z1", "name": "P1"}, "p2": {"zone": "z1", "name": "P2"}},
        "enterprise": {
            "e1": {"park": "p1", "name": "E1"},
            "e2": {"park": "p1", "name": "E2"},
            "e3": {"park": "p2", "name": "E3"},
        },
        "gateway": {"g1": {"park": "p1"}, "g2": {"park": "p2"}},
        "meter": {
            m: {"enterprise": e, "gateway": g, "quantity": q} for m, (e, g, q) in meters.items()
        },
        "project": {"x": {k: v for k, v in (base | project).items() if v is not None}},
    }


def problems(**project: Any) -> list[str]:
    with pytest.raises(ConfigError) as err:
        registry.from_dict(doc(**project))
    return list(err.value.problems)


def test_a_project_loads_with_its_dates_and_temperature_source() -> None:
    reg = registry.from_dict(doc())
    p = reg.projects["x"]
    assert (p.enterprise, p.meters, p.temperature_meter, p.temperature_file) == (
        "e1",
        ("e1-main",),
        "p1-temp",
        None,
    )
    assert (p.baseline_start, p.baseline_end, p.go_live) == (
        dt.date(2024, 1, 1),
        dt.date(2024, 12, 31),
        dt.date(2025, 1, 1),
    )
    file = registry.from_dict(doc(temperature_meter=None, temperature_file="t.csv"))
    assert file.projects["x"].temperature_file == "t.csv"


def test_every_field_is_checked_with_its_path() -> None:
    assert problems(enterprise="nobody") == ["project.x.enterprise: unknown enterprise 'nobody'"]
    assert problems(meters=["e2-main"]) == [
        "project.x.meters[0]: meter 'e2-main' belongs to enterprise 'e2', not 'e1'"
    ]
    (water,) = problems(meters=["e1-water"])
    assert water.startswith("project.x.meters[0]: meter 'e1-water' measures fresh_water: a ")
    assert problems(meters=["e1-main", "e1-gas"]) == [
        "project.x.meters[1]: meter 'e1-gas' measures natural_gas but 'e1-main' measures "
        "electricity_import: CalTRACK models one carrier at a time; define one project per "
        "carrier"
    ]
    assert problems(meters=["nope"]) == ["project.x.meters[0]: unknown meter 'nope'"]
    assert problems(meters=[]) == [
        "project.x.meters: must be a non-empty list of meter ids, got []"
    ]
    assert problems(meters=["e1-main", "e1-main"]) == ["project.x.meters: lists a meter twice"]
    assert problems(color="red")[0].startswith("project.x.color: unknown key")


def test_the_baseline_must_be_a_caltrack_year_and_end_by_go_live() -> None:
    assert problems(baseline_end=dt.date(2024, 7, 1)) == [
        "project.x.baseline_end: the baseline 2024-01-01 to 2024-07-01 has 182 days: CalTRACK "
        "daily (eemeter) needs 329 to 365 days (a year, 90 % of it at least); move "
        "baseline_start or baseline_end"
    ]
    (long,) = problems(baseline_end=dt.date(2025, 1, 1), go_live=dt.date(2025, 1, 1))
    assert "has 366 days" in long
    assert problems(go_live=dt.date(2024, 12, 1)) == [
        "project.x.go_live: 2024-12-01 is before baseline_end 2024-12-31: the baseline must "
        "end by go-live"
    ]
    assert problems(go_live=None) == [
        "project.x.go_live: missing required key (a date, YYYY-MM-DD)"
    ]
    assert problems(baseline_start="2024-01-01")[0].startswith(
        "project.x.baseline_start: must be a date (YYYY-MM-DD)"
    )
    # 329 days is the least CalTRACK accepts
    assert registry.from_dict(doc(baseline_start=dt.date(2024, 2, 6))).projects


def test_one_temperature_source_of_the_right_kind() -> None:
    assert problems(temperature_meter=None) == [
        "project.x.temperature_meter: missing required key: name a meter measuring "
        "ambient_temperature, or give temperature_file (a CSV date,temperature_c beside the "
        "registry)"
    ]
    assert problems(temperature_file="t.csv") == [
        "project.x: give temperature_meter or temperature_file, not both: one temperature"
    ]
    assert problems(temperature_meter="e1-main") == [
        "project.x.temperature_meter: meter 'e1-main' measures electricity_import, not "
        "ambient_temperature"
    ]
    assert problems(temperature_meter="p2-temp") == [
        "project.x.temperature_meter: meter 'p2-temp' is in park 'p2', not the project's park 'p1'"
    ]
    assert problems(temperature_meter="gone") == [
        "project.x.temperature_meter: unknown meter 'gone'"
    ]
