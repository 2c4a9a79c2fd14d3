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
    assert len(rows) == 10
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
