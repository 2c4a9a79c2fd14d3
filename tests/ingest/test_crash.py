"""``smartpark ingest`` SIGKILLed while messages flow, restarted: every reading exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from smartpark.core.timestamps import now_ms
from smartpark.testing.mqtt import Publisher
from smartpark.testing.payloads import payload
from smartpark.testing.servers import Influxd, Mosquitto, free_port, wait_until
from tests.ingest.park import REGISTRY_TOML, reading

pytestmark = [pytest.mark.servers, pytest.mark.timeout(240)]

T1 = "smartpark/v1/p1/g1/telemetry"
MESSAGES = 300
PER = 25


class IngestProcess:
    """The real command line, in its own process."""

    def __init__(self, tmp_path: Path, broker: Mosquitto, store: str, client_id: str) -> None:
        self.port = free_port()
        registry = tmp_path / "registry.toml"
        registry.write_text(REGISTRY_TOML)
        self.log = (tmp_path / "ingest.log").open("ab")
        env = dict(os.environ, SMARTPARK_DEAD_LETTERS=str(tmp_path / "dead.db"))
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "smartpark",
                "ingest",
                "--registry",
                str(registry),
                "--broker",
                broker.url,
                "--store",
                store,
                "--client-id",
                client_id,
                "--metrics-port",
                str(self.port),
                "--batch-size",
                "100",
                "--batch-ms",
                "20",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", trust_env=False)
        wait_until(self.healthy, timeout=30, what="ingest /healthz", details=self.tail)

    def tail(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-3000:]

    def healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"ingest exited with {self.proc.returncode}\n{self.tail()}")
        try:
            return self.http.get("/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stored(self) -> float:
        for line in self.http.get("/metrics", timeout=5).text.splitlines():
            if line.startswith("smartpark_ingest_readings_stored_total "):
                return float(line.split()[1])
        return 0.0

    def close(self, sig: signal.Signals) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(60)
        self.http.close()
        self.log.close()
        return code


def influx_totals(influxd: Influxd, db: str) -> tuple[int, float]:
    rows = influxd.query(db, "SELECT count(value), sum(value) FROM energy")
    return (int(rows[0]["count"]), float(rows[0]["sum"])) if rows else (0, 0.0)


def sqlite_totals(path: Path) -> tuple[int, float]:
    if not path.exists():
        return 0, 0.0
    with closing(sqlite3.connect(path, timeout=30)) as db:
        count, total = db.execute("SELECT count(*), total(value) FROM readings").fetchone()
    return int(count), float(total)


@pytest.mark.parametrize("kind", ["influxdb", "sqlite"])
def test_sigkill_mid_stream_then_restart_stores_every_reading_exactly_once(
    mosquitto: Mosquitto, influxd: Influxd, influx_db: str, tmp_path: Path, kind: str
) -> None:
    if kind == "influxdb":
        store = influxd.store_url(influx_db)

        def totals() -> tuple[int, float]:
            return influx_totals(influxd, influx_db)
    else:
        db_path = tmp_path / "store.db"
        store = f"sqlite:///{db_path}"

        def totals() -> tuple[int, float]:
            return sqlite_totals(db_path)

    client_id = f"crash-{uuid.uuid4().hex[:8]}"
    t0 = now_ms() - 3_600_000
    messages = [
        payload("g1", [reading("m-elec", t0 + i * PER + j, i + j / 100) for j in range(PER)], seq=i)
        for i in range(MESSAGES)
    ]
    expected_sum = sum(i + j / 100 for i in range(MESSAGES) for j in range(PER))

    first = IngestProcess(tmp_path, mosquitto, store, client_id)
    published = threading.Event()

    def publish() -> None:
        with Publisher(mosquitto) as pub:
            for i in range(0, MESSAGES, 10):  # a steady stream, ~10 messages per 20 ms
                pub.publish(T1, messages[i : i + 10])
                time.sleep(0.02)
        published.set()

    publisher = threading.Thread(target=publish)
    publisher.start()
    try:
        # Kill it once some, but not all, readings are stored: mid-stream.
        wait_until(lambda: first.stored() >= MESSAGES * PER // 4, timeout=60, what="progress")
        killed_at = first.stored()
        assert first.close(signal.SIGKILL) == -signal.SIGKILL
        assert killed_at < MESSAGES * PER

        second = IngestProcess(tmp_path, mosquitto, store, client_id)

        assert published.wait(60)
        wait_until(lambda: totals()[0] == MESSAGES * PER, timeout=60, what="every reading")
        assert second.close(signal.SIGTERM) == 0  # SIGTERM: flush and exit 0
    finally:
        publisher.join(60)
    count, total = totals()
    assert count == MESSAGES * PER
    assert total == pytest.approx(expected_sum, rel=1e-12)
