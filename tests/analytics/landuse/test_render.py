"""What the land-use commands print, built without the CLI: payloads, CSV and tables."""

import csv
import dataclasses
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from smartpark.analytics.landuse import render
from smartpark.analytics.landuse.job import Request, run
from smartpark.core.cells import safe_cell
from smartpark.core.errors import OptionError

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def analysis():
    request = Request(
        registry=ROOT / "examples" / "registry.toml",
        year=2025,
        monthly=ROOT / "examples" / "monthly-energy.csv",
    )
    return run(request).analysis


def printed(screen):
    console = Console(width=screen.width, record=True, file=io.StringIO())
    for part in screen.parts:
        console.print(part)
    return console.export_text()


def test_a_park_keeps_its_enterprises_and_zone_wide_ranks(analysis):
    shown = render.select(analysis, "petrochem")
    assert {r["enterprise"] for r in shown.enterprises} == {
        "chem-a",
        "chem-b",
        "chem-c",
        "petro-utility",
    }
    assert {r["rank"] for r in shown.enterprises} == {1, 2, 7, None}
    assert {r.id for r in shown.kpis} == {"petrochem", "lanzhou-new-area"}
    with pytest.raises(OptionError, match="--park: no park 'nowhere' in zone 'lanzhou-new-area'"):
        render.select(analysis, "nowhere")
    with pytest.raises(OptionError, match="--explain: no enterprise 'nobody' in the zone"):
        render.landuse(analysis, "table", explain_id="nobody")


def test_each_format_of_landuse_and_idle(analysis):
    payload = json.loads(render.landuse(analysis, "json"))
    assert payload == json.loads(render.to_json(render.landuse_payload(render.select(analysis))))
    assert payload["disclaimer"] == render.DISCLAIMER
    rows = list(csv.DictReader(io.StringIO(render.landuse(analysis, "csv"))))
    assert len(rows) == 11
    table = printed(render.landuse(analysis, "table"))
    assert "per-mu grades (zj6, shares 20/40/35/5)" in table
    assert table.rstrip().endswith(render.DISCLAIMER)
    explained = printed(render.landuse(analysis, "table", explain_id="chem-a"))
    assert explained.startswith("chem-a 2025: grade A, rank 1 of 7")
    idle = json.loads(render.idle(analysis, "json", "coop-enclave"))
    assert [(f["rule"], f["enterprise"]) for f in idle["flags"]] == [
        ("suspected_idle", "textile-a")
    ]
    flags = list(csv.DictReader(io.StringIO(render.idle(analysis, "csv"))))
    assert len(flags) == len(analysis.detection.flags)
    assert "facts of 2025" in printed(render.idle(analysis, "table"))


def test_no_csv_cell_of_landuse_or_idle_is_a_formula(analysis):
    """Ids are slugs and profiles, grades and rules fixed names, so no input file puts a
    formula in these CSVs today; the records are edited here to show the writers would
    neutralise one (a leading ``'``) and keep a negative number a number."""
    shown = render.select(analysis)
    first, flag = shown.enterprises[0], shown.flags[0]
    edited = dataclasses.replace(
        shown,
        enterprises=[
            {
                **first,
                "enterprise": '=HYPERLINK("http://x")',
                "park": "@SUM(1+1)",
                "profile": "\tzj6",
                "not_graded": "-1+1|cmd",
                "indicators": {**first["indicators"], "tax_per_mu": -3.5},
                "flags": ["+x", "y"],
            }
        ],
        flags=[{**flag, "rule": "=1+1", "enterprise": "\r=1", "land_mu": -60.0}],
    )
    (row,) = csv.DictReader(io.StringIO(render.landuse_csv(edited), newline=""))
    assert row["enterprise"] == '\'=HYPERLINK("http://x")'
    assert row["park"] == "'@SUM(1+1)"
    assert row["profile"] == "'\tzj6"
    assert row["not_graded"] == "'-1+1|cmd"
    assert row["flags"] == "'+x;y"
    assert row["tax_per_mu"] == "-3.5"
    assert row["grade"] == first["grade"]
    (idle,) = csv.DictReader(io.StringIO(render.idle_csv(edited), newline=""))
    assert (idle["rule"], idle["enterprise"], idle["park"]) == ("'=1+1", "'\r=1", flag["park"])
    assert idle["land_mu"] == "-60.0"
    assert json.loads(idle["evidence"]) == flag["evidence"]


def test_the_landuse_workbook_holds_the_json_values_a_sheet_per_table(analysis):
    from tests.workbooks import same, tables

    payload = json.loads(render.landuse(analysis, "json"))
    books = tables(render.landuse(analysis, "xlsx", lang="en"))
    assert list(books) == ["Grades", "Idle flags", "Park KPIs", "Notes"]
    grades = books["Grades"]
    assert grades.lines[0] == "lanzhou-new-area 2025: per-mu grades (zj6, shares 20/40/35/5)"
    assert grades.lines[1] == (
        "Scope: zone lanzhou-new-area · Source: facts.csv, monthly-energy.csv"
    )
    assert grades.lines[2].startswith("Time zone: Asia/Shanghai")
    assert grades.lines[3] == render.DISCLAIMER
    assert grades.header[:8] == [*render.CSV_HEAD[:3], "land_mu [mu]", *render.CSV_HEAD[4:]]
    assert "tax_per_mu [10k CNY/mu]" in grades.header
    rows = grades.records()
    assert len(rows) == len(payload["enterprises"]) == 11
    for got, want in zip(rows, payload["enterprises"], strict=True):
        assert got["land_mu [mu]"] == want["land_mu"]
        for key in ("year", "enterprise", "park", "profile", "grade", "rank", "score"):
            assert got[key] == safe_cell(want[key]), key  # grade "-" is "'-", as in the CSV
        for key, unit in INDICATOR_UNITS.items():
            assert got[f"{key} [{unit}]"] == want["indicators"].get(key), key
            assert got[f"item_{key}"] == want["items"].get(key), key
        assert got["flags"] == (";".join(want["flags"]) or None)  # an empty cell: no flags
        assert got["not_graded"] == want["not_graded"]
    assert all(isinstance(r["score"], float | int) for r in rows if r["score"] is not None)
    flags = books["Idle flags"].records()
    assert [(f["rule"], f["enterprise"], f["park"], f["land_mu [mu]"]) for f in flags] == [
        (f["rule"], f["enterprise"], f["park"], f["land_mu"]) for f in payload["flags"]
    ]
    assert [json.loads(f["evidence [JSON]"]) for f in flags] == [
        f["evidence"] for f in payload["flags"]
    ]
    kpis = {(k["scope"], k["id"], k["kpi"]): k["value"] for k in payload["kpis"]}
    park_kpis = books["Park KPIs"]
    for row in park_kpis.records():
        for name, unit in render.PARK_KPIS:
            assert same(row[f"{name} [{unit}]"], kpis.get((row["scope"], row["id"], name))), name
    assert [r["note"] for r in books["Notes"].records()] == payload["notes"]


INDICATOR_UNITS = {
    "tax_per_mu": "10k CNY/mu",
    "revenue_per_mu": "10k CNY/mu",
    "va_per_mu": "10k CNY/mu",
    "va_per_energy": "10k CNY/tce",
    "tax_per_energy": "10k CNY/tce",
    "tax_per_kwh": "CNY/kWh",
    "va_per_pollutant": "10k CNY/t",
    "labour_productivity": "10k CNY/person",
    "rd_intensity": "fraction",
}


def test_the_idle_workbook_in_chinese_holds_the_flags_and_the_untested(analysis):
    from tests.workbooks import tables

    payload = json.loads(render.idle(analysis, "json", "new-materials"))
    books = tables(render.idle(analysis, "xlsx", "new-materials", lang="zh"))
    assert list(books) == ["低效闲置标记", "未检测"]
    flags = books["低效闲置标记"]
    assert flags.header == ["规则", "企业", "园区", "用地面积 [mu]", "依据 [JSON]"]
    assert flags.lines[1] == (
        "范围：区域 lanzhou-new-area（园区 new-materials） · 检测月份：2025-12 · 年度数据：2025 · "
        "数据来源：facts.csv, monthly-energy.csv"
    )
    assert [(f["规则"], f["企业"]) for f in flags.records()] == [
        (f["rule"], f["enterprise"]) for f in payload["flags"]
    ]
    untested = {r["企业"]: r["原因"] for r in books["未检测"].records()}
    assert untested == payload["untested"]
    assert (
        render.DISCLAIMERS["zh"]
        in tables(render.landuse(analysis, "xlsx", lang="zh"))["亩均评价"].lines
    )
    with pytest.raises(OptionError, match="--explain: one enterprise as table or json"):
        render.landuse(analysis, "xlsx", explain_id="chem-a")


def test_no_xlsx_cell_of_landuse_or_idle_is_a_formula(analysis):
    """As the CSV test above: records edited to hold formulas stay text, with a ``'``."""
    from tests.workbooks import tables

    shown = render.select(analysis)
    first, flag = shown.enterprises[0], shown.flags[0]
    edited = dataclasses.replace(
        shown,
        enterprises=[
            {
                **first,
                "enterprise": '=HYPERLINK("http://x")',
                "park": "@SUM(1+1)",
                "not_graded": "-1+1|cmd",
                "indicators": {**first["indicators"], "tax_per_mu": -3.5},
                "flags": ["+x", "y"],
            }
        ],
        flags=[{**flag, "rule": "=1+1", "enterprise": "\r=1", "land_mu": -60.0}],
    )
    books = tables(render.landuse_xlsx(edited))  # fails on any formula cell
    (row,) = books["Grades"].records()
    assert row["enterprise"] == '\'=HYPERLINK("http://x")'
    assert row["park"] == "'@SUM(1+1)"
    assert row["not_graded"] == "'-1+1|cmd"
    assert row["flags"] == "'+x;y"
    assert row["tax_per_mu [10k CNY/mu]"] == -3.5
    (idle,) = books["Idle flags"].records()
    assert (idle["rule"], idle["enterprise"], idle["land_mu [mu]"]) == ("'=1+1", "'\r=1", -60)
