"""The gateway configuration: docs/gateway.md shape, every error at once with its path."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from smartpark.cli import app
from smartpark.core.errors import ConfigError
from smartpark.gateway.config import load

ROOT = Path(__file__).parents[2]
REGISTRY = ROOT / "examples" / "registry.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gw.toml"
    path.write_text(f'registry = "{REGISTRY}"\n' + text, encoding="utf-8")
    return path


GOOD = """
gateway = "gw-chem-a"
broker = "mqtt://gw-chem-a@127.0.0.1:1884"
outbox = "box.db"
outbox_max_mb = 16
batch_max = 200
batch_ms = 250

[modbus.main-board]
host = "127.0.0.1"
port = 5020

[[modbus.main-board.read]]
meter = "chem-a-main"
device_id = 3
function = "input"
address = 100
type = "float64"
word_order = "little"
scale = 0.001
unit = "MWh"

[simulator]
seed = 9
"""


def test_example_config_is_accepted() -> None:
    cfg = load(ROOT / "examples" / "gateway.toml")
    assert cfg.gateway == "gw-chem-a"
    assert cfg.park == "petrochem"
    assert {r.meter for e in cfg.endpoints for r in e.reads} == {"chem-a-main", "chem-a-power"}
    assert set(cfg.simulated_meters) == set(cfg.meters) - {"chem-a-main", "chem-a-power"}
    assert cfg.unread_meters == ()


def test_values_defaults_and_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMARTPARK_MQTT_PASSWORD", "s3cret")
    monkeypatch.delenv("SMARTPARK_BROKER", raising=False)
    cfg = load(write(tmp_path, GOOD))
    assert cfg.outbox == tmp_path / "box.db"
    assert cfg.outbox_max_bytes == 16 * 1024 * 1024
    assert (cfg.publish.batch_max, cfg.publish.batch_ms) == (200, 250)
    assert (cfg.mqtt.host, cfg.mqtt.port, cfg.mqtt.username) == ("127.0.0.1", 1884, "gw-chem-a")
    assert cfg.mqtt.password == "s3cret"
    assert "s3cret" not in repr(cfg.mqtt)
    (read,) = cfg.endpoints[0].reads
    assert (read.quantity, read.device_id, read.function, read.address) == (
        "electricity_import",
        3,
        "input",
        100,
    )
    assert (read.type, read.word_order, read.byte_order, read.scale, read.unit) == (
        "float64",
        "little",
        "big",
        0.001,
        "MWh",
    )
    assert cfg.endpoints[0].timeout_s == 1.0
    assert cfg.endpoints[0].retries == 2
    assert cfg.simulator is not None
    assert cfg.simulator.seed == 9
    assert len(cfg.simulated_meters) == len(cfg.meters) - 1


def test_common_options_override_the_file(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, GOOD), broker="mqtts://other@10.1.2.3")
    assert (cfg.mqtt.host, cfg.mqtt.port, cfg.mqtt.tls) == ("10.1.2.3", 8883, True)
    other = tmp_path / "other-registry.toml"
    other.write_text(REGISTRY.read_text().replace("gw-chem-a", "gw-x"), encoding="utf-8")
    tariffs = REGISTRY.parent / "tariffs-gansu.toml"  # the registry's zone names it
    (tmp_path / tariffs.name).write_text(tariffs.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ConfigError, match="gateway 'gw-chem-a' is not in the registry"):
        load(write(tmp_path, GOOD), registry_path=other)


def test_every_error_at_once_with_its_path(tmp_path: Path) -> None:
    bad = """
gateway = "gw-chem-a"
broker = "http://nope"
batch_max = 5000
colour = "blue"

[modbus.main-board]
host = "127.0.0.1"
port = 70000

[[modbus.main-board.read]]
meter = "chem-a-main"
address = 0
type = "float32"

[[modbus.main-board.read]]
meter = "chem-b-main"
address = 2
type = "float32"

[[modbus.main-board.read]]
meter = "chem-a-gas"
address = 4
type = "float33"
unit = "kWh"

[[modbus.main-board.read]]
meter = "chem-a-main"
address = 6
type = "int16"
function = "coil"
"""
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, bad))
    problems = info.value.problems
    expected = [
        "broker: broker URL must start with mqtt:// or mqtts://",
        "batch_max: must be within [1, 1000], got 5000",
        "colour: unknown key 'colour'",
        "modbus.main-board.port: must be within [1, 65535], got 70000",
        "modbus.main-board.read[1].meter: meter 'chem-b-main' is not read by this gateway",
        "modbus.main-board.read[2].type: unknown type 'float33'",
        "modbus.main-board.read[2].unit: unit 'kWh' not accepted for natural_gas",
        "modbus.main-board.read[3].meter: meter 'chem-a-main' is already read by "
        "modbus.main-board.read[0]",
        "modbus.main-board.read[3].function: must be one of holding, input, got 'coil'",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)
    assert len(problems) == len(expected)


def test_unknown_gateway_and_broken_registry_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, 'gateway = "gw-nowhere"\n'))
    assert info.value.problems == [
        f"gateway: gateway 'gw-nowhere' is not in the registry {REGISTRY}"
    ]
    broken = tmp_path / "broken.toml"
    broken.write_text('[zone.z]\nname = "Z"\n[meter.m]\nquantity = "gass"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, 'gateway = "gw-1"\n'), registry_path=broken)
    assert any("meter.m.quantity" in p for p in info.value.problems)


def test_strict_order_needs_a_drain_rate_above_the_polling_rate(tmp_path: Path) -> None:
    text = GOOD + "\n[mqtt]\nlive_during_drain = false\ndrain_rate = 0.01\n"
    with pytest.raises(ConfigError, match=r"mqtt.drain_rate: 0.01 readings/s is below"):
        load(write(tmp_path, text))


def test_cli_check_and_status(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["gateway", "check", "--config", str(ROOT / "examples/gateway.toml")])
    assert ok.exit_code == 0, ok.output
    assert "chem-a-power" in ok.output
    assert "simulator" in ok.output
    bad = write(tmp_path, 'gateway = "gw-chem-a"\nbatch_ms = -1\n')
    failed = runner.invoke(app, ["gateway", "check", "--config", str(bad)])
    assert failed.exit_code == 1
    assert "batch_ms: must be within [0, 3600000], got -1" in failed.output
    missing = runner.invoke(app, ["gateway", "status", "--config", str(write(tmp_path, GOOD))])
    assert missing.exit_code == 1
    assert "no outbox at" in missing.output
