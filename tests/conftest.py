"""Shared fixtures: real mosquitto and influxd servers (logic in smartpark.testing.servers).

A missing binary skips the tests that need it, except under CI (``CI`` set and
not "0"/"false"), where it fails them: CI must never skip silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from smartpark.core.errors import ServerNotInstalledError
from smartpark.testing.servers import Influxd, Mosquitto

_S = TypeVar("_S", Mosquitto, Influxd)


def _server(factory: Callable[[Path], _S], workdir: Path) -> _S:
    """``factory(workdir)``, or skip (fail under CI) when its binary is missing."""
    try:
        return factory(workdir)
    except ServerNotInstalledError as exc:
        message = str(exc)
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{message} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A persistent mosquitto broker on a free loopback port, for the whole session."""
    with _server(Mosquitto, tmp_path_factory.mktemp("mosquitto")) as server:
        yield server


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influxd]:
    """An InfluxDB 1.x influxd on a free loopback port, for the whole session."""
    with _server(Influxd, tmp_path_factory.mktemp("influxd")) as server:
        yield server


@pytest.fixture
def influx_db(influxd: Influxd) -> Iterator[str]:
    """The name of a fresh, empty database on ``influxd``; dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    influxd.start()  # no-op unless a previous test left it stopped
    influxd.create_database(name)
    yield name
    if influxd.running:
        influxd.drop_database(name)
