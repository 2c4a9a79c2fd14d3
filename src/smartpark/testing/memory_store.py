"""A tiny in-memory Store for pipeline tests where the store itself is not under test.

Points are kept as {(meter, ts): value}, so a rewrite overwrites (like InfluxDB). Hooks
let a test make writes fail, reject, or wait.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from smartpark.core.errors import StoreError
from smartpark.store.base import KpiRow, Period, ReadingColumns, Scope


class MemoryStore:
    def __init__(self) -> None:
        self.points: dict[tuple[int, int], float] = {}
        self.writes: list[int] = []  # size of every successful write, in order
        self.attempts = 0
        self.fail: Callable[[ReadingColumns], None] | None = None  # may raise
        self.gate = threading.Event()
        self.gate.set()  # clear() to make writes wait
        self.gate_timeout_s = 30.0
        self.lock = threading.Lock()

    def write(self, readings: ReadingColumns) -> None:
        with self.lock:
            self.attempts += 1
        if not self.gate.wait(self.gate_timeout_s):
            raise StoreError("test store gate stayed closed")
        if self.fail is not None:
            self.fail(readings)
        with self.lock:
            for m, t, v in zip(
                readings.meter.tolist(), readings.ts.tolist(), readings.value.tolist(), strict=True
            ):
                self.points[(m, t)] = v
            self.writes.append(len(readings))

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> ReadingColumns:
        raise NotImplementedError

    def write_kpis(self, rows: list[KpiRow]) -> None:
        raise NotImplementedError

    def read_kpis(
        self,
        start_ms: int,
        end_ms: int,
        scope: Scope | None = None,
        period: Period | None = None,
    ) -> list[KpiRow]:
        raise NotImplementedError

    def close(self) -> None:
        pass
