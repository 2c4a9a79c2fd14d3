"""Product output through every store: SQLite, the memory store and a real influxd.

Rows read back exactly, sorted by (product, start), only those overlapping the range
and of the products asked for; a row replaces the stored rows of its product it
overlaps (a month its days, a day its month) and nothing else; writing the same rows
again replaces them with themselves; what no store may hold is refused before anything
is written; an influx replace interrupted after its write reads as the new rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smartpark.core.urls import parse_store_url
from smartpark.store.base import Store
from smartpark.store.influx import InfluxStore
from smartpark.store.open import open_store
from smartpark.store.outputs import OutputRow
from smartpark.testing.memory_store import MemoryStore
from tests.store.stores import REGISTRY

from .test_days_store import url_of

DAY = 86_400_000
NOV = 1_793_462_400_000  # 2026-11-01T00:00+08:00
DEC = NOV + 30 * DAY
JAN = DEC + 31 * DAY


def month(product: str, a: int, b: int, value: float) -> OutputRow:
    return OutputRow(product, "month", a, b, value)


def day(product: str, k: int, value: float, start: int = NOV) -> OutputRow:
    return OutputRow(product, "day", start + k * DAY, start + (k + 1) * DAY, value)


@pytest.fixture(params=["sqlite", "memory", pytest.param("influxdb", marks=pytest.mark.servers)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore(REGISTRY)
        return
    opened = open_store(parse_store_url(url_of(request.param, request, tmp_path)), REGISTRY)
    yield opened
    opened.close()


def test_rows_read_back_exactly_in_range_and_sorted(store: Store) -> None:
    rows = [month("b", NOV, DEC, 30_000.5), month("a", DEC, JAN, 1e-3), month("a", NOV, DEC, 7.25)]
    assert store.outputs.replace(rows) == 0
    assert store.outputs.read(NOV, JAN) == sorted(rows, key=lambda r: (r.product, r.start_ms))
    assert store.outputs.read(DEC, DEC + 1) == [rows[1]]
    assert store.outputs.read(NOV, DEC, ["b"]) == [rows[0]]
    assert store.outputs.read(NOV - DAY, NOV) == []
    assert store.outputs.read(NOV, JAN, []) == []
    # A row that started before the range and reaches into it is read.
    assert store.outputs.read(NOV + 10 * DAY, NOV + 11 * DAY, ["a"]) == [rows[2]]


def test_a_row_replaces_what_it_overlaps_and_nothing_else(store: Store) -> None:
    store.outputs.replace([month("a", NOV, DEC, 100.0), month("b", NOV, DEC, 5.0)])
    days = [day("a", k, 3.0) for k in range(30)]
    assert store.outputs.replace(days) == 1  # the month of a, not b's
    assert store.outputs.read(NOV, DEC, ["a"]) == days
    assert store.outputs.read(NOV, DEC, ["b"]) == [month("b", NOV, DEC, 5.0)]
    # The same rows again: replaced by themselves, the store as it was.
    assert store.outputs.replace(days) == 30
    assert store.outputs.read(NOV, DEC, ["a"]) == days
    # A corrected month replaces the 30 days; a corrected value replaces its row.
    assert store.outputs.replace([month("a", NOV, DEC, 95.0)]) == 30
    assert store.outputs.replace([month("a", NOV, DEC, 96.0)]) == 1
    assert store.outputs.read(NOV, JAN) == [month("a", NOV, DEC, 96.0), month("b", NOV, DEC, 5.0)]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (OutputRow("Bad Id", "month", NOV, DEC, 1.0), "not a valid id"),
        (OutputRow("a", "week", NOV, DEC, 1.0), "period"),  # type: ignore[arg-type]
        (OutputRow("a", "month", DEC, NOV, 1.0), "no day or month"),
        (OutputRow("a", "month", NOV, NOV + 40 * DAY, 1.0), "no day or month"),
        (OutputRow("a", "month", NOV, DEC, 0.0), "finite and > 0"),
        (OutputRow("a", "month", NOV, DEC, -5.0), "finite and > 0"),
        (OutputRow("a", "month", NOV, DEC, float("nan")), "finite and > 0"),
        (OutputRow("a", "month", NOV, DEC, float("inf")), "finite and > 0"),
    ],
)
def test_what_no_store_holds_is_refused_before_anything_is_written(
    store: Store, bad: OutputRow, message: str
) -> None:
    store.outputs.replace([month("a", NOV, DEC, 1.0)])
    with pytest.raises(ValueError, match=message):
        store.outputs.replace([month("c", NOV, DEC, 2.0), bad])
    assert store.outputs.read(NOV, JAN) == [month("a", NOV, DEC, 1.0)]


def test_rows_of_one_write_must_not_overlap(store: Store) -> None:
    with pytest.raises(ValueError, match="overlap"):
        store.outputs.replace([month("a", NOV, DEC, 1.0), day("a", 3, 1.0)])
    assert store.outputs.read(NOV, JAN) == []


@pytest.mark.servers
def test_an_interrupted_influx_replace_reads_as_the_new_rows(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = open_store(parse_store_url(url_of("influxdb", request, tmp_path)), REGISTRY)
    assert isinstance(opened, InfluxStore)
    try:
        opened.outputs.replace([month("a", NOV, DEC, 100.0)])

        def crash(statement: str, what: str) -> None:
            raise RuntimeError("killed before the old rows were deleted")

        monkeypatch.setattr(opened, "execute", crash)
        days = [day("a", k, 3.0) for k in range(30)]
        with pytest.raises(RuntimeError):
            opened.outputs.replace(days)
        assert opened.outputs.read(NOV, DEC) == days  # the newer rows win the overlap
        monkeypatch.undo()
        assert opened.outputs.replace(days) == 31  # a rerun deletes the month
        assert opened.outputs.read(NOV, DEC) == days
    finally:
        opened.close()
