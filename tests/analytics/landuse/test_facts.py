import functools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpark.analytics.landuse import facts, monthly
from smartpark.core import registry
from smartpark.core.errors import AnalyticsError, ConfigError

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "registry.toml"
HEADER = "year,enterprise,tax,revenue,value_added,employees,rd_spend,pollutant_t,profit\n"

TWO_ZONES = """
[zone.z1]
name = "Z1"
[zone.z2]
name = "Z2"
[park.p1]
zone = "z1"
name = "P1"
[park.p2]
zone = "z2"
name = "P2"
[enterprise.e1]
park = "p1"
name = "E1"
[enterprise.e2]
park = "p1"
name = "E2"
[enterprise.other]
park = "p2"
name = "Other"
"""


@pytest.fixture(scope="module")
def reg():
    return registry.load(EXAMPLE)


@pytest.fixture
def two_zones(tmp_path):
    path = tmp_path / "registry.toml"
    path.write_text(TWO_ZONES)
    return registry.load(path)


def problems(text, reg, zone=None):
    with pytest.raises(ConfigError) as err:
        facts.parse(text, reg, zone, source="f.csv")
    assert err.value.source == "f.csv"
    return err.value.problems


def test_example_facts_load_with_missing_cells_as_nan(reg):
    f = facts.load(ROOT / "examples" / "facts.csv", reg)
    assert f.years == (2023, 2024, 2025)
    assert f.enterprises == reg.enterprise_ids
    assert f.values["tax"].shape == (11, 3)
    chem_a = f.enterprises.index("chem-a")
    assert f.field("tax", 2025)[chem_a] == 5400
    assert f.field("profit", 2025)[f.enterprises.index("chem-c")] == -10
    # pv-glass reports no pollutant: missing, never zero
    assert math.isnan(f.field("pollutant_t", 2025)[f.enterprises.index("pv-glass")])
    # carbon-fiber has no row for 2023: reported, not guessed
    assert f.missing(2023) == ["carbon-fiber"]
    assert f.missing(2025) == []
    assert not f.present[f.enterprises.index("carbon-fiber"), 0]


def test_every_error_at_once_with_line_and_column(reg):
    text = HEADER + (
        "2025,chem-a,5400,90000,22000,600,2700,45,6000\n"
        "2025,chem-z,1,1,1,1,1,1,1\n"  # unknown enterprise
        "2025,chem-a,1,1,1,1,1,1,1\n"  # duplicate of line 2
        "2025,chem-b,-5,1,1,1,1,1,-3\n"  # negative tax; negative profit is fine
        "20x5,chem-c,1,1,1,1,1,1,1\n"  # bad year
        "2025,alu-a,1,lots,1,1,1,nan,1\n"  # non-numeric, non-finite
        "2025,pv-glass,1,1\n"  # short row
    )
    found = problems(text, reg)
    assert found == [
        "line 3, column enterprise: unknown enterprise 'chem-z' (not in the registry)",
        "line 4: duplicate row for year 2025, enterprise 'chem-a' (first on line 2)",
        "line 5, column tax: must be >= 0, got '-5' (only profit may be negative)",
        "line 6, column year: must be a year like 2025, got '20x5'",
        "line 7, column revenue: must be a number, got 'lots'",
        "line 7, column pollutant_t: must be finite, got 'nan'",
        "line 8: expected 9 cells, got 4",
    ]


def test_header_problems_are_reported(reg):
    found = problems("year,enterprise,tax,tax,turnover\n", reg)
    assert "line 1, column 4: duplicate column 'tax'" in found
    assert "line 1, column 5: unknown column 'turnover'" in found
    assert any("missing column 'revenue'" in p for p in found)
    assert not any("'profit'" in p for p in found)  # profit is optional


def test_profit_column_is_optional(reg):
    text = "year,enterprise,tax,revenue,value_added,employees,rd_spend,pollutant_t\n"
    f = facts.parse(text + "2025,chem-a,1,2,3,4,5,6\n", reg)
    assert math.isnan(f.field("profit", 2025)[0])
    assert f.field("pollutant_t", 2025)[f.enterprises.index("chem-a")] == 6


def test_empty_file_and_unreadable_file(reg, tmp_path):
    assert problems("", reg)[0].startswith("line 1: empty file")
    with pytest.raises(ConfigError, match="cannot read facts file"):
        facts.load(tmp_path / "nope.csv", reg)


def test_enterprise_of_another_zone_is_an_error(two_zones):
    text = HEADER + "2025,other,1,1,1,1,1,1,1\n2025,e1,1,1,1,1,1,1,1\n"
    assert problems(text, two_zones, "z1") == [
        "line 2, column enterprise: enterprise 'other' is in zone 'z2', not 'z1'"
    ]
    with pytest.raises(AnalyticsError, match="2 zones"):
        facts.parse(text, two_zones)


def test_missing_year_is_reported_not_filled(reg):
    text = HEADER + "2023,chem-a,1,1,1,1,1,1,1\n2025,chem-a,1,1,1,1,1,1,1\n"
    f = facts.parse(text, reg)
    assert f.years == (2023, 2025)
    assert f.gap_years() == [2024]
    with pytest.raises(AnalyticsError, match=r"no facts for year 2024 \(the file has 2023, 2025\)"):
        f.field("tax", 2024)
    on = f.for_years((2023, 2024, 2025))
    assert not on.present[:, 1].any()
    assert np.isnan(on.values["tax"][:, 1]).all()


def test_facts_path_is_relative_to_the_registry(reg):
    assert facts.facts_path(reg, "lanzhou-new-area") == ROOT / "examples" / "facts.csv"


def test_monthly_csv_errors_and_yearly_sums():
    ids = ("a", "b")
    text = (
        "month,enterprise,electricity_kwh,energy_tce,fresh_water_m3\n"
        "2025-01,a,10,1,5\n"
        "2025-13,a,10,1,5\n"
        "2025-02,zz,10,1,5\n"
        "2025-01,a,11,1,5\n"
        "2025-03,b,-1,x,\n"
    )
    with pytest.raises(ConfigError) as err:
        monthly.parse(text, ids, source="m.csv")
    assert err.value.problems == [
        "line 3, column month: month must look like 2025-03, got '2025-13'",
        "line 4, column enterprise: unknown enterprise 'zz'",
        "line 5: duplicate row for 2025-01, enterprise 'a' (first on line 2)",
        "line 6, column electricity_kwh: must be a number >= 0, got '-1'",
        "line 6, column energy_tce: must be a number >= 0, got 'x'",
    ]
    rows = ["month,enterprise,electricity_kwh,energy_tce,fresh_water_m3"]
    rows += [f"2024-{m:02d},a,{m},1,2" for m in range(1, 13)]
    rows += [f"2025-{m:02d},a,{m},1,2" for m in range(1, 12)]  # December missing
    rows += [f"2024-{m:02d},b,1,,3" for m in range(1, 13)]
    m = monthly.parse("\n".join(rows) + "\n", ids)
    assert m.first == monthly.month_code(2024, 1)
    kwh = m.yearly("electricity_kwh", (2024, 2025))
    assert kwh[0].tolist()[0] == 78.0
    assert np.isnan(kwh[0, 1])  # an incomplete year is no year
    assert np.isnan(m.yearly("energy_tce", (2024,))[1, 0])  # empty cells are missing
    assert m.yearly("fresh_water_m3", (2024,))[1, 0] == 36.0


CELLS = st.sampled_from(
    ["", "2025", "chem-a", "ghost", "-1", "1e3", "nan", "inf", "x", '"a,b"', "0", " 7 "]
)


@functools.cache
def _example_registry():
    return registry.load(EXAMPLE)


@given(
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=11), max_size=6),
    header=st.booleans(),
)
@settings(max_examples=100, deadline=None)
def test_any_csv_is_either_facts_or_a_config_error_naming_lines(rows, header):
    reg = _example_registry()
    lines = ([HEADER.strip()] if header else []) + [",".join(r) for r in rows]
    text = "\n".join(lines)
    try:
        f = facts.parse(text, reg)
    except ConfigError as exc:
        assert exc.problems
        assert all(p.startswith("line ") for p in exc.problems)
        return
    for values in f.values.values():
        assert values.shape == f.present.shape
    for name in ("tax", "revenue", "value_added"):
        v = f.values[name]
        assert not (v[~np.isnan(v)] < 0).any()
