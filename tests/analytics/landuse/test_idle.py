"""Idle rules: each fires exactly at its threshold and not one month (or unit) earlier."""

import datetime as dt
import math

import numpy as np
import pytest

from smartpark.analytics.landuse import idle
from smartpark.analytics.landuse.idle import IdleConfig, detect, run_lengths
from smartpark.analytics.landuse.monthly import month_code
from tests.analytics.landuse.build import dataset, static

NAN = math.nan
FIRST = month_code(2022, 1)
N_MONTHS = 48  # 2022-01 .. 2025-12


def monthly_dataset(kwh_rows, n_years=(2023, 2024, 2025), facts=None, **static_kw):
    kwh = np.array(kwh_rows, np.float64)
    st = static(kwh.shape[0], **static_kw)
    years = tuple(n_years)
    facts = facts or {"tax": [[1] * kwh.shape[0]] * len(years)}
    return dataset(st, years, facts, monthly_kwh=kwh, first_month=FIRST)


def stop_from(code, level=0.1, base=1000.0):
    """A plant at ``base`` kWh/month that drops to ``level`` × base from month ``code``."""
    series = np.full(N_MONTHS, base)
    series[code - FIRST :] = base * level
    return series


def test_run_lengths_count_consecutive_stopped_months():
    stopped = np.array([[1, 1, 0, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1]], bool)
    assert run_lengths(stopped).tolist() == [
        [1, 2, 0, 1, 2, 3, 0],
        [0, 0, 0, 0, 0, 0, 0],
        [1, 2, 3, 4, 5, 6, 7],
    ]


def test_suspected_idle_at_the_third_stopped_month_not_the_second():
    start = month_code(2025, 4)
    data = monthly_dataset([stop_from(start)])
    early = detect(data, start + 1, 2025)
    assert not early.raised["suspected_idle"][0]
    assert early.runs.run_length[0, -1] == 2
    flagged = detect(data, start + 2, 2025)
    assert flagged.raised["suspected_idle"].tolist() == [True]
    assert not flagged.raised["stopped_1y"][0]
    (flag,) = flagged.flags
    assert flag.rule == "suspected_idle"
    assert flag.evidence == {
        "baseline_kwh": 1000.0,
        "stopped_since": "2025-04",
        "stopped_months": 3,
        "near_zero_months": 0,
        "run_ratio": {"2025-04": 0.1, "2025-05": 0.1, "2025-06": 0.1},
    }


def test_stopped_1y_at_the_twelfth_stopped_month_not_the_eleventh():
    start = month_code(2024, 6)
    data = monthly_dataset([stop_from(start, level=0.0)])
    assert not detect(data, start + 10, 2025).raised["stopped_1y"][0]
    found = detect(data, start + 11, 2025)
    assert found.raised["stopped_1y"][0]
    evidence = next(f.evidence for f in found.flags if f.rule == "stopped_1y")
    assert evidence["stopped_months"] == 12
    assert evidence["near_zero_months"] == 12
    assert evidence["stopped_since"] == "2024-06"


def test_ratio_thresholds_are_strict():
    as_of = month_code(2025, 12)
    rows = [stop_from(as_of - 2, level=level) for level in (0.30, 0.2999, 0.05, 0.0499)]
    found = detect(monthly_dataset(rows), as_of, 2025)
    assert found.runs.stopped[:, -1].tolist() == [False, True, True, True]
    assert found.runs.near_zero[:, -1].tolist() == [False, False, False, True]
    assert found.raised["suspected_idle"].tolist() == [False, True, True, True]


def test_a_month_without_data_breaks_a_run_and_no_baseline_is_not_tested():
    as_of = month_code(2025, 12)
    gap = stop_from(as_of - 3)
    gap[as_of - 1 - FIRST] = NAN  # November unknown: not counted as stopped
    short_baseline = stop_from(as_of - 5)
    short_baseline[month_code(2023, 2) - FIRST] = NAN
    never_ran = np.zeros(N_MONTHS)
    found = detect(monthly_dataset([gap, short_baseline, never_ran]), as_of, 2025)
    assert found.runs.run_length[:, -1].tolist() == [1, 0, 0]
    assert found.raised["suspected_idle"].tolist() == [False, False, False]
    assert found.runs.untested == (
        "",
        "no baseline: 1 of the 12 months 2023-01..2023-12 lack data",
        "no baseline: 0 kWh over 2023-01..2023-12",
    )
    assert "2 enterprise(s) not tested for idle months (no baseline)" in found.notes


def test_no_tax_2y_needs_two_consecutive_zero_years():
    rows = [np.full(N_MONTHS, 1000.0)] * 3
    facts = {"tax": [[0, 0, 0], [5, 0, 0], [0, NAN, 0]]}  # rows 2023, 2024, 2025
    data = monthly_dataset(rows, facts=facts)
    assert detect(data, month_code(2025, 12), 2025).raised["no_tax_2y"].tolist() == [
        False,
        False,  # 2025 missing: not known to be zero
        True,
    ]
    found = detect(data, month_code(2024, 12), 2024)
    assert found.raised["no_tax_2y"].tolist() == [False, True, True]
    assert found.flags[0].evidence == {"tax": {"2023": 0.0, "2024": 0.0}}


def test_low_output_below_half_the_control_value_after_two_years():
    rows = [np.full(N_MONTHS, 1000.0)] * 4
    facts = {"revenue": [[0] * 4, [0] * 4, [500, 499.99, 10, 10]]}  # on 10 mu each
    data = monthly_dataset(
        rows,
        facts=facts,
        production_start=[
            dt.date(2020, 1, 1),
            dt.date(2020, 1, 1),
            dt.date(2024, 1, 1),  # 2 years by the end of 2025-12
            dt.date(2024, 1, 2),
        ],
    )
    config = IdleConfig(control_revenue_per_mu=100.0)
    found = detect(data, month_code(2025, 12), 2025, config=config)
    assert found.raised["low_output"].tolist() == [False, True, True, False]
    evidence = next(f.evidence for f in found.flags if f.enterprise == "e2")
    assert evidence["revenue_per_mu"] == pytest.approx(49.999)
    assert evidence["threshold"] == 50.0
    # without a control value from the zone, the cohort mean given by the caller is used
    found = detect(data, month_code(2025, 12), 2025, cohort_revenue_per_mu=2.0)
    assert found.raised["low_output"].tolist() == [False, False, False, False]
    found = detect(data, month_code(2025, 12), 2025)
    assert "low_output not tested: no control value for revenue per mu" in found.notes


def test_idle_land_one_year_after_the_due_date_or_works_stopped():
    rows = [np.full(N_MONTHS, 1000.0)] * 4
    data = monthly_dataset(
        rows,
        construction_due=[dt.date(2024, 12, 1), dt.date(2024, 12, 1), None, None],
        construction_started=[None, dt.date(2025, 2, 1), None, None],
        built_ratio=[NAN, NAN, 0.33, 0.5],
        invested_ratio=[NAN, NAN, 0.9, 0.5],
        works_stopped_since=[None, None, dt.date(2025, 1, 1), dt.date(2024, 1, 1)],
    )
    early = detect(data, month_code(2025, 10), 2025)
    assert early.raised["idle_land"].tolist() == [False, False, False, False]
    at = detect(data, month_code(2025, 11), 2025)  # ends 2025-12-01: due + 1 year
    assert at.raised["idle_land"].tolist() == [True, False, False, False]
    late = detect(data, month_code(2025, 12), 2025)  # ends 2026-01-01
    assert late.raised["idle_land"].tolist() == [True, False, True, False]
    evidence = next(f.evidence for f in late.flags if f.enterprise == "e3")
    assert evidence["built_ratio"] == 0.33
    assert evidence["works_stopped_since"] == "2025-01-01"


def test_zombie_candidate_needs_stopped_1y_and_losses_or_two_d_grades():
    as_of = month_code(2025, 12)
    stopped = stop_from(as_of - 11, level=0.0)
    running = np.full(N_MONTHS, 1000.0)
    facts = {  # per year 2023, 2024, 2025: one value per enterprise
        "profit": [[5, -1, 5, -1], [-1, -1, -1, -1], [-1, -1, 0, -1]],
        "tax": [[1] * 4] * 3,
    }
    data = monthly_dataset([stopped, stopped, stopped, running], facts=facts)
    d = idle.D_GRADE
    grade_now = np.array([d, d, d, d])
    grade_prev = np.array([d, 2, 2, d])
    found = detect(data, as_of, 2025, grade_now, grade_prev)
    # e1: D twice; e2: three loss years; e3: a zero profit is no loss, C then D;
    # e4: losses and D twice but running
    assert found.raised["zombie_candidate"].tolist() == [True, True, False, False]
    evidence = {f.enterprise: f.evidence for f in found.flags if f.rule == "zombie_candidate"}
    assert evidence == {
        "e1": {"stopped_months": 12, "grades": {"2024": "D", "2025": "D"}},
        "e2": {"stopped_months": 12, "profit": {"2023": -1.0, "2024": -1.0, "2025": -1.0}},
    }
    without_grades = detect(data, as_of, 2025)
    assert without_grades.raised["zombie_candidate"].tolist() == [False, True, False, False]
    one_month_earlier = detect(data, as_of - 1, 2025, grade_now, grade_prev)
    assert not one_month_earlier.raised["zombie_candidate"].any()


def _slow_runs(kwh, baseline_months, window, stopped_below):
    """Baseline, ratio and the run ending at the last month, one enterprise at a time."""
    out = []
    for row in kwh:
        before = row[-window - baseline_months : -window]
        if any(math.isnan(v) for v in before) or sum(before) <= 0:
            out.append((NAN, 0))
            continue
        baseline = sum(before) / baseline_months
        run = 0
        for v in row[-window:]:
            run = run + 1 if (not math.isnan(v) and v / baseline < stopped_below) else 0
        out.append((baseline, run))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_vectorized_runs_match_a_per_enterprise_loop(seed):
    rng = np.random.default_rng(seed)
    n = 200
    kwh = rng.uniform(0, 1000, size=(n, N_MONTHS))
    low = rng.random((n, N_MONTHS)) < 0.5
    kwh[low] *= rng.uniform(0, 0.4, size=low.sum())
    kwh[rng.random((n, N_MONTHS)) < 0.01] = NAN
    data = monthly_dataset(kwh)
    state = idle.runs(data, month_code(2025, 12))
    expected = _slow_runs(kwh.tolist(), 12, 24, 0.30)
    np.testing.assert_allclose(state.baseline, [b for b, _ in expected], rtol=1e-12)
    assert state.run_length[:, -1].tolist() == [r for _, r in expected]
    assert (state.run_length[:, -1] >= 2).sum() > 10  # the random data has runs
