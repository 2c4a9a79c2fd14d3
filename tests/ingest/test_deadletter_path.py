"""Where dead letters go by default: an absolute place, whatever the working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smartpark.core.settings import load_settings
from smartpark.ingest.deadletter import DeadLetters, default_path, state_dir
from smartpark.ingest.settings import IngestSettings


def test_beside_a_sqlite_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_path(f"sqlite:///{tmp_path}/park.db") == tmp_path / "park-dead-letters.db"
    monkeypatch.chdir(tmp_path)
    relative = default_path("sqlite:///data/park.db")
    assert relative == tmp_path / "data" / "park-dead-letters.db"
    assert relative.is_absolute()


def test_else_in_the_state_directory(tmp_path: Path) -> None:
    influx = "influxdb://127.0.0.1:8086/smartpark"
    systemd = {"STATE_DIRECTORY": f"{tmp_path}/ingest:{tmp_path}/other"}
    assert default_path(influx, systemd) == tmp_path / "ingest" / "dead-letters.db"
    xdg = {"XDG_STATE_HOME": str(tmp_path / "xdg")}
    assert default_path(influx, xdg) == tmp_path / "xdg" / "smartpark" / "dead-letters.db"
    home = Path.home() / ".local" / "state" / "smartpark"
    assert state_dir({"XDG_STATE_HOME": "relative/ignored"}) == home
    assert default_path("not a url", {}) == home / "dead-letters.db"


def test_the_settings_default_follows_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("SMARTPARK_STORE", "SMARTPARK_DEAD_LETTERS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    settings = load_settings(IngestSettings)  # the default store, sqlite:///smartpark.db
    assert settings.dead_letters == tmp_path / "smartpark-dead-letters.db"
    influx = load_settings(IngestSettings, store="influxdb://127.0.0.1:8086/smartpark")
    assert influx.dead_letters == tmp_path / "state" / "dead-letters.db"
    explicit = load_settings(IngestSettings, dead_letters=tmp_path / "mine.db")
    assert explicit.dead_letters == tmp_path / "mine.db"
    # The state directory need not exist yet: the dead-letter file creates it.
    DeadLetters(influx.dead_letters).close()
    assert os.path.isfile(influx.dead_letters)
