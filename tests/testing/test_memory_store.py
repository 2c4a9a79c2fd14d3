"""MemoryStore answers as the real SqliteStore does, and its hooks fail or hold writes."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest

from smartpark.core.errors import StoreError, StoreRejectedError
from smartpark.core.registry import Registry, from_dict
from smartpark.store.base import KpiRow, Period, ReadingColumns, Scope, Store
from smartpark.store.sqlite import SqliteStore
from smartpark.testing.memory_store import MemoryStore

S = TypeVar("S", bound=Store)


def registry() -> Registry:
    meters = {
        f"m-{i}": {"enterprise": "e1", "gateway": "g1", "quantity": "electricity_import"}
        for i in range(3)
    }
    return from_dict(
        {
            "zone": {"z": {"name": "Zone"}},
            "park": {"p1": {"zone": "z", "name": "Park 1"}},
            "enterprise": {"e1": {"park": "p1", "name": "E1"}},
            "gateway": {"g1": {"park": "p1"}},
            "meter": meters,
        }
    )


def columns(*rows: tuple[int, int, float]) -> ReadingColumns:
    meter, ts, value = zip(*rows, strict=True)
    return ReadingColumns(np.array(meter, np.int32), np.array(ts, np.int64), np.array(value))


BATCHES = [
    columns((2, 3_000, 1.0), (0, 2_000, 5.0), (1, 1_000, 7.0), (0, 1_000, 4.0)),
    columns((0, 2_000, 6.0), (2, 9_000, 8.0)),  # rewrites (0, 2000)
]
KPIS = [
    KpiRow("park", "p1", "day", "energy_tce", 86_400_000, 2.0),
    KpiRow("enterprise", "e1", "day", "energy_tce", 0, 1.0),
    KpiRow("enterprise", "e1", "hour", "energy_tce", 3_600_000, 0.5),
    KpiRow("enterprise", "e1", "day", "energy_tce", 0, 1.5),  # recomputed: replaces
]


def fill(store: S) -> S:
    for batch in BATCHES:
        store.write(batch)
    store.write_kpis(KPIS[:3])
    store.write_kpis(KPIS[3:])
    return store


def as_rows(got: ReadingColumns) -> list[tuple[int, int, float]]:
    return list(zip(got.meter.tolist(), got.ts.tolist(), got.value.tolist(), strict=True))


def test_reads_match_the_sqlite_store(tmp_path: Path) -> None:
    reg = registry()
    memory = fill(MemoryStore(reg))
    with SqliteStore(tmp_path / "park.db", reg) as sqlite:
        fill(sqlite)
        for args in [(0, 10_000), (1_000, 3_000), (2_000, 2_001), (5_000, 1_000)]:
            assert as_rows(memory.read(*args)) == as_rows(sqlite.read(*args)), args
        some = np.array([2, 0], np.int32)
        assert as_rows(memory.read(0, 10_000, some)) == as_rows(sqlite.read(0, 10_000, some))
        assert memory.read_kpis(0, 10**9) == sqlite.read_kpis(0, 10**9)
        cases: list[tuple[Scope | None, Period | None]] = [
            ("enterprise", None),
            (None, "day"),
            ("zone", None),
        ]
        for scope, period in cases:
            got = memory.read_kpis(0, 10**9, scope, period)
            assert got == sqlite.read_kpis(0, 10**9, scope, period), (scope, period)
    assert as_rows(memory.read(0, 10_000)) == [
        (0, 1_000, 4.0),
        (0, 2_000, 6.0),
        (1, 1_000, 7.0),
        (2, 3_000, 1.0),
        (2, 9_000, 8.0),
    ]
    assert [r.value for r in memory.read_kpis(0, 10**9, "enterprise", "day")] == [1.5]


def test_what_was_written_is_visible() -> None:
    store = fill(MemoryStore())
    assert store.writes == [4, 2]
    assert store.attempts == 2
    assert store.points[(0, 2_000)] == 6.0
    assert len(store.points) == 5


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (columns((0, 1_000, 1.0), (3, 1_000, 2.0)), "meter: code 3 at position 1"),
        (columns((0, 1_000, 1.0), (1, 1_000, float("inf"))), "value: inf at position 1"),
    ],
)
def test_a_batch_the_real_stores_refuse_is_refused_whole(
    batch: ReadingColumns, message: str, tmp_path: Path
) -> None:
    reg = registry()
    store = MemoryStore(reg)
    with pytest.raises(StoreRejectedError, match=message):
        store.write(batch)
    assert (store.points, store.writes, store.attempts) == ({}, [], 1)
    with SqliteStore(tmp_path / "park.db", reg) as sqlite, pytest.raises(StoreRejectedError):
        sqlite.write(batch)


def test_without_a_registry_any_code_is_a_meter_but_values_must_be_finite() -> None:
    store = MemoryStore()
    store.write(columns((70_000, 1_000, 1.0)))
    assert store.points == {(70_000, 1_000): 1.0}
    with pytest.raises(StoreRejectedError):
        store.write(columns((-1, 1_000, 1.0)))
    with pytest.raises(StoreRejectedError):
        store.write(columns((0, 1_000, float("nan"))))


def test_an_unstorable_kpi_row_is_refused() -> None:
    store = MemoryStore()
    with pytest.raises(StoreRejectedError, match="not finite"):
        store.write_kpis([KPIS[0], KpiRow("park", "p1", "day", "x", 0, float("nan"))])
    assert store.read_kpis(0, 10**9) == []


def test_fail_makes_a_write_fail_before_anything_is_kept() -> None:
    store = MemoryStore()
    seen: list[int] = []

    def down(readings: ReadingColumns) -> None:
        seen.append(len(readings))
        raise StoreError("influxd is down")

    store.fail = down
    with pytest.raises(StoreError, match="influxd is down"):
        store.write(BATCHES[0])
    store.fail = None
    store.write(BATCHES[1])
    assert (seen, store.attempts, store.writes, len(store.points)) == ([4], 2, [2], 2)


def test_a_closed_gate_holds_writes_until_set_or_timeout() -> None:
    store = MemoryStore()
    store.gate.clear()
    writer = threading.Thread(target=store.write, args=(BATCHES[1],))
    writer.start()
    while store.attempts == 0:
        writer.join(0.01)
    assert store.points == {}
    store.gate.set()
    writer.join(10)
    assert store.writes == [2]

    store.gate.clear()
    store.gate_timeout_s = 0.05
    with pytest.raises(StoreError, match=r"store.gate.set\(\)"):
        store.write(BATCHES[0])
    assert store.writes == [2]
