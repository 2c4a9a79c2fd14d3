"""The generated dashboards: reproducible, consistent with the provisioning files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from smartpark.core import registry
from smartpark.grafana import dashboards
from smartpark.grafana.datasource import DATASOURCE_UID, PROMETHEUS_UID
from smartpark.grafana.panels import GRID_WIDTH

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "registry.toml"
GRAFANA = ROOT / "deploy" / "grafana"


@pytest.fixture(scope="module")
def boards() -> dict:
    return dashboards.all_dashboards(registry.load(EXAMPLE))


def test_committed_dashboards_equal_generated(boards):
    committed = sorted(p.name for p in (GRAFANA / "dashboards").glob("*.json"))
    assert committed == sorted(boards), "regenerate: smartpark grafana dashboards"
    for name, board in boards.items():
        text = (GRAFANA / "dashboards" / name).read_text(encoding="utf-8")
        assert text == dashboards.render(board), (
            f"{name} differs from the code; run `smartpark grafana dashboards "
            "--registry examples/registry.toml --out deploy/grafana/dashboards`"
        )


def test_generation_is_deterministic(tmp_path):
    reg = registry.load(EXAMPLE)
    first = [p.read_bytes() for p in dashboards.write_dashboards(reg, tmp_path / "a")]
    second = [p.read_bytes() for p in dashboards.write_dashboards(reg, tmp_path / "b")]
    assert first == second


def test_uids_are_fixed_and_unique(boards):
    uids = [b["uid"] for b in boards.values()]
    assert uids == [dashboards.ZONE_UID, dashboards.PARK_UID, dashboards.OPS_UID]
    assert len(set(uids)) == 3


def _targets(board):
    for panel in board["panels"]:
        yield from panel.get("targets", [])


def test_every_query_uses_the_provisioned_datasource(boards):
    provisioned = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "influxdb.yaml").read_text()
    )
    variant = yaml.safe_load((GRAFANA / "datasource-variants" / "influxdb1.yaml").read_text())
    for doc in (provisioned, variant):
        [ds] = doc["datasources"]
        assert ds["uid"] == DATASOURCE_UID
        assert ds["type"] == "influxdb"
        assert ds["jsonData"]["dbName"] == "smartpark"
        assert ds["jsonData"]["httpMode"] == "POST"
    # 2.x/3.x: token header from a file, never a literal token
    header = provisioned["datasources"][0]["secureJsonData"]["httpHeaderValue1"]
    assert header.startswith("Token $__file{/run/secrets/")
    count = 0
    for board in boards.values():
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                assert variable["datasource"]["uid"] == DATASOURCE_UID
        for t in _targets(board):
            if t["datasource"]["type"] == "prometheus":
                assert t["datasource"]["uid"] == PROMETHEUS_UID
                continue
            assert t["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}
            assert t["rawQuery"] is True
            count += 1
    assert count >= 30
    prometheus = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )
    [ds] = prometheus["datasources"]
    assert (ds["uid"], ds["type"]) == (PROMETHEUS_UID, "prometheus")


def test_dashboard_provider_points_at_the_mounted_files():
    doc = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "smartpark.yaml").read_text())
    [provider] = doc["providers"]
    assert provider["type"] == "file"
    assert provider["folderUid"] == "smartpark"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/smartpark"


def test_panels_fit_the_grid_without_overlap(boards):
    for name, board in boards.items():
        cells = set()
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), name
        for panel in board["panels"]:
            g = panel["gridPos"]
            assert g["x"] >= 0, (name, panel["title"])
            assert g["x"] + g["w"] <= GRID_WIDTH, (name, panel["title"])
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    assert (x, y) not in cells, (name, panel["title"])
                    cells.add((x, y))


def test_park_dashboard_has_the_required_variables_and_panels(boards):
    park = boards["park.json"]
    names = [v["name"] for v in park["templating"]["list"]]
    assert names == ["zone", "park", "enterprise", "period"]
    titles = " | ".join(p["title"] for p in park["panels"])
    for expected in (
        "Load curve",
        "Energy by carrier",
        "CO2 by scope",
        "Water",
        "NOx",
        "completeness",
    ):
        assert expected in titles


def test_counter_panels_exclude_sub_meters(boards):
    queries = [t.get("query", "") for t in _targets(boards["park.json"])]
    carrier = [q for q in queries if "non_negative_difference" in q]
    assert len(carrier) == 9
    for q in carrier:
        assert '"meter" !~ /^(alu-a-line1|chem-a-line1)$/' in q


def test_carrier_coefficients_are_gbt2589_defaults(boards):
    queries = [t["query"] for t in _targets(boards["park.json"])]
    by_quantity = {q.split('"quantity" = \'')[1].split("'")[0]: q for q in queries if "* " in q}
    assert 'sum("delta") * 0.0001229 ' in by_quantity["electricity_import"]
    assert 'sum("delta") * 0.0012143 ' in by_quantity["natural_gas"]
    assert 'sum("delta") * 0.7143 ' in by_quantity["coal"]


def test_no_sub_meter_clause_without_sub_meters():
    reg = registry.from_dict(
        {
            "zone": {"z": {"name": "Z"}},
            "park": {"p": {"zone": "z", "name": "P"}},
            "enterprise": {"e": {"park": "p", "name": "E"}},
            "gateway": {"g": {"park": "p"}},
            "meter": {"m": {"enterprise": "e", "gateway": "g", "quantity": "natural_gas"}},
        }
    )
    text = json.dumps(dashboards.park_dashboard(reg))
    assert "!~" not in text


def test_kpis_shown_exist_in_the_analytics_catalogue_with_their_units(boards):
    from smartpark.analytics.kpis.catalogue import ALL_KPIS

    seen = set()
    for board in boards.values():
        for panel in board["panels"]:
            unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
            for t in panel.get("targets", []):
                for kpi in re.findall(r"\"kpi\" = '(\w+)'", t.get("query", "")):
                    assert kpi in ALL_KPIS, f"{panel['title']}: unknown KPI {kpi!r}"
                    seen.add(kpi)
                    if ALL_KPIS[kpi].unit == "%":
                        assert unit == "percent", panel["title"]
    assert {"energy_tce", "co2_total_t", "carbon_per_energy", "completeness"} <= seen


def test_cli_writes_the_committed_files(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smartpark",
            "grafana",
            "dashboards",
            "--registry",
            str(EXAMPLE),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for name in ("zone-overview.json", "park.json", "operations.json"):
        committed = (GRAFANA / "dashboards" / name).read_bytes()
        assert (tmp_path / name).read_bytes() == committed, name


def test_cli_reports_a_missing_registry(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smartpark",
            "grafana",
            "dashboards",
            "--registry",
            str(tmp_path / "nope.toml"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "cannot read registry" in result.stderr
