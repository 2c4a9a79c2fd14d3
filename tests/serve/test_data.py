"""What serve computes, against the plain way of computing it: the last reading per
meter, from the store's reading spans and (only for meters with readings on both sides
of the instant) a search newest first in slices, equals reading the whole history;
freshness judges each meter by its own interval, on SQLite and the memory store; the CSV
and JSON encoders write what csv.DictWriter and JSONResponse wrote."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from fastapi.responses import JSONResponse

from smartpark.core import registry
from smartpark.core.scopes import covered
from smartpark.core.timestamps import parse_rfc3339
from smartpark.core.urls import parse_store_url
from smartpark.serve.api import Json, to_csv
from smartpark.serve.data import HOUR_MS, Sources, _last_readings, freshness
from smartpark.store.base import ReadingColumns, Store
from smartpark.store.sqlite import SqliteStore
from smartpark.testing.memory_store import MemoryStore

AT = 1_796_054_400_000  # 2026-12-01T00:00:00+08:00
MIN_MS, YEAR_MS = 60_000, 365 * 24 * HOUR_MS


def plain(store: MemoryStore, codes: list[int], at_ms: int) -> dict[int, int]:
    """The last reading at or before ``at_ms`` of each meter, from one read of it all."""
    cols = store.read(-(2**62), at_ms + 1, np.array(codes, np.int32))
    last: dict[int, int] = {}
    for m, t in zip(cols.meter.tolist(), cols.ts.tolist(), strict=True):
        last[m] = max(t, last.get(m, t))
    return last


class Counting(MemoryStore):
    """A memory store that records the meters and the start of each read."""

    def __init__(self, reg: registry.Registry | None = None) -> None:
        super().__init__(reg)
        self.asked: list[list[int]] = []
        self.starts: list[int] = []

    def read(
        self, start_ms: int, end_ms: int, meters: npt.NDArray[np.int32] | None = None
    ) -> ReadingColumns:
        self.asked.append([] if meters is None else meters.tolist())
        self.starts.append(start_ms)
        return super().read(start_ms, end_ms, meters)


def test_last_readings_match_reading_the_whole_history() -> None:
    rng = np.random.default_rng(7)
    store = MemoryStore()
    ages_h = {0: 0.0, 1: 0.5, 2: 1.0, 3: 3.7, 4: 23.9, 5: 24.0, 6: 24.01, 7: 70.0, 8: 5e4}
    for code, age_h in ages_h.items():  # a last reading that old, and some before it
        last = AT - int(age_h * HOUR_MS)
        ts = np.unique(np.append(last - rng.integers(0, 30 * HOUR_MS, 50), last))
        store.write(
            ReadingColumns(np.full(ts.size, code, np.int32), ts, np.ones(ts.size, np.float64))
        )
    # after ``at`` only, at 1970-01-01, and before it
    store.write(ReadingColumns(np.array([0, 9], np.int32), np.array([AT + 1, AT + 1]), np.ones(2)))
    store.write(ReadingColumns(np.array([10, 11], np.int32), np.array([0, -YEAR_MS]), np.ones(2)))
    codes = list(range(13))  # 12: never
    # as of ``AT`` and of instants in the past, where meters have readings after them too
    for at in (AT, AT + 1, AT - 1, AT - 10 * HOUR_MS, AT - 5e4 * HOUR_MS, 0, -1, -YEAR_MS):
        for some in (codes, [4, 7, 8], [9], [10], [11, 12]):
            got = _last_readings(store, np.array(some, np.int32), int(at))
            assert dict(got) == plain(store, some, int(at)), (at, some)
            assert len(got) == len(dict(got))  # one per meter
    assert dict(_last_readings(store, np.array([0, 8, 9, 10, 11, 12], np.int32), AT)) == {
        0: AT,  # not the reading after ``at``
        8: AT - 50_000 * HOUR_MS,  # 5.7 years back
        10: 0,
        11: -YEAR_MS,
    }


def test_meters_whose_span_decides_are_not_read() -> None:
    """Last reading at or before ``at``, no reading, or only readings after ``at``: the
    spans say it all, and the store reads no reading."""
    store = Counting()
    store.write(
        ReadingColumns(
            np.array([0, 0, 1, 3], np.int32),
            np.array([AT - 2 * MIN_MS, AT, AT - 3 * YEAR_MS, AT + MIN_MS]),
            np.ones(4),
        )
    )
    found = _last_readings(store, np.array([0, 1, 2, 3], np.int32), AT)  # 2: never
    assert dict(found) == {0: AT, 1: AT - 3 * YEAR_MS}
    assert store.asked == []


def test_a_meter_read_after_at_is_searched_back_to_its_first_reading_only() -> None:
    """``at`` in the past, meters with readings after it: the search reads newest first,
    only those meters, and goes no further back than the earliest of their first."""
    store = Counting()
    first_of_2 = AT - 3 * YEAR_MS
    store.write(
        ReadingColumns(
            np.array([0, 1, 1, 2, 2, 2, 3], np.int32),
            np.array([AT - MIN_MS, AT - MIN_MS, AT + MIN_MS, first_of_2, AT - YEAR_MS, AT + 1, AT]),
            np.ones(7),
        )
    )
    found = _last_readings(store, np.array([0, 1, 2, 3], np.int32), AT - 1)
    assert dict(found) == {0: AT - MIN_MS, 1: AT - MIN_MS, 2: AT - YEAR_MS}  # 3: after at only
    assert store.asked[0] == [1, 2]  # 0 is settled by its span, 3 never reported by then
    assert all(asked == [2] for asked in store.asked[1:])
    assert len(store.asked) == 14  # an hour, two, four...: 2**14 h > 1 year back
    assert min(store.starts) >= first_of_2
    store.asked.clear()
    store.write(ReadingColumns(np.array([2], np.int32), np.array([AT - 2]), np.ones(1)))
    assert dict(_last_readings(store, np.array([2], np.int32), AT - 1)) == {2: AT - 2}
    assert store.asked == [[2]]  # found in the first hour back

    gone = Counting()  # spans wider than the readings (deleted by hand): the search ends
    gone.write(ReadingColumns(np.array([0, 0], np.int32), np.array([AT - YEAR_MS, AT]), np.ones(2)))
    del gone.points[(0, AT - YEAR_MS)]
    gone.reading_span = lambda meters: (  # type: ignore[method-assign]
        np.full(len(meters), AT - YEAR_MS),
        np.full(len(meters), AT),
    )
    assert _last_readings(gone, np.array([0], np.int32), AT - 1) == []
    assert min(gone.starts) == AT - YEAR_MS


# -- freshness: each meter against its own interval ------------------------------------

METERS: dict[str, dict[str, Any]] = {
    "on-time": {"gateway": "g-live", "interval_s": 60},  # read 30 s ago
    "just": {"gateway": "g-live", "interval_s": 60},  # read 3 intervals ago: still on time
    "late": {"gateway": "g-live", "interval_s": 60},  # 1-minute meter silent 10 minutes
    "slow": {"gateway": "g-live", "interval_s": 900},  # 15-minute meter silent 10 minutes
    "never": {"gateway": "g-quiet", "interval_s": 60},  # a reading after ``at`` only
    "years": {"gateway": "g-quiet", "interval_s": 300},  # one reading, 2019-06-01
    "unheard": {"gateway": "g-unheard", "interval_s": 900},  # nothing, ever
    "by-hand": {"source": "manual", "interval_s": 2_592_000},  # read 40 days ago
    "by-hand-late": {"source": "manual", "interval_s": 2_592_000},  # 100 days ago
}
LAST: dict[str, int] = {
    "on-time": AT - 30_000,
    "just": AT - 3 * MIN_MS,
    "late": AT - 10 * MIN_MS,
    "slow": AT - 10 * MIN_MS,
    "years": parse_rfc3339("2019-06-01T00:00:00Z", "ts"),
    "by-hand": AT - 40 * 24 * HOUR_MS,
    "by-hand-late": AT - 100 * 24 * HOUR_MS,
}


def fresh_registry() -> registry.Registry:
    return registry.from_dict(
        {
            "zone": {"z1": {"name": "Z1", "timezone": "Asia/Shanghai"}},
            "park": {"p1": {"zone": "z1", "name": "P1"}},
            "enterprise": {"e1": {"park": "p1", "name": "E1"}},
            "gateway": {g: {"park": "p1"} for g in ("g-live", "g-quiet", "g-unheard", "g-none")},
            "meter": {
                m: {"enterprise": "e1", "quantity": "electricity_import", **t}
                for m, t in METERS.items()
            },
        }
    )


def write_history(store: Store, reg: registry.Registry) -> None:
    code = reg.meter_code
    history = [("never", AT + MIN_MS)]  # after ``at``: not yet as of ``at``
    for m, last in LAST.items():  # the last reading, and two before it but for "years"
        step = int(METERS[m]["interval_s"]) * 1000
        history += [(m, last - k * step) for k in range(1 if m == "years" else 3)]
    store.write(
        ReadingColumns(
            np.array([code[m] for m, _ in history], np.int32),
            np.array([ts for _, ts in history], np.int64),
            np.ones(len(history)),
        )
    )


@pytest.fixture(params=["sqlite", "memory"])
def sources(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sources]:
    reg = fresh_registry()
    url = parse_store_url(f"sqlite:///{tmp_path / 'store.db'}")
    store: Store = SqliteStore(url.path, reg) if request.param == "sqlite" else MemoryStore()
    write_history(store, reg)
    yield Sources(reg, tmp_path / "registry.toml", store, url)
    store.close()


def test_each_meter_is_on_time_late_or_never_by_its_own_interval(sources: Sources) -> None:
    records = freshness(sources, covered(sources.registry, None), AT)
    meters = {r["id"]: r for r in records if r["kind"] == "meter"}
    assert {m: r["status"] for m, r in meters.items()} == {
        "on-time": "ok",
        "just": "ok",
        "late": "late",  # 600 s > 3 x 60 s
        "slow": "ok",  # 600 s <= 3 x 900 s
        "never": "never",
        "years": "late",  # found however old: late, not never
        "unheard": "never",
        "by-hand": "ok",  # 40 days <= 3 x 30 days
        "by-hand-late": "late",
    }
    assert meters["late"] == {
        "kind": "meter",
        "id": "late",
        "status": "late",
        "last": "2026-11-30T15:50:00.000Z",
        "age_s": 600.0,
        "interval_s": 60,
        "stale": True,
    }
    assert meters["years"]["last"] == "2019-06-01T00:00:00.000Z"
    assert meters["years"]["age_s"] == (AT - LAST["years"]) / 1000
    for never in ("never", "unheard"):
        assert (meters[never]["last"], meters[never]["age_s"]) == (None, None)
        assert meters[never]["interval_s"] == METERS[never]["interval_s"]
    assert [r["stale"] for r in meters.values()] == [r["status"] != "ok" for r in meters.values()]


def test_a_gateway_is_as_fresh_as_its_freshest_meter(sources: Sources) -> None:
    records = freshness(sources, covered(sources.registry, None), AT)
    gateways = {r["id"]: r for r in records if r["kind"] == "gateway"}
    assert [r["kind"] for r in records] == ["meter"] * len(METERS) + ["gateway"] * 4
    assert gateways["g-live"] == {  # on-time is on time; the late meter does not matter
        "kind": "gateway",
        "id": "g-live",
        "status": "ok",
        "last": "2026-11-30T15:59:30.000Z",
        "age_s": 30.0,
        "interval_s": 60,  # its meters' smallest
        "stale": False,
    }
    quiet = gateways["g-quiet"]  # a meter years late and one that never reported
    assert (quiet["status"], quiet["last"], quiet["interval_s"]) == (
        "late",
        "2019-06-01T00:00:00.000Z",
        60,
    )
    assert gateways["g-unheard"]["status"] == "never"
    assert gateways["g-unheard"]["interval_s"] == 900
    assert gateways["g-none"] == {  # no meters at all
        "kind": "gateway",
        "id": "g-none",
        "status": "never",
        "last": None,
        "age_s": None,
        "interval_s": None,
        "stale": True,
    }


def test_as_of_an_earlier_instant_a_meter_can_be_never(sources: Sources) -> None:
    before = LAST["years"] - 1
    records = freshness(sources, covered(sources.registry, None), before)
    assert {r["status"] for r in records} == {"never"}
    later = freshness(sources, covered(sources.registry, None), LAST["years"] + 900_000)
    years = next(r for r in later if r["id"] == "years")
    assert (years["status"], years["age_s"]) == ("ok", 900.0)  # 15 min <= 3 x 5 min


def test_freshness_reads_only_the_meters_read_on_both_sides_of_at(tmp_path: Path) -> None:
    reg = fresh_registry()
    store = Counting(reg)
    write_history(store, reg)
    src = Sources(reg, tmp_path / "registry.toml", store, parse_store_url("sqlite:///x.db"))
    now = {r["id"]: r["status"] for r in freshness(src, covered(reg, None), AT)}
    assert [now[m] for m in ("late", "years", "never", "unheard")] == ["late"] * 2 + ["never"] * 2
    assert store.asked == []  # every span decides: the last reading, or none by then
    earlier = AT - 5 * MIN_MS  # "just" read at -5, -4 and -3 minutes: it straddles
    then = {r["id"]: r for r in freshness(src, covered(reg, None), earlier)}
    assert store.asked == [[reg.meter_code["just"]]]  # found in the first hour back
    assert (then["just"]["status"], then["just"]["age_s"]) == ("ok", 0.0)
    assert then["on-time"]["status"] == "never"  # its first reading is after ``earlier``
    assert (then["late"]["age_s"], then["slow"]["status"]) == (300.0, "ok")  # from spans


ROWS: list[dict[str, object]] = [
    {"scope": "park", "id": "p", "value": 1e16, "unit": "tce", "line": {"side": "below"}},
    {"scope": "park", "id": "p,q", "value": None, "extra": 'say "hi"\n', "unit": "电"},
    {"id": "x", "value": 2.5e-05, "line": None, "scope": "zone"},
]


def test_csv_is_what_dictwriter_wrote() -> None:
    """The CSV of the rows the API answers, as the DictWriter version produced it."""
    out = io.StringIO()
    columns: list[str] = []
    for r in ROWS:
        columns += [k for k in r if k not in columns and not isinstance(r[k], dict | list)]
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in ROWS:
        writer.writerow({k: ("" if v is None else v) for k, v in r.items() if k in columns})
    assert to_csv(ROWS) == out.getvalue()


def test_json_is_the_document_jsonresponse_wrote() -> None:
    payload = {"scope": "park", "rows": ROWS, "big": 2**63, "nested": [[1.5, None]]}
    assert json.loads(Json(payload).body) == json.loads(JSONResponse(payload).body)
    assert Json(payload).media_type == "application/json"
