"""The day level through every store: SQLite, the memory store and a real influxd.

Meter and scope rows read back exactly (NaN at NaN defaults, int fields, int64 at the
edges, ``NO_TS``), sorted by (key, cell), keys mapped back through the registry or the
caller's scope keys; a rewrite replaces every row and span of its range and nothing
outside it; a rebuild that fails midway leaves old days whole (SQLite: one transaction)
or its cells incomplete (InfluxDB); what the stores cannot hold is refused before
anything is written.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartpark.core import registry
from smartpark.core.errors import StoreError, StoreRejectedError
from smartpark.core.registry import Registry
from smartpark.core.timestamps import now_ms
from smartpark.core.urls import parse_store_url
from smartpark.store import influx_days, sqlite_days
from smartpark.store.base import Store
from smartpark.store.days import METER_FIELDS, SCOPE_FIELDS, DayColumns, DaySpan
from smartpark.store.influx import InfluxStore
from smartpark.store.open import open_store
from smartpark.store.rollups import NO_TS
from smartpark.testing.memory_store import MemoryStore
from smartpark.testing.servers import Influxd
from tests.store.stores import REGISTRY, registry_doc

Fields = dict[str, tuple[type[np.generic], float | int]]
HOUR = 3_600_000
D0 = 1_790_000_000_000 // (24 * HOUR) * (24 * HOUR) - 8 * HOUR  # a Shanghai midnight
D1, D2, D3, D4 = (D0 + k * 24 * HOUR for k in range(1, 5))
CELLS = np.array([D0, D1, D2, D3], np.int64)
ENT_A, PARK_1, ODD = "enterprise/ent-a", "park/park-1", "zone/z 1,x=y"  # ODD: escaped
SCOPE_KEYS = (ENT_A, PARK_1, ODD)
BIG = 2**62 + 12_345  # an int64 a float64 cannot hold exactly


def code(meter: str, reg: Registry = REGISTRY) -> int:
    return reg.meter_code[meter]


def day_columns(fields: Fields, rows: list[tuple[int, int, dict[str, float | int]]]) -> DayColumns:
    """Columns of (key, cell_ms, {field: value}) rows, every other field at its default."""
    return DayColumns(
        np.array([k for k, _, _ in rows], np.int32),
        np.array([c for _, c, _ in rows], np.int64),
        {
            name: np.array([v.get(name, default) for _, _, v in rows], dtype)
            for name, (dtype, default) in fields.items()
        },
    )


def meters(*rows: tuple[str, int, dict[str, float | int]]) -> DayColumns:
    return day_columns(METER_FIELDS, [(code(m), c, v) for m, c, v in rows])


def scopes(*rows: tuple[str, int, dict[str, float | int]]) -> DayColumns:
    return day_columns(SCOPE_FIELDS, [(SCOPE_KEYS.index(k), c, v) for k, c, v in rows])


NO_SCOPES = scopes()


def listed(cols: DayColumns, fields: Fields) -> list[tuple[int, int, dict[str, Any]]]:
    """Rows as (key, cell_ms, {field: value}) in column order, every field there (NaN
    as the string "nan"), after checking the columns' types."""
    assert cols.key.dtype == np.int32
    assert cols.cell_ms.dtype == np.int64
    assert set(cols.values) == set(fields)
    for name, (dtype, _) in fields.items():
        assert cols.values[name].dtype == dtype, name
        assert cols.values[name].shape == (len(cols),), name
    out = []
    for i in range(len(cols)):
        values = {}
        for name in fields:
            v = cols.values[name][i].item()
            values[name] = "nan" if isinstance(v, float) and math.isnan(v) else v
        out.append((int(cols.key[i]), int(cols.cell_ms[i]), values))
    return out


def full(fields: Fields, **given: float | int) -> dict[str, Any]:
    """Every field: ``given``, else its default (NaN as "nan")."""
    out: dict[str, Any] = {}
    for name, (_, default) in fields.items():
        v = given.get(name, default)
        out[name] = "nan" if isinstance(v, float) and math.isnan(v) else v
    return out


SERVER = pytest.mark.servers


def url_of(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh store of ``kind`` (sqlite, influxdb)."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'days.db'}"
    influxd: Influxd = request.getfixturevalue("influxd")
    return influxd.store_url(request.getfixturevalue("influx_db"))


@pytest.fixture(params=["sqlite", "memory", pytest.param("influxdb", marks=SERVER)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The store under test, empty."""
    if request.param == "memory":
        yield MemoryStore(REGISTRY)
        return
    opened = open_store(parse_store_url(url_of(request.param, request, tmp_path)), REGISTRY)
    yield opened
    opened.close()


def test_meter_and_scope_rows_read_back_exactly_sorted_with_defaults(store: Store) -> None:
    written = meters(
        ("b-nox", D1, {"samples": 2**40, "spikes": -3, "last_ts": -BIG}),
        ("a-elec", D1, {"consumption": 0.1, "vmin": -2.5, "register": 1.7976931348623157e308}),
        ("a-elec", D0, {"consumption": 12.25, "samples": 96, "last_ts": BIG, "exceed_h": 0.5}),
        ("a-gas", D2, {"kwh_sharp": 5e-324, "kwh_valley": 3.0}),  # last_ts stays NO_TS
        ("a-water", D0, {}),  # every field at its default: no row
        ("b-waste", D2, {"last_ts": NO_TS + 1}),  # only an int away from its default
    )
    scope_rows = scopes(
        (ODD, D0, {"demand_sum": 7.5, "bill_peak_kw": 40.0}),
        (ENT_A, D2, {"demand_peak": 3.0}),
        (ENT_A, D0, {"demand_sum": -1.0}),
        (PARK_1, D1, {}),  # all defaults: no row
    )
    store.days.write(CELLS, written, scope_rows, SCOPE_KEYS, "fp-1")

    assert listed(store.days.read(D0, D3), METER_FIELDS) == [
        (
            code("a-elec"),
            D0,
            full(METER_FIELDS, consumption=12.25, samples=96, last_ts=BIG, exceed_h=0.5),
        ),
        (
            code("a-elec"),
            D1,
            full(METER_FIELDS, consumption=0.1, vmin=-2.5, register=1.7976931348623157e308),
        ),
        (code("a-gas"), D2, full(METER_FIELDS, kwh_sharp=5e-324, kwh_valley=3.0)),
        (code("b-nox"), D1, full(METER_FIELDS, samples=2**40, spikes=-3, last_ts=-BIG)),
        (code("b-waste"), D2, full(METER_FIELDS, last_ts=NO_TS + 1)),
    ]
    assert full(METER_FIELDS)["last_ts"] == NO_TS  # what the a-gas row reads back
    # key indexes the keys asked for; keys not asked for and unknown keys are left out
    asked = ("zone/nowhere", ODD, ENT_A)
    assert listed(store.days.read_scopes(D0, D3, asked), SCOPE_FIELDS) == [
        (1, D0, full(SCOPE_FIELDS, demand_sum=7.5, bill_peak_kw=40.0)),
        (2, D0, full(SCOPE_FIELDS, demand_sum=-1.0)),
        (2, D2, full(SCOPE_FIELDS, demand_peak=3.0)),
    ]
    assert listed(store.days.read_scopes(D1, D2, SCOPE_KEYS), SCOPE_FIELDS) == []
    # the range is half open
    assert [c for _, c, _ in listed(store.days.read(D1, D2), METER_FIELDS)] == [D1, D1]


def test_the_meters_filter_reads_those_meters_only(store: Store) -> None:
    store.days.write(
        CELLS,
        meters(
            ("a-elec", D0, {"consumption": 1.0}),
            ("a-gas", D0, {"consumption": 2.0}),
            ("b-nox", D1, {"consumption": 3.0}),
            ("b-nox", D0, {"consumption": 4.0}),
        ),
        NO_SCOPES,
        SCOPE_KEYS,
        "fp",
    )
    picked = store.days.read(D0, D3, np.array([code("b-nox"), code("a-elec")], np.int32))
    got = [(k, c, v["consumption"]) for k, c, v in listed(picked, METER_FIELDS)]
    assert got == [(code("a-elec"), D0, 1.0), (code("b-nox"), D0, 4.0), (code("b-nox"), D1, 3.0)]
    assert listed(store.days.read(D0, D3, np.zeros(0, np.int32)), METER_FIELDS) == []


def test_empty_reads_are_typed_empty_columns(store: Store) -> None:
    assert listed(store.days.read(D0, D3), METER_FIELDS) == []
    assert listed(store.days.read_scopes(D0, D3, SCOPE_KEYS), SCOPE_FIELDS) == []
    assert listed(store.days.read_scopes(D0, D3, ()), SCOPE_FIELDS) == []
    assert store.days.spans(D0, D3) == {}
    store.days.write(CELLS, meters(), NO_SCOPES, SCOPE_KEYS, "fp")  # days built, no rows
    assert listed(store.days.read(D0, D3), METER_FIELDS) == []
    assert sorted(store.days.spans(D0, D3)) == [D0, D1, D2]


def test_spans_record_each_cell_complete_with_its_end_and_fingerprint(store: Store) -> None:
    split = D1 + 16 * HOUR  # a second time zone's midnight splits the day
    before = now_ms()
    store.days.write(np.array([D0, D1, split, D2]), meters(), NO_SCOPES, SCOPE_KEYS, "fp-1")
    after = now_ms()
    spans = store.days.spans(D0, D2)
    assert list(spans) == [D0, D1, split]
    assert [(s.cell_ms, s.end_ms, s.fingerprint, s.complete) for s in spans.values()] == [
        (D0, D1, "fp-1", True),
        (D1, split, "fp-1", True),
        (split, D2, "fp-1", True),
    ]
    assert all(before <= s.built_ms <= after for s in spans.values())
    assert list(store.days.spans(D1, split)) == [D1]  # by cell start, half open


def test_a_rewrite_replaces_every_row_and_span_of_its_range_only(store: Store) -> None:
    store.days.write(
        np.array([D0, D1, D2, D3, D4]),
        meters(
            *((m, c, {"consumption": 1.0}) for m in ("a-elec", "b-nox") for c in (D0, D1, D2, D3))
        ),
        scopes(*((ENT_A, c, {"demand_sum": 1.0}) for c in (D0, D1, D2, D3))),
        SCOPE_KEYS,
        "old",
    )
    # Rewrite [D1, D3) with other edges: D1 is split, D2 is no cell start any more.
    split = D1 + 16 * HOUR
    store.days.write(
        np.array([D1, split, D3]),
        meters(("a-elec", split, {"consumption": 2.0})),
        scopes((PARK_1, D1, {"demand_sum": 2.0})),
        SCOPE_KEYS,
        "new",
    )
    got = [(k, c, v["consumption"]) for k, c, v in listed(store.days.read(D0, D4), METER_FIELDS)]
    assert got == [
        (code("a-elec"), D0, 1.0),
        (code("a-elec"), split, 2.0),
        (code("a-elec"), D3, 1.0),
        (code("b-nox"), D0, 1.0),
        (code("b-nox"), D3, 1.0),
    ]
    got_scopes = listed(store.days.read_scopes(D0, D4, SCOPE_KEYS), SCOPE_FIELDS)
    assert [(k, c, v["demand_sum"]) for k, c, v in got_scopes] == [
        (0, D0, 1.0),
        (0, D3, 1.0),
        (1, D1, 2.0),
    ]
    spans = store.days.spans(D0, D4)
    assert [(s.cell_ms, s.end_ms, s.fingerprint, s.complete) for s in spans.values()] == [
        (D0, D1, "old", True),
        (D1, split, "new", True),
        (split, D3, "new", True),
        (D3, D4, "old", True),
    ]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("influxdb", marks=SERVER)])
def test_rows_of_meters_no_longer_in_the_registry_are_left_out(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = parse_store_url(url_of(kind, request, tmp_path))
    extra = {"0-extra": {"enterprise": "ent-a", "gateway": "gw-a", "quantity": "active_power"}}
    wider = registry.from_dict(registry_doc(extra))  # "0-extra" first: the codes shift
    rows: list[tuple[str, int, dict[str, float | int]]] = [
        ("0-extra", D0, {"samples": 1}),
        ("b-nox", D0, {"samples": 2}),
    ]
    before = open_store(url, wider)
    try:
        before.days.write(
            CELLS,
            day_columns(METER_FIELDS, [(code(m, wider), c, v) for m, c, v in rows]),
            NO_SCOPES,
            SCOPE_KEYS,
            "fp",
        )
        assert len(before.days.read(D0, D3)) == 2
    finally:
        before.close()
    after = open_store(url, REGISTRY)
    try:
        found = listed(after.days.read(D0, D3), METER_FIELDS)
    finally:
        after.close()
    assert [(k, c, v["samples"]) for k, c, v in found] == [(code("b-nox"), D0, 2)]


REFUSED: dict[str, tuple[Any, DayColumns, DayColumns, tuple[str, ...], str]] = {
    "inf": (
        CELLS,
        meters(("a-gas", D0, {"kwh_peak": math.inf})),
        NO_SCOPES,
        SCOPE_KEYS,
        "kwh_peak inf",
    ),
    "nan at a default of 0": (
        CELLS,
        meters(("a-gas", D0, {"mass_kg": math.nan})),
        NO_SCOPES,
        SCOPE_KEYS,
        "mass_kg",
    ),
    "row inside a cell": (
        CELLS,
        meters(("a-gas", D0 + HOUR, {"samples": 1})),
        NO_SCOPES,
        SCOPE_KEYS,
        "starts none of the cells",
    ),
    "row at the last edge": (
        CELLS,
        meters(("a-gas", D3, {"samples": 1})),
        NO_SCOPES,
        SCOPE_KEYS,
        "starts none of the cells",
    ),
    "meter outside the registry": (
        CELLS,
        day_columns(METER_FIELDS, [(len(REGISTRY.meter_ids), D0, {"samples": 1})]),
        NO_SCOPES,
        SCOPE_KEYS,
        "day meter row 0: key 6",
    ),
    "scope key outside": (
        CELLS,
        meters(),
        day_columns(SCOPE_FIELDS, [(len(SCOPE_KEYS), D0, {"demand_sum": 1.0})]),
        SCOPE_KEYS,
        "day scope row 0: key 3",
    ),
    "edges that descend": (np.array([D1, D0]), meters(), NO_SCOPES, SCOPE_KEYS, "ascend"),
    "a backslash in a scope key": (
        CELLS,
        meters(),
        day_columns(SCOPE_FIELDS, [(0, D0, {"demand_sum": 1.0})]),
        ("a\\b",),
        "backslash",
    ),
}


@pytest.mark.parametrize("what", REFUSED)
def test_what_no_store_can_hold_is_refused_before_anything_is_written(
    store: Store, what: str
) -> None:
    store.days.write(CELLS, meters(("a-elec", D0, {"consumption": 1.0})), NO_SCOPES, (), "fp")
    cells, meter_rows, scope_rows, keys, message = REFUSED[what]
    with pytest.raises(StoreRejectedError, match=message):
        store.days.write(cells, meter_rows, scope_rows, keys, "bad")
    got = [(k, c, v["consumption"]) for k, c, v in listed(store.days.read(D0, D3), METER_FIELDS)]
    assert got == [(code("a-elec"), D0, 1.0)]
    assert {s.fingerprint for s in store.days.spans(D0, D3).values()} == {"fp"}


def test_the_change_token_changes_with_day_writes(store: Store) -> None:
    before = store.version()
    store.days.write(CELLS, meters(("a-elec", D0, {"samples": 1})), NO_SCOPES, SCOPE_KEYS, "fp")
    after = store.version()
    if isinstance(store, InfluxStore):
        assert before is after is None
    else:
        assert after != before


def test_a_sqlite_rebuild_that_fails_midway_leaves_the_old_days_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 'days.db'}"), REGISTRY)
    try:
        store.days.write(
            CELLS,
            meters(("a-elec", D0, {"samples": 1})),
            scopes((ENT_A, D0, {"demand_sum": 1.0})),
            SCOPE_KEYS,
            "old",
        )
        old_spans = store.days.spans(D0, D3)

        def fail(*_: object) -> list[list[int | float]]:
            raise RuntimeError("crash between the meter and the scope rows")

        # The scope rows' parameters are made inside the transaction, after the deletes.
        monkeypatch.setattr(sqlite_days._SCOPES, "params", fail)
        with pytest.raises(RuntimeError, match="crash"):
            store.days.write(
                CELLS,
                meters(("a-gas", D1, {"samples": 2})),
                scopes((ENT_A, D1, {"demand_sum": 2.0})),
                SCOPE_KEYS,
                "new",
            )
        got = [(k, c) for k, c, _ in listed(store.days.read(D0, D3), METER_FIELDS)]
        assert got == [(code("a-elec"), D0)]
        assert len(store.days.read_scopes(D0, D3, SCOPE_KEYS)) == 1
        assert store.days.spans(D0, D3) == old_spans
    finally:
        store.close()


@pytest.mark.servers
@pytest.mark.parametrize("fail_on", [b"day_scope_cell,", b"day_span end_ms=", b"day_meter_cell,"])
def test_an_influx_rebuild_that_fails_midway_leaves_its_cells_incomplete(
    influxd: Influxd, influx_db: str, monkeypatch: pytest.MonkeyPatch, fail_on: bytes
) -> None:
    store = open_store(parse_store_url(influxd.store_url(influx_db)), REGISTRY)
    assert isinstance(store, InfluxStore)
    try:
        store.days.write(
            np.array([D0, D1, D2, D3, D4]),
            meters(("a-elec", D0, {"samples": 1}), ("a-elec", D1, {"samples": 1})),
            scopes((ENT_A, D1, {"demand_sum": 1.0})),
            SCOPE_KEYS,
            "old",
        )
        real = store.write_lines
        complete_spans = 0

        def write_lines(body: bytes) -> None:
            nonlocal complete_spans
            if fail_on == b"day_span end_ms=" and b"complete=true" in body:
                complete_spans += 1  # the last request: the new spans complete
                raise StoreError("influxd went away before the spans were complete")
            if fail_on != b"day_span end_ms=" and body.startswith(fail_on):
                raise StoreError("influxd went away mid-rebuild")
            real(body)

        monkeypatch.setattr(store, "write_lines", write_lines)
        split = D1 + 16 * HOUR  # old cell D2 is no cell start of the rebuild
        with pytest.raises(StoreError, match="went away"):
            store.days.write(
                np.array([D1, split, D3]),
                meters(("a-gas", D1, {"samples": 2})),
                scopes((PARK_1, split, {"demand_sum": 2.0})),
                SCOPE_KEYS,
                "new",
            )
        assert complete_spans == (1 if fail_on == b"day_span end_ms=" else 0)
        spans = store.days.spans(D0, D4)
        # Every cell the rebuild touched, old or new, reads as not built; the others stay.
        touched = {c: s.complete for c, s in spans.items() if D1 <= c < D3}
        if fail_on == b"day_span end_ms=":  # the old D2 was deleted already
            assert touched == {D1: False, split: False}
        else:
            assert touched == {D1: False, D2: False, split: False}
        assert spans[D0] == DaySpan(D0, D1, "old", True, spans[D0].built_ms)
        assert spans[D3].complete
        assert [c for _, c, _ in listed(store.days.read(D0, D1), METER_FIELDS)] == [D0]

        monkeypatch.setattr(store, "write_lines", real)  # the next rebuild completes them
        store.days.write(
            np.array([D1, split, D3]),
            meters(("a-gas", D1, {"samples": 2})),
            NO_SCOPES,
            SCOPE_KEYS,
            "new",
        )
        spans = store.days.spans(D0, D4)
        assert [(c, s.fingerprint, s.complete) for c, s in spans.items()] == [
            (D0, "old", True),
            (D1, "new", True),
            (split, "new", True),
            (D3, "old", True),
        ]
        got = [(k, c) for k, c, _ in listed(store.days.read(D0, D4), METER_FIELDS)]
        assert got == [(code("a-elec"), D0), (code("a-gas"), D1)]
    finally:
        store.close()


@pytest.mark.servers
@pytest.mark.parametrize("read_format", ["msgpack", "json"])
def test_influx_rows_read_back_in_pieces_and_both_formats(
    influxd: Influxd, influx_db: str, read_format: str
) -> None:
    store = open_store(parse_store_url(influxd.store_url(influx_db)), REGISTRY)
    assert isinstance(store, InfluxStore)
    store.read_format = read_format  # type: ignore[assignment]
    store.chunk_size = 7  # series arrive in many pieces
    try:
        rng = np.random.default_rng(5)
        cells = D0 + 24 * HOUR * np.arange(41, dtype=np.int64)
        n_meters = len(REGISTRY.meter_ids)
        key = np.repeat(np.arange(n_meters, dtype=np.int32), 40)
        cell = np.tile(cells[:-1], n_meters)
        values: dict[str, Any] = {}
        for name, (dtype, default) in METER_FIELDS.items():
            if dtype is np.float64:
                column = rng.standard_normal(key.size) * 10.0 ** rng.integers(-300, 300, key.size)
            else:
                column = rng.integers(-(2**63), 2**63 - 1, key.size, dtype=np.int64)
            column[rng.random(key.size) < 0.5] = default
            values[name] = column.astype(dtype)
        rows = DayColumns(key, cell, values)
        rows = rows.take(rows.informative(METER_FIELDS))
        store.days.write(cells, rows, NO_SCOPES, SCOPE_KEYS, "fp")
        got = store.days.read(int(cells[0]), int(cells[-1]))
        assert got.key.tolist() == rows.key.tolist()
        assert got.cell_ms.tolist() == rows.cell_ms.tolist()
        for name in METER_FIELDS:
            assert got.values[name].tobytes() == rows.values[name].tobytes(), name  # bit for bit
    finally:
        store.close()


def test_a_cell_of_more_rows_than_a_point_holds_is_split_into_parts(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # influxd keeps a string field under 64 KiB: a cell of many meters is several points.
    monkeypatch.setattr(influx_days, "PART_ROWS", 2)
    written = meters(
        ("a-elec", D0, {"consumption": 1.0}),
        ("a-gas", D0, {"consumption": 2.0}),
        ("a-water", D0, {"consumption": 3.0}),
        ("b-nox", D0, {"samples": 4}),
        ("b-waste", D0, {"samples": 5}),
        ("a-elec", D1, {"consumption": 6.0}),
    )
    store.days.write(CELLS, written, NO_SCOPES, SCOPE_KEYS, "fp")
    got = listed(store.days.read(D0, D3), METER_FIELDS)
    assert got == sorted(listed(written, METER_FIELDS), key=lambda r: (r[0], r[1]))
    assert len(store.days.read(D0, D1, np.array([code("a-water")], np.int32))) == 1
