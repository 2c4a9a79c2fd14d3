"""The land-use job without the CLI: the example zone from files, a SQLite and an influxd store."""

from dataclasses import replace
from pathlib import Path

import pytest

from smartpark.analytics.landuse import records
from smartpark.analytics.landuse.job import Request, run
from smartpark.core import registry
from smartpark.core.errors import AnalyticsError, ConfigError, OptionError
from smartpark.core.urls import parse_store_url
from smartpark.store import open_store
from tests.analytics.landuse import example_months
from tests.analytics.landuse.test_example import GRADES

ROOT = Path(__file__).resolve().parents[3]
REGISTRY = ROOT / "examples" / "registry.toml"
MONTHLY = ROOT / "examples" / "monthly-energy.csv"
FLAGS = {
    ("suspected_idle", "battery-a"),
    ("suspected_idle", "textile-a"),
    ("stopped_1y", "battery-a"),
    ("no_tax_2y", "chem-c"),
    ("low_output", "battery-a"),
    ("low_output", "chem-c"),
    ("idle_land", "carbon-fiber"),
    ("zombie_candidate", "battery-a"),
}


def grades(done):
    ev = done.analysis.evaluation
    return {e: ev.grade_letter(i) for i, e in enumerate(ev.ids)}


def flags(done):
    return {(f.rule, f.enterprise) for f in done.analysis.detection.flags}


def test_the_example_files_give_every_grade_and_every_flag():
    done = run(Request(registry=REGISTRY, year=2025, monthly=MONTHLY))
    assert done.written is None
    assert done.analysis.data.zone == "lanzhou-new-area"
    assert grades(done) == GRADES
    assert flags(done) == FLAGS
    assert done.analysis.detection.runs.months[-1] == "2025-12"


def test_options_reach_the_analysis():
    done = run(
        Request(
            registry=REGISTRY,
            year=2025,
            monthly=MONTHLY,
            profile="js3",
            shares="ah",
            benchmarks=("tax_per_mu=60",),
            control=12.0,
        )
    )
    config = done.analysis.evaluation.config
    assert (config.profile, config.shares) == ("js3", (20.0, 45.0, 30.0, 5.0))
    assert records.benchmarks(done.analysis)["tax_per_mu"] == {
        "value": 60.0,
        "unit": "10k CNY/mu",
        "source": "fixed by the zone",
    }
    assert done.analysis.control_revenue_per_mu == 12.0  # threshold 6: battery-a has 5
    assert {e for rule, e in flags(done) if rule == "low_output"} == {"battery-a"}


def test_without_a_year_the_facts_are_the_last_year_not_after_as_of():
    done = run(Request(registry=REGISTRY, as_of="2024-10", monthly=MONTHLY))
    assert done.analysis.evaluation.year == 2024
    assert done.analysis.detection.runs.months[-1] == "2024-10"


def test_errors_name_the_option_to_fix(tmp_path):
    base = Request(registry=REGISTRY, year=2025, monthly=MONTHLY)
    cases = [
        ({"benchmarks": ("tax_per_mu",)}, OptionError, "--benchmark: expected INDICATOR=VALUE"),
        ({"year": None}, OptionError, "--year: give --year or --as-of"),
        ({"monthly": None}, OptionError, "--store: give a store URL to read the monthly KPIs"),
        ({"as_of": "2025-13"}, AnalyticsError, "--as-of: month must look like 2025-03"),
        ({"year": None, "as_of": "2022-05"}, AnalyticsError, "--as-of 2022-05: no facts for 2022"),
        ({"year": 2031}, AnalyticsError, r"no facts for year 2031 \(the file has 2023, 2024"),
        ({"shares": "1,2"}, AnalyticsError, "shares: expected default, ah or four percentages"),
        ({"zone": "nope"}, AnalyticsError, "unknown zone 'nope'"),
    ]
    for change, error, message in cases:
        with pytest.raises(error, match=message):
            run(replace(base, **change))
    # an unknown indicator is the zone's configuration, not a malformed option
    with pytest.raises(AnalyticsError, match=r"benchmarks\.tax_per_kg: unknown") as caught:
        run(replace(base, benchmarks=("tax_per_kg=3",)))
    assert not isinstance(caught.value, OptionError)
    with pytest.raises(ConfigError) as bad:
        run(replace(base, facts=tmp_path / "missing.csv"))
    assert "cannot read facts file" in bad.value.problems[0]


def test_write_puts_every_kpi_row_in_a_sqlite_store(tmp_path):
    url = parse_store_url(f"sqlite:///{tmp_path / 'kpi.db'}")
    done = run(Request(registry=REGISTRY, year=2025, monthly=MONTHLY, store=url, write=True))
    assert done.written == len(done.analysis.kpi_rows())
    store = open_store(url, registry.load(REGISTRY))
    try:
        year = store.read_kpis(0, 2**62, scope="park", period="year")
    finally:
        store.close()
    assert {r.id for r in year} == {"petrochem", "new-materials", "coop-enclave"}


@pytest.mark.servers
def test_months_read_from_influxd_give_what_the_csv_gives_and_park_kpis_go_back(influxd, influx_db):
    reg = registry.load(REGISTRY)
    url = parse_store_url(influxd.store_url(influx_db))
    store = open_store(url, reg)
    try:
        store.write_kpis(example_months.kpi_rows())
    finally:
        store.close()

    via_store = run(Request(registry=REGISTRY, year=2025, store=url, write=True))
    via_csv = run(Request(registry=REGISTRY, year=2025, monthly=MONTHLY))
    assert grades(via_store) == GRADES
    assert flags(via_store) == FLAGS
    assert records.enterprises(via_store.analysis) == records.enterprises(via_csv.analysis)
    assert records.flags(via_store.analysis) == records.flags(via_csv.analysis)
    assert via_store.written == len(via_store.analysis.kpi_rows())

    store = open_store(url, reg)
    try:
        year = store.read_kpis(0, 2**62, scope="zone", period="year")
        month = store.read_kpis(0, 2**62, scope="park", period="month")
    finally:
        store.close()
    computed = {r.kpi: r.value for r in via_csv.analysis.year_rows() if r.scope == "zone"}
    assert {r.kpi: r.value for r in year} == pytest.approx(computed, rel=1e-12)
    assert computed["grade_share_D"] == pytest.approx(100 / 7)
    assert len(month) == 24 * 3 * 6
