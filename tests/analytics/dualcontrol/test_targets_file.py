"""The targets file: every problem at once, each with its path."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartpark.analytics.dualcontrol.targets import load
from smartpark.core.errors import ConfigError

from .zone import write_zone

BAD = """
[[target]]
scope = "enterprise"
id = "nobody"
year = 2026
energy_tce = -5
colour = "red"

[[target]]
scope = "park"
id = "p1"
year = 2026
energy_tce = 1200
plan = [100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 50]

[[target]]
scope = "park"
id = "p1"
year = 2026
co2_t = 10

[[target]]
scope = "zone"
id = "z1"
year = 2026
energy_tce = 100
plan = [1, 2, 3]

[[target]]
scope = "city"
id = "z1"
year = 2026
co2_t = 1
"""


def test_every_problem_with_its_path(tmp_path: Path) -> None:
    reg = write_zone(tmp_path, BAD)
    with pytest.raises(ConfigError) as caught:
        load(tmp_path / "targets.toml", reg, "z1")
    assert caught.value.problems == [
        "target[1].colour: unknown key 'colour'",
        "target[1].id: no enterprise 'nobody' in this zone (known: e1)",
        "target[1].energy_tce: must be >= 0, got -5",
        "target[2].plan: the 12 months sum to 1150 tce, not energy_tce = 1200 (within 0.5%): "
        "correct the months or the budget",
        "target[3]: duplicate target for park 'p1' in 2026 (first in target[2]): keep one of "
        "the two",
        "target[4].plan: must be a list of 12 monthly budgets in tce, got [1, 2, 3]",
        "target[5].scope: must be one of enterprise, park, zone, region, got 'city'",
    ]


def test_a_good_file_loads(tmp_path: Path) -> None:
    good = '[[target]]\nscope = "enterprise"\nid = "e1"\nyear = 2026\nenergy_tce = 10\n'
    reg = write_zone(tmp_path, good + 'profile = "flat"\n')
    (target,) = load(tmp_path / "targets.toml", reg, "z1").targets
    assert (target.key, dict(target.budgets), target.profile) == (
        ("enterprise", "e1", 2026),
        {"energy_tce": 10.0},
        "flat",
    )
