"""Registry checks of admitted messages: known answers and a per-reading oracle."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpark.core import contract
from smartpark.core.timestamps import now_ms
from smartpark.ingest.validation import (
    BAD_TOPIC,
    QUANTITY_MISMATCH,
    UNKNOWN_GATEWAY,
    UNKNOWN_LABEL,
    UNKNOWN_METER,
    WRONG_GATEWAY,
    WRONG_PARK,
    Validator,
)
from smartpark.testing.payloads import payload
from tests.ingest.park import park_registry, reading

REG = park_registry()
V = Validator(REG)
NOW = now_ms()
T1 = "smartpark/v1/p1/g1/telemetry"


def code(meter: str) -> int:
    return REG.meter_code[meter]


def test_good_readings_get_registry_codes_and_canonical_values() -> None:
    got = V.admit(
        T1,
        payload(
            "g1",
            [
                reading("m-elec", NOW - 2000, 1.5, unit="MWh"),
                reading("m-gas", NOW - 1000, 20.0),
                reading("m-power", NOW, 3.0),
            ],
        ),
    )
    assert (got.gateway, got.received, got.accepted, got.rejected) == ("g1", 3, 3, Counter())
    assert got.readings.meter.tolist() == [code("m-elec"), code("m-gas"), code("m-power")]
    assert got.readings.ts.tolist() == [NOW - 2000, NOW - 1000, NOW]
    # MWh -> kWh; the meter multiplier (10 for m-power) is NOT applied at ingest.
    assert got.readings.value.tolist() == [1500.0, 20.0, 3.0]
    assert got.readings.meter.dtype == np.int32


def test_each_registry_reason_is_counted_and_good_readings_kept() -> None:
    readings = [
        reading("m-elec", NOW, 1.0),  # ok
        reading("m-ghost", NOW, 2.0),  # unknown meter
        reading("m-water", NOW, 3.0),  # read by g2, not g1
        reading("m-nox", NOW, 4.0),  # read by g3 in park p2
        reading("m-gas", NOW, 5.0, quantity="electricity_import", unit="kWh"),  # wrong quantity
        reading("m-elec", NOW + 1, 6.0),  # ok
        reading("m-elec", 0, 7.0),  # decode: ts_out_of_range (1970)
    ]
    got = V.admit(T1, payload("g1", readings))
    assert got.rejected == Counter(
        {
            UNKNOWN_METER: 1,
            WRONG_GATEWAY: 2,  # m-nox fails the gateway check first
            QUANTITY_MISMATCH: 1,
            contract.TS_OUT_OF_RANGE: 1,
        }
    )
    assert got.received == 7
    assert got.readings.value.tolist() == [1.0, 6.0]
    assert got.readings.meter.tolist() == [code("m-elec")] * 2
    assert got.detail is not None
    assert "ts" in got.detail


def test_detail_names_the_first_registry_problem() -> None:
    got = V.admit(T1, payload("g1", [reading("m-water", NOW, 3.0)]))
    assert got.detail == "meter 'm-water' is read by 'g2', not 'g1'"


def test_topic_park_must_be_the_gateway_park() -> None:
    got = V.admit("smartpark/v1/p2/g1/telemetry", payload("g1", [reading("m-elec", NOW, 1.0)]))
    assert (got.gateway, got.accepted, got.rejected) == ("g1", 0, Counter({WRONG_PARK: 1}))


def test_unknown_gateway_rejects_every_reading_under_a_bounded_label() -> None:
    got = V.admit(
        "smartpark/v1/p1/g-rogue/telemetry",
        payload("g-rogue", [reading("m-elec", NOW, 1.0), reading("m-gas", NOW, 2.0)]),
    )
    assert (got.gateway, got.accepted) == (UNKNOWN_LABEL, 0)
    assert got.rejected == Counter({UNKNOWN_GATEWAY: 2})


@pytest.mark.parametrize(
    ("topic", "data", "reason"),
    [
        (T1, b"not json", contract.NOT_JSON),
        (T1, payload("g2", [reading("m-elec", NOW, 1.0)]), contract.GATEWAY_MISMATCH),
        (T1, b"[" * 100_000, contract.BAD_PAYLOAD),
        (
            T1,
            b'{"gateway":"g1","seq":1,"sent_at":1,"readings":[' + b"[" * 99_000,
            contract.NOT_JSON,
        ),
        (T1, b'{"gateway": "g1"}', contract.BAD_PAYLOAD),
        ("smartpark/v1/P1/g1/telemetry", payload("g1", []), BAD_TOPIC),
        ("smartpark/v1/p1/g1/status", b"online", BAD_TOPIC),
    ],
)
def test_whole_payload_rejections_carry_the_reason(topic: str, data: bytes, reason: str) -> None:
    got = V.admit(topic, data)
    assert got.payload_error == reason
    assert (got.accepted, got.received, got.rejected) == (0, 0, Counter())
    assert got.detail


# -- oracle: the obvious per-reading version, compared on random mixes


def oracle(topic_park: str, topic_gateway: str, rows: list[tuple[str, str]]) -> list[str | None]:
    """Per reading (meter, quantity): None when accepted, else the reason."""
    out: list[str | None] = []
    gw = REG.gateways.get(topic_gateway)
    for meter_id, quantity in rows:
        meter = REG.meters.get(meter_id)
        if gw is None:
            out.append(UNKNOWN_GATEWAY)
        elif gw.park != topic_park:
            out.append(WRONG_PARK)
        elif meter is None:
            out.append(UNKNOWN_METER)
        elif meter.gateway != topic_gateway:
            out.append(WRONG_GATEWAY)
        elif REG.park_of_meter(meter_id) != topic_park:
            out.append(WRONG_PARK)
        elif meter.quantity != quantity:
            out.append(QUANTITY_MISMATCH)
        else:
            out.append(None)
    return out


METERS = [*REG.meter_ids, "m-ghost", "m-other"]
QUANTITY_UNIT = [
    ("electricity_import", "kWh"),
    ("natural_gas", "m3"),
    ("active_power", "kW"),
    ("fresh_water", "m3"),
    ("nox", "mg/m3"),
]


@settings(max_examples=200, deadline=None)
@given(
    park=st.sampled_from(["p1", "p2"]),
    gateway=st.sampled_from(["g1", "g2", "g3", "g9"]),
    rows=st.lists(
        st.tuples(st.sampled_from(METERS), st.sampled_from(QUANTITY_UNIT), st.floats(-1e6, 1e6)),
        max_size=40,
    ),
)
def test_vectorized_checks_match_the_per_reading_oracle(
    park: str, gateway: str, rows: list[tuple[str, tuple[str, str], float]]
) -> None:
    readings = [reading(m, NOW - i, v, quantity=q, unit=u) for i, (m, (q, u), v) in enumerate(rows)]
    got = V.admit(f"smartpark/v1/{park}/{gateway}/telemetry", payload(gateway, readings))
    expected = oracle(park, gateway, [(m, q) for m, (q, _), _ in rows])
    assert got.rejected == Counter(r for r in expected if r is not None)
    kept = [i for i, r in enumerate(expected) if r is None]
    assert got.readings.meter.tolist() == [code(rows[i][0]) for i in kept]
    assert got.readings.value.tolist() == [rows[i][2] for i in kept]
    assert got.readings.ts.tolist() == [NOW - i for i in kept]
