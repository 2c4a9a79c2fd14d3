"""The whole service in-process against a real mosquitto (in-memory store: not under test)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from smartpark.core.timestamps import now_ms
from smartpark.ingest.service import Running, serve
from smartpark.testing.memory_store import MemoryStore
from smartpark.testing.mqtt import Publisher
from smartpark.testing.payloads import payload
from smartpark.testing.servers import Mosquitto
from tests.ingest.park import park_registry, reading
from tests.ingest.service_runner import eventually, run_service, settings_for

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]

REG = park_registry()
T1 = "smartpark/v1/p1/g1/telemetry"


def sample(running: Running, name: str, **labels: str) -> float:
    value = running.metrics.registry.get_sample_value(name, labels or None)
    return 0.0 if value is None else value


def good_messages(n: int, per: int, start: int) -> list[bytes]:
    return [
        payload("g1", [reading("m-elec", start + i * per + j, float(j)) for j in range(per)], seq=i)
        for i in range(n)
    ]


def test_readings_flow_to_the_store_and_rejections_are_counted(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    store = MemoryStore()
    settings = settings_for(mosquitto, tmp_path)
    t0 = now_ms() - 60_000

    async def body(running: Running) -> None:
        mixed = payload(
            "g1",
            [
                reading("m-elec", t0, 1.5),
                reading("m-water", t0, 2.0),  # g2's meter
                reading("m-gas", t0, float("nan")),
            ],
        ).replace(b"NaN", b"1e999")
        with Publisher(mosquitto) as pub:
            await asyncio.to_thread(pub.publish, T1, [*good_messages(5, 10, t0 + 1), mixed])
            await asyncio.to_thread(pub.publish, T1, [b"not json"])
        await eventually(lambda: running.subscriber.acker.acked >= 7)

    run_service(settings, REG, store, lambda r: _run_and_check(r, body))
    assert len(store.points) == 51
    assert store.points[(REG.meter_code["m-elec"], t0)] == 1.5


async def _run_and_check(running: Running, body: object) -> None:
    await body(running)  # type: ignore[operator]
    assert sample(running, "smartpark_ingest_readings_accepted_total", gateway="g1") == 51
    assert (
        sample(
            running,
            "smartpark_ingest_readings_rejected_total",
            gateway="g1",
            reason="wrong_gateway",
        )
        == 1
    )
    assert (
        sample(
            running, "smartpark_ingest_readings_rejected_total", gateway="g1", reason="non_finite"
        )
        == 1
    )
    assert (
        sample(running, "smartpark_ingest_payloads_rejected_total", gateway="g1", reason="not_json")
        == 1
    )
    assert sample(running, "smartpark_ingest_messages_total", channel="telemetry") == 7


def test_stop_flushes_the_open_batch_and_acks_it(mosquitto: Mosquitto, tmp_path: Path) -> None:
    store = MemoryStore()
    # A batch that would stay open for a minute: only the stop can flush it.
    settings = settings_for(mosquitto, tmp_path, batch_ms=60_000, batch_size=1_000_000)
    t0 = now_ms() - 60_000

    async def body(running: Running) -> None:
        with Publisher(mosquitto) as pub:
            await asyncio.to_thread(pub.publish, T1, good_messages(4, 5, t0))
        await eventually(lambda: running.pipeline.qsize() == 0 and running.pipeline.batches == 0)
        await asyncio.sleep(0.2)
        assert store.writes == []  # still batching

    run_service(settings, REG, store, body)
    assert store.writes == [20]

    # Same client id again: the broker has nothing left to redeliver.
    again = MemoryStore()

    async def nothing_comes(running: Running) -> None:
        await asyncio.sleep(1.0)

    run_service(settings.model_copy(update={"batch_ms": 20}), REG, again, nothing_comes)
    assert again.points == {}


def test_unwritten_messages_are_redelivered_to_the_next_run(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    stuck = MemoryStore()
    stuck.gate.clear()  # every write hangs, then fails: the store is "down"
    stuck.gate_timeout_s = 0.3
    settings = settings_for(mosquitto, tmp_path, drain_timeout_s=0.5)
    t0 = now_ms() - 60_000

    async def body(running: Running) -> None:
        with Publisher(mosquitto) as pub:
            await asyncio.to_thread(pub.publish, T1, good_messages(3, 4, t0))
        await eventually(lambda: stuck.attempts >= 1)

    run_service(settings, REG, stuck, body)
    assert stuck.writes == []

    fresh = MemoryStore()

    async def redelivered(running: Running) -> None:
        await eventually(lambda: len(fresh.points) == 12)

    run_service(settings, REG, fresh, redelivered)
    assert sorted(fresh.points) == sorted((REG.meter_code["m-elec"], t0 + i) for i in range(12))


def test_metrics_healthz_and_gateway_status(mosquitto: Mosquitto, tmp_path: Path) -> None:
    store = MemoryStore()
    settings = settings_for(mosquitto, tmp_path, metrics_port=0)
    status_topic = "smartpark/v1/p1/g2/status"

    async def body(running: Running) -> None:
        server = running.metrics_server
        assert server is not None
        assert server.host == "127.0.0.1"
        with Publisher(mosquitto) as pub:
            await asyncio.to_thread(pub.publish, status_topic, [b"online"], retain=False)
            await asyncio.to_thread(pub.publish, T1, good_messages(1, 3, now_ms() - 1000))
        await eventually(lambda: running.subscriber.acker.acked >= 2)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            health = await http.get("/healthz")
            metrics = await http.get("/metrics")
            missing = await http.get("/nope")
        assert (health.status_code, health.text) == (200, "ok\n")
        assert missing.status_code == 404
        text = metrics.text
        assert 'smartpark_ingest_gateway_online{gateway="g2"} 1.0' in text
        assert "smartpark_ingest_readings_stored_total 3.0" in text
        assert "smartpark_ingest_write_seconds_bucket" in text
        assert "smartpark_ingest_queue_depth" in text
        status = running.subscriber.status.gateways
        assert status["g2"].online is True
        assert status["g2"].last_seen_ms is not None
        assert status["g1"].last_seen_ms is not None  # telemetry counts as a sign of life

    run_service(settings, REG, store, body)


def test_two_ingests_share_the_load_through_a_shared_subscription(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    group = f"grp-{uuid.uuid4().hex[:8]}"
    stores = [MemoryStore(), MemoryStore()]
    for i in range(2):
        (tmp_path / str(i)).mkdir()
    settings = [
        settings_for(mosquitto, tmp_path / str(i), shared_group=group, batch_ms=10)
        for i in range(2)
    ]
    t0 = now_ms() - 60_000
    messages = good_messages(200, 5, t0)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        started = [loop.create_future(), loop.create_future()]
        async with asyncio.timeout(60), asyncio.TaskGroup() as tg:
            for s, store, fut in zip(settings, stores, started, strict=True):
                tg.create_task(serve(s, registry=REG, store=store, stop=stop, started=fut))
            running = [await fut for fut in started]
            await eventually(lambda: all(r.subscriber.subscribed for r in running))
            with Publisher(mosquitto) as pub:
                await asyncio.to_thread(pub.publish, T1, messages)
            await eventually(lambda: sum(len(s.points) for s in stores) == 1_000)
            stop.set()

    asyncio.run(main())
    first, second = (set(s.points) for s in stores)
    assert first, "both took a share"
    assert second, "both took a share"
    assert not first & second  # and no message went to both
    assert len(first | second) == 1_000
