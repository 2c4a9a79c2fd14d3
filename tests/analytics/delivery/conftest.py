"""A real SMTP server (STARTTLS, AUTH) and a real HTTP receiver on loopback ports, the
example registry, and a SQLite store of simulated readings on pinned dates."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartpark.analytics.delivery import config as config_mod
from smartpark.analytics.periods import to_ms
from smartpark.core import registry as registry_mod
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import ReadingColumns
from smartpark.store.open import open_store
from tests.analytics.alerts.receiver import Receiver
from tests.analytics.delivery.smtp_server import Certificate, SmtpServer, make_certificate

EXAMPLES = Path(registry_mod.__file__).parent.parent / "examples"
EXAMPLE_REGISTRY = EXAMPLES / "registry.toml"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
USER, PASSWORD = "reports@park.example", "smtp-pass-for-tests"
SECRET = "hook-secret-for-tests"


def shanghai_ms(*args: int) -> int:
    """Epoch ms of a wall-clock time in Asia/Shanghai (UTC+8, no DST)."""
    return to_ms(dt.datetime(*args, tzinfo=SHANGHAI))  # type: ignore[misc]


class Clock:
    """A pinned clock the service reads; tests move it."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """The SMTP server's certificate, made with the openssl command (skipped without it,
    failed under CI)."""
    if shutil.which("openssl") is None:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail("openssl command not installed (apt-get install openssl)", pytrace=False)
        pytest.skip("openssl command not installed (apt-get install openssl)")
    return make_certificate(tmp_path_factory.mktemp("smtp-cert"))


@pytest.fixture
def smtp(certificate: Certificate) -> Iterator[SmtpServer]:
    with SmtpServer(certificate, users={USER: PASSWORD}) as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def example() -> Registry:
    return registry_mod.load(EXAMPLE_REGISTRY)


def simulated_store(path: Path, reg: Registry, start_ms: int, end_ms: int) -> str:
    """A SQLite store at ``path`` with the simulated readings of every meter; its URL."""
    from smartpark.gateway.drivers.simulator import sim_meters, simulate

    batch = simulate(sim_meters(reg, reg.meter_ids, seed=5), start_ms, end_ms)
    meter = [reg.meter_code[m] for m in batch.meter.tolist()]
    url = f"sqlite:///{path}"
    store = open_store(parse_store_url(url), reg)
    try:
        store.write(ReadingColumns(np.array(meter, np.int32), batch.ts, batch.value))
    finally:
        store.close()
    return url


def smtp_table(server: SmtpServer, certificate: Certificate, folder: Path) -> dict[str, Any]:
    """The [smtp.ID] table of ``server``: STARTTLS, its CA, a login, the password in a file."""
    (folder / "smtp.password").write_text(PASSWORD + "\n")
    return {
        "host": "127.0.0.1",
        "port": server.port,
        "user": USER,
        "password_file": "smtp.password",
        "from": f"Park reports <{USER}>",
        "ca_file": str(certificate.cert),
        "timeout_s": 10,
    }


def load(data: dict[str, Any], reg: Registry, base: Path) -> config_mod.DeliveryConfig:
    return config_mod.from_dict(data, reg, base=base)
