import json

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartpark.core import contract
from smartpark.core.contract import Reading
from smartpark.core.errors import PayloadError

NOW = 1_764_000_000_000  # 2025-11-24T16:00:00Z


def payload(readings, gateway="gw-1", seq=7, sent_at=NOW):
    return json.dumps(
        {"gateway": gateway, "seq": seq, "sent_at": sent_at, "readings": readings}
    ).encode()


def reading(**over):
    base = {"meter": "m-1", "quantity": "electricity_import", "ts": NOW, "value": 1.5,
            "unit": "kWh"}  # fmt: skip
    base.update(over)
    return base


def test_encode_decode_round_trip_to_canonical_columns():
    readings = [
        Reading("m-1", "electricity_import", NOW, 1.5, "MWh"),
        Reading("m-2", "nox", NOW + 1, 40.0, "mg/m3"),
        Reading("m-1", "electricity_import", NOW + 2, 1.75, "MWh"),
    ]
    cols = contract.decode(contract.encode("gw-1", 3, NOW, readings), "gw-1", now=NOW)
    assert (cols.gateway, cols.seq, cols.received, cols.rejects) == ("gw-1", 3, 3, [])
    assert [cols.meters[i] for i in cols.meter_idx] == ["m-1", "m-2", "m-1"]
    assert cols.ts.tolist() == [NOW, NOW + 1, NOW + 2]
    assert cols.value.tolist() == [1500.0, 40.0, 1750.0]
    from smartpark.core.quantities import BY_NAME

    assert cols.quantity.tolist() == [
        BY_NAME["electricity_import"].code, BY_NAME["nox"].code,
        BY_NAME["electricity_import"].code,
    ]  # fmt: skip
    assert cols.ts.dtype == np.int64
    assert cols.value.dtype == np.float64


def test_rfc3339_timestamps_with_offset():
    cols = contract.decode(
        payload([reading(ts="2025-11-25T00:00:00+08:00"), reading(ts="2025-11-24T16:00:00Z")]),
        "gw-1",
        now=NOW + 10 * 3600 * 1000,
    )
    assert cols.ts.tolist() == [1_764_000_000_000, 1_764_000_000_000]


@pytest.mark.parametrize(
    ("bad", "reason", "field"),
    [
        (reading(meter="a b"), "bad_id", "meter"),
        (reading(meter='m",x=1'), "bad_id", "meter"),
        (reading(meter="m\nfoo"), "bad_id", "meter"),
        (reading(quantity="gass"), "unknown_quantity", "quantity"),
        (reading(unit="kwh"), "bad_unit", "unit"),
        (reading(value=True), "bad_reading", "value"),
        (reading(value="12"), "bad_reading", "value"),
        (reading(value=None), "bad_reading", "value"),
        (reading(ts=12.5), "bad_reading", "ts"),
        (reading(ts="2025-11-24T16:00:00"), "bad_ts", "ts"),
        (reading(ts="yesterday"), "bad_ts", "ts"),
        (reading(ts=0), "ts_out_of_range", "ts"),
        (reading(ts=32_503_680_000_000), "ts_out_of_range", "ts"),  # year 3000
        (reading(ts=10**30), "ts_out_of_range", "ts"),
        ({"meter": "m-1"}, "bad_reading", "quantity"),
        ([1, 2], "bad_reading", "reading"),
        ("x", "bad_reading", "reading"),
    ],
)
def test_bad_reading_is_rejected_alone_with_reason(bad, reason, field):
    cols = contract.decode(payload([reading(), bad, reading(ts=NOW + 1)]), "gw-1", now=NOW)
    assert len(cols) == 2
    assert cols.ts.tolist() == [NOW, NOW + 1]
    assert len(cols.rejects) == 1
    rej = cols.rejects[0]
    assert (rej.index, rej.reason, rej.field) == (1, reason, field)
    assert rej.detail


def test_non_finite_values_are_rejected():
    data = payload([reading(), reading()]).replace(b'"value": 1.5', b'"value": 1e999', 1)
    cols = contract.decode(data, "gw-1", now=NOW)
    assert [(r.index, r.reason) for r in cols.rejects] == [(0, "non_finite")]
    assert len(cols) == 1
    big = payload([reading(value=1e308), reading()])
    cols = contract.decode(big.replace(b"1e+308", b"1e308"), "gw-1", now=NOW)
    assert len(cols) == 2
    # A finite value times a unit factor can overflow: rejected, not stored as inf.
    cols = contract.decode(payload([reading(value=1e306, unit="GWh")]), "gw-1", now=NOW)
    assert [r.reason for r in cols.rejects] == ["non_finite"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not json", "not_json"),
        (b"", "not_json"),
        (b'{"gateway": "gw-1"', "not_json"),
        (b"[" * 20_000 + b"]" * 20_000, "bad_payload"),
        (b"[]", "bad_payload"),
        (b'{"gateway": "gw-1", "seq": 1, "readings": []}', "bad_payload"),
        (b'{"gateway": 5, "seq": 1, "sent_at": 1, "readings": []}', "bad_payload"),
        (b'{"gateway": "gw-1", "seq": 1, "sent_at": 1, "readings": {}}', "bad_payload"),
        (b'{"gateway": "gw-2", "seq": 1, "sent_at": 1, "readings": []}', "gateway_mismatch"),
        (b" " * (256 * 1024 + 1), "too_large"),
    ],
)
def test_whole_payload_rejections(data, reason):
    with pytest.raises(PayloadError) as err:
        contract.decode(data, "gw-1", now=NOW)
    assert err.value.reason == reason


def test_deep_nesting_is_rejected_without_crashing():
    def with_nested(depth):
        nested = "[" * depth + "]" * depth
        head = '{"gateway": "gw-1", "seq": 1, "sent_at": 1, "readings": '
        return f"{head}[{nested}, {json.dumps(reading())}]}}".encode()

    cols = contract.decode(with_nested(200), "gw-1", now=NOW)
    assert [(r.index, r.reason) for r in cols.rejects] == [(0, "bad_reading")]
    assert len(cols) == 1
    with pytest.raises(PayloadError) as err:
        contract.decode(with_nested(50_000), "gw-1", now=NOW)
    assert err.value.reason == "not_json"


def test_too_many_readings():
    data = msgspec.json.encode(
        {"gateway": "gw-1", "seq": 1, "sent_at": 1, "readings": [{}] * 10_001}
    )
    with pytest.raises(PayloadError) as err:
        contract.decode(data, "gw-1", now=NOW)
    assert err.value.reason == "too_many_readings"


def test_first_reason_wins_and_meters_are_compacted():
    cols = contract.decode(
        payload([reading(meter="bad id", unit="x"), reading(meter="m-2"), reading(meter="m-3")]),
        "gw-1",
        now=NOW,
    )
    assert [r.reason for r in cols.rejects] == ["bad_id"]
    assert cols.meters == ["m-2", "m-3"]
    assert cols.meter_idx.tolist() == [0, 1]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
reading_like = st.fixed_dictionaries(
    {},
    optional={
        "meter": st.one_of(st.sampled_from(["m-1", "M", "a b", ""]), json_values),
        "quantity": st.one_of(st.sampled_from(["nox", "coal", "gass"]), json_values),
        "ts": st.one_of(st.integers(), st.sampled_from(["2025-11-24T16:00:00Z", "x"])),
        "value": st.one_of(st.floats(), st.integers(), json_values),
        "unit": st.one_of(st.sampled_from(["mg/m3", "t", "kg", "?"]), json_values),
    },
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(reading_like, json_values), max_size=8))
def test_no_input_crashes_the_decoder_and_every_rejection_has_a_reason(readings):
    try:
        data = json.dumps({"gateway": "gw-1", "seq": 1, "sent_at": NOW, "readings": readings})
    except ValueError:
        return
    try:
        cols = contract.decode(data.encode(), "gw-1", now=NOW)
    except PayloadError as err:
        assert err.reason
        return
    assert len(cols) + len(cols.rejects) == len(readings)
    assert len({r.index for r in cols.rejects}) == len(cols.rejects)
    assert all(r.reason and r.field and r.detail for r in cols.rejects)
    assert np.isfinite(cols.value).all()


@settings(max_examples=300)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_crash(data):
    try:
        contract.decode(data, "gw-1", now=NOW)
    except PayloadError as err:
        assert err.reason in {"not_json", "bad_payload", "gateway_mismatch", "too_large"}
