"""What serve computes, against the plain way of computing it: the last reading per
meter read newest first in slices equals reading the whole window; the CSV and JSON
encoders write what csv.DictWriter and JSONResponse wrote."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
from fastapi.responses import JSONResponse

from smartpark.serve.api import Json, to_csv
from smartpark.serve.data import HOUR_MS, _last_readings
from smartpark.store.base import ReadingColumns
from smartpark.testing.memory_store import MemoryStore

AT = 1_796_054_400_000


def plain(store: MemoryStore, codes: list[int], at_ms: int, window_h: float) -> dict[int, int]:
    cols = store.read(at_ms - int(window_h * HOUR_MS), at_ms + 1, np.array(codes, np.int32))
    last: dict[int, int] = {}
    for m, t in zip(cols.meter.tolist(), cols.ts.tolist(), strict=True):
        last[m] = max(t, last.get(m, t))
    return last


def test_last_readings_match_reading_the_whole_window() -> None:
    rng = np.random.default_rng(7)
    store = MemoryStore()
    ages_h = {0: 0.0, 1: 0.5, 2: 1.0, 3: 3.7, 4: 23.9, 5: 24.0, 6: 24.01, 7: 70.0}
    for code, age_h in ages_h.items():  # a last reading that old, and some before it
        last = AT - int(age_h * HOUR_MS)
        ts = np.unique(np.append(last - rng.integers(0, 30 * HOUR_MS, 50), last))
        store.write(
            ReadingColumns(np.full(ts.size, code, np.int32), ts, np.ones(ts.size, np.float64))
        )
    store.write(ReadingColumns(np.array([0], np.int32), np.array([AT + 1]), np.array([1.0])))
    for window_h in (0.25, 1.0, 5.5, 24.0, 168.0):
        for codes in ([0, 1, 2, 3, 4, 5, 6, 7], [4, 7], [8]):
            got = _last_readings(store, np.array(codes, np.int32), AT, window_h)
            assert dict(got) == plain(store, codes, AT, window_h), (window_h, codes)
            assert len(got) == len(dict(got))  # one per meter
    assert dict(_last_readings(store, np.array([0, 5, 6], np.int32), AT, 24.0)) == {
        0: AT,  # not the reading after ``at``
        5: AT - 24 * HOUR_MS,  # the window's oldest end is in it
    }


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
