import pytest

from smartpark.analytics.kpis import targets


@pytest.mark.parametrize(
    ("annual_tce", "line"),
    [
        (0, 0.20),
        (150_000, 0.20),
        (200_000, 0.20),
        (999_999, 0.20),
        (1_000_000, 0.30),
        (1.5e6, 0.30),
    ],
)
def test_carbon_per_energy_line_depends_on_annual_consumption(
    annual_tce: float, line: float
) -> None:
    assert targets.carbon_per_energy_line(annual_tce) == line


def test_meets_compares_against_the_right_side() -> None:
    assert targets.meets("carbon_per_energy", 0.19, 500_000) is True
    assert targets.meets("carbon_per_energy", 0.21, 500_000) is False
    assert targets.meets("carbon_per_energy", 0.25, 2_000_000) is True
    assert targets.meets("carbon_per_energy", 0.1, 1_000) is True  # small parks: 0.20 too
    assert targets.meets("carbon_per_energy", 0.21, 1_000) is False
    assert targets.meets("carbon_per_energy", 0.1) is None  # no consumption known
    assert targets.meets("water_reuse_rate", 80.0) is True
    assert targets.meets("clean_energy_share", 89.9) is False
    assert targets.meets("energy_tce", 1.0) is None
    assert targets.meets("water_reuse_rate", float("nan")) is None


def test_annualised_scales_a_day_to_a_year() -> None:
    assert targets.annualised(1000.0, 86_400_000) == pytest.approx(365_250.0)
