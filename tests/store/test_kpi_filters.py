"""``read_kpis`` filters (scope, period, ids, kpis, time range) on every store: the
embedded SQLite, real influxd and the in-memory test store answer the same rows as
filtering everything in Python."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest

from smartpark.core.urls import parse_store_url
from smartpark.store import KpiRow, Store, open_store
from smartpark.testing.memory_store import MemoryStore
from tests.store.stores import REGISTRY, T0

HOUR = 3_600_000
ROWS = [
    KpiRow(scope, ident, period, kpi, T0 + n * HOUR, float(n) + 0.5, "v1")
    for scope, ident in (("park", "park-1"), ("park", "park-2"), ("enterprise", "ent-a"))
    for period in ("hour", "day")
    for kpi in ("energy_tce", "co2_total_t", "电力 'q'")
    for n in range(4)
]


@pytest.fixture(params=["sqlite", "influxdb", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: Store
    if request.param == "memory":
        opened = MemoryStore(REGISTRY)
    elif request.param == "sqlite":
        opened = open_store(parse_store_url(f"sqlite:///{tmp_path / 'store.db'}"), REGISTRY)
    else:
        request.applymarker(pytest.mark.servers)
        influxd = request.getfixturevalue("influxd")
        url = parse_store_url(influxd.store_url(request.getfixturevalue("influx_db")))
        opened = open_store(url, REGISTRY)
    opened.write_kpis(ROWS)
    yield opened
    opened.close()


def expected(
    start: int,
    end: int,
    scope: str | None,
    period: str | None,
    ids: Collection[str] | None,
    kpis: Collection[str] | None,
) -> list[KpiRow]:
    return sorted(
        (
            r
            for r in ROWS
            if start <= r.start_ms < end
            and scope in (None, r.scope)
            and period in (None, r.period)
            and (ids is None or r.id in ids)
            and (kpis is None or r.kpi in kpis)
        ),
        key=lambda r: (r.scope, r.id, r.period, r.kpi, r.start_ms),
    )


def test_every_filter_combination_matches_filtering_in_python(store: Store) -> None:
    ranges = [(T0, T0 + 4 * HOUR), (T0 + HOUR, T0 + 3 * HOUR), (T0 - HOUR, T0)]
    scopes = [None, "park"]
    periods = [None, "hour"]
    id_sets: list[Collection[str] | None] = [None, ("park-1",), ["park-2", "ent-a"], ("nope",)]
    kpi_sets: list[Collection[str] | None] = [None, {"energy_tce"}, ("电力 'q'", "co2_total_t")]
    checked = 0
    for (start, end), scope, period, ids, kpis in itertools.product(
        ranges, scopes, periods, id_sets, kpi_sets
    ):
        got = store.read_kpis(start, end, scope, period, ids=ids, kpis=kpis)  # type: ignore[arg-type]
        want = expected(start, end, scope, period, ids, kpis)
        assert got == want, (start - T0, end - T0, scope, period, ids, kpis)
        checked += len(want)
    assert checked > 100  # the combinations do select rows


def test_one_subject_of_every_kpi_in_a_range(store: Store) -> None:
    got = store.read_kpis(T0 + HOUR, T0 + 2 * HOUR, "park", "day", ids=["park-2"])
    assert [(r.kpi, r.start_ms - T0, r.value) for r in got] == [
        ("co2_total_t", HOUR, 1.5),
        ("energy_tce", HOUR, 1.5),
        ("电力 'q'", HOUR, 1.5),
    ]
    assert {(r.scope, r.id, r.period, r.factors_version) for r in got} == {
        ("park", "park-2", "day", "v1")
    }


def test_an_empty_filter_selects_nothing(store: Store) -> None:
    assert store.read_kpis(T0, T0 + 4 * HOUR, ids=()) == []
    assert store.read_kpis(T0, T0 + 4 * HOUR, "park", "hour", kpis=[]) == []


def test_positional_calls_still_work(store: Store) -> None:
    assert store.read_kpis(T0, T0 + HOUR, "enterprise", "hour") == expected(
        T0, T0 + HOUR, "enterprise", "hour", None, None
    )


def test_sqlite_reads_one_subject_by_its_time_range_index(tmp_path: Path) -> None:
    """An older file gets the index on open, and the subject read uses it (not a scan
    of the subject's whole history by primary key)."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the kpi table of a file before the index
        conn.execute(
            "CREATE TABLE kpi (scope TEXT NOT NULL, id TEXT NOT NULL, period TEXT NOT NULL, "
            "kpi TEXT NOT NULL, start_ms INTEGER NOT NULL, value REAL NOT NULL, "
            "PRIMARY KEY (scope, id, period, kpi, start_ms)) WITHOUT ROWID"
        )
        conn.execute("INSERT INTO kpi VALUES ('park', 'park-1', 'hour', 'k', ?, 1.0)", (T0,))
    conn.close()
    store = open_store(parse_store_url(f"sqlite:///{path}"), REGISTRY)
    try:
        assert store.read_kpis(T0, T0 + 1, "park", "hour", ids=["park-1"]) == [
            KpiRow("park", "park-1", "hour", "k", T0, 1.0, "")
        ]
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM kpi INDEXED BY kpi_by_subject_start "
            "WHERE start_ms >= 0 AND start_ms < 1 AND scope = 'park' AND period = 'hour' "
            "AND id IN (SELECT value FROM json_each('[\"park-1\"]'))"
        ).fetchall()
    conn.close()
    assert any(
        "kpi_by_subject_start (scope=? AND id=? AND period=? AND start_ms>?" in str(p) for p in plan
    ), plan
