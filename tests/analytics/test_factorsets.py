"""Effective-dated factor sets and market-based scope 2 (docs/kpis.md, "Factor sets").

Known answers by hand: a January that straddles a grid factor change on the 16th, and
green certificates against a month of purchases.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from smartpark.analytics.kpis.compute import compute_kpis
from smartpark.core import registry
from smartpark.core.errors import ConfigError

from .parks import columns, day_ms, park_registry

MIN = 60_000
Q = 15 * MIN
JAN = day_ms(2026, 1, 1)
FEB = day_ms(2026, 2, 1)
CHANGE = day_ms(2026, 1, 16)

SETS = [
    {"factors_version": "old", "grid_tco2_per_mwh": 0.5366, "valid_to": dt.date(2026, 1, 16)},
    {"factors_version": "new", "grid_tco2_per_mwh": 0.5306, "valid_from": dt.date(2026, 1, 16)},
]


def ramp(meter: str, start: int, end: int, kwh_per_min: float, until: int | None = None):
    """A counter rising ``kwh_per_min`` every minute up to ``until`` (then flat), 15-min."""
    ts = np.arange(start, end + Q, Q)
    rising = np.minimum(ts, until if until is not None else end) - start
    return [(meter, int(t), float(v)) for t, v in zip(ts, rising / MIN * kwh_per_min, strict=True)]


def test_a_month_straddling_a_grid_factor_change_is_split_at_the_change() -> None:
    reg = park_registry(
        {"imp": {"quantity": "electricity_import"}, "exp": {"quantity": "electricity_export"}},
        park={"factors": SETS},
    )
    # Import 1 kWh/min all month; export 2 kWh/min until the change, then nothing.
    rows = ramp("imp", JAN, FEB, 1.0) + ramp("exp", JAN, FEB, 2.0, until=CHANGE)
    table = compute_kpis(reg, columns(reg, rows), JAN, FEB, ["day", "month"])
    # Before the change: net 15 d x 1440 x (1 - 2) < 0 -> 0 tCO2. After: 16 d x 1440 kWh
    # = 23.04 MWh x 0.5306. Unsplit it would be (44 640 - 43 200) kWh x one factor.
    for scope, ident in (("enterprise", "e1"), ("park", "p1"), ("zone", "z1")):
        assert table.value(scope, ident, "month", JAN, "co2_scope2_t") == pytest.approx(
            23.04 * 0.5306, rel=1e-12
        )
    block = table.block("park", "month")
    assert block.version(0, 0) == "old>new"  # the month says it straddles
    assert table.block("zone", "month").version(0, 0) == "old>new"
    days = table.block("park", "day")
    assert [days.version(0, k) for k in (0, 14, 15, 30)] == ["old", "old", "new", "new"]
    assert table.value("park", "p1", "day", CHANGE, "co2_scope2_t") == pytest.approx(
        1.44 * 0.5306, rel=1e-12
    )
    stored = {(r.period, r.kpi): r.factors_version for r in table.rows() if r.scope == "park"}
    assert stored[("month", "co2_scope2_t")] == "old>new"
    assert stored[("day", "energy_tce")] == "new"  # the last day's row


def test_every_coefficient_channel_takes_the_set_of_its_window() -> None:
    sets = [
        {"factors_version": "a", "natural_gas_tco2_per_km3": 2.0, "valid_to": dt.date(2026, 1, 16)},
        {
            "factors_version": "b",
            "natural_gas_tco2_per_km3": 3.0,
            "valid_from": dt.date(2026, 1, 16),
        },
    ]
    reg = park_registry({"gas": {"quantity": "natural_gas"}}, park={"factors": sets})
    table = compute_kpis(reg, columns(reg, ramp("gas", JAN, FEB, 1.0)), JAN, FEB, ["month"])
    # 21 600 m3 x 2.0 + 23 040 m3 x 3.0 per 1000 m3
    assert table.value("park", "p1", "month", JAN, "co2_scope1_t") == pytest.approx(
        21.6 * 2.0 + 23.04 * 3.0, rel=1e-12
    )


def test_green_certificates_reduce_market_based_scope_2_only() -> None:
    nov, dec = day_ms(2026, 11, 1), day_ms(2026, 12, 1)
    reg = registry.from_dict(
        {
            "zone": {"z1": {"name": "Z"}},
            "park": {"p1": {"zone": "z1", "name": "P"}},
            "enterprise": {
                "e1": {"park": "p1", "name": "E", "green_certificates": {"2026-11": 12.0}}
            },
            "gateway": {"g": {"park": "p1"}},
            "meter": {
                "imp": {"enterprise": "e1", "gateway": "g", "quantity": "electricity_import"}
            },
        }
    )
    # 1000 kWh a day for 30 days = 30 MWh, 12 MWh of it certified.
    table = compute_kpis(
        reg, columns(reg, ramp("imp", nov, dec, 1000 / 1440)), nov, dec, ["day", "month"]
    )
    for scope, ident in (("enterprise", "e1"), ("park", "p1"), ("zone", "z1")):
        assert table.value(scope, ident, "month", nov, "co2_scope2_t") == pytest.approx(30 * 0.5306)
        assert table.value(scope, ident, "month", nov, "co2_scope2_market_t") == pytest.approx(
            18 * 0.6096
        )
    # A day carries its share of the month: 1 MWh - 0.4 MWh certified.
    assert table.value("enterprise", "e1", "day", nov, "co2_scope2_market_t") == pytest.approx(
        0.6 * 0.6096
    )
    assert table.value("enterprise", "e1", "day", nov, "co2_total_t") == pytest.approx(0.5306)


BAD = """
[zone.z]
name = "Z"
[park.p]
zone = "z"
name = "P"
[[park.p.factors]]
factors_version = "old"
grid = 0.5
valid_to = 2026-01-01
[[park.p.factors]]
factors_version = "mid"
coal_tco2_per_t = -1.9
valid_from = 2025-12-01
valid_to = 2026-02-01
[[park.p.factors]]
factors_version = "new"
valid_from = 2026-03-01
[[park.p.factors]]
set = "cn-2019-mars"
valid_from = 2026-04-01
[enterprise.e]
park = "p"
name = "E"
green_certificates = { "2026-13" = 1.0, "2026-02" = -5.0 }
"""


def test_bad_factor_sets_are_all_reported_at_once_with_their_paths(tmp_path: Path) -> None:
    path = tmp_path / "registry.toml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        registry.load(path)
    text = str(err.value)
    for expected in (
        "park.p.factors[0].grid: unknown factor 'grid'",
        "park.p.factors[1].coal_tco2_per_t: must be > 0, got -1.9",
        "park.p.factors[1].valid_from: overlaps park.p.factors[0] (valid to 2026-01-01)",
        "park.p.factors[2].valid_from: gap: park.p.factors[1] ends 2026-02-01 but this set "
        "begins 2026-03-01",
        "park.p.factors[3].set: unknown factor set 'cn-2019-mars'",
        "enterprise.e.green_certificates.2026-13: must be a month YYYY-MM",
        "enterprise.e.green_certificates.2026-02: must be >= 0.0, got -5.0",
    ):
        assert expected in text, (expected, text)


def test_a_named_set_and_the_original_table_both_still_load() -> None:
    doc = {
        "zone": {"z": {"name": "Z"}},
        "park": {
            "a": {"zone": "z", "name": "A", "factors": [{"set": "cn-2023-northwest"}]},
            "b": {"zone": "z", "name": "B", "factors": {"grid_tco2_per_mwh": 0.6}},
        },
    }
    reg = registry.from_dict(doc)
    assert reg.parks["a"].factors_version == "cn-2023-northwest"
    assert reg.parks["a"].sets[0].factor("grid_tco2_per_mwh") == 0.5543
    assert reg.parks["b"].factors_version == "cn-2023-national+b"
    assert [s.version for s in reg.parks["b"].sets] == ["cn-2023-national+b"]
    assert reg.parks["b"].factor("grid_tco2_per_mwh") == 0.6
