"""One behaviour suite, run against every store: the embedded SQLite and real influxd."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from smartpark.core import registry
from smartpark.core.errors import StoreRejectedError
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store import KpiRow, Store, open_store
from smartpark.store.base import ReadingColumns
from tests.store.stores import REGISTRY, T0, code, columns, expected, registry_doc, triples

OpenStore = Callable[[Registry], Store]


@pytest.fixture(params=["sqlite", "influxdb"])
def open_any(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """Opens stores of one kind on one database/file; closes them afterwards."""
    if request.param == "sqlite":
        url = parse_store_url(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        request.applymarker(pytest.mark.servers)
        influxd = request.getfixturevalue("influxd")
        url = parse_store_url(influxd.store_url(request.getfixturevalue("influx_db")))
    opened: list[Store] = []

    def open_(reg: Registry) -> Store:
        opened.append(open_store(url, reg))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def store(open_any: OpenStore) -> Store:
    return open_any(REGISTRY)


ALL = (T0 - 10**9, T0 + 10**9)

TRICKY_VALUES = [
    0.1 + 0.2,
    -1234.5,
    5e-324,
    1e300,
    -1.7976931348623157e308,
    123456789012345680000.0,
    2.0**53 + 2,
    0.0,
    1e-7,
    42.0,
]


def test_values_and_timestamps_round_trip_exactly(store: Store) -> None:
    points = [("a-elec", T0 + i * 60_000 + i, v) for i, v in enumerate(TRICKY_VALUES)]
    points += [("b-nox", T0 + 1, 150.25), ("a-water", T0 - 1, 3.5), ("b-waste", T0, 0.75)]
    store.write(columns(points))
    assert triples(store.read(*ALL)) == expected(points)


def test_read_is_sorted_by_meter_then_time_across_kinds(store: Store) -> None:
    # Written out of order, several kinds (measurements) at once.
    points = [
        ("b-output", T0 + 5, 5.0),
        ("a-gas", T0 + 3, 3.0),
        ("b-output", T0 + 1, 1.0),
        ("a-elec", T0 + 2, 2.0),
        ("a-gas", T0 + 1, 1.5),
        ("a-elec", T0 + 1, 1.25),
    ]
    store.write(columns(points))
    got = store.read(*ALL)
    assert triples(got) == expected(points)
    assert got.meter.dtype == np.int32
    assert got.ts.dtype == np.int64
    assert got.value.dtype == np.float64


def test_range_is_start_inclusive_end_exclusive(store: Store) -> None:
    store.write(columns([("a-elec", T0 + i, float(i)) for i in range(10)]))
    assert [t - T0 for _, t, _ in triples(store.read(T0 + 3, T0 + 7))] == [3, 4, 5, 6]
    assert len(store.read(T0 + 10, T0 + 20)) == 0
    assert len(store.read(T0 + 5, T0 + 5)) == 0


def test_meter_filter(store: Store) -> None:
    points = [(m, T0 + i, float(i)) for i, m in enumerate(REGISTRY.meter_ids)]
    store.write(columns(points))
    wanted = np.array([code("b-nox"), code("a-elec")], dtype=np.int32)
    assert [m for m, _, _ in triples(store.read(*ALL, meters=wanted))] == ["a-elec", "b-nox"]
    assert len(store.read(*ALL, meters=np.zeros(0, dtype=np.int32))) == 0


def test_same_reading_written_twice_is_stored_once(store: Store) -> None:
    points = [("a-elec", T0 + i * 1000, 10.0 + i) for i in range(5)]
    store.write(columns(points))
    store.write(columns(points))  # a redelivered batch
    store.write(columns(points[2:3]))
    assert triples(store.read(*ALL)) == expected(points)


def test_last_write_of_a_point_wins(store: Store) -> None:
    store.write(columns([("a-gas", T0, 1.0), ("a-gas", T0 + 1, 2.0)]))
    store.write(columns([("a-gas", T0, 9.5)]))
    assert triples(store.read(*ALL)) == [("a-gas", T0, 9.5), ("a-gas", T0 + 1, 2.0)]


def test_empty_write_and_empty_read(store: Store) -> None:
    store.write(ReadingColumns.empty())
    got = store.read(*ALL)
    assert len(got) == 0
    assert got.meter.dtype == np.int32


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_value_rejects_the_whole_batch(store: Store, bad: float) -> None:
    with pytest.raises(StoreRejectedError, match=r"value: .* at position 1 is not finite"):
        store.write(columns([("a-elec", T0, 1.0), ("a-elec", T0 + 1, bad)]))
    assert len(store.read(*ALL)) == 0


def test_meter_code_outside_registry_is_rejected(store: Store) -> None:
    bad = ReadingColumns(
        np.array([0, len(REGISTRY.meter_ids)], dtype=np.int32),
        np.array([T0, T0], dtype=np.int64),
        np.array([1.0, 2.0]),
    )
    with pytest.raises(StoreRejectedError, match="meter: code 6 at position 1"):
        store.write(bad)
    assert len(store.read(*ALL)) == 0


def test_bad_meter_filter_is_a_value_error(store: Store) -> None:
    with pytest.raises(ValueError, match="meters: codes must be in"):
        store.read(*ALL, meters=np.array([99], dtype=np.int32))


def test_write_from_a_worker_thread(store: Store) -> None:
    async def main() -> None:
        batches = [
            columns([("a-water", T0 + i * 10 + j, float(j)) for j in range(10)]) for i in range(8)
        ]
        await asyncio.gather(*(asyncio.to_thread(store.write, b) for b in batches))

    asyncio.run(main())
    got = store.read(*ALL)
    assert len(got) == 80
    assert (np.diff(got.ts) > 0).all()


def test_store_survives_registry_edits(open_any: OpenStore) -> None:
    first = open_any(REGISTRY)
    first.write(columns([("a-water", T0, 1.0), ("b-nox", T0, 2.0), ("b-waste", T0, 3.0)]))
    first.close()
    # A meter inserted before the others shifts every registry code; one meter removed.
    doc = registry_doc({"0-new": {"enterprise": "ent-a", "gateway": "gw-a", "quantity": "heat"}})
    del doc["meter"]["b-waste"]
    edited = registry.from_dict(doc)
    assert edited.meter_code["a-water"] != REGISTRY.meter_code["a-water"]
    second = open_any(edited)
    second.write(columns([("0-new", T0, 4.0)], edited))
    assert triples(second.read(*ALL), edited) == [
        ("0-new", T0, 4.0),
        ("a-water", T0, 1.0),
        ("b-nox", T0, 2.0),
    ]


# ------------------------------------------------------------------ KPIs

DAY = 86_400_000


def test_kpis_round_trip_and_recompute_overwrites(store: Store) -> None:
    rows = [
        KpiRow("park", "park-1", "day", "energy_tce", T0, 12.5),
        KpiRow("park", "park-1", "day", "energy_tce", T0 + DAY, 13.0),
        KpiRow("enterprise", "ent-a", "hour", "carbon_per_energy", T0, 0.1 + 0.2),
        KpiRow("zone", "z", "month", "renewable_share", T0, 0.0),
    ]
    store.write_kpis(rows)
    key = lambda r: (r.scope, r.id, r.period, r.kpi, r.start_ms)  # noqa: E731
    assert store.read_kpis(T0, T0 + 2 * DAY) == sorted(rows, key=key)
    # Recompute one period with a new value: it replaces the old one.
    store.write_kpis([KpiRow("park", "park-1", "day", "energy_tce", T0, 99.0)])
    assert store.read_kpis(T0, T0 + 1, scope="park") == [
        KpiRow("park", "park-1", "day", "energy_tce", T0, 99.0)
    ]
    assert store.read_kpis(T0, T0 + 2 * DAY, period="hour") == [rows[2]]
    assert store.read_kpis(T0, T0 + 2 * DAY, scope="zone", period="day") == []
    assert len(store.read_kpis(T0 + 1, T0 + 2 * DAY)) == 1  # end exclusive, start inclusive


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (KpiRow("park", "", "day", "x", T0, 1.0), "must not be empty"),
        (KpiRow("park", "p", "day", "", T0, 1.0), "must not be empty"),
        (KpiRow("park", "a\nb", "day", "x", T0, 1.0), "control character"),
        (KpiRow("park", "p", "day", "x", T0, math.nan), "not finite"),
        (KpiRow("galaxy", "p", "day", "x", T0, 1.0), "scope 'galaxy'"),  # type: ignore[arg-type]
        (KpiRow("park", "p", "week", "x", T0, 1.0), "period 'week'"),  # type: ignore[arg-type]
    ],
)
def test_bad_kpi_rows_are_rejected(store: Store, row: KpiRow, message: str) -> None:
    good = KpiRow("park", "p", "day", "x", T0, 1.0)
    with pytest.raises(StoreRejectedError, match=message):
        store.write_kpis([good, row])
    assert store.read_kpis(T0 - 1, T0 + 1) == []


def test_hostile_kpi_ids_round_trip(store: Store) -> None:
    ids = ["a b", "a,b", "a=b", 'q"uote', "'; DROP TABLE kpi; --", "电力", "_x"]
    rows = [KpiRow("zone", i, "month", "k=v, w", T0 + n, float(n)) for n, i in enumerate(ids)]
    store.write_kpis(rows)
    assert sorted(store.read_kpis(T0, T0 + 100), key=lambda r: r.start_ms) == rows


def test_unbounded_range_reads_everything(store: Store) -> None:
    points = [("a-elec", -86_400_000, 1.0), ("a-elec", 0, 2.0), ("b-nox", 4_102_444_800_000, 3.0)]
    store.write(columns(points))
    assert triples(store.read(-(2**62), 2**62)) == expected(points)
    store.write_kpis([KpiRow("park", "p", "year", "k", 0, 1.0)])
    assert len(store.read_kpis(-(2**62), 2**62)) == 1


def test_kpi_factors_version_round_trips_and_a_recompute_replaces_it(store: Store) -> None:
    old = KpiRow("park", "park-1", "month", "co2_total_t", T0, 5.366, "cn-2022-national")
    straddling = KpiRow("zone", "z", "month", "co2_total_t", T0, 7.0, 'a>b,c "q"')
    unversioned = KpiRow("park", "park-2", "month", "co2_total_t", T0, 1.0)
    store.write_kpis([old, straddling, unversioned])
    assert store.read_kpis(T0, T0 + 1) == [old, unversioned, straddling]
    new = KpiRow("park", "park-1", "month", "co2_total_t", T0, 5.306, "cn-2023-national")
    store.write_kpis([new])
    assert store.read_kpis(T0, T0 + 1, scope="park") == [new, unversioned]


def test_a_factors_version_line_protocol_cannot_carry_is_rejected(store: Store) -> None:
    bad = KpiRow("park", "p", "day", "x", T0, 1.0, "a\\b")
    with pytest.raises(StoreRejectedError, match="backslash"):
        store.write_kpis([bad])
    assert store.read_kpis(T0 - 1, T0 + 1) == []


def test_dirty_windows_of_any_age_are_listed_alone_and_cleared(store: Store) -> None:
    """Every written window is marked; a listing without bounds finds a mark however old
    (a reading 433 days late), and only the marks not cleared since."""
    quarter = 900_000
    now, late = 1_794_268_800_000, 1_756_857_600_000  # 2026-11-10, 2025-09-03 (UTC)
    history = [("a-elec", t, float(t)) for t in range(late - quarter, now, 2 * 86_400_000)]
    store.write(columns(history))
    window, marked = store.rollups.dirty()
    assert window.tolist() == sorted({t // quarter * quarter for _, t, _ in history})
    store.rollups.clear_dirty(window, marked)  # a re-roll saw them all
    assert store.rollups.dirty()[0].size == 0

    store.write(columns([("a-elec", late + 60_000, 1.0), ("b-nox", now + 5, 2.0)]))
    assert store.rollups.dirty()[0].tolist() == [late, now]
    assert store.rollups.dirty(late + quarter)[0].tolist() == [now]
    assert store.rollups.dirty(None, now)[0].tolist() == [late]
    assert store.rollups.dirty(late, now + quarter)[0].tolist() == [late, now]
    window, marked = store.rollups.dirty()
    store.write(columns([("b-nox", now + 6, 3.0)]))  # written again after the listing
    store.rollups.clear_dirty(window, marked)
    assert store.rollups.dirty()[0].tolist() == [now]  # that write's mark is not cleared
