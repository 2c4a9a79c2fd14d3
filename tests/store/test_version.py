"""The change token ``Store.version()``: it changes with every write, by anyone, and
only then (caches of the web view rely on both halves)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from smartpark.core.errors import StoreError
from smartpark.core.urls import parse_store_url
from smartpark.store.base import KpiRow, Store
from smartpark.store.influx import InfluxStore
from smartpark.store.rollups import WINDOW_MS, RollupColumns
from smartpark.store.sqlite import SqliteStore
from smartpark.testing.memory_store import MemoryStore
from tests.store.stores import REGISTRY, T0, columns

ROOT = Path(__file__).resolve().parents[2]
KPI = KpiRow("park", "park-1", "day", "energy_per_output", T0, 1.5)

Write = Callable[[Store], None]
WRITES: dict[str, Write] = {
    "readings": lambda s: s.write(columns([("a-elec", T0, 1.0)])),
    "kpi rows": lambda s: s.write_kpis([KPI]),
    "rollups": lambda s: s.rollups.write(T0, T0 + WINDOW_MS, RollupColumns.empty(), "fp"),
    "dirty marks cleared": lambda s: s.rollups.clear_dirty(
        np.array([T0 // WINDOW_MS * WINDOW_MS], np.int64), np.array([1], np.int64)
    ),
}


def read_everything(store: Store) -> None:
    store.read(T0 - 10**9, T0 + 10**9)
    store.read_kpis(T0 - 10**9, T0 + 10**9)
    store.rollups.read(T0 - 10**9, T0 + 10**9)
    store.rollups.spans(T0, T0 + WINDOW_MS)
    store.rollups.dirty()


@pytest.fixture
def file(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def sqlite_pair(file: Path) -> Iterator[tuple[SqliteStore, SqliteStore]]:
    """Two stores on one file, as serve and ``smartpark kpi --write`` would have."""
    with SqliteStore(file, REGISTRY) as watcher, SqliteStore(file, REGISTRY) as writer:
        WRITES["readings"](writer)  # something to clear, read and overwrite
        yield watcher, writer


@pytest.mark.parametrize("what", WRITES)
def test_sqlite_version_changes_when_another_store_on_the_file_writes(
    sqlite_pair: tuple[SqliteStore, SqliteStore], what: str
) -> None:
    watcher, writer = sqlite_pair
    before = watcher.version()
    WRITES[what](writer)
    assert watcher.version() != before


@pytest.mark.parametrize("what", WRITES)
def test_sqlite_version_changes_with_the_stores_own_writes(
    sqlite_pair: tuple[SqliteStore, SqliteStore], what: str
) -> None:
    _, writer = sqlite_pair
    before = writer.version()
    WRITES[what](writer)
    assert writer.version() != before


def test_sqlite_version_changes_when_another_process_writes(
    sqlite_pair: tuple[SqliteStore, SqliteStore], file: Path
) -> None:
    watcher, _ = sqlite_pair
    before = watcher.version()
    code = (
        "from smartpark.store.sqlite import SqliteStore\n"
        "from tests.store.stores import REGISTRY\n"
        "from tests.store.test_version import KPI\n"
        f"with SqliteStore({str(file)!r}, REGISTRY) as store:\n"
        "    store.write_kpis([KPI])\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
    assert watcher.version() != before


def test_sqlite_version_stays_while_nothing_is_written(
    sqlite_pair: tuple[SqliteStore, SqliteStore], file: Path
) -> None:
    watcher, writer = sqlite_pair
    before = watcher.version(), writer.version()
    read_everything(watcher)
    read_everything(writer)
    writer.write(columns([]))  # empty writes write nothing
    writer.write_kpis([])
    writer.rollups.clear_dirty(np.zeros(0, np.int64), np.zeros(0, np.int64))
    SqliteStore(file, REGISTRY).close()  # opening the file again (meters known) neither
    assert (watcher.version(), writer.version()) == before


def test_sqlite_in_memory_version_follows_its_writes() -> None:
    with SqliteStore(":memory:", REGISTRY) as store:
        before = store.version()
        read_everything(store)
        assert store.version() == before
        for write in WRITES.values():
            before = store.version()
            write(store)
            assert store.version() != before


def test_sqlite_version_after_close_says_so(file: Path) -> None:
    store = SqliteStore(file, REGISTRY)
    store.close()
    with pytest.raises(StoreError, match="version after close"):
        store.version()


def test_memory_store_version_follows_its_writes() -> None:
    store = MemoryStore(REGISTRY)
    WRITES["readings"](store)
    for what, write in WRITES.items():
        before = store.version()
        read_everything(store)
        store.write(columns([]))
        store.write_kpis([])
        assert store.version() == before, what
        write(store)
        assert store.version() != before, what


def test_influx_store_has_no_version_so_callers_expire_by_time() -> None:
    # No request is made: the answer is None without asking influxd.
    store: Store = InfluxStore(parse_store_url("influxdb://127.0.0.1:9/db"), REGISTRY)
    try:
        assert store.version() is None
    finally:
        store.close()
