"""The whole gateway against real servers: pymodbus, mosquitto, broker outage, SIGKILL.

Every wait is bounded; no assertion depends on how fast anything ran.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartpark.core.timestamps import now_ms
from smartpark.gateway import config as gwconfig
from smartpark.gateway.drivers.base import CONNECTION
from smartpark.gateway.drivers.modbus import encode
from smartpark.gateway.drivers.simulator import sim_meters, values
from smartpark.gateway.outbox import read_status
from smartpark.gateway.service import Gateway
from smartpark.testing.mqtt import Collector
from smartpark.testing.servers import Mosquitto, free_port
from tests.gateway.modbus_server import modbus_server

pytestmark = [pytest.mark.servers, pytest.mark.timeout(240)]

ROOT = Path(__file__).parents[2]
SIM_QUANTITIES = [
    "electricity_import",
    "active_power",
    "pv_generation",
    "natural_gas",
    "steam",
    "fresh_water",
    "water_flow",
    "so2",
    "nox",
    "o2",
]


def write_registry(path: Path, modbus_meters: dict[str, str]) -> list[str]:
    """A one-gateway registry: the Modbus meters given plus one simulated meter per quantity,
    all polled every second. Returns the simulated meter ids."""
    lines = [
        '[zone.z1]\nname = "Zone"\n',
        '[park.p1]\nzone = "z1"\nname = "Park"\n',
        '[enterprise.e1]\npark = "p1"\nname = "Firm"\n',
        '[gateway.gw-e2e]\npark = "p1"\n',
    ]
    simulated = [f"sim-{q.replace('_', '-')}" for q in SIM_QUANTITIES]
    meters = {**modbus_meters, **dict(zip(simulated, SIM_QUANTITIES, strict=True))}
    for meter, quantity in meters.items():
        lines.append(
            f'[meter.{meter}]\nenterprise = "e1"\ngateway = "gw-e2e"\n'
            f'quantity = "{quantity}"\ninterval_s = 1\n'
        )
    path.write_text("\n".join(lines), encoding="utf-8")
    return simulated


def write_config(path: Path, registry: Path, broker: str, body: str = "") -> Path:
    path.write_text(
        f'gateway = "gw-e2e"\nregistry = "{registry}"\nbroker = "{broker}"\n'
        f'outbox = "{path.parent / "outbox.db"}"\nbatch_max = 5\nbatch_ms = 200\n' + body,
        encoding="utf-8",
    )
    return path


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


def by_meter(readings: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in readings:
        out[r["meter"]].append(r)
    return out


def first_occurrences(readings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[str, int]] = set()
    out = []
    for r in readings:
        key = (r["meter"], r["ts"])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def assert_contiguous(ts: list[int], what: str) -> None:
    grid = np.array(sorted(set(ts)))
    assert len(grid) > 0, what
    assert np.all(np.diff(grid) == 1000), f"{what}: gap in {grid.tolist()}"


# ---------------------------------------------------------------------------------------


def test_modbus_readings_arrive_at_a_real_subscriber_with_values_and_units(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.toml"
    simulated = write_registry(
        registry,
        {"mb-energy": "electricity_import", "mb-power": "active_power", "mb-dead": "o2"},
    )
    dead_port = free_port()
    holding = encode(98765.25, "float32") + encode(-1234, "int32", "little")
    collector = Collector(mosquitto.host, mosquitto.port).start()

    async def main() -> Gateway:
        async with modbus_server(holding, inputs=[0]) as port:
            body = f"""
[modbus.board]
host = "127.0.0.1"
port = {port}
timeout_s = 1.0
retries = 1
[[modbus.board.read]]
meter = "mb-energy"
address = 0
type = "float32"
unit = "MWh"
scale = 0.001
[[modbus.board.read]]
meter = "mb-power"
address = 2
type = "int32"
word_order = "little"
scale = 0.1
unit = "kW"

[modbus.dead]
host = "127.0.0.1"
port = {dead_port}
timeout_s = 0.5
retries = 0
[[modbus.dead.read]]
meter = "mb-dead"
address = 0
type = "uint16"
unit = "%"

[simulator]
seed = 3
"""
            cfg = gwconfig.load(write_config(tmp_path / "gw.toml", registry, mosquitto.url, body))
            gw = Gateway(cfg)
            task = asyncio.create_task(gw.run())
            try:
                await until(
                    lambda: sum(r["meter"] == "mb-energy" for r in collector.readings()) >= 3,
                    30,
                    "three polls of mb-energy",
                )
            finally:
                gw.stop()
                await asyncio.wait_for(task, 30)
        return gw

    try:
        gw = asyncio.run(main())
        readings = by_meter(collector.readings())
    finally:
        collector.stop()

    energy = readings["mb-energy"]
    assert {(r["quantity"], r["unit"]) for r in energy} == {("electricity_import", "MWh")}
    assert [r["value"] for r in energy] == [pytest.approx(98.76525)] * len(energy)
    power = readings["mb-power"]
    assert {(r["quantity"], r["unit"]) for r in power} == {("active_power", "kW")}
    assert [r["value"] for r in power] == [pytest.approx(-123.4)] * len(power)
    assert all(r["ts"] % 1000 == 0 for rs in readings.values() for r in rs)
    assert_contiguous([r["ts"] for r in energy], "mb-energy")
    # The dead endpoint is reported and skipped; it never held the others back.
    assert "mb-dead" not in readings
    assert gw.meter_errors[CONNECTION] >= 1
    assert gw.errors_by_meter["mb-dead"] >= 1
    assert set(simulated) <= set(readings)
    # Simulated values are the simulator's pure function of (meter, ts).
    sims = {m.id: m for m in sim_meters(gw.config.registry, simulated, seed=3)}
    for meter in simulated:
        rs = readings[meter]
        expected = values(sims[meter], np.array([r["ts"] for r in rs], dtype=np.int64))
        assert np.allclose([r["value"] for r in rs], expected), meter
    status = read_status(tmp_path / "outbox.db")
    assert status.queued == 0
    assert status.status["published"] == status.status["polled"] == gw.polled


@pytest.mark.parametrize("live_during_drain", [False, True], ids=["strict-order", "live-lane"])
def test_broker_outage_loses_nothing_and_keeps_order_per_meter(
    tmp_path: Path, live_during_drain: bool
) -> None:
    registry = tmp_path / "registry.toml"
    simulated = write_registry(registry, {})
    with Mosquitto(tmp_path / "broker") as broker:
        collector = Collector(broker.host, broker.port).start()
        body = f"""
[mqtt]
drain_rate = {10 if live_during_drain else 20}
live_during_drain = {str(live_during_drain).lower()}
[simulator]
seed = 11
"""
        cfg = gwconfig.load(write_config(tmp_path / "gw.toml", registry, broker.url, body))
        marks: dict[str, int] = {}

        async def main() -> Gateway:
            gw = Gateway(cfg)
            task = asyncio.create_task(gw.run())
            try:
                await until(lambda: gw.publisher.stats.published >= 20, 30, "first publishes")
                await asyncio.to_thread(broker.stop)  # the gateway keeps polling meanwhile
                start = gw.polled
                await until(lambda: gw.polled >= start + 50, 30, "polls during the outage")
                assert gw.outbox.count >= 50  # the outage readings wait on disk
                marks["restart"] = now_ms()
                await asyncio.to_thread(broker.start)
                await until(lambda: gw.publisher.stats.reconnects >= 1, 60, "reconnect")
                marks["reconnected"] = now_ms()
                if live_during_drain:
                    # The backlog (>= 50 readings at 10/s) takes >= 5 s; a reading polled
                    # a second after the reconnect must overtake it. Waiting for that, not
                    # for a queue length, keeps the test independent of the machine's load.
                    await until(
                        lambda: any(
                            r["ts"] > marks["reconnected"] + 1000 for r in collector.readings()
                        ),
                        60,
                        "a live reading during the drain",
                    )
                else:
                    await until(lambda: gw.outbox.count <= 10, 60, "the backlog to drain")
            finally:
                gw.stop()
                await asyncio.wait_for(task, 30)
            return gw

        gw = asyncio.run(main())
        try:
            collector_wait = time.monotonic() + 30
            while time.monotonic() < collector_wait:
                if len({(r["meter"], r["ts"]) for r in collector.readings()}) >= gw.polled:
                    break
                time.sleep(0.1)
            received = collector.readings()
        finally:
            collector.stop()

    distinct = first_occurrences(received)
    # Every reading polled arrived, the count is exact (QoS 1 may repeat, never lose).
    assert len(distinct) == gw.polled
    assert read_status(tmp_path / "outbox.db").queued == 0
    assert gw.publisher.stats.reconnects >= 1
    sims = {m.id: m for m in sim_meters(cfg.registry, simulated, seed=11)}
    per_meter = by_meter(distinct)
    assert set(per_meter) == set(simulated)
    interleaved = False
    for meter, rs in per_meter.items():
        ts = [r["ts"] for r in rs]  # in order of arrival
        assert_contiguous(ts, meter)  # no gap, before, during or after the outage
        assert np.allclose([r["value"] for r in rs], values(sims[meter], np.array(ts)))
        if not live_during_drain:
            assert ts == sorted(ts), meter  # strictly oldest-first
            continue
        # Two lanes: the backlog (polled before the restart) and live readings (polled
        # after the reconnect) each arrive in order; live ones overtake the backlog.
        backlog = [i for i, t in enumerate(ts) if t < marks["restart"]]
        live = [i for i, t in enumerate(ts) if t > marks["reconnected"] + 1000]
        assert [ts[i] for i in backlog] == sorted(ts[i] for i in backlog), meter
        assert [ts[i] for i in live] == sorted(ts[i] for i in live), meter
        interleaved |= bool(live) and min(live) < max(backlog)
    if live_during_drain:
        assert interleaved, "live readings should flow while the backlog drains"


_COMMITTED = re.compile(r"event='outbox_committed' readings=(\d+) last_ts=(\d+)")


def committed_ts(log: Path) -> list[int]:
    text = log.read_text(encoding="utf-8", errors="replace")
    return [int(m.group(2)) for m in _COMMITTED.finditer(text)]


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("outage", [False, True], ids=["kill-while-streaming", "kill-in-outage"])
def test_gateway_killed_with_sigkill_mid_stream_loses_nothing(tmp_path: Path, outage: bool) -> None:
    registry = tmp_path / "registry.toml"
    simulated = write_registry(registry, {})
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SMARTPARK_BROKER", None)
    with Mosquitto(tmp_path / "broker") as broker:
        collector = Collector(broker.host, broker.port).start()
        cfg_path = write_config(
            tmp_path / "gw.toml", registry, broker.url, "[simulator]\nseed = 5\n"
        )

        def start(log: Path) -> subprocess.Popen[bytes]:
            with log.open("wb") as fh:
                return subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "smartpark",
                        "gateway",
                        "--config",
                        str(cfg_path),
                        "--log-level",
                        "debug",
                    ],
                    stdout=fh,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                    env=env,
                )

        log1, log2 = tmp_path / "run1.log", tmp_path / "run2.log"
        proc = start(log1)
        try:
            # Streaming normally, then the broker goes away and readings pile up on disk.
            wait_for(lambda: len(collector.readings()) >= 30, 60, "readings of run 1")
            if outage:
                broker.stop()
            before = len(committed_ts(log1))
            wait_for(lambda: len(committed_ts(log1)) >= before + 3, 30, "more polls")
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(30) == -signal.SIGKILL
        finally:
            proc.kill()
        run1 = committed_ts(log1)
        if outage:
            left = read_status(tmp_path / "outbox.db")
            assert left.queued > 0  # the kill left unacknowledged readings in the outbox
        broker.start()  # no-op when it is running
        proc = start(log2)
        try:
            wait_for(lambda: len(committed_ts(log2)) >= 3, 60, "polls of run 2")
            wait_for(
                lambda: read_status(tmp_path / "outbox.db").queued == 0, 60, "the outbox to drain"
            )
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0  # SIGTERM: flush, offline, exit 0
        finally:
            proc.kill()
        run2 = committed_ts(log2)
        expected = {(m, ts) for ts in run1 + run2 for m in simulated}
        wait_for(
            lambda: expected <= {(r["meter"], r["ts"]) for r in collector.readings()},
            30,
            "every committed reading at the subscriber",
        )
        received = collector.readings()
        statuses = collector.statuses()
        collector.stop()

    got = {(r["meter"], r["ts"]) for r in received}
    missing = expected - got
    assert not missing, sorted(missing)[:10]
    # No gap: each run polled every second, and everything it polled arrived.
    assert_contiguous(run1, "run 1 polls")
    assert_contiguous(run2, "run 2 polls")
    per_meter = by_meter(received)
    for meter in simulated:
        ts = {r["ts"] for r in per_meter[meter]}
        assert set(run1) <= ts
        assert set(run2) <= ts
    assert read_status(tmp_path / "outbox.db").queued == 0
    assert statuses[-1] == (b"offline", False)


def test_broker_unreachable_at_start_then_everything_arrives(tmp_path: Path) -> None:
    registry = tmp_path / "registry.toml"
    simulated = write_registry(registry, {})
    with Mosquitto(tmp_path / "broker") as broker:
        # The subscriber's persistent session exists before the outage, so it gets
        # everything published after the broker is back, even before it reconnects.
        collector = Collector(broker.host, broker.port).start()
        broker.stop()
        cfg = gwconfig.load(
            write_config(tmp_path / "gw.toml", registry, broker.url, "[simulator]\nseed = 2\n")
        )

        async def main() -> Gateway:
            gw = Gateway(cfg)
            task = asyncio.create_task(gw.run())
            try:
                await until(lambda: gw.polled >= 30, 30, "polls with no broker")
                assert gw.publisher.stats.connect_failures >= 1
                assert gw.publisher.stats.published == 0
                await asyncio.to_thread(broker.start)
                await until(lambda: gw.outbox.count == 0, 60, "the queue to drain")
            finally:
                gw.stop()
                await asyncio.wait_for(task, 30)
            return gw

        try:
            gw = asyncio.run(main())
            wait_for(
                lambda: len({(r["meter"], r["ts"]) for r in collector.readings()}) >= gw.polled,
                30,
                "every reading at the subscriber",
            )
            received = collector.readings()
        finally:
            collector.stop()
    distinct = first_occurrences(received)
    assert len(distinct) == gw.polled
    for meter, rs in by_meter(distinct).items():
        assert meter in simulated
        assert_contiguous([r["ts"] for r in rs], meter)
