"""Rollup rows through the stores' vectorized paths (issue 23, item 5).

- The line protocol of rollup rows, built as columns, equals the per-row oracle kept
  here (fields at their default left out, ``i`` on the ints, the meter tag escaped), and
  every float parses back bit for bit: hypothesis over random float64 (subnormals,
  extreme exponents, negative zero) and int64 fields.
- Through a real influxd (msgpack and JSON answers) and SQLite, random rows with fields
  missing read back exactly, defaults where a field was left out, including a range in
  which some field was never written at all.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpark.core import registry
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.influx import InfluxStore
from smartpark.store.influx_rollups import InfluxRollups, check_rows
from smartpark.store.lineprotocol import escape
from smartpark.store.open import open_store
from smartpark.store.rollups import FIELDS, NO_TS, WINDOW_MS, RollupColumns, non_default
from smartpark.testing.servers import Influxd
from tests.store.stores import registry_doc

METER_IDS = ("m-1", "m_2", "x9", "meter-4")  # ids need no escaping (registry rule)
REG: Registry = registry.from_dict(
    registry_doc(
        {
            m: {"enterprise": "ent-a", "gateway": "gw-a", "quantity": "active_power"}
            for m in METER_IDS
        }
    )
)
CODES = np.array(sorted(REG.meter_code[m] for m in METER_IDS), dtype=np.int32)
T0 = 1_790_000_000_000 // WINDOW_MS * WINDOW_MS


def oracle_lines(reg: Registry, rows: RollupColumns) -> list[str]:
    """The per-row builder the vectorized one replaced: one line per row."""
    out = []
    for i in range(len(rows)):
        fields = []
        for name, (dtype, default) in FIELDS.items():
            v = rows.values[name][i : i + 1]
            if non_default(v, default)[0]:
                fields.append(f"{name}={v.tolist()[0]!r}{'i' if dtype is np.int64 else ''}")
        meter = escape(reg.meter_ids[int(rows.meter[i])], "tag_value")
        out.append(f"rollup,meter={meter} {','.join(fields)} {int(rows.window_ms[i])}")
    return out


def parse_fields(line: str) -> dict[str, str]:
    """Field name -> text of a rollup line."""
    _key, fields_text, _ts = line.split(" ")
    return dict(f.split("=", 1) for f in fields_text.split(","))


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


floats = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True)
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@st.composite
def rollup_rows(draw: st.DrawFn, max_rows: int = 30) -> RollupColumns:
    n = draw(st.integers(1, max_rows))
    meter = CODES[draw(st.lists(st.integers(0, len(CODES) - 1), min_size=n, max_size=n))]
    window = T0 + WINDOW_MS * np.array(
        draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n))
    )
    values = {}
    for name, (dtype, default) in FIELDS.items():
        kind = floats if dtype is np.float64 else ints
        cells = draw(st.lists(st.one_of(st.just(default), kind), min_size=n, max_size=n))
        values[name] = np.array(cells, dtype=dtype)
    rows = RollupColumns(meter.astype(np.int32), window.astype(np.int64), values)
    return rows.take(rows.informative())


class _Registry:
    registry = REG


def lines_of(rows: RollupColumns) -> list[str]:
    builder = InfluxRollups(_Registry())  # type: ignore[arg-type]
    return builder._row_lines(rows).decode().splitlines()


@settings(max_examples=300, deadline=None)
@given(rollup_rows())
def test_rollup_lines_are_the_oracles_and_floats_round_trip_bit_for_bit(
    rows: RollupColumns,
) -> None:
    got = lines_of(rows)
    want = oracle_lines(REG, rows)
    assert len(got) == len(want) == len(rows)
    for i, (line, expected) in enumerate(zip(got, want, strict=True)):
        # Same series key, same timestamp, same fields in the same order; floats may be
        # spelled differently (msgspec vs repr) but must parse to the same double.
        assert line.rsplit(" ", 1)[1] == expected.rsplit(" ", 1)[1]
        assert line.split(" ", 1)[0] == expected.split(" ", 1)[0]
        fields, oracle = parse_fields(line), parse_fields(expected)
        assert list(fields) == list(oracle)
        for name, text in fields.items():
            dtype, _ = FIELDS[name]
            if dtype is np.int64:
                assert text == oracle[name]
                assert int(text[:-1]) == int(rows.values[name][i])
            else:
                assert bits(float(text)) == bits(float(rows.values[name][i]))


@pytest.mark.parametrize(
    "value", [5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -0.5, 1e16, 1e-7, 0.1]
)
def test_extreme_floats_round_trip(value: float) -> None:
    values = {name: np.full(1, default, dtype) for name, (dtype, default) in FIELDS.items()}
    values["consumption"][0] = value
    values["last_ts"][0] = NO_TS + 1
    (line,) = lines_of(RollupColumns(CODES[:1], np.full(1, T0, np.int64), values))
    fields = parse_fields(line)
    assert bits(float(fields["consumption"])) == bits(value)
    assert fields["last_ts"] == f"{NO_TS + 1}i"


def test_non_finite_values_are_refused() -> None:
    values = {name: np.full(2, default, dtype) for name, (dtype, default) in FIELDS.items()}
    values["vmax"][1] = np.inf
    with pytest.raises(ValueError, match="rollup vmax: inf at row 1"):
        check_rows(RollupColumns(np.zeros(2, np.int32), np.full(2, T0, np.int64), values))


def random_rows(seed: int, n_windows: int = 300, *, skip: tuple[str, ...] = ()) -> RollupColumns:
    """Rows of every meter and ``n_windows`` windows, each field missing (default) about
    half the time; the fields of ``skip`` never written."""
    rng = np.random.default_rng(seed)
    n_m = len(METER_IDS)
    meter = np.repeat(CODES, n_windows)
    window = np.tile(T0 + WINDOW_MS * np.arange(n_windows, dtype=np.int64), n_m)
    n = meter.size
    values = {}
    for name, (dtype, default) in FIELDS.items():
        if dtype is np.float64:
            column = rng.standard_normal(n) * 10.0 ** rng.integers(-300, 300, n)
        else:
            column = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64)
        column[rng.random(n) < 0.5] = default
        if name in skip:
            column[:] = default
        values[name] = column.astype(dtype)
    rows = RollupColumns(meter, window, values)
    return rows.take(rows.informative())


def assert_same(got: RollupColumns, want: RollupColumns) -> None:
    assert got.meter.tolist() == want.meter.tolist()
    assert got.window_ms.tolist() == want.window_ms.tolist()
    for name, (dtype, _) in FIELDS.items():
        assert got.values[name].dtype == dtype, name
        # bit for bit; NaN (a NaN default) is NaN
        assert got.values[name].tobytes() == want.values[name].tobytes(), name


@pytest.mark.servers
@pytest.mark.parametrize("read_format", ["msgpack", "json"])
def test_rollups_read_back_exactly_through_influxd(
    influxd: Influxd, influx_db: str, read_format: str
) -> None:
    store = open_store(parse_store_url(influxd.store_url(influx_db)), REG)
    assert isinstance(store, InfluxStore)
    store.read_format = read_format  # type: ignore[assignment]
    store.chunk_size = 97  # series arrive in many pieces
    try:
        first = random_rows(1, skip=("spikes", "register"))
        end = T0 + 300 * WINDOW_MS
        store.rollups.write(T0, end, first, "fp")
        # register and spikes were never written: their columns hold the defaults
        assert_same(store.rollups.read(T0, end), first)
        rows = random_rows(2)
        store.rollups.write(T0, end, rows, "fp")
        assert_same(store.rollups.read(T0, end), rows)
        part = rows.take((rows.meter == CODES[1]) | (rows.meter == CODES[3]))
        assert_same(store.rollups.read(T0, end, CODES[[3, 1]]), part)
    finally:
        store.close()


def test_rollups_read_back_exactly_through_sqlite(tmp_path: Path) -> None:
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 'r.db'}"), REG)
    try:
        rows = random_rows(3)
        end = T0 + 300 * WINDOW_MS
        store.rollups.write(T0, end, rows, "fp")
        assert_same(store.rollups.read(T0, end), rows)
    finally:
        store.close()
