"""``smartpark landuse`` on the example zone: table, JSON, CSV, --explain, --write, errors."""

import csv
import io
import json
import logging
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from smartpark.cli import app
from smartpark.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[3]
REGISTRY = ROOT / "examples" / "registry.toml"
MONTHLY = ROOT / "examples" / "monthly-energy.csv"
BASE = ["landuse", "--registry", str(REGISTRY), "--monthly", str(MONTHLY), "--year", "2025"]


@pytest.fixture(autouse=True)
def _restore_logging():
    """The command configures logging onto the runner's stderr, closed after each run."""
    handlers, level = logging.root.handlers[:], logging.root.level
    yield
    structlog.reset_defaults()
    logging.root.handlers[:] = handlers
    logging.root.setLevel(level)


def run(*args, env=None):
    result = CliRunner().invoke(app, [*BASE, *args], env={"COLUMNS": "200", **(env or {})})
    return result


def test_table_shows_grades_flags_park_kpis_and_the_disclaimer():
    result = run()
    assert result.exit_code == 0, result.output
    out = result.output
    assert "per-mu grades (zj6, shares 20/40/35/5)" in out
    assert "not graded: utility" in out
    assert "zombie_candidate" in out
    assert "stopped_since 2024-11" in out
    assert "land_output_rate" in out
    assert "not an official result" in out


def test_json_has_every_grade_rule_and_the_park_kpis():
    result = run("--format", "json", "--profile", "js3", "--shares", "ah")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["profile"] == "js3"
    assert payload["shares"] == [20, 45, 30, 5]
    grades = {e["enterprise"]: e["grade"] for e in payload["enterprises"]}
    assert set(grades.values()) == {"A", "B", "C", "D", "T", "-"}
    assert {f["rule"] for f in payload["flags"]} == {
        "suspected_idle",
        "stopped_1y",
        "no_tax_2y",
        "low_output",
        "idle_land",
        "zombie_candidate",
    }
    chem_a = next(e for e in payload["enterprises"] if e["enterprise"] == "chem-a")
    assert set(chem_a["items"]) == {"tax_per_mu", "revenue_per_mu", "tax_per_energy"}
    assert sum(chem_a["items"].values()) == pytest.approx(chem_a["score"], abs=1e-3)
    zone = {k["kpi"]: k["value"] for k in payload["kpis"] if k["scope"] == "zone"}
    assert zone["graded_enterprises"] == 7
    assert "disclaimer" in payload


def test_csv_has_one_row_per_enterprise():
    result = run("--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 11
    battery = next(r for r in rows if r["enterprise"] == "battery-a")
    assert battery["flags"] == "suspected_idle;stopped_1y;low_output;zombie_candidate"
    assert battery["profile"] == "below"
    assert battery["item_tax_per_kwh"] != ""


def test_fixed_benchmark_and_control_value():
    result = run("--explain", "chem-a", "--format", "json", "--benchmark", "tax_per_mu=60")
    assert result.exit_code == 0, result.output
    tax = next(i for i in json.loads(result.stdout)["items"] if i["indicator"] == "tax_per_mu")
    assert tax["benchmark"] == 60
    assert tax["benchmark_source"] == "fixed by the zone"
    assert tax["item_score"] == pytest.approx(30 * min(5400 / 180 / 60, 1.5), abs=1e-4)
    result = run("--format", "json", "--control", "12")  # threshold 6: battery-a has 5
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["control_revenue_per_mu"] == 12
    assert [f["enterprise"] for f in payload["flags"] if f["rule"] == "low_output"] == ["battery-a"]
    assert run("--benchmark", "tax_per_mu").exit_code == 2
    assert run("--benchmark", "tax_per_kg=3").exit_code == 1


def test_park_filter_keeps_zone_wide_grades():
    result = run("--format", "json", "--park", "petrochem")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {e["enterprise"] for e in payload["enterprises"]} == {
        "chem-a",
        "chem-b",
        "chem-c",
        "petro-utility",
    }
    assert {e["rank"] for e in payload["enterprises"]} == {1, 2, 7, None}
    assert {(f["rule"], f["enterprise"]) for f in payload["flags"]} == {
        ("no_tax_2y", "chem-c"),
        ("low_output", "chem-c"),
    }
    assert {k["id"] for k in payload["kpis"]} == {"petrochem", "lanzhou-new-area"}
    assert run("--park", "nowhere").exit_code == 2


def test_explain_shows_each_item():
    result = run("--explain", "pv-glass", "--format", "json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    items = {i["indicator"]: i for i in record["items"]}
    assert items["va_per_pollutant"]["note"] == "no pollutant data: the cohort's mean item score"
    tax = items["tax_per_mu"]
    assert tax["value"] == pytest.approx(1800 / 135)
    assert tax["item_score"] == pytest.approx(30 * min(tax["ratio"], 1.5), abs=1e-4)
    assert run("--explain", "nobody").exit_code == 2


def test_write_puts_the_kpis_in_the_store(tmp_path):
    db = tmp_path / "kpi.db"
    result = run("--write", "--store", f"sqlite:///{db}", "--format", "json")
    assert result.exit_code == 0, result.output
    from smartpark.core import registry

    with SqliteStore(db, registry.load(REGISTRY)) as store:
        year = store.read_kpis(0, 2**62, scope="park", period="year")
        month = store.read_kpis(0, 2**62, scope="zone", period="month")
    assert {r.id for r in year} == {"petrochem", "new-materials", "coop-enclave"}
    assert len(month) == 24 * 6


def test_bad_facts_exit_1_with_every_error(tmp_path):
    bad = tmp_path / "facts.csv"
    bad.write_text(
        "year,enterprise,tax,revenue,value_added,employees,rd_spend,pollutant_t,profit\n"
        "2025,chem-a,-1,1,1,1,1,1,1\n"
        "2025,ghost,1,1,1,1,1,1,1\n"
    )
    result = run("--facts", str(bad))
    assert result.exit_code == 1
    assert "line 2, column tax: must be >= 0" in result.output
    assert "line 3, column enterprise: unknown enterprise 'ghost'" in result.output
    assert run("--format", "xml").exit_code == 2
    result = run("--year", "2031")
    assert result.exit_code == 1
    assert "no facts for year 2031 (the file has 2023, 2024, 2025)" in result.output
    header_only = tmp_path / "empty.csv"
    header_only.write_text(bad.read_text().splitlines()[0] + "\n")
    result = run("--facts", str(header_only))
    assert result.exit_code == 1
    assert "no facts for year 2025 (the file has none)" in result.output


def test_zero_pollutant_is_valid_json_and_explained(tmp_path):
    text = (ROOT / "examples" / "facts.csv").read_text()
    text = text.replace(
        "2025,textile-a,420,13500,2900,380,150,7.5,300",
        "2025,textile-a,420,13500,2900,380,150,0,300",
    )
    facts = tmp_path / "facts.csv"
    facts.write_text(text)
    result = run("--facts", str(facts), "--explain", "textile-a", "--format", "json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)  # strict JSON: no Infinity
    item = next(i for i in record["items"] if i["indicator"] == "va_per_pollutant")
    assert item["value"] is None
    assert item["item_score"] == pytest.approx(15.0)
    assert item["note"] == "0 t discharged: the capped item score"


def idle_flags(*args):
    result = CliRunner().invoke(
        app,
        ["idle", "--registry", str(REGISTRY), "--monthly", str(MONTHLY), *args],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_idle_command_on_the_example_months_turns_stopped_1y_on_at_the_twelfth_month():
    before = idle_flags("--as-of", "2025-09", "--format", "json")
    at = idle_flags("--as-of", "2025-10", "--format", "json")
    assert before["facts_year"] == at["facts_year"] == 2025
    rules = lambda payload: {(f["rule"], f["enterprise"]) for f in payload["flags"]}  # noqa: E731
    assert ("suspected_idle", "battery-a") in rules(before)
    assert ("stopped_1y", "battery-a") not in rules(before)
    assert ("zombie_candidate", "battery-a") not in rules(before)
    assert {("stopped_1y", "battery-a"), ("zombie_candidate", "battery-a")} <= rules(at)
    stopped = next(f for f in at["flags"] if f["rule"] == "stopped_1y")
    assert stopped["evidence"]["stopped_months"] == 12
    assert stopped["evidence"]["stopped_since"] == "2024-11"
    assert at["untested"] == {
        "carbon-fiber": "no baseline: 4 of the 12 months 2022-11..2023-10 lack data",
        "cement-a": "no baseline: 12 of the 12 months 2022-11..2023-10 lack data",
    }
    park = idle_flags("--as-of", "2025-12", "--park", "coop-enclave", "--format", "json")
    assert [(f["rule"], f["enterprise"]) for f in park["flags"]] == [
        ("suspected_idle", "textile-a")
    ]


def test_xlsx_is_written_to_out_in_the_zones_language_and_refused_without_it(tmp_path):
    from tests.workbooks import tables

    refused = run("--format", "xlsx")
    assert refused.exit_code == 2
    assert "--out" in refused.output
    assert "FILE.xlsx" in refused.output
    bad = run("--format", "xlsx", "--out", str(tmp_path / "x.xlsx"), "--lang", "fr")
    assert bad.exit_code == 2
    assert "--lang: unknown language 'fr'" in bad.output
    result = run("--format", "xlsx", "--out", str(tmp_path / "landuse.xlsx"), "--park", "petrochem")
    assert result.exit_code == 0, result.output
    books = tables(tmp_path / "landuse.xlsx")
    payload = json.loads(run("--format", "json", "--park", "petrochem").stdout)
    grades = books["亩均评价"].records()  # the example zone's lang is zh
    assert [r["企业"] for r in grades] == [e["enterprise"] for e in payload["enterprises"]]
    assert "（园区 petrochem）" in books["亩均评价"].lines[1]
    out = tmp_path / "idle.xlsx"
    idle = CliRunner().invoke(
        app,
        ["idle", "--registry", str(REGISTRY), "--monthly", str(MONTHLY), "--as-of", "2025-10",
         "--format", "xlsx", "--out", str(out), "--lang", "zh"],
    )  # fmt: skip
    assert idle.exit_code == 0, idle.output
    flags = tables(out)["低效闲置标记"].records()
    expected = idle_flags("--as-of", "2025-10", "--format", "json")["flags"]
    assert [(f["规则"], f["企业"]) for f in flags] == [
        (f["rule"], f["enterprise"]) for f in expected
    ]
