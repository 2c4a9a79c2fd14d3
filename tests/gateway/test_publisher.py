"""The publisher empties the outbox into a real mosquitto, deleting only what was acknowledged."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from smartpark.core.mqtt import MqttOptions
from smartpark.gateway.outbox import Outbox
from smartpark.gateway.publisher import Publisher, PublishOptions, backoff_delay
from smartpark.gateway.readings import ReadingBatch
from smartpark.testing.mqtt import Collector
from smartpark.testing.servers import Mosquitto

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]

T0 = 1_767_225_600_000


def batch(n: int, start: int = 0) -> ReadingBatch:
    i = np.arange(start, start + n)
    return ReadingBatch.of(["m-1"] * n, ["steam"] * n, ["t"] * n, T0 + i * 1000, i * 1.0)


async def run_until(pub: Publisher, done: object, timeout: float = 30.0) -> None:
    task = asyncio.create_task(pub.run())
    try:
        async with asyncio.timeout(timeout):
            while not done():  # type: ignore[operator]
                await asyncio.sleep(0.02)
    finally:
        pub.stop()
        await asyncio.wait_for(task, 20)


def test_backoff_grows_exponentially_with_jitter() -> None:
    import random

    rng = random.Random(1)
    delays = [backoff_delay(a, 0.5, 60.0, rng) for a in range(10)]
    for attempt, d in enumerate(delays):
        ceiling = min(60.0, 0.5 * 2**attempt)
        assert ceiling / 2 <= d <= ceiling
    assert len({round(d, 6) for d in delays}) == len(delays)


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_outbox_drains_to_broker_in_batches_and_empties(
    mosquitto: Mosquitto, tmp_path: Path, protocol: str
) -> None:
    collector = Collector(mosquitto.host, mosquitto.port).start()
    try:
        with Outbox(tmp_path / "o.db") as box:
            box.add(batch(2_345))
            pub = Publisher(
                box,
                park="petrochem",
                gateway="gw-pub-test",
                mqtt_options=MqttOptions(
                    mosquitto.host,
                    mosquitto.port,
                    "gw-pub-test",
                    protocol=protocol,  # type: ignore[arg-type]
                ),
                options=PublishOptions(batch_max=500, drain_rate=0, live_during_drain=False),
            )
            asyncio.run(run_until(pub, lambda: box.count == 0))
            assert box.count == 0
            assert pub.stats.published == 2_345
            assert pub.stats.messages == 5
            assert box.get_meta("seq") == 5
        got = collector.wait_for(2_345)
        assert [r["value"] for r in got] == list(range(2_345))
        assert {(r["meter"], r["quantity"], r["unit"]) for r in got} == {("m-1", "steam", "t")}
        payloads = collector.payloads()
        assert [len(p["readings"]) for p in payloads] == [500, 500, 500, 500, 345]
        assert [p["seq"] for p in payloads] == [1, 2, 3, 4, 5]
        assert {p["gateway"] for p in payloads} == {"gw-pub-test"}
        # online on connect, offline (retained) on a clean stop
        assert collector.statuses()[-2:] == [(b"online", False), (b"offline", False)]
    finally:
        collector.stop()
