"""decode's columnar fast path against the obvious per-reading oracle, on random payloads."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpark.core import contract, quantities
from smartpark.core.errors import ContractError
from smartpark.core.ids import is_valid_id
from smartpark.core.timestamps import MAX_FUTURE_MS, TS_MIN_MS, parse_ts

NOW = 1_764_000_000_000


def oracle(readings: list[dict[str, Any]]) -> tuple[list[tuple[int, str]], list[tuple[Any, ...]]]:
    """Per reading, first reason wins: id, quantity/unit, value, timestamp."""
    rejects: list[tuple[int, str]] = []
    accepted: list[tuple[Any, ...]] = []
    for i, r in enumerate(readings):
        if not is_valid_id(r["meter"]):
            rejects.append((i, contract.BAD_ID))
            continue
        entry = quantities.UNIT_TABLE.get((r["quantity"], r["unit"]))
        if entry is None:
            known = r["quantity"] in quantities.BY_NAME
            rejects.append((i, contract.BAD_UNIT if known else contract.UNKNOWN_QUANTITY))
            continue
        code, factor = entry
        value = r["value"] * factor
        if not math.isfinite(value):
            rejects.append((i, contract.NON_FINITE))
            continue
        try:
            ts = parse_ts(r["ts"])
        except ContractError:
            rejects.append((i, contract.BAD_TS))
            continue
        if not TS_MIN_MS <= ts <= NOW + MAX_FUTURE_MS:
            rejects.append((i, contract.TS_OUT_OF_RANGE))
            continue
        accepted.append((r["meter"], code, ts, value))
    return rejects, accepted


METERS = ["m-1", "m-2", "boiler_3", "M-UPPER", "a b", "x" * 70, "", "m,1", "m-1\n"]
QUANTITY_UNITS = [
    ("electricity_import", "kWh"),
    ("electricity_import", "MWh"),
    ("natural_gas", "m3"),
    ("steam", "kg"),
    ("nox", "mg/m3"),
    ("nox", "kWh"),  # bad unit
    ("gass", "m3"),  # unknown quantity
]
TIMESTAMPS = st.one_of(
    st.integers(NOW - 10**9, NOW + 10**9),
    st.integers(-(2**62), 2**62),
    st.sampled_from(
        [
            "2025-11-24T16:00:00+08:00",
            "2025-11-24T16:00:00.250Z",
            "1970-01-01T00:00:00Z",
            "2999-01-01T00:00:00Z",
            "yesterday",
            "2025-11-24T16:00:00",  # no offset
        ]
    ),
)
VALUES = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -1.5, 1e308, -1e308]),  # 1e308 MWh overflows to inf kWh
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(METERS), st.sampled_from(QUANTITY_UNITS), TIMESTAMPS, VALUES),
        max_size=60,
    )
)
def test_columns_match_the_per_reading_oracle(rows: list[tuple[Any, ...]]) -> None:
    readings = [
        {"meter": m, "quantity": q, "ts": ts, "value": v, "unit": u} for m, (q, u), ts, v in rows
    ]
    data = msgspec.json.encode({"gateway": "gw-1", "seq": 1, "sent_at": NOW, "readings": readings})
    cols = contract.decode(data, "gw-1", now=NOW)
    want_rejects, want = oracle(readings)
    assert [(r.index, r.reason) for r in cols.rejects] == want_rejects
    assert cols.received == len(readings)
    got = list(
        zip(
            [cols.meters[i] for i in cols.meter_idx.tolist()],
            cols.quantity.tolist(),
            cols.ts.tolist(),
            cols.value.tolist(),
            strict=True,
        )
    )
    assert got == want
    assert cols.meter_idx.dtype == np.int32
    assert cols.ts.dtype == np.int64
    # meters is compact: every listed id is used.
    assert sorted(set(cols.meter_idx.tolist())) == list(range(len(cols.meters)))
