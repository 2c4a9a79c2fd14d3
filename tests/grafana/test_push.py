"""``smartpark grafana push``: payloads and uid handling, and failure without a server.

There is no Grafana server on this machine: these tests check the bodies push sends,
that they carry the fixed uids with overwrite so a rerun updates in place, and that an
unreachable Grafana gives a clear error. test_push_scoped.py checks the requests
themselves against a server that records them (recording_grafana.py).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smartpark.core import registry
from smartpark.core.errors import GrafanaPushError
from smartpark.core.urls import parse_store_url
from smartpark.grafana import dashboards
from smartpark.grafana.datasource import (
    DATASOURCE_UID,
    PROMETHEUS_UID,
    datasource_payload,
    prometheus_payload,
)
from smartpark.grafana.push import connect, dashboard_payload, push
from smartpark.testing.servers import free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.toml"


def test_dashboard_payload_overwrites_by_uid_and_drops_the_id():
    board = {**dashboards.operations(registry.load(EXAMPLE)), "id": 42}
    payload = dashboard_payload(board)
    assert payload["overwrite"] is True
    assert payload["folderUid"] == "smartpark"
    assert payload["dashboard"]["uid"] == dashboards.OPS_UID
    assert payload["dashboard"]["id"] is None
    assert board["id"] == 42  # the caller's dict is not modified


def test_payloads_are_identical_across_generations():
    reg = registry.load(EXAMPLE)
    first = [dashboard_payload(b) for b in dashboards.all_dashboards(reg).values()]
    second = [dashboard_payload(b) for b in dashboards.all_dashboards(reg).values()]
    assert first == second
    assert [p["dashboard"]["uid"] for p in first] == [
        dashboards.ZONE_UID,
        dashboards.PARK_UID,
        dashboards.OPS_UID,
    ]


def test_dashboard_without_uid_is_refused():
    with pytest.raises(ValueError, match="no uid"):
        dashboard_payload({"title": "x"})


def test_influxdb2_datasource_sends_the_token_as_a_header():
    store = parse_store_url("influxdb2://influx.park:8086/smartpark?org=park")
    payload = datasource_payload(store, token="t0ken", url="http://influxdb:8086")
    assert payload["uid"] == DATASOURCE_UID
    assert payload["type"] == "influxdb"
    assert payload["url"] == "http://influxdb:8086"
    assert payload["jsonData"]["dbName"] == "smartpark"
    assert payload["jsonData"]["httpHeaderName1"] == "Authorization"
    assert payload["secureJsonData"] == {"httpHeaderValue1": "Token t0ken"}
    with pytest.raises(ValueError, match="needs a token"):
        datasource_payload(store)


def test_influxdb1_datasource_with_user_and_password():
    store = parse_store_url("influxdbs://influx.park:8443/smartpark")
    payload = datasource_payload(store, user="grafana", password="pw", database="other")
    assert payload["url"] == "https://influx.park:8443"
    assert payload["user"] == "grafana"
    assert payload["secureJsonData"] == {"password": "pw"}
    assert payload["jsonData"]["dbName"] == "other"
    assert "httpHeaderName1" not in payload["jsonData"]
    anonymous = datasource_payload(store)
    assert "secureJsonData" not in anonymous


def test_prometheus_datasource_payload():
    payload = prometheus_payload("http://prometheus:9090")
    assert (payload["uid"], payload["type"]) == (PROMETHEUS_UID, "prometheus")
    assert payload["url"] == "http://prometheus:9090"
    with pytest.raises(ValueError, match="Prometheus URL"):
        prometheus_payload("prometheus:9090")


def test_sqlite_store_cannot_back_grafana():
    with pytest.raises(ValueError, match="needs an InfluxDB store"):
        datasource_payload(parse_store_url("sqlite:///x.db"))


def test_push_to_an_unreachable_grafana_names_the_step_and_url():
    url = f"http://127.0.0.1:{free_port()}"
    api = connect(url, "token", timeout=5.0)
    store = parse_store_url("influxdb://127.0.0.1:8086/smartpark")
    with pytest.raises(
        GrafanaPushError, match="datasource smartpark-influxdb: cannot reach Grafana"
    ) as err:
        push(
            api,
            [datasource_payload(store)],
            [dashboards.operations(registry.load(EXAMPLE))],
            where=url,
        )
    assert url in str(err.value)


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPARK_")}
    return subprocess.run(
        [sys.executable, "-m", "smartpark", "grafana", "push", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, "COLUMNS": "400", **env},
    )


def test_cli_push_needs_a_token_from_the_environment():
    result = _cli(
        "--url",
        "http://127.0.0.1:1",
        "--registry",
        str(EXAMPLE),
        "--store",
        "influxdb://127.0.0.1:8086/smartpark",
        env={},
    )
    assert result.returncode == 1
    assert "SMARTPARK_GRAFANA_TOKEN" in result.stderr


def test_cli_push_reports_an_unreachable_grafana_without_leaking_secrets(tmp_path):
    token_file = tmp_path / "grafana.token"
    token_file.write_text("s3cret-grafana\n")
    url = f"http://127.0.0.1:{free_port()}"
    result = _cli(
        "--url",
        url,
        "--registry",
        str(EXAMPLE),
        "--store",
        "influxdb2://127.0.0.1:8086/smartpark?org=park",
        env={
            "SMARTPARK_GRAFANA_TOKEN_FILE": str(token_file),
            "SMARTPARK_INFLUX_TOKEN": "s3cret-influx",
        },
    )
    assert result.returncode == 1, result.stdout
    assert "cannot reach Grafana" in result.stderr
    assert url in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


def test_cli_push_refuses_credentials_in_the_url():
    result = _cli(
        "--url",
        "http://admin:admin@127.0.0.1:3000",
        "--registry",
        str(EXAMPLE),
        "--store",
        "influxdb://127.0.0.1:8086/smartpark",
        env={"SMARTPARK_GRAFANA_TOKEN": "x"},
    )
    assert result.returncode == 1
    assert "--url" in result.stderr
    assert "admin:admin" not in result.stderr


def _imports_of(path: Path, package: str) -> list[tuple[int, bool]]:
    """(line, at module level) of every import of ``package`` in the module at ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        if any(n == package or n.startswith(f"{package}.") for n in names):
            found.append((node.lineno, id(node) in top))
    return found


def test_grafana_client_is_imported_lazily_and_only_by_push():
    src = Path(__file__).resolve().parents[2] / "src" / "smartpark"
    users = {}
    for path in sorted(src.rglob("*.py")):
        found = _imports_of(path, "grafana_client")
        if found:
            users[str(path.relative_to(src))] = found
    assert list(users) == ["grafana/push.py"]
    assert not any(top for _, top in users["grafana/push.py"]), "import it inside a function"


def _without_grafana_client(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The CLI in a Python where ``import grafana_client`` fails, as if it were not installed."""
    code = (
        "import runpy, sys; sys.modules['grafana_client'] = None; "
        f"sys.argv = ['smartpark', *{list(args)!r}]; "
        "runpy.run_module('smartpark', run_name='__main__')"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPARK_")}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, "COLUMNS": "400", **env},
    )


def test_without_grafana_client_push_says_how_to_install_it(tmp_path):
    result = _without_grafana_client(
        "grafana",
        "push",
        "--url",
        "http://127.0.0.1:1",
        "--registry",
        str(EXAMPLE),
        "--store",
        "influxdb://127.0.0.1:8086/smartpark",
        env={"SMARTPARK_GRAFANA_TOKEN": "x"},
    )
    assert result.returncode == 1, result.stdout
    assert "grafana-client is not installed" in result.stderr
    assert "pip install 'smartpark[grafana]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_grafana_client_the_dashboards_are_still_generated(tmp_path):
    result = _without_grafana_client(
        "grafana", "dashboards", "--registry", str(EXAMPLE), "--out", str(tmp_path), env={}
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "operations.json",
        "park.json",
        "zone-overview.json",
    ]
