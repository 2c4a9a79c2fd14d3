"""The example zone: every grade and every idle rule occurs, and the KPIs reach a store."""

from pathlib import Path

import numpy as np
import pytest

from smartpark.analytics.landuse import analysis, dataset, facts, monthly, telemetry
from smartpark.analytics.landuse.idle import RULES
from smartpark.analytics.landuse.park import start_ms
from smartpark.core import registry
from smartpark.store.base import KpiRow
from smartpark.store.sqlite import SqliteStore
from tests.analytics.landuse import example_months

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
OUTAGE = monthly.month_code(2025, 7) - monthly.month_code(2022, 1)  # a month of chem-a


@pytest.fixture(scope="module")
def reg():
    return registry.load(EXAMPLES / "registry.toml")


@pytest.fixture(scope="module")
def example(reg):
    f = facts.load(facts.facts_path(reg, "lanzhou-new-area"), reg)
    m = monthly.load(EXAMPLES / "monthly-energy.csv", f.enterprises)
    return analysis.analyse(dataset.build(reg, f, m), 2025)


def test_monthly_csv_is_the_generated_example():
    assert (EXAMPLES / "monthly-energy.csv").read_text() == example_months.csv_text()


# The example zone's 2025 grades (docs/landuse.md): every letter and class occurs.
GRADES = {
    "chem-a": "A",
    "chem-b": "B",
    "pv-glass": "B",
    "alu-a": "B",
    "textile-a": "C",
    "battery-a": "C",
    "chem-c": "D",
    "carbon-fiber": "T",
    "petro-utility": "T",
    "food-a": "-",
    "cement-a": "-",  # no monthly energy in the example's months: not graded
}


def test_every_grade_and_class_occurs(example):
    ev = example.evaluation
    letters = {e: ev.grade_letter(i) for i, e in enumerate(ev.ids)}
    assert letters == GRADES
    assert ev.pollutant_filled[ev.ids.index("pv-glass")]
    assert example.previous is not None
    assert example.previous.grade_letter(ev.ids.index("chem-c")) == "D"


def test_every_idle_rule_occurs(example):
    raised = {(f.rule, f.enterprise) for f in example.detection.flags}
    assert raised == {
        ("suspected_idle", "battery-a"),
        ("suspected_idle", "textile-a"),
        ("stopped_1y", "battery-a"),
        ("no_tax_2y", "chem-c"),
        ("low_output", "battery-a"),
        ("low_output", "chem-c"),
        ("idle_land", "carbon-fiber"),
        ("zombie_candidate", "battery-a"),
    }
    assert {rule for rule, _ in raised} == set(RULES)


def test_kpis_are_written_to_and_read_back_from_a_real_store(example, reg, tmp_path):
    rows = example.kpi_rows()
    assert {r.period for r in rows} == {"year", "month"}
    with SqliteStore(tmp_path / "store.db", reg) as store:
        store.write_kpis(rows)
        back = store.read_kpis(0, 2**62, scope="zone", period="year")
    zone = {r.kpi: r.value for r in back}
    assert zone["grade_share_A"] == pytest.approx(100 / 7)
    assert zone["flagged_land_mu_idle_land"] == pytest.approx(90.0)
    assert zone["graded_enterprises"] == 7


def test_monthly_kpis_from_the_store_give_the_same_grades(example, reg, tmp_path):
    """The KPI engine's stored monthly enterprise KPIs feed the same evaluation."""
    m = example_months.build()
    tz = "Asia/Shanghai"
    rows = []
    for i, ident in enumerate(m.enterprises):
        for k in range(m.n_months):
            code = m.first + k
            start = start_ms(code // 12, code % 12 + 1, tz)
            if np.isnan(m.values["electricity_kwh"][i, k]):
                continue  # no meter yet
            for q in monthly.QUANTITIES:
                rows.append(
                    KpiRow("enterprise", ident, "month", q, start, float(m.values[q][i, k]))
                )
            # an outage in one month of chem-a: that month is missing, not a small number
            completeness = 50.0 if (ident == "chem-a" and k == OUTAGE) else 100.0
            rows.append(KpiRow("enterprise", ident, "month", "completeness", start, completeness))
    with SqliteStore(tmp_path / "store.db", reg) as store:
        store.write_kpis(rows)
        f = facts.load(EXAMPLES / "facts.csv", reg)
        stored = telemetry.read_monthly(
            store, reg, f.enterprises, monthly.month_code(2022, 1), monthly.month_code(2025, 12)
        )
    chem_a = f.enterprises.index("chem-a")
    assert stored.first == m.first
    assert stored.values["electricity_kwh"].shape == (11, 48)
    # the example months' enterprises in the registry's order; cement-a has no months
    rows_of = [m.enterprises.index(e) if e in m.enterprises else -1 for e in f.enterprises]
    assert rows_of.count(-1) == 1
    expected = {}
    for q, v in m.values.items():
        expected[q] = np.where(np.array(rows_of)[:, None] >= 0, v[rows_of], np.nan)
        expected[q][chem_a, OUTAGE] = float("nan")
    for q in monthly.QUANTITIES:
        np.testing.assert_array_equal(stored.values[q], expected[q])
    result = analysis.analyse(dataset.build(reg, f, stored), 2025)
    ev = result.evaluation
    # chem-a has no complete 2025 energy: visibly not graded
    assert ev.reasons[chem_a] == "cannot score va_per_energy: energy_tce missing"
    direct = analysis.analyse(
        dataset.build(reg, f, monthly.Monthly(f.enterprises, m.first, expected)), 2025
    )
    np.testing.assert_array_equal(ev.score, direct.evaluation.score)
    assert ev.grade.tolist() == direct.evaluation.grade.tolist()
    assert {(f.rule, f.enterprise) for f in result.detection.flags} == {
        (f.rule, f.enterprise) for f in example.detection.flags
    }
