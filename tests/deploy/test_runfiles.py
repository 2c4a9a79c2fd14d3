"""deploy/compose.yaml and the systemd units, checked against the settings and the code.

There is no docker engine here: the compose file is checked as data (valid YAML, the
services, ports, volumes and secrets it needs, every SMARTPARK_* variable a real setting
whose value the settings accept). The units are checked by ``systemd-analyze verify``
when it is installed, and for the hardening the issue asks for.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from smartpark.core.settings import CommonSettings, load_settings
from smartpark.core.urls import parse_broker_url, parse_store_url
from smartpark.ingest.settings import IngestSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# Files an operator creates next to compose.yaml (deploy/.gitignore keeps them out of git).
SITE_FILES = {"./registry.toml", "./rules.toml", "./schedules.toml", "./certs", "./secrets"}
SECRET_VARIABLES = {"MQTT_PASSWORD", "INFLUX_TOKEN", "INFLUX_USER", "INFLUX_PASSWORD"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def _smartpark_services(compose: dict) -> dict[str, dict]:
    return {n: s for n, s in compose["services"].items() if s.get("image") == "smartpark:latest"}


def test_services(compose):
    assert set(compose["services"]) == {
        "mosquitto",
        "influxdb",
        "grafana",
        "prometheus",
        "ingest-1",
        "ingest-2",
        "kpi",
        "alerts",
        "schedule",
    }
    assert compose["services"]["influxdb"]["image"].startswith("influxdb:2.")
    assert compose["services"]["mosquitto"]["image"].startswith("eclipse-mosquitto:2")
    commands = {n: s["command"] for n, s in _smartpark_services(compose).items()}
    assert commands == {
        "ingest-1": ["ingest"],
        "ingest-2": ["ingest"],
        "kpi": ["kpi", "--follow", "--write"],
        "alerts": [
            "alerts",
            "--follow",
            "--rules",
            "/etc/smartpark/rules.toml",
            "--state",
            "/var/lib/smartpark/alerts.db",
        ],
        "schedule": [
            "schedule",
            "--follow",
            "--config",
            "/etc/smartpark/schedules.toml",
            "--state",
            "/var/lib/smartpark/schedule.db",
        ],
    }


def test_ports_match_the_broker_and_grafana_configs(compose):
    services = compose["services"]
    conf = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
    listeners = [line.split()[1] for line in conf.splitlines() if line.startswith("listener ")]
    assert services["mosquitto"]["ports"] == ["8883:8883"]  # TLS only leaves the host
    assert listeners == ["8883", "1883"]
    assert services["influxdb"]["ports"] == ["127.0.0.1:8086:8086"]
    assert services["grafana"]["ports"] == ["3000:3000"]
    datasource = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "influxdb.yaml").read_text()
    )["datasources"][0]
    assert datasource["url"] == "http://influxdb:8086"
    assert (
        datasource["jsonData"]["dbName"]
        == services["influxdb"]["environment"]["SMARTPARK_INFLUX_DATABASE"]
    )


def test_bind_mounts_exist_in_the_repository_or_are_site_files(compose):
    named = set(compose["volumes"])
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            assert target.startswith("/"), (name, volume)
            if not source.startswith("."):
                assert source in named, (name, volume)
            elif source not in SITE_FILES:
                assert (DEPLOY / source).exists(), (name, volume)
    mounts = compose["services"]["grafana"]["volumes"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
    assert "./grafana/dashboards:/var/lib/grafana/dashboards/smartpark:ro" in mounts
    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "smartpark.yaml").read_text()
    )["providers"][0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/smartpark"


def test_secrets_come_from_files_the_services_declare(compose):
    declared = compose["secrets"]
    for name, service in compose["services"].items():
        env = service.get("environment", {})
        mine = set(service.get("secrets", []))
        assert mine <= set(declared), name
        for key, value in env.items():
            if key.endswith("_FILE") or "__FILE" in key:
                assert value.startswith("/run/secrets/"), (name, key)
                assert value.removeprefix("/run/secrets/") in mine, (name, key)
            else:
                assert "PASSWORD" not in key, (name, key)
                assert "TOKEN" not in key, (name, key)
    for secret in declared.values():
        assert secret["file"].startswith("./secrets/")


def test_smartpark_environment_is_valid_settings(compose, monkeypatch):
    for name, service in _smartpark_services(compose).items():
        settings_cls = IngestSettings if service["command"][0] == "ingest" else CommonSettings
        options = {}
        for key, value in service["environment"].items():
            assert key.startswith("SMARTPARK_"), (name, key)
            field = key.removeprefix("SMARTPARK_").lower()
            if field.endswith("_file") and field[:-5].upper() in SECRET_VARIABLES:
                continue
            assert field in settings_cls.model_fields, f"{name}: {key} is not a setting"
            options[field] = value
        for key in list(__import__("os").environ):
            if key.startswith("SMARTPARK_"):
                monkeypatch.delenv(key)
        for key, value in options.items():
            monkeypatch.setenv(f"SMARTPARK_{key.upper()}", str(value))
        settings = load_settings(settings_cls)
        store = parse_store_url(settings.store)
        assert (store.kind, store.host, store.port, store.database, store.org) == (
            "influxdb2",
            "influxdb",
            8086,
            "smartpark",
            "smartpark",
        )
        if settings_cls is IngestSettings:
            broker = parse_broker_url(settings.broker)
            assert (broker.host, broker.port, broker.username) == (
                "mosquitto",
                1883,
                "smartpark-ingest",
            )
            assert settings.shared_group == "smartpark-ingest"


def test_ingest_processes_have_distinct_sessions(compose):
    ingest = [s for s in _smartpark_services(compose).values() if s["command"][0] == "ingest"]
    ids = [s["environment"]["SMARTPARK_CLIENT_ID"] for s in ingest]
    assert len(ingest) == 2
    assert len(set(ids)) == len(ids)
    states = [v for s in ingest for v in s["volumes"] if v.endswith(":/var/lib/smartpark")]
    assert len(set(states)) == 2


def test_prometheus_scrapes_every_ingest_metrics_port(compose):
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    [job] = scrape["scrape_configs"]
    targets = set(job["static_configs"][0]["targets"])
    ingest = {n: s for n, s in _smartpark_services(compose).items() if s["command"][0] == "ingest"}
    expected = {f"{n}:{s['environment']['SMARTPARK_METRICS_PORT']}" for n, s in ingest.items()}
    assert targets == expected
    for service in ingest.values():
        assert "ports" not in service  # metrics stay on the compose network
    datasource = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"


def test_dbrp_script_maps_the_database_grafana_queries():
    script = (DEPLOY / "influxdb" / "init-dbrp.sh").read_text()
    assert "influx v1 dbrp create" in script
    assert '--db "${SMARTPARK_INFLUX_DATABASE:-smartpark}"' in script
    assert '--bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}"' in script


UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def _unit(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


def _run_file_commands() -> list[list[str]]:
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    commands = [s["command"] for s in _smartpark_services(doc).values()]
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        exec_start = _unit(unit)["Service"]["ExecStart"].split()
        commands.append(exec_start[1:])
    return commands


@pytest.mark.parametrize("command", _run_file_commands(), ids=" ".join)
def test_commands_used_by_the_run_files_exist(command):
    # `smartpark WORDS...` or the lean runner `python -m smartpark.gateway`
    module = command[1] if command[0] == "-m" else "smartpark"
    command = command[2:] if command[0] == "-m" else command
    words = [w for w in command if not w.startswith("-") and not w.startswith("/")]
    result = subprocess.run(
        [sys.executable, "-m", module, *words, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    for option in (w for w in command if w.startswith("--")):
        assert option in result.stdout, f"smartpark {' '.join(words)} has no {option}"


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_unit_hardening(path):
    unit = _unit(path)
    service = unit["Service"]
    assert service["User"] == "smartpark"
    assert service["ProtectSystem"] == "strict"
    assert service["Restart"] == "on-failure"
    assert service["StateDirectory"].startswith("smartpark/")
    assert service["EnvironmentFile"].lstrip("-").startswith("/etc/smartpark/")
    assert service["NoNewPrivileges"] == "true"
    assert service["ProtectHome"] == "true"
    assert service["CapabilityBoundingSet"] == ""
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"
    text = path.read_text()
    for secret in ("PASSWORD=", "TOKEN="):
        assert secret not in text.replace("_FILE", "")
    command = service["ExecStart"].split()
    assert command in (
        ["/opt/smartpark/bin/smartpark", "ingest"],
        [
            "/opt/smartpark/bin/smartpark",
            "schedule",
            "--follow",
            "--config",
            "/etc/smartpark/schedules.toml",
            "--state",
            "/var/lib/smartpark/schedule/schedule.db",
        ],
        [
            "/opt/smartpark/bin/python",
            "-m",
            "smartpark.gateway",
            "--config",
            "/etc/smartpark/gateway.toml",
        ],
    )


def test_ingest_template_gives_each_instance_its_own_session_and_state():
    text = (DEPLOY / "systemd" / "smartpark-ingest@.service").read_text()
    assert "Environment=SMARTPARK_CLIENT_ID=smartpark-ingest-%i\n" in text
    assert "StateDirectory=smartpark/ingest-%i\n" in text
    assert "Environment=SMARTPARK_DEAD_LETTERS=/var/lib/smartpark/ingest-%i/" in text
    # the shared file comes first, the per-instance one (optional) may override it
    files = [line for line in text.splitlines() if line.startswith("EnvironmentFile=")]
    assert files == [
        "EnvironmentFile=/etc/smartpark/ingest.env",
        "EnvironmentFile=-/etc/smartpark/ingest-%i.env",
    ]


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_unit_passes_systemd_analyze_verify(path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze not installed")
    result = subprocess.run([tool, "verify", str(path)], capture_output=True, text=True, timeout=60)
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "is not executable" not in line  # /opt/smartpark not here
    ]
    assert problems == []


def test_env_examples_name_only_real_settings():
    fields = set(IngestSettings.model_fields)
    for example in (DEPLOY / "systemd").glob("*.env.example"):
        for line in example.read_text().splitlines():
            if not line or line.startswith("#"):
                continue
            key = line.split("=", 1)[0].removeprefix("SMARTPARK_").lower()
            secret = key.endswith("_file") and key[:-5].upper() in SECRET_VARIABLES
            assert secret or key in fields, f"{example.name}: {line}"


def test_schedule_waits_for_a_report_in_progress_before_it_is_killed(compose):
    from smartpark.analytics.report.pdf import TIMEOUT_S

    unit = _unit(DEPLOY / "systemd" / "smartpark-schedule.service")["Service"]
    assert int(unit["TimeoutStopSec"]) > TIMEOUT_S
    grace = compose["services"]["schedule"]["stop_grace_period"]
    assert int(grace.removesuffix("s")) > TIMEOUT_S
    # alerts and schedule keep their state in volumes of their own
    states = {
        name: [v for v in compose["services"][name]["volumes"] if v.endswith(":/var/lib/smartpark")]
        for name in ("alerts", "schedule")
    }
    assert states == {
        "alerts": ["alerts-state:/var/lib/smartpark"],
        "schedule": ["schedule-state:/var/lib/smartpark"],
    }
