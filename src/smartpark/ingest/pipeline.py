"""Bounded queue → batcher → durable write → acknowledgement.

The subscriber puts one :class:`Received` per MQTT message (its validated readings and
its ack token) with :meth:`Pipeline.put`, which blocks while the queue is full: the
subscriber then stops taking messages and the broker holds them (nothing here grows
without bound). :meth:`Pipeline.run` takes messages until it has ``batch_size`` readings
or ``batch_ms`` have passed since the first one, writes them with one ``Store.write``
in a worker thread, and only when that returned acknowledges every message of the batch,
in arrival order (messages with no good reading included).

Store failures:

- :class:`~smartpark.store.base.StoreError` (unreachable, 5xx, timeout): retried with
  exponential backoff and full jitter, for as long as it takes; the queue fills, the
  subscriber stops reading, the broker keeps the rest.
- :class:`~smartpark.store.base.StoreRejectedError` (4xx, the data itself): the batch is
  bisected until the refused points are isolated; the good halves are stored, each
  refused point goes to the dead-letter file with the store's reason, and the messages
  are acknowledged so they are not redelivered forever.
- anything else is a bug in a store; it is logged with its traceback and retried like
  a StoreError (never acknowledged unwritten).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from smartpark.core.errors import StoreError, StoreRejectedError
from smartpark.core.logs import get_logger
from smartpark.ingest.ack import AckToken
from smartpark.ingest.deadletter import DeadLetters
from smartpark.ingest.metrics import IngestMetrics
from smartpark.store.base import ReadingColumns, Store

log = get_logger("ingest.pipeline")

AckFn = Callable[[Sequence[AckToken]], int]
"""Acknowledges tokens in order; returns how many PUBACKs went out."""


@dataclass(frozen=True, slots=True)
class Received:
    """One MQTT message in the pipeline: what to store and how to acknowledge it."""

    token: AckToken | None
    readings: ReadingColumns


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits U(0, min(max, base·2ⁿ⁻¹))."""

    base_s: float = 0.2
    max_s: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.max_s, self.base_s * 2.0 ** min(attempt - 1, 30))
        return rng.uniform(0.0, ceiling)


_CLOSE: Final = None


class Pipeline:
    def __init__(
        self,
        store: Store,
        ack: AckFn,
        metrics: IngestMetrics,
        dead_letters: DeadLetters,
        *,
        batch_size: int = 10_000,
        batch_ms: int = 200,
        queue_size: int = 1_000,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if batch_size < 1 or batch_ms < 0 or queue_size < 1:
            raise ValueError("batch_size and queue_size must be >= 1, batch_ms >= 0")
        self.store = store
        self._ack = ack
        self.metrics = metrics
        self.dead_letters = dead_letters
        self.batch_size = batch_size
        self.batch_s = batch_ms / 1000.0
        self.retry = retry or RetryPolicy()
        self._rng = rng or random.Random()
        self._queue: asyncio.Queue[Received | None] = asyncio.Queue(maxsize=queue_size)
        metrics.queue_depth.set_function(self._queue.qsize)
        self.failing_since: float | None = None  # monotonic time of the first failed try
        self.last_error: str | None = None
        self.batches = 0
        self._closed = False

    # -- producer side

    async def put(self, item: Received) -> None:
        """Queue one message; waits while the queue is full (back-pressure)."""
        if self._closed:
            raise RuntimeError("pipeline is closed")
        await self._queue.put(item)

    async def close(self) -> None:
        """No more messages: :meth:`run` writes what is queued, acks it and returns."""
        if not self._closed:
            self._closed = True
            await self._queue.put(_CLOSE)

    def qsize(self) -> int:
        return self._queue.qsize()

    def health(self) -> str | None:
        """None while writes succeed, else why the store is failing and for how long."""
        if self.failing_since is None:
            return None
        return f"store failing for {time.monotonic() - self.failing_since:.0f} s: {self.last_error}"

    # -- consumer side

    async def run(self) -> None:
        """Batch, write and acknowledge until :meth:`close` and the queue is drained."""
        while True:
            batch, closed = await self._collect()
            if batch:
                await self._flush(batch)
            if closed:
                return

    async def _collect(self) -> tuple[list[Received], bool]:
        first = await self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        points = len(first.readings)
        deadline = asyncio.get_running_loop().time() + self.batch_s
        while points < self.batch_size:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    async with asyncio.timeout(remaining):
                        item = await self._queue.get()
                except TimeoutError:
                    break
            if item is None:
                return batch, True
            batch.append(item)
            points += len(item.readings)
        return batch, False

    async def _flush(self, batch: list[Received]) -> None:
        parts = [item.readings for item in batch if len(item.readings)]
        if parts:
            readings = ReadingColumns(
                np.concatenate([p.meter for p in parts]),
                np.concatenate([p.ts for p in parts]),
                np.concatenate([p.value for p in parts]),
            )
            await self._write_durably(readings)
            self.metrics.batch_readings.observe(len(readings))
        self.batches += 1
        tokens = [item.token for item in batch if item.token is not None]
        sent = self._ack(tokens)
        self.metrics.acks.inc(sent)
        stale = sum(1 for t in tokens if t.qos) - sent
        if stale:
            self.metrics.stale_acks.inc(stale)

    async def _write_durably(self, readings: ReadingColumns) -> None:
        """Write ``readings``; bisect on rejection; retry anything else until it works."""
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                await asyncio.to_thread(self.store.write, readings)
            except StoreRejectedError as exc:
                self._recovered()
                self.metrics.write_rejections.inc()
                await self._bisect(readings, exc)
                return
            except Exception as exc:  # StoreError, or a bug in a store: never drop
                attempt += 1
                await self._backoff(attempt, exc, len(readings), "store_write_failed")
                continue
            self._recovered()
            self.metrics.write_seconds.observe(time.perf_counter() - started)
            self.metrics.readings_stored.inc(len(readings))
            return

    async def _bisect(self, readings: ReadingColumns, exc: StoreRejectedError) -> None:
        n = len(readings)
        if n == 1:
            await self._dead_letter(readings, str(exc))
            return
        log.warning("store_rejected_batch", points=n, error=str(exc)[:300], action="bisect")
        half = n // 2
        index = np.arange(n)
        await self._write_durably(readings.take(index[:half]))
        await self._write_durably(readings.take(index[half:]))

    async def _dead_letter(self, readings: ReadingColumns, reason: str) -> None:
        attempt = 0
        while True:
            try:
                count = await asyncio.to_thread(self.dead_letters.add, readings, reason)
            except Exception as exc:  # disk full, ...: the message stays un-acked meanwhile
                attempt += 1
                await self._backoff(attempt, exc, len(readings), "dead_letter_failed")
                continue
            self.metrics.dead_letters.inc(count)
            log.warning("dead_lettered", points=count, reason=reason[:300])
            return

    async def _backoff(self, attempt: int, exc: Exception, points: int, event: str) -> None:
        if self.failing_since is None:
            self.failing_since = time.monotonic()
        self.last_error = f"{type(exc).__name__}: {exc}"[:300]
        self.metrics.write_retries.inc()
        delay = self.retry.delay(attempt, self._rng)
        if isinstance(exc, StoreError):
            log.warning(
                event,
                attempt=attempt,
                points=points,
                error=self.last_error,
                retry_in_s=round(delay, 3),
            )
        else:
            log.error(event, attempt=attempt, points=points, error=self.last_error, exc_info=exc)
        await asyncio.sleep(delay)

    def _recovered(self) -> None:
        if self.failing_since is not None:
            log.info(
                "store_recovered", failed_for_s=round(time.monotonic() - self.failing_since, 1)
            )
            self.failing_since = None
            self.last_error = None
