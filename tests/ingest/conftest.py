"""Ingest tests count every message the broker delivers (status included), so each
test module gets a broker of its own: retained ``status`` messages that other packages'
tests leave on the shared session broker would otherwise arrive here too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smartpark.testing.servers import Mosquitto
from tests.conftest import _server


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    workdir: Path = tmp_path_factory.mktemp("mosquitto-ingest")
    with _server(Mosquitto, workdir) as server:
        yield server
