"""SqliteStore specifics: durability settings, schema, locking, crash safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from smartpark.core import registry
from smartpark.core.errors import StoreError
from smartpark.store.base import KpiRow
from smartpark.store.sqlite import SqliteStore
from tests.store.stores import REGISTRY, T0, code, columns, registry_doc, triples

ALL = (T0 - 10**9, T0 + 10**9)


def test_wal_and_full_sync_and_readable_schema(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "store.db"  # parent directories are created
    with SqliteStore(path, REGISTRY) as store:
        store.write(columns([("a-elec", T0, 1.5), ("b-nox", T0 + 1, 2.5)]))
        assert store._conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert store._conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    # Meter ids (not registry codes) are in the file, readable with plain sqlite3.
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT meter, ts, value FROM reading_rows ORDER BY meter").fetchall()
    assert rows == [("a-elec", T0, 1.5), ("b-nox", T0 + 1, 2.5)]


def test_locked_database_is_a_retryable_store_error(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with SqliteStore(path, REGISTRY, busy_timeout_s=0.2) as store:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(StoreError, match="database is locked"):
                store.write(columns([("a-elec", T0, 1.0)]))
        finally:
            other.execute("ROLLBACK")
            other.close()
        store.write(columns([("a-elec", T0, 1.0)]))
        assert triples(store.read(*ALL)) == [("a-elec", T0, 1.0)]


def test_use_after_close_is_a_store_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.db", REGISTRY)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="after close"):
        store.write(columns([("a-elec", T0, 1.0)]))


def test_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError, match="cannot open"):
        SqliteStore(tmp_path / "dir.db", REGISTRY)


def test_readings_survive_sigkill_right_after_write_returns(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    script = textwrap.dedent(
        f"""
        import sys, time
        from tests.store.stores import REGISTRY, T0, columns
        from smartpark.store.sqlite import SqliteStore
        store = SqliteStore({str(path)!r}, REGISTRY)
        for batch in range(5):
            store.write(columns([("a-water", T0 + batch * 100 + i, float(i)) for i in range(100)]))
        print("written", flush=True)
        time.sleep(60)
        """
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=root,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"written"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    with SqliteStore(path, REGISTRY) as store:
        got = store.read(*ALL)
    assert len(got) == 500
    assert float(got.value.sum()) == 5 * sum(range(100))


def test_series_of_meters_removed_from_the_registry_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    doc = registry_doc({"zz-last": {"enterprise": "ent-b", "gateway": "gw-b", "quantity": "o2"}})
    bigger = registry.from_dict(doc)
    with SqliteStore(path, bigger) as store:  # zz-last gets the highest series id
        store.write(columns([("zz-last", T0, 1.0), ("a-elec", T0, 2.0)], bigger))
    with SqliteStore(path, REGISTRY) as store:
        assert triples(store.read(*ALL)) == [("a-elec", T0, 2.0)]
        assert len(store.read(*ALL, meters=np.array([code("a-elec")], dtype=np.int32))) == 1


def test_a_read_in_progress_does_not_hold_up_writes(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "store.db", REGISTRY) as store:
        store.write(columns([("a-elec", T0, 1.0)]))
        with store.using("read", read=True) as reader:
            cursor = reader.execute("SELECT ts FROM readings")  # an open read transaction
            assert cursor.fetchone() == (T0,)
            writer = threading.Thread(
                target=store.write, args=(columns([("a-elec", T0 + 1, 2.0)]),)
            )
            writer.start()
            writer.join(10)
            assert not writer.is_alive()
            cursor.close()
        assert len(store.read(*ALL)) == 2


def test_in_memory_store(tmp_path: Path) -> None:
    with SqliteStore(":memory:", REGISTRY) as store:
        store.write(columns([("b-nox", T0, 1.0)]))
        assert triples(store.read(*ALL)) == [("b-nox", T0, 1.0)]


def test_a_store_file_of_the_previous_version_opens_and_keeps_its_kpis(tmp_path: Path) -> None:
    """The kpi table before factors_version: opening adds the column, rows read as ''."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE series (id INTEGER PRIMARY KEY, meter TEXT NOT NULL UNIQUE);
        CREATE TABLE readings (series INTEGER NOT NULL, ts INTEGER NOT NULL,
            value REAL NOT NULL, PRIMARY KEY (ts, series)) WITHOUT ROWID;
        CREATE TABLE kpi (scope TEXT NOT NULL, id TEXT NOT NULL, period TEXT NOT NULL,
            kpi TEXT NOT NULL, start_ms INTEGER NOT NULL, value REAL NOT NULL,
            PRIMARY KEY (scope, id, period, kpi, start_ms)) WITHOUT ROWID;
        INSERT INTO kpi VALUES ('park', 'park-1', 'day', 'co2_total_t', 1000, 2.5);
        """
    )
    conn.commit()
    conn.close()
    store = SqliteStore(path, REGISTRY)
    try:
        assert store.read_kpis(0, 2000) == [
            KpiRow("park", "park-1", "day", "co2_total_t", 1000, 2.5)
        ]
        row = KpiRow("park", "park-1", "day", "co2_total_t", 1000, 2.4, "cn-2023-national")
        store.write_kpis([row])
        assert store.read_kpis(0, 2000) == [row]
    finally:
        store.close()
    again = SqliteStore(path, REGISTRY)  # a migrated file opens again unchanged
    try:
        assert again.read_kpis(0, 2000) == [row]
    finally:
        again.close()


def test_a_store_file_without_the_index_of_dirty_windows_gets_it(tmp_path: Path) -> None:
    """rollup_dirty of the first rollup version (no index of its dirty rows): opening the
    file builds the index, and listing the dirty windows reads only those."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE rollup_dirty (window_ms INTEGER PRIMARY KEY,
            marked_ms INTEGER NOT NULL, done_ms INTEGER NOT NULL DEFAULT 0);
        INSERT INTO rollup_dirty VALUES (900000, 5, 5), (1800000, 7, 5), (2700000, 9, 0);
        """
    )
    conn.commit()
    conn.close()
    with SqliteStore(path, REGISTRY) as store:
        window, marked = store.rollups.dirty()
        assert (window.tolist(), marked.tolist()) == ([1800000, 2700000], [7, 9])
        plan = store._conn.execute(
            "EXPLAIN QUERY PLAN SELECT window_ms FROM rollup_dirty WHERE marked_ms > done_ms"
        ).fetchall()
    assert "USING INDEX rollup_dirty_pending" in str(plan)  # only the dirty rows are read
