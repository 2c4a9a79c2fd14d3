"""``Store.reading_span``: each meter's first and last reading, exact after every write
(any order, late readings, rewrites), ``NO_TS`` for a meter never written; on SQLite
(a new file, and a file of the version before the span table, migrated when opened),
the memory store and real influxd."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from smartpark.core import registry
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store import Store, open_store
from smartpark.store.rollups import NO_TS
from smartpark.store.sqlite import SqliteStore
from smartpark.testing.memory_store import MemoryStore
from tests.store.stores import T0, columns, registry_doc

# More meters than InfluxStore filters by name in its query (200), of several kinds.
QUANTITIES = ("electricity_import", "natural_gas", "nox", "fresh_water", "output_value")
REG: Registry = registry.from_dict(
    registry_doc(
        {
            f"m{i:03d}": {"enterprise": "ent-a", "gateway": "gw-a", "quantity": q}
            for i in range(240)
            for q in [QUANTITIES[i % len(QUANTITIES)]]
        }
    )
)
ALL_CODES = np.arange(len(REG.meter_ids), dtype=np.int32)
Point = tuple[str, int, float]


class Spans:
    """A store of one kind, reopened on the same database by :meth:`reopen`."""

    def __init__(self, open_: Callable[[], Store], before_reopen: Callable[[], None]) -> None:
        self._open, self._before_reopen = open_, before_reopen
        self.store = open_()

    def reopen(self) -> Store:
        self.store.close()
        self._before_reopen()
        self.store = self._open()
        return self.store


def drop_span_table(path: Path) -> None:
    """Make the file one of the version before ``reading_span`` (readings kept)."""
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE reading_span")
    conn.close()


@pytest.fixture(params=["sqlite", "sqlite-migrated", "memory", "influxdb"])
def spans(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Spans]:
    """``sqlite-migrated`` drops the span table before every reopen: the file is then
    one of the earlier version, whose spans the store must rebuild when it opens it."""
    kind = request.param
    if kind == "memory":
        memory = MemoryStore(REG)  # close() keeps the data: reopening finds it
        made = Spans(lambda: memory, lambda: None)
    elif kind.startswith("sqlite"):
        path = tmp_path / "store.db"
        forget = (lambda: drop_span_table(path)) if kind == "sqlite-migrated" else lambda: None
        made = Spans(lambda: SqliteStore(path, REG), forget)
    else:
        request.applymarker(pytest.mark.servers)
        influxd = request.getfixturevalue("influxd")
        url = parse_store_url(influxd.store_url(request.getfixturevalue("influx_db")))
        made = Spans(lambda: open_store(url, REG), lambda: None)
    yield made
    made.store.close()


def oracle(points: list[Point], codes: np.ndarray) -> tuple[list[int], list[int]]:
    """The slow, obvious answer: min and max ts of each meter's points, NO_TS for none."""
    ts_of: dict[int, list[int]] = {}
    for m, t, _ in points:
        ts_of.setdefault(REG.meter_code[m], []).append(t)
    first = [min(ts_of[c]) if c in ts_of else NO_TS for c in codes.tolist()]
    last = [max(ts_of[c]) if c in ts_of else NO_TS for c in codes.tolist()]
    return first, last


def span(store: Store, codes: np.ndarray) -> tuple[list[int], list[int]]:
    first, last = store.reading_span(codes.astype(np.int32))
    assert first.dtype == last.dtype == np.int64
    return first.tolist(), last.tolist()


def test_a_meter_never_written_has_no_span(spans: Spans) -> None:
    store = spans.store
    assert span(store, ALL_CODES) == ([NO_TS] * len(ALL_CODES),) * 2
    assert span(store, np.zeros(0, np.int32)) == ([], [])
    store.write(columns([("a-elec", T0, 1.0)], REG))
    first, last = span(store, ALL_CODES)
    code = REG.meter_code["a-elec"]
    assert (first[code], last[code]) == (T0, T0)
    others = [c for c in ALL_CODES.tolist() if c != code]
    assert {first[c] for c in others} | {last[c] for c in others} == {NO_TS}
    with pytest.raises(ValueError, match="codes must be in"):
        store.reading_span(np.array([len(ALL_CODES)], np.int32))


def test_spans_are_exact_after_writes_in_any_order(spans: Spans) -> None:
    rng = np.random.default_rng(22)
    meters = ["a-elec", "a-gas", "b-nox", "b-output", "m000", "m007", "m199", "m238"]
    points: list[Point] = []
    for batch in range(8):
        n = int(rng.integers(1, 40))
        ts = T0 + rng.integers(-(10**9), 10**9, n)  # earlier and later than anything so far
        if points and batch % 3 == 1:  # rewrites of points already written, other values
            old = rng.choice(len(points), min(n, len(points)), replace=False)
            new = [(points[i][0], points[i][1], float(batch)) for i in old.tolist()]
        else:
            new = [(str(rng.choice(meters)), int(t), float(batch)) for t in ts.tolist()]
        new = [new[i] for i in rng.permutation(len(new)).tolist()]  # in no order
        spans.store.write(columns(new, REG))
        points += new
        if batch == 4:
            spans.reopen()  # sqlite-migrated: rebuilt from the readings, then kept up
        assert span(spans.store, ALL_CODES) == oracle(points, ALL_CODES), batch


def test_late_readings_and_rewrites(spans: Spans) -> None:
    store = spans.store
    code = np.array([REG.meter_code["b-nox"]], np.int32)
    store.write(columns([("b-nox", T0 + 60_000 * k, 1.0) for k in range(10)], REG))
    assert span(store, code) == ([T0], [T0 + 540_000])
    store.write(columns([("b-nox", T0 + 120_000, 9.0), ("b-nox", T0 + 30_000, 9.0)], REG))
    assert span(store, code) == ([T0], [T0 + 540_000])  # a rewrite and one in between
    store.write(columns([("b-nox", T0 - 86_400_000, 2.0)], REG))  # a day late
    assert span(store, code) == ([T0 - 86_400_000], [T0 + 540_000])
    store.write(columns([("b-nox", T0 + 540_000, 3.0), ("b-nox", T0 - 86_400_000, 3.0)], REG))
    assert span(spans.reopen(), code) == ([T0 - 86_400_000], [T0 + 540_000])


def test_codes_asked_for_come_back_in_their_order(spans: Spans) -> None:
    """Duplicates and any order; fewer meters than InfluxStore names in its query."""
    spans.store.write(
        columns([("m001", T0, 1.0), ("m002", T0 + 5, 1.0), ("m001", T0 - 7, 1.0)], REG)
    )
    m1, m2, m3 = (REG.meter_code[m] for m in ("m001", "m002", "m003"))
    codes = np.array([m2, m1, m3, m1], np.int32)
    assert span(spans.store, codes) == ([T0 + 5, T0 - 7, NO_TS, T0 - 7], [T0 + 5, T0, NO_TS, T0])


def test_readings_far_from_now(spans: Spans) -> None:
    """The whole time range counts: before 1970 and centuries ahead (InfluxDB's range)."""
    future = 7_258_118_400_000  # 2200-01-01
    spans.store.write(columns([("a-water", -(10**12), 1.0), ("a-water", future, 1.0)], REG))
    code = np.array([REG.meter_code["a-water"]], np.int32)
    assert span(spans.store, code) == ([-(10**12)], [future])


def test_a_file_of_the_earlier_version_gets_its_spans_once(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    points = [("a-elec", T0 + 5, 1.0), ("a-elec", T0 - 5, 1.0), ("b-waste", T0, 1.0)]
    with SqliteStore(path, REG) as store:
        store.write(columns(points, REG))
    drop_span_table(path)
    with SqliteStore(path, REG) as store:  # the migration, and the store writing on
        assert span(store, ALL_CODES) == oracle(points, ALL_CODES)
        store.write(columns([("a-elec", T0 + 9, 1.0)], REG))
    with sqlite3.connect(path) as conn:  # changed by hand: a second open rebuilds nothing
        conn.execute("UPDATE reading_span SET last_ts = 1")
    conn.close()
    with SqliteStore(path, REG) as store:
        assert span(store, np.array([REG.meter_code["a-elec"]], np.int32)) == ([T0 - 5], [1])
