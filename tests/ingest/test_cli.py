"""``smartpark ingest`` options and ``smartpark ingest dead-letters``, as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from smartpark.ingest.deadletter import DeadLetters
from smartpark.store.base import ReadingColumns
from tests.ingest.park import park_registry


def smartpark(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartpark", *args], capture_output=True, text=True, timeout=60
    )


def test_ingest_help_lists_options_and_dead_letters() -> None:
    result = smartpark("ingest", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--config", "--registry", "--broker", "--store", "--batch-size", "dead-letters"):
        assert option in result.stdout


def test_every_bad_setting_is_reported_at_once(tmp_path: Path) -> None:
    config = tmp_path / "ingest.toml"
    config.write_text('batch_ms = -1\nmqtt_protocol = "3.1.1"\nshared_group = "Bad Group"\n')
    result = smartpark("ingest", "--config", str(config), "--broker", "http://broker")
    assert result.returncode == 1
    assert "broker: broker URL must start with mqtt://" in result.stderr
    assert "batch_ms: Input should be greater than or equal to 0" in result.stderr
    assert "shared_group: String should match pattern" in result.stderr


def test_dead_letters_lists_the_newest_first(tmp_path: Path) -> None:
    reg = park_registry()
    path = tmp_path / "dead.db"
    dead = DeadLetters(path, reg)
    code = reg.meter_code["m-elec"]
    dead.add(
        ReadingColumns(
            np.array([code, code], np.int32),
            np.array([1_764_000_000_000, 1_764_000_060_000], np.int64),
            np.array([1.5, 2.5]),
        ),
        "400: field type conflict",
    )
    dead.close()
    config = tmp_path / "ingest.toml"
    config.write_text('dead_letters = "dead.db"\n')  # relative to the config file
    result = smartpark("ingest", "dead-letters", "--config", str(config))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "2 dead letter(s)" in out
    assert "m-elec" in out
    assert "field type conflict" in out
    assert out.index("2.5") < out.index("1.5")  # newest first
    empty = smartpark("ingest", "dead-letters", "--file", str(tmp_path / "none.db"))
    assert empty.returncode == 0
    assert "no dead letters" in empty.stdout


def test_the_documented_example_config_is_valid(tmp_path: Path) -> None:
    from smartpark.core.settings import load_settings
    from smartpark.ingest.settings import IngestSettings

    doc = (Path(__file__).resolve().parents[2] / "docs" / "ingest.md").read_text()
    example = doc.split("Example `ingest.toml`:\n\n```toml\n", 1)[1].split("```", 1)[0]
    config = tmp_path / "ingest.toml"
    config.write_text(example)
    settings = load_settings(IngestSettings, config)
    assert settings.shared_group == "smartpark-ingest"
    assert settings.registry == tmp_path / "registry.toml"  # relative to the config file
    assert settings.broker_url.tls
    assert settings.store_url.kind == "influxdb"
    assert settings.metrics_host == "127.0.0.1"
