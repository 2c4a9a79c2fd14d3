"""The batch → write → ack pipeline, with an in-memory store (the store is not under test)."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from smartpark.core.errors import StoreError, StoreRejectedError
from smartpark.ingest.ack import AckToken
from smartpark.ingest.deadletter import DeadLetters
from smartpark.ingest.metrics import IngestMetrics
from smartpark.ingest.pipeline import Pipeline, Received, RetryPolicy
from smartpark.store.base import ReadingColumns
from smartpark.testing.memory_store import MemoryStore
from tests.ingest.park import park_registry

pytestmark = pytest.mark.timeout(60)

FAST_RETRY = RetryPolicy(base_s=0.001, max_s=0.01)


class Acks:
    """Records acknowledgements like ManualAck would send them."""

    def __init__(self) -> None:
        self.mids: list[int] = []

    def __call__(self, tokens: Sequence[AckToken]) -> int:
        self.mids.extend(t.mid for t in tokens)
        return len(tokens)


def message(mid: int, n: int, *, meter: int = 0, value: float = 1.0) -> Received:
    ts = np.arange(mid * 100_000, mid * 100_000 + n, dtype=np.int64)
    readings = ReadingColumns(np.full(n, meter, np.int32), ts, np.full(n, value, np.float64))
    return Received(AckToken(1, mid, 1), readings)


def make(
    tmp_path: Path, store: MemoryStore, **kw: int
) -> tuple[Pipeline, Acks, IngestMetrics, DeadLetters]:
    acks = Acks()
    metrics = IngestMetrics()
    dead = DeadLetters(tmp_path / "dead.db", park_registry())
    pipe = Pipeline(store, acks, metrics, dead, retry=FAST_RETRY, rng=random.Random(1), **kw)
    return pipe, acks, metrics, dead


def sample(metrics: IngestMetrics, name: str) -> float:
    value = metrics.registry.get_sample_value(name)
    return 0.0 if value is None else value


async def run_with(pipe: Pipeline, body: Callable[[], Awaitable[None]]) -> None:
    async with asyncio.timeout(30), asyncio.TaskGroup() as tg:
        tg.create_task(pipe.run())
        await body()
        await pipe.close()


def test_batches_by_size_and_acks_in_arrival_order(tmp_path: Path) -> None:
    store = MemoryStore()
    pipe, acks, metrics, _ = make(tmp_path, store, batch_size=2_500, batch_ms=10_000)

    async def body() -> None:
        for mid in range(1, 11):
            await pipe.put(message(mid, 1_000))

    asyncio.run(run_with(pipe, body))
    # 1000-reading messages, batch closes at >= 2500 readings: 3 + 3 + 3 + the rest at close.
    assert store.writes == [3_000, 3_000, 3_000, 1_000]
    assert acks.mids == list(range(1, 11))
    assert len(store.points) == 10_000
    assert sample(metrics, "smartpark_ingest_readings_stored_total") == 10_000
    assert sample(metrics, "smartpark_ingest_acks_total") == 10


def test_a_lone_message_is_written_after_batch_ms(tmp_path: Path) -> None:
    store = MemoryStore()
    pipe, acks, _, _ = make(tmp_path, store, batch_size=10_000, batch_ms=20)

    async def body() -> None:
        await pipe.put(message(7, 3))
        async with asyncio.timeout(10):
            while not acks.mids:  # written by the timer, not by close()
                await asyncio.sleep(0.01)

    asyncio.run(run_with(pipe, body))
    assert (store.writes, acks.mids) == ([3], [7])


def test_nothing_is_acked_before_the_write_returns(tmp_path: Path) -> None:
    store = MemoryStore()
    store.gate.clear()
    pipe, acks, _, _ = make(tmp_path, store, batch_size=1, batch_ms=0)

    async def body() -> None:
        await pipe.put(message(1, 5))
        async with asyncio.timeout(10):
            while store.attempts == 0:
                await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)
        assert acks.mids == []  # the write is in progress: no PUBACK yet
        store.gate.set()

    asyncio.run(run_with(pipe, body))
    assert acks.mids == [1]


def test_full_queue_blocks_the_producer(tmp_path: Path) -> None:
    store = MemoryStore()
    store.gate.clear()
    pipe, acks, _, _ = make(tmp_path, store, batch_size=1, batch_ms=0, queue_size=2)

    async def body() -> None:
        await pipe.put(message(1, 1))  # taken by the writer, which then waits on the gate
        async with asyncio.timeout(10):
            while store.attempts == 0:
                await asyncio.sleep(0.005)
        await pipe.put(message(2, 1))
        await pipe.put(message(3, 1))
        blocked = asyncio.create_task(pipe.put(message(4, 1)))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not blocked.done()  # queue full: the subscriber would stop reading here
        assert pipe.qsize() == 2
        store.gate.set()
        await blocked

    asyncio.run(run_with(pipe, body))
    assert acks.mids == [1, 2, 3, 4]


def test_store_errors_are_retried_then_written_once(tmp_path: Path) -> None:
    store = MemoryStore()
    failures = iter([StoreError("down"), StoreError("still down"), RuntimeError("bug")])

    def fail(_: ReadingColumns) -> None:
        exc = next(failures, None)
        if exc is not None:
            raise exc

    store.fail = fail
    pipe, acks, metrics, _ = make(tmp_path, store, batch_size=100, batch_ms=0)

    async def body() -> None:
        await pipe.put(message(1, 10))

    asyncio.run(run_with(pipe, body))
    assert store.attempts == 4
    assert store.writes == [10]
    assert acks.mids == [1]
    assert sample(metrics, "smartpark_ingest_write_retries_total") == 3
    assert pipe.health() is None


def test_rejected_points_are_bisected_out_and_dead_lettered(tmp_path: Path) -> None:
    store = MemoryStore()
    poison = {(2, 200_003), (2, 200_007)}

    def fail(readings: ReadingColumns) -> None:
        keys = set(zip(readings.meter.tolist(), readings.ts.tolist(), strict=True))
        if keys & poison:
            raise StoreRejectedError("400: partial write: field type conflict")

    store.fail = fail
    pipe, acks, metrics, dead = make(tmp_path, store, batch_size=1_000, batch_ms=10_000)

    async def body() -> None:
        await pipe.put(message(1, 10, meter=1))
        await pipe.put(message(2, 10, meter=2, value=2.5))
        await pipe.put(message(3, 10, meter=3))

    asyncio.run(run_with(pipe, body))
    assert len(store.points) == 28
    assert not poison & set(store.points)
    assert sum(store.writes) == 28
    assert acks.mids == [1, 2, 3]  # refused points are dead letters: acked, not redelivered
    letters = dead.latest()
    reg = park_registry()
    assert sorted((d.meter, d.ts_ms, d.value) for d in letters) == [
        (reg.meter_ids[2], 200_003, 2.5),
        (reg.meter_ids[2], 200_007, 2.5),
    ]
    assert all("field type conflict" in d.reason for d in letters)
    assert sample(metrics, "smartpark_ingest_dead_letters_total") == 2
    # Bisection isolates 2 bad points among 30 in O(k log n) writes, not n.
    assert store.attempts < 30


def test_messages_without_readings_are_acked_with_their_batch(tmp_path: Path) -> None:
    store = MemoryStore()
    pipe, acks, _, _ = make(tmp_path, store, batch_size=100, batch_ms=10_000)

    async def body() -> None:
        await pipe.put(message(1, 0))
        await pipe.put(Received(None, ReadingColumns.empty()))  # QoS 0: nothing to ack
        await pipe.put(message(2, 5))

    asyncio.run(run_with(pipe, body))
    assert acks.mids == [1, 2]
    assert store.writes == [5]


def test_health_reports_a_failing_store(tmp_path: Path) -> None:
    store = MemoryStore()
    calls = 0

    def fail(_: ReadingColumns) -> None:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise StoreError("connection refused")

    store.fail = fail
    pipe, _, _, _ = make(tmp_path, store, batch_size=1, batch_ms=0)
    seen: list[str | None] = []
    pipe.retry = RetryPolicy(base_s=0.05, max_s=0.05)

    async def body() -> None:
        await pipe.put(message(1, 1))
        async with asyncio.timeout(10):
            while pipe.health() is None:
                await asyncio.sleep(0.001)
        seen.append(pipe.health())

    asyncio.run(run_with(pipe, body))
    assert seen[0] is not None
    assert "connection refused" in seen[0]
    assert pipe.health() is None


def test_retry_delays_grow_exponentially_with_full_jitter() -> None:
    policy = RetryPolicy(base_s=0.5, max_s=8.0)
    rng = random.Random(42)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (50, 8.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.9  # jitter spans the range
        assert math.isclose(sum(delays) / len(delays), ceiling / 2, rel_tol=0.2)
