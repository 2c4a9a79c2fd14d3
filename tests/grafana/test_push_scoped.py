"""``smartpark grafana push`` with scoping, against a server that records its requests.

:mod:`tests.grafana.recording_grafana` is a real HTTP server answering like Grafana's
documented API; these tests check the requests push sends, their order and bodies, that
the resulting permissions leave a park team only its folder, and that a second push
writes nothing but the datasources (whose secrets Grafana never returns to compare).
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from smartpark.core import registry
from smartpark.core.urls import parse_store_url
from smartpark.grafana import scoping
from smartpark.grafana.datasource import DATASOURCE_UID, datasource_payload
from smartpark.grafana.push import connect, push_scoped, url_part

from .recording_grafana import RecordingGrafana, Request

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.toml"
TOKEN = "t0ken-for-tests"
STORE = parse_store_url("influxdb://127.0.0.1:8086/smartpark")


@pytest.fixture(scope="module")
def reg() -> registry.Registry:
    return registry.load(EXAMPLE)


@pytest.fixture
def grafana():
    with RecordingGrafana(TOKEN) as server:
        yield server


def _push(grafana: RecordingGrafana, reg: registry.Registry):
    api = connect(grafana.url, TOKEN)
    return push_scoped(api, [datasource_payload(STORE)], scoping.folders(reg), where=grafana.url)


def _index(requests: list[Request], method: str, path: str, **body: object) -> int:
    """Position of the first request with ``method`` on ``path`` whose body has ``body``."""
    for i, r in enumerate(requests):
        matches = all(isinstance(r.body, dict) and r.body.get(k) == v for k, v in body.items())
        if r.method == method and r.path == path and matches:
            return i
    raise AssertionError(f"no {method} {path} {body or ''}")


def _dashboard_saves(requests: list[Request], folder_uid: str) -> list[int]:
    return [
        i
        for i, r in enumerate(requests)
        if r.method == "POST"
        and r.path == "/api/dashboards/db"
        and r.body["folderUid"] == folder_uid
    ]


def test_push_creates_teams_then_folder_permissions_dashboards_in_order(grafana, reg):
    result = _push(grafana, reg)
    requests = grafana.state.requests
    plan = scoping.folders(reg)
    team_posts = [i for i, r in enumerate(requests) if (r.method, r.path) == ("POST", "/api/teams")]
    assert [requests[i].body["name"] for i in team_posts] == scoping.teams(plan)
    for folder in plan:
        created = _index(requests, "POST", "/api/folders", uid=folder.uid, title=folder.title)
        permitted = _index(requests, "POST", f"/api/folders/{folder.uid}/permissions")
        saves = _dashboard_saves(requests, folder.uid)
        assert len(saves) == len(folder.dashboards)
        assert max(team_posts) < created < permitted < min(saves), folder.uid
    assert _index(requests, "POST", "/api/datasources", uid=DATASOURCE_UID) < min(team_posts)
    assert set(result.folders.values()) == {"created"}
    assert set(result.teams.values()) == {"created"}
    assert set(result.dashboards.values()) == {"created"}
    assert "folder smartpark-park-petrochem: created" in result.lines()


def test_a_park_team_may_view_its_folder_and_nothing_else(grafana, reg):
    _push(grafana, reg)
    state = grafana.state
    zone_team = state.teams["zone-lanzhou-new-area"]
    for park_id in reg.parks:
        team = state.teams[f"park-{park_id}"]
        granted = {
            uid
            for uid, items in state.permissions.items()
            if any(p.get("teamId") == team for p in items)
        }
        assert granted == {f"smartpark-park-{park_id}"}
        items = state.permissions[f"smartpark-park-{park_id}"]
        assert sorted((p.get("teamId"), p["permission"]) for p in items if "teamId" in p) == sorted(
            [(team, 1), (zone_team, 1)]
        )
        # the Viewer and Editor roles' defaults are gone: other org members see nothing
        assert [p["role"] for p in items if "role" in p] == ["Admin"]
        board = state.dashboards[f"smartpark-board-{park_id}"]
        assert board["folderUid"] == f"smartpark-park-{park_id}"
    zone_items = state.permissions["smartpark"]
    assert [p.get("teamId") for p in zone_items if "teamId" in p] == [zone_team]
    assert state.folders["smartpark-park-petrochem"]["title"] == "Fine Chemicals Park"


def test_a_second_push_writes_only_the_datasource(grafana, reg):
    _push(grafana, reg)
    first = len(grafana.state.requests)
    versions = {uid: d["dashboard"]["version"] for uid, d in grafana.state.dashboards.items()}
    result = _push(grafana, reg)
    second_writes = [r for r in grafana.state.requests[first:] if r.method != "GET"]
    assert [(r.method, r.path) for r in second_writes] == [
        ("PUT", f"/api/datasources/uid/{DATASOURCE_UID}")
    ]
    assert {
        uid: d["dashboard"]["version"] for uid, d in grafana.state.dashboards.items()
    } == versions
    assert set(result.folders.values()) == {None}
    assert set(result.teams.values()) == {None}
    assert set(result.permissions.values()) == {None}
    assert set(result.dashboards.values()) == {None}
    assert "team park-petrochem: unchanged" in result.lines()


def test_push_repairs_drift_and_follows_a_renamed_park(grafana, reg):
    _push(grafana, reg)
    state = grafana.state
    state.permissions["smartpark-park-petrochem"].append({"role": "Viewer", "permission": 1})
    renamed = dataclasses.replace(reg.parks["petrochem"], name="Fine Chemicals Park II")
    first = len(state.requests)
    result = _push(grafana, dataclasses.replace(reg, parks={**reg.parks, "petrochem": renamed}))
    writes = {(r.method, r.path) for r in state.requests[first:] if r.method != "GET"}
    assert writes == {
        ("PUT", f"/api/datasources/uid/{DATASOURCE_UID}"),
        ("PUT", "/api/folders/smartpark-park-petrochem"),
        ("POST", "/api/folders/smartpark-park-petrochem/permissions"),
        ("POST", "/api/dashboards/db"),  # the dashboard title carries the park's name
    }
    assert result.folders["smartpark-park-petrochem"] == "updated"
    assert result.permissions["smartpark-park-petrochem"] == "updated"
    assert result.dashboards["smartpark-board-petrochem"] == "updated"
    assert state.folders["smartpark-park-petrochem"]["title"] == "Fine Chemicals Park II"
    assert [p["role"] for p in state.permissions["smartpark-park-petrochem"] if "role" in p] == [
        "Admin"
    ]


def test_an_existing_team_is_found_by_name_not_created_again(grafana, reg):
    grafana.state.teams["park-petrochem"] = 99  # made by hand before the first push
    result = _push(grafana, reg)
    assert result.teams["park-petrochem"] is None
    names = [
        r.body["name"]
        for r in grafana.state.requests
        if (r.method, r.path) == ("POST", "/api/teams")
    ]
    assert "park-petrochem" not in names
    items = grafana.state.permissions["smartpark-park-petrochem"]
    assert 99 in {p.get("teamId") for p in items}
    assert _index(grafana.state.requests, "GET", "/api/teams/search?name=park-petrochem") >= 0


def test_every_path_push_sends_is_built_from_slugs(grafana, reg):
    _push(grafana, reg)
    safe = re.compile(r"/api/[a-z/]+(/[A-Za-z0-9_-]{1,40}(/permissions)?)?(\?name=[a-z0-9_-]+)?")
    for r in grafana.state.requests:
        assert safe.fullmatch(r.path), r.path


@pytest.mark.parametrize("bad", ["../admin", "a/b", "x?name=y", "p%2f..", "a" * 41, ""])
def test_a_bad_uid_or_team_name_is_refused_before_any_request(grafana, reg, bad):
    with pytest.raises(ValueError, match="not a Grafana uid"):
        url_part(bad)
    plan = scoping.folders(reg)
    for forged in (
        [dataclasses.replace(plan[1], uid=bad)],
        [dataclasses.replace(plan[1], viewers=(bad,))],
        [dataclasses.replace(plan[1], dashboards=({**plan[1].dashboards[0], "uid": bad},))],
    ):
        with pytest.raises(ValueError, match="not a Grafana uid"):
            push_scoped(connect(grafana.url, TOKEN), [datasource_payload(STORE)], forged)
    assert grafana.state.requests == []


def test_cli_push_scopes_the_registry(grafana):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPARK_")}
    args = [
        "--url",
        grafana.url,
        "--registry",
        str(EXAMPLE),
        "--store",
        "influxdb://127.0.0.1:8086/smartpark",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "smartpark", "grafana", "push", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, "COLUMNS": "400", "SMARTPARK_GRAFANA_TOKEN": TOKEN},
    )
    assert result.returncode == 0, result.stderr
    assert "team park-petrochem: created" in result.stdout
    assert "permissions smartpark-park-petrochem: updated" in result.stdout
    assert "dashboard smartpark-board-petrochem: created" in result.stdout
    assert TOKEN not in result.stdout + result.stderr
    assert set(grafana.state.folders) == {
        "smartpark",
        *(f"smartpark-park-{p}" for p in ("coop-enclave", "new-materials", "petrochem")),
    }


def test_provisioned_datasource_and_dashboards_are_left_alone(grafana, reg):
    """Grafana started from deploy/grafana/: push only adds the teams and permissions."""
    _push(grafana, reg)
    state = grafana.state
    state.datasources[DATASOURCE_UID]["readOnly"] = True
    for stored in state.dashboards.values():
        stored["provisioned"] = True
        stored["dashboard"]["title"] += " (as provisioned)"  # differs, still not saved
    for uid in state.permissions:
        state.permissions[uid] = [{"role": "Viewer", "permission": 1}]
    first = len(state.requests)
    result = _push(grafana, reg)
    writes = [(r.method, r.path) for r in state.requests[first:] if r.method != "GET"]
    assert sorted(writes) == sorted(
        ("POST", f"/api/folders/{f.uid}/permissions") for f in scoping.folders(reg)
    )
    assert result.datasources == {DATASOURCE_UID: "provisioned"}
    assert set(result.dashboards.values()) == {"provisioned"}
