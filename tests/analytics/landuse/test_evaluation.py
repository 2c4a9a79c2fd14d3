"""Per-mu evaluation: hand-computed cohorts under js3 and zj6, and a slow oracle."""

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpark.analytics.landuse import cohort, evaluation, grades, indicators
from smartpark.analytics.landuse.evaluation import Config, evaluate
from smartpark.core.errors import AnalyticsError
from tests.analytics.landuse.build import dataset, static

NAN = math.nan
K = indicators.INDICATORS.index


def js3_cohort(**kw):
    """Five above-scale enterprises on 10 mu each, 2024 (benchmark year) and 2025.

    2024 means: tax_per_mu 30, revenue_per_mu 100, tax_per_energy 10, so the 2025
    benchmarks are 60, 200 and 20.
    """
    st = static(5)
    return dataset(
        st,
        (2024, 2025),
        {
            "tax": [[100, 200, 300, 400, 500], [1200, 600, 300, 300, 0]],
            "revenue": [[1000] * 5, [3000, 2000, 1000, 1000, 400]],
            "value_added": [[1] * 5, [1] * 5],
        },
        energy_tce=[[10, 20, 30, 40, 50], [40, 60, 15, 15, 10]],
        **kw,
    )


def test_js3_known_answer_with_cap_and_a_tie_at_a_grade_boundary():
    ev = evaluate(js3_cohort(), 2025, Config(profile="js3"))
    b = ev.benchmarks
    assert (b[K("tax_per_mu")], b[K("revenue_per_mu")], b[K("tax_per_energy")]) == (60, 200, 20)
    assert ev.benchmark_source[K("tax_per_mu")] == "2 × 2024 cohort mean"
    # e1: 120/60 = 2 capped at 1.5 → 67.5; 300/200 = 1.5 → 52.5; 30/20 = 1.5 → 30
    # e2: 45 + 35 + 10/20×20; e3 = e4: 22.5 + 17.5 + 20; e5: 0 + 0.2×35 + 0
    assert ev.items[0, K("tax_per_mu")] == pytest.approx(67.5)
    assert ev.score.tolist() == pytest.approx([150.0, 90.0, 60.0, 60.0, 7.0])
    assert ev.rank.tolist() == [1, 2, 3, 3, 5]
    # 5 graded, floor: A positions < 1, B < 3, C < 4, D the rest. e4 is in position 3
    # but ties take the better grade, so both tied enterprises are B.
    assert [ev.grade_letter(i) for i in range(5)] == ["A", "B", "B", "B", "D"]
    nearest = evaluate(js3_cohort(), 2025, Config(profile="js3", rounding="nearest"))
    assert [nearest.grade_letter(i) for i in range(5)] == ["A", "B", "B", "B", "C"]


def zj6_cohort():
    """Five above-scale enterprises on 10 mu; e5 has no 2024 pollutant data, e2 no 2025.

    2024 means over the cohort: tax_per_mu 10, va_per_mu 50, va_per_energy 10,
    va_per_pollutant (100 + 200 + 50 + 100) / 4 = 112.5, labour 10, rd 0.02.
    """
    st = static(5)
    return dataset(
        st,
        (2024, 2025),
        {
            "tax": [[50, 100, 150, 100, 100], [400, 200, 100, 100, 0]],
            "value_added": [[500] * 5, [1000, 500, 500, 250, 100]],
            "pollutant_t": [[5, 2.5, 10, 5, NAN], [4, NAN, 0, 1.25, 10]],
            "employees": [[50] * 5, [50, 25, 50, 25, 100]],
            "rd_spend": [[20] * 5, [40, 20, 0, 10, 0]],
            "revenue": [[1000] * 5, [1000] * 5],
        },
        energy_tce=[[50] * 5, [50, 50, 25, 50, 100]],
    )


def test_zj6_known_answer_with_missing_pollutant_and_zero_discharge():
    ev = evaluate(zj6_cohort(), 2025)
    expected_bench = {
        "tax_per_mu": 20,
        "va_per_mu": 100,
        "va_per_energy": 20,
        "va_per_pollutant": 225,
        "labour_productivity": 20,
        "rd_intensity": 0.04,
    }
    for name, value in expected_bench.items():
        assert ev.benchmarks[K(name)] == pytest.approx(value), name
    pollutant = [100 / 9, None, 15.0, 80 / 9, 4 / 9]  # 250/225, -, 0 t → cap, 200/225, 10/225
    mean = (100 / 9 + 15 + 80 / 9 + 4 / 9) / 4  # 319/36, given to e2
    assert ev.pollutant_mean == pytest.approx(319 / 36)
    assert ev.pollutant_filled.tolist() == [False, True, False, False, False]
    assert ev.items[:, K("va_per_pollutant")] == pytest.approx(
        [p if p is not None else mean for p in pollutant]
    )
    expected = [
        45 + 20 + 20 + 100 / 9 + 10 + 10,  # tax 40/mu = 2×benchmark → capped
        30 + 10 + 10 + mean + 10 + 5,
        15 + 10 + 20 + 15 + 5 + 0,
        15 + 5 + 5 + 80 / 9 + 5 + 2.5,
        0 + 2 + 1 + 4 / 9 + 0.5 + 0,
    ]
    assert ev.score == pytest.approx(expected, abs=1e-9)
    assert [ev.grade_letter(i) for i in range(5)] == ["A", "B", "B", "C", "D"]
    assert any("mean va_per_pollutant item score 8.861" in n for n in ev.notes)


def test_without_a_previous_year_the_current_cohort_mean_is_used():
    data = js3_cohort()
    ev = evaluate(data, 2024, Config(profile="js3"))
    # 2024 means 30, 100, 10 → benchmarks 60, 200, 20; tax 10..50/mu → 5..25 × 45/60
    assert ev.benchmark_source[K("tax_per_mu")] == "2 × 2024 cohort mean"
    assert ev.benchmarks[K("tax_per_mu")] == 60
    assert ev.items[:, K("tax_per_mu")] == pytest.approx([7.5, 15, 22.5, 30, 37.5])
    assert "no facts for 2023: benchmarks use the 2024 cohort mean" in ev.notes


def test_fixed_benchmarks_take_precedence():
    ev = evaluate(js3_cohort(), 2025, Config(profile="js3", fixed_benchmarks={"tax_per_mu": 240}))
    assert ev.benchmark_source[K("tax_per_mu")] == "fixed by the zone"
    assert ev.items[:, K("tax_per_mu")] == pytest.approx([22.5, 11.25, 5.625, 5.625, 0])
    with pytest.raises(AnalyticsError, match=r"benchmarks\.tax_per_kg: unknown indicator"):
        Config(fixed_benchmarks={"tax_per_kg": 1})
    with pytest.raises(AnalyticsError, match=r"benchmarks\.tax_per_mu: must be > 0"):
        Config(fixed_benchmarks={"tax_per_mu": 0})


def test_class_t_and_exclusions_are_named_and_stay_out_of_benchmarks():
    st = static(
        6,
        land_mu=[10, 10, 10, 10, 2.5, 10],
        scale=["above", "above", "above", "above", "below", None],
        utility=[False, True, False, False, False, False],
        production_start=[
            dt.date(2010, 1, 1),
            dt.date(2010, 1, 1),
            dt.date(2024, 1, 1),  # 2 years by 2025-12-31: graded
            dt.date(2024, 1, 2),  # one day short of 2 years: T
            dt.date(2010, 1, 1),
            dt.date(2010, 1, 1),
        ],
        land_grant=[dt.date(2022, 12, 31), None, None, None, None, dt.date(2023, 1, 1)],
    )
    data = dataset(
        st,
        (2025,),
        {"tax": [[100, 9999, 300, 9999, 1, 1]], "revenue": [[1] * 6], "value_added": [[1] * 6]},
        energy_tce=[[1] * 6],
    )
    status = cohort.classify(st, 2025)
    assert status.tolist() == [
        cohort.COHORT,
        cohort.T_UTILITY,
        cohort.COHORT,
        cohort.T_NEW_PRODUCTION,
        cohort.EXCLUDED_SMALL_BELOW,
        cohort.EXCLUDED_NO_SCALE,
    ]
    ev = evaluate(data, 2025, Config(profile="js3"))
    # only e1 and e3 make the benchmark: mean tax_per_mu (10 + 30) / 2 = 20 → 40
    assert ev.benchmarks[K("tax_per_mu")] == pytest.approx(40)
    assert [ev.grade_letter(i) for i in range(6)] == ["D", "T", "B", "T", "-", "-"]
    assert ev.reasons[1] == "utility (water, power or gas supplier)"
    assert ev.reasons[3] == "production since 2024-01-02, less than 2 years by the end of 2025"
    assert ev.reasons[4] == "below scale on 2.50 mu (< 3 mu)"
    assert ev.reasons[5] == "no scale (above/below) in the registry"


def test_missing_data_is_a_visible_not_graded_never_a_silent_grade():
    data = js3_cohort()
    data.energy_tce[1, 1] = NAN  # e2: no energy data for 2025
    data.facts["revenue"][2, 1] = NAN  # e3: revenue missing
    data.present[3, 1] = False  # e4: no facts row at all
    data.facts["tax"][3, 1] = NAN
    ev = evaluate(data, 2025, Config(profile="js3"))
    assert ev.reasons[1] == "cannot score tax_per_energy: energy_tce missing"
    assert ev.reasons[2] == "cannot score revenue_per_mu: revenue missing"
    assert ev.reasons[3] == "no facts row for 2025"
    assert ev.status[1] == evaluation.MISSING_INPUT
    assert ev.grade[1:4].tolist() == [-1, -1, -1]
    # 2 graded: nobody lies inside the top 20 % (0.4 of an enterprise), so B and D
    assert [ev.grade_letter(i) for i in (0, 4)] == ["B", "D"]
    zero_land = dataset(static(2, land_mu=[10, 0]), (2025,), {"tax": [[1, 1]]})
    ev = evaluate(zero_land, 2025, Config(profile="js3"))
    assert ev.reasons[1] == "no land area (land_m2 missing or 0)"


def test_reasons_name_only_the_items_that_could_not_be_scored():
    data = zj6_cohort()
    data.energy_tce[1, 1] = NAN  # e2 also lacks pollutant data, which the mean covers
    data.facts["value_added"][3, 1] = NAN  # e4: four value-added indicators undefined
    ev = evaluate(data, 2025)
    assert ev.reasons[1] == "cannot score va_per_energy: energy_tce missing"
    assert ev.reasons[3] == (
        "cannot score va_per_mu: value_added missing; va_per_energy: value_added missing; "
        "va_per_pollutant: value_added missing; labour_productivity: value_added missing"
    )
    nobody = zj6_cohort()
    nobody.facts["pollutant_t"][:, 1] = NAN
    nobody.facts["pollutant_t"][4, 1] = 3.0
    nobody.present[4, 1] = False  # the only discharger has no row: no mean to give
    ev = evaluate(nobody, 2025)
    assert ev.reasons[0] == (
        "cannot score va_per_pollutant: pollutant_t missing, "
        "no cohort member has pollutant data for the mean item score"
    )


def test_below_scale_profile_uses_tax_per_kwh():
    st = static(2, scale="below", land_mu=[5, 5])
    data = dataset(
        st,
        (2025,),
        {"tax": [[50, 100]]},
        electricity_kwh=[[100_000, 100_000]],
    )
    ev = evaluate(data, 2025)
    # tax_per_mu 10, 20 (mean 15 → 30); tax_per_kwh 5, 10 CNY/kWh (mean 7.5 → 15)
    assert ev.values[:, K("tax_per_kwh")].tolist() == [5.0, 10.0]
    assert ev.score == pytest.approx([50 / 3 + 50 / 3, 100 / 3 + 100 / 3])


def test_unknown_year_and_profile_are_errors():
    with pytest.raises(AnalyticsError, match="year 2030"):
        evaluate(js3_cohort(), 2030)
    with pytest.raises(AnalyticsError, match="profile"):
        Config(profile="below")


# --- grades -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "shares", "rounding", "expected"),
    [
        (100, (20, 40, 35, 5), "floor", [20, 40, 35, 5]),
        (7, (20, 40, 35, 5), "floor", [1, 3, 2, 1]),
        (7, (20, 40, 35, 5), "nearest", [1, 3, 3, 0]),
        (5, (20, 40, 35, 5), "floor", [1, 2, 1, 1]),
        (20, (20, 45, 30, 5), "floor", [4, 9, 6, 1]),
        (3, (20, 40, 35, 5), "floor", [0, 1, 1, 1]),
        (0, (20, 40, 35, 5), "floor", [0, 0, 0, 0]),
    ],
)
def test_grade_counts_add_up(n, shares, rounding, expected):
    counts = grades.counts(n, shares, rounding)
    assert counts.tolist() == expected
    assert counts.sum() == n


def test_share_presets_and_bad_shares():
    assert grades.parse_shares("ah") == (20, 45, 30, 5)
    assert grades.parse_shares("10,50,30,10") == (10, 50, 30, 10)
    with pytest.raises(AnalyticsError, match="summing to 100"):
        grades.parse_shares("20,40,35,6")
    with pytest.raises(AnalyticsError, match="four percentages"):
        grades.parse_shares("top20")


# --- oracle -----------------------------------------------------------------------------


def _slow_evaluate(data, year, config):
    """docs/landuse.md §2–3 written one enterprise at a time, as plainly as possible."""
    st = data.static
    n = len(st.ids)
    profiles = {
        "zj6": evaluation.scoring.PROFILES["zj6"],
        "js3": evaluation.scoring.PROFILES["js3"],
    }

    def in_cohort(i, y):
        j = data.years.index(y)
        if not data.present[i, j] or st.utility[i]:
            return False
        land_mu = st.land_m2[i] * 15 / 10_000
        if not land_mu > 0 or not (st.above[i] or st.below[i]):
            return False
        ps = st.production_start[i].astype(dt.date)
        if ps is None:
            return False
        end = dt.date(y + 1, 1, 1)
        if ps > end.replace(year=end.year - 2):
            return False
        lg = st.land_grant[i].astype(dt.date)
        if lg is not None and lg > end.replace(year=end.year - 3):
            return False
        return not (st.below[i] and land_mu < 3)

    def value(name, i, y):
        j = data.years.index(y)
        f = {k: float(v[i, j]) for k, v in data.facts.items()}
        land_mu = st.land_m2[i] * 15 / 10_000
        den = {
            "land_mu": land_mu,
            "energy_tce": float(data.energy_tce[i, j]),
            "electricity_kwh": float(data.electricity_kwh[i, j]),
            "pollutant_t": f["pollutant_t"],
            "employees": f["employees"],
            "revenue": f["revenue"],
        }
        num_name, den_name = indicators.FORMULAS[name]
        num = f[num_name] * (10_000 if name == "tax_per_kwh" else 1)
        d = den[den_name]
        if math.isnan(num) or math.isnan(d):
            return NAN
        if d > 0:
            return num / d
        if name == "va_per_pollutant" and d == 0:
            return math.inf if num > 0 else 0.0
        return NAN

    def mean(name, y):
        vals = [value(name, i, y) for i in range(n) if in_cohort(i, y)]
        vals = [v for v in vals if math.isfinite(v)]
        return sum(vals) / len(vals) if vals else NAN

    bench = {}
    for name in indicators.INDICATORS:
        prev = mean(name, year - 1) if year - 1 in data.years else NAN
        bench[name] = config.benchmark_factor * (prev if not math.isnan(prev) else mean(name, year))

    def item(name, weight, i):
        v = value(name, i, year)
        if math.isnan(v) or not bench[name] > 0:
            return NAN
        return weight * min(max(v / bench[name], 0.0), config.cap)

    def weights(i):
        if st.above[i]:
            return profiles[config.profile]
        return evaluation.scoring.PROFILES["below"]

    pollutant_items = [
        item("va_per_pollutant", 10, i)
        for i in range(n)
        if in_cohort(i, year) and "va_per_pollutant" in weights(i)
    ]
    pollutant_items = [p for p in pollutant_items if not math.isnan(p)]
    pollutant_mean = sum(pollutant_items) / len(pollutant_items) if pollutant_items else NAN
    scores = []
    for i in range(n):
        if not in_cohort(i, year):
            scores.append(NAN)
            continue
        total = 0.0
        for name, w in weights(i).items():
            s = item(name, w, i)
            no_data = math.isnan(data.facts["pollutant_t"][i, data.years.index(year)])
            if name == "va_per_pollutant" and st.above[i] and no_data:
                s = pollutant_mean
            total += s
        scores.append(total)
    graded = [s for s in scores if not math.isnan(s)]
    m = len(graded)
    cuts, acc = [], 0.0
    for share in config.shares[:-1]:
        acc += share
        cuts.append(math.floor(round(acc * m / 100, 9)))
    out_grades, ranks = [], []
    for s in scores:
        if math.isnan(s):
            out_grades.append(-1)
            ranks.append(0)
            continue
        higher = sum(1 for t in graded if round(t, 9) > round(s, 9))
        ranks.append(higher + 1)
        out_grades.append(sum(1 for c in cuts if higher >= c))
    return scores, ranks, out_grades


def _random_dataset(rng, n):
    years = (2023, 2024, 2025)
    scale = rng.choice(["above", "above", "below", None], size=n, p=[0.45, 0.25, 0.25, 0.05])
    st = static(
        n,
        land_mu=rng.choice(
            [0.0, 2.0, 3.0, 5.0, 40.0, 150.0], size=n, p=[0.02, 0.08, 0.1, 0.2, 0.3, 0.3]
        ).tolist(),
        scale=scale.tolist(),
        utility=(rng.random(n) < 0.05).tolist(),
        production_start=[
            dt.date(int(y), 6, 1) if y else None
            for y in rng.choice([0, 2015, 2023, 2024], size=n, p=[0.03, 0.87, 0.05, 0.05])
        ],
        land_grant=[
            dt.date(int(y), 3, 1) if y else None
            for y in rng.choice([0, 2012, 2022, 2023], size=n, p=[0.2, 0.7, 0.05, 0.05])
        ],
    )

    def col(lo, hi, missing=0.01, zero=0.01):
        v = rng.uniform(lo, hi, size=(len(years), n))
        v[rng.random(v.shape) < zero] = 0.0
        v[rng.random(v.shape) < missing] = NAN
        return v.tolist()

    present = rng.random((n, len(years))) > 0.02
    return dataset(
        st,
        years,
        {
            "tax": col(0, 5000),
            "revenue": col(10, 90000),
            "value_added": col(0, 20000),
            "employees": col(1, 1000),
            "rd_spend": col(0, 2000),
            "pollutant_t": col(0, 200, missing=0.2),
            "profit": col(-100, 100),
        },
        energy_tce=col(0, 20000, missing=0.02),
        electricity_kwh=col(1e4, 1e8, missing=0.02),
        present=present,
    )


@pytest.mark.parametrize("seed", range(6))
def test_vectorized_evaluation_matches_the_slow_oracle(seed):
    rng = np.random.default_rng(seed)
    data = _random_dataset(rng, 60)
    config = Config(
        profile=("zj6", "js3")[seed % 2],
        shares=((20, 40, 35, 5), (20, 45, 30, 5))[seed // 3 % 2],
    )
    for year in (2024, 2025):
        ev = evaluate(data, year, config)
        scores, ranks, grade = _slow_evaluate(data, year, config)
        np.testing.assert_allclose(ev.score, scores, rtol=0, atol=1e-9, equal_nan=True)
        assert ev.rank.tolist() == ranks
        assert ev.grade.tolist() == grade
        assert ev.graded.sum() > 20  # the random cohort is mostly gradable


@given(
    scores=st.lists(
        st.one_of(st.sampled_from([0.0, 10.0, 50.0, NAN]), st.floats(0, 150)), max_size=40
    ),
    shares=st.sampled_from([(20, 40, 35, 5), (20, 45, 30, 5), (0, 50, 50, 0), (25, 25, 25, 25)]),
    rounding=st.sampled_from(["floor", "nearest"]),
)
@settings(max_examples=200, deadline=None)
def test_grades_are_monotone_ties_share_a_grade_and_counts_follow_positions(
    scores, shares, rounding
):
    s = np.array(scores, np.float64)
    rank, grade = grades.assign(s, shares, rounding)
    graded = ~np.isnan(s)
    assert (grade[~graded] == -1).all()
    assert (rank[~graded] == 0).all()
    g, r = grade[graded], rank[graded]
    v = np.round(s[graded], grades.TIE_DECIMALS)  # equal after rounding: a tie
    for i in range(v.size):
        for j in range(v.size):
            if v[i] > v[j]:
                assert g[i] <= g[j]
                assert r[i] < r[j]
            if v[i] == v[j]:
                assert g[i] == g[j]
                assert r[i] == r[j]
    # without ties, each grade holds exactly its rounded count
    if np.unique(v).size == v.size:
        counts = np.bincount(g, minlength=4) if v.size else np.zeros(4, int)
        assert counts.tolist() == grades.counts(v.size, shares, rounding).tolist()
