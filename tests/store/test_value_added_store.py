"""Value added through every store: SQLite, the memory store and a real influxd.

The second series of the entered-figures machinery (store/outputs.py): per enterprise
and month, any finite value (0 and a loss too), kept apart from product output (the same
id in both series is two rows); what no store may hold is refused before anything is
written; an influx replace interrupted after its write reads as the new rows.
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


def month(enterprise: str, a: int, b: int, value: float) -> OutputRow:
    return OutputRow(enterprise, "month", a, b, value)


@pytest.fixture(params=["sqlite", "memory", pytest.param("influxdb", marks=pytest.mark.servers)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore(REGISTRY)
        return
    opened = open_store(parse_store_url(url_of(request.param, request, tmp_path)), REGISTRY)
    yield opened
    opened.close()


def test_any_finite_value_reads_back_exactly_in_range_and_sorted(store: Store) -> None:
    rows = [
        month("ent-b", NOV, DEC, 1234.5),
        month("ent-a", DEC, JAN, -87.25),  # a loss
        month("ent-a", NOV, DEC, 0.0),
    ]
    assert store.value_added.replace(rows) == 0
    assert store.value_added.read(NOV, JAN) == [rows[2], rows[1], rows[0]]
    assert store.value_added.read(DEC, DEC + 1) == [rows[1]]
    assert store.value_added.read(NOV, DEC, ["ent-b"]) == [rows[0]]
    assert store.value_added.read(NOV - DAY, NOV) == []
    assert store.value_added.read(NOV + 10 * DAY, NOV + 11 * DAY, ["ent-a"]) == [rows[2]]
    assert store.value_added.read(NOV, JAN)[0].id == "ent-a"


def test_value_added_and_product_output_are_two_series(store: Store) -> None:
    store.outputs.replace([month("ent-a", NOV, DEC, 5.0)])
    store.value_added.replace([month("ent-a", NOV, DEC, 700.0)])
    assert store.value_added.replace([month("ent-a", NOV, DEC, 710.0)]) == 1  # a correction
    assert store.outputs.read(NOV, JAN) == [month("ent-a", NOV, DEC, 5.0)]
    assert store.value_added.read(NOV, JAN) == [month("ent-a", NOV, DEC, 710.0)]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (OutputRow("Bad Id", "month", NOV, DEC, 1.0), "enterprise 'Bad Id' is not a valid id"),
        (OutputRow("ent-a", "day", NOV, NOV + DAY, 1.0), "not one of month"),
        (OutputRow("ent-a", "month", DEC, NOV, 1.0), "no day or month"),
        (OutputRow("ent-a", "month", NOV, DEC, float("nan")), "value added must be finite"),
        (OutputRow("ent-a", "month", NOV, DEC, float("-inf")), "value added must be finite"),
    ],
)
def test_what_no_store_holds_is_refused_before_anything_is_written(
    store: Store, bad: OutputRow, message: str
) -> None:
    store.value_added.replace([month("ent-a", NOV, DEC, 1.0)])
    with pytest.raises(ValueError, match=message):
        store.value_added.replace([month("ent-b", NOV, DEC, 2.0), bad])
    assert store.value_added.read(NOV, JAN) == [month("ent-a", NOV, DEC, 1.0)]


@pytest.mark.servers
def test_an_interrupted_influx_replace_reads_as_the_new_rows(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = open_store(parse_store_url(url_of("influxdb", request, tmp_path)), REGISTRY)
    assert isinstance(opened, InfluxStore)
    try:
        # A month stored with an edge an hour off (another time zone), then the right one.
        opened.value_added.replace([month("ent-a", NOV - 3_600_000, DEC, 100.0)])

        def crash(statement: str, what: str) -> None:
            raise RuntimeError("killed before the old rows were deleted")

        monkeypatch.setattr(opened, "execute", crash)
        with pytest.raises(RuntimeError):
            opened.value_added.replace([month("ent-a", NOV, DEC, 90.0)])
        assert opened.value_added.read(NOV, DEC) == [month("ent-a", NOV, DEC, 90.0)]
        monkeypatch.undo()
        assert opened.value_added.replace([month("ent-a", NOV, DEC, 90.0)]) == 2
        assert opened.value_added.read(NOV - DAY, JAN) == [month("ent-a", NOV, DEC, 90.0)]
    finally:
        opened.close()
