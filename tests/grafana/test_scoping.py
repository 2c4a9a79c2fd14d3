"""The scoping plan and its provisioning files: a folder, a team and a fixed dashboard per
park; the zone teams view every folder, a park team only its own."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from smartpark.core import registry
from smartpark.core.errors import ContractError
from smartpark.grafana import dashboards, provisioning, scoping

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "registry.toml"
GRAFANA = ROOT / "deploy" / "grafana"


@pytest.fixture(scope="module")
def reg() -> registry.Registry:
    return registry.load(EXAMPLE)


def _variables(board: dict) -> dict[str, dict]:
    return {v["name"]: v for v in board["templating"]["list"]}


def test_each_park_dashboard_fixes_the_park_variable_to_exactly_that_park(reg):
    assert len(reg.parks) == 3
    for park_id, park in reg.parks.items():
        board = scoping.park_dashboard_for(reg, park_id)
        variables = _variables(board)
        fixed = variables["park"]
        assert fixed["type"] == "constant"
        assert fixed["hide"] == 2  # not shown, no choice
        assert fixed["query"] == park_id
        assert fixed["current"]["value"] == park_id
        assert [o["value"] for o in fixed["options"]] == [park_id]
        assert variables["zone"]["type"] == "constant"
        assert variables["zone"]["query"] == park.zone
        # the enterprise choice is drawn from this park only
        assert 'WHERE "park" =~ /^$park$/' in variables["enterprise"]["query"]
        assert board["uid"] == f"smartpark-board-{park_id}"
        assert park.name in board["title"]


def test_a_park_dashboard_differs_from_the_free_one_only_in_identity_and_variables(reg):
    free = dashboards.park_dashboard(reg, ["petrochem"])
    board = scoping.park_dashboard_for(reg, "petrochem")
    assert board["panels"] == free["panels"]
    # the zone folder's free choice has every panel some park can fill
    everything = {p["title"] for p in dashboards.park_dashboard(reg)["panels"]}
    for park_id in reg.park_ids:
        own = {p["title"] for p in scoping.park_dashboard_for(reg, park_id)["panels"]}
        assert own <= everything
    assert [v["name"] for v in board["templating"]["list"]] == [
        v["name"] for v in free["templating"]["list"]
    ]
    differs = {k for k in free if free[k] != board[k]}
    assert differs == {"uid", "title", "tags", "templating"}
    assert _variables(free)["park"]["type"] == "query"  # the generator's board is untouched


def test_a_park_team_views_its_own_folder_only_and_zone_teams_view_all(reg):
    plan = scoping.folders(reg)
    assert plan[0].uid == "smartpark"
    assert {d["uid"] for d in plan[0].dashboards} == {
        dashboards.ZONE_UID,
        dashboards.PARK_UID,
        dashboards.OPS_UID,
    }
    for park_id, park in reg.parks.items():
        team = scoping.park_team(park_id)
        assert team == f"park-{park_id}"
        viewed = [f.uid for f in plan if team in f.viewers]
        assert viewed == [f"smartpark-park-{park_id}"]
        [folder] = [f for f in plan if f.park == park_id]
        assert folder.title == park.name
        assert folder.viewers == (team, f"zone-{park.zone}")
        assert [d["uid"] for d in folder.dashboards] == [f"smartpark-board-{park_id}"]
    for folder in plan:
        assert "zone-lanzhou-new-area" in folder.viewers
    assert scoping.teams(plan) == [
        "zone-lanzhou-new-area",
        "park-coop-enclave",
        "park-new-materials",
        "park-petrochem",
    ]


def test_long_ids_give_stable_distinct_uids_within_grafanas_limit():
    a, b = "p" * 60 + "-one", "p" * 60 + "-two"
    for make in (scoping.park_folder_uid, scoping.park_board_uid):
        ua, ub = make(a), make(b)
        assert len(ua) == len(ub) == scoping.UID_MAX
        assert scoping.UID_RE.fullmatch(ua)
        assert ua != ub
        assert make(a) == ua
    assert scoping.park_folder_uid("petrochem") == "smartpark-park-petrochem"


@pytest.mark.parametrize("bad", ["../admin", "a/b", "x?name=y", "Park", "", "p%2f"])
def test_bad_ids_never_become_uids_or_team_names(bad):
    for make in (
        scoping.park_folder_uid,
        scoping.park_board_uid,
        scoping.park_team,
        scoping.zone_team,
    ):
        with pytest.raises(ContractError, match="invalid id"):
            make(bad)


def test_a_registry_built_around_the_validation_still_cannot_plan_a_bad_id(reg):
    park = dataclasses.replace(reg.parks["petrochem"], id="../admin")
    forged = dataclasses.replace(reg, parks={**reg.parks, "../admin": park})
    with pytest.raises(ContractError, match="invalid id"):
        scoping.folders(forged)


def test_committed_park_provisioning_equals_generated(reg, tmp_path):
    provisioning.write_provisioning(reg, tmp_path)
    committed = sorted(p.relative_to(GRAFANA) for p in (GRAFANA / "parks").rglob("*.json"))
    generated = sorted(p.relative_to(tmp_path) for p in (tmp_path / "parks").rglob("*.json"))
    assert committed == generated, "regenerate: smartpark grafana provision"
    for rel in [*generated, provisioning.PARKS_PROVIDERS]:
        assert (GRAFANA / rel).read_text(encoding="utf-8") == (tmp_path / rel).read_text(
            encoding="utf-8"
        ), (
            f"{rel} differs from the code; run `smartpark grafana provision "
            "--registry examples/registry.toml --out deploy/grafana`"
        )
    for name in ("zone-overview.json", "park.json", "operations.json"):
        assert (tmp_path / "dashboards" / name).read_bytes() == (
            GRAFANA / "dashboards" / name
        ).read_bytes()


def test_one_provider_per_park_folder_on_the_mounted_park_directory(reg):
    doc = yaml.safe_load((GRAFANA / provisioning.PARKS_PROVIDERS).read_text(encoding="utf-8"))
    by_uid = {p["folderUid"]: p for p in doc["providers"]}
    assert sorted(by_uid) == sorted(f"smartpark-park-{p}" for p in reg.parks)
    for park_id, park in reg.parks.items():
        provider = by_uid[f"smartpark-park-{park_id}"]
        assert provider["folder"] == park.name
        assert provider["type"] == "file"
        assert provider["allowUiUpdates"] is False
        assert provider["options"]["path"] == f"{provisioning.PARKS_MOUNT}/{park_id}"
        assert provider["options"]["foldersFromFilesStructure"] is False
    # the zone provider reads its own directory only: no park dashboard lands there too
    zone = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "smartpark.yaml").read_text())
    zone_path = zone["providers"][0]["options"]["path"]
    assert not provisioning.PARKS_MOUNT.startswith(zone_path + "/")
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    mount = f"./grafana/parks:{provisioning.PARKS_MOUNT}:ro"
    assert mount in compose["services"]["grafana"]["volumes"]


def test_park_names_with_yaml_syntax_are_quoted(reg):
    odd = dataclasses.replace(reg.parks["petrochem"], name='Park: "A" # 1 \\ 园区')
    forged = dataclasses.replace(reg, parks={**reg.parks, "petrochem": odd})
    doc = yaml.safe_load(provisioning.providers_yaml(scoping.folders(forged)))
    titles = {p["folderUid"]: p["folder"] for p in doc["providers"]}
    assert titles["smartpark-park-petrochem"] == 'Park: "A" # 1 \\ 园区'


def test_a_park_gone_from_the_registry_loses_its_dashboard(reg, tmp_path):
    stale = tmp_path / "parks" / "closed-park"
    stale.mkdir(parents=True)
    (stale / "park.json").write_text("{}")
    provisioning.write_provisioning(reg, tmp_path)
    assert not stale.exists()
    assert sorted(p.name for p in (tmp_path / "parks").iterdir()) == sorted(reg.parks)


def test_cli_provision_writes_the_committed_files(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smartpark",
            "grafana",
            "provision",
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
    rel = Path("parks") / "petrochem" / "park.json"
    assert (tmp_path / rel).read_bytes() == (GRAFANA / rel).read_bytes()
    assert str(tmp_path / provisioning.PARKS_PROVIDERS) in result.stdout
