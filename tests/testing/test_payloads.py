"""Payloads built by smartpark.testing.payloads decode to what was asked, or fail as asked."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartpark.core import contract, quantities
from smartpark.core.errors import PayloadError
from smartpark.core.timestamps import now_ms
from smartpark.testing.payloads import (
    OMIT,
    PAYLOAD_REASONS,
    READING_REASONS,
    invalid_payload,
    invalid_reading,
    payload,
    reading,
)

CONTRACT_DOC = Path(__file__).resolve().parents[2] / "docs" / "contract.md"
T0 = 1_764_000_000_000


def documented_reasons(header: str) -> dict[str, str]:
    """reason -> field of the rejection table under ``header`` in docs/contract.md."""
    text = CONTRACT_DOC.read_text(encoding="utf-8").split(header, 1)[1].split("\n\n", 2)[1]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", text, re.M)
    return {reason: cell.strip().strip("`") for reason, cell in rows}


def test_a_default_payload_decodes_to_the_readings_given() -> None:
    before = now_ms()
    data = payload(
        "gw-01",
        [
            reading("m-elec", T0, 1.5, unit="MWh"),
            reading("m-gas", T0 + 1_000, 20.0, quantity="natural_gas"),
            reading("m-nox", "2025-11-24T16:00:00Z", 40.0, quantity="nox"),
        ],
        seq=7,
    )
    doc = json.loads(data)
    columns = contract.decode(data, "gw-01")

    assert (columns.gateway, columns.seq, columns.received, columns.rejects) == ("gw-01", 7, 3, [])
    assert before <= doc["sent_at"] <= now_ms()
    assert [columns.meters[i] for i in columns.meter_idx] == ["m-elec", "m-gas", "m-nox"]
    assert columns.ts.tolist() == [T0, T0 + 1_000, T0]
    assert columns.value.tolist() == [1500.0, 20.0, 40.0]  # MWh converted to kWh
    names = [quantities.QUANTITIES[c].name for c in columns.quantity]
    assert names == ["electricity_import", "natural_gas", "nox"]


def test_a_reading_defaults_to_now_and_the_canonical_unit() -> None:
    before = now_ms()
    got = reading("m-steam", quantity="steam")
    assert list(got) == ["meter", "quantity", "ts", "value", "unit"]  # the contract's order
    assert (got["meter"], got["quantity"], got["value"], got["unit"]) == (
        "m-steam",
        "steam",
        1.0,
        "t",
    )
    assert before <= got["ts"] <= now_ms()
    assert len(contract.decode(payload("g", [got]), "g")) == 1


def test_extra_fields_are_kept_and_ignored_by_the_decoder() -> None:
    data = payload("g", [reading("m-1", T0, 2.0, note="spare")], firmware="1.2")
    assert json.loads(data)["firmware"] == "1.2"
    assert json.loads(data)["readings"][0]["note"] == "spare"
    assert contract.decode(data, "g").value.tolist() == [2.0]


def test_omit_leaves_a_field_out() -> None:
    no_unit = reading("m-1", T0, unit=OMIT)
    assert "unit" not in no_unit
    columns = contract.decode(payload("g", [no_unit, reading("m-1", T0 + 1)]), "g")
    assert len(columns) == 1
    assert [(r.index, r.reason, r.field) for r in columns.rejects] == [(0, "bad_reading", "unit")]
    for envelope_field in ("gateway", "seq", "sent_at", "readings"):
        given: dict[str, Any] = {"gateway": "g", "readings": [], envelope_field: OMIT}
        data = payload(**given)
        assert envelope_field not in json.loads(data)
        with pytest.raises(PayloadError) as err:
            contract.decode(data, "g")
        assert err.value.reason == "bad_payload"
        assert f"missing required field `{envelope_field}`" in err.value.detail


def test_an_unknown_quantity_needs_its_unit_given() -> None:
    with pytest.raises(ValueError, match="pass unit="):
        reading("m-1", T0, quantity="gass")
    assert reading("m-1", T0, quantity="gass", unit="m3")["quantity"] == "gass"


def test_the_reasons_are_the_documented_ones() -> None:
    per_reading = documented_reasons("the first failing check wins:")
    assert set(READING_REASONS) == set(per_reading)
    for reason, field in READING_REASONS.items():
        assert per_reading[reason] in (field, "the field")
    assert dict(PAYLOAD_REASONS).keys() == documented_reasons("rejected whole").keys()


@pytest.mark.parametrize(("reason", "field"), READING_REASONS.items())
def test_an_invalid_reading_is_rejected_alone_with_its_reason(reason: str, field: str) -> None:
    bad = invalid_reading(reason, "m-bad", T0 + 5, 3.0)
    data = payload("g", [reading("m-1", T0, 1.0), bad, reading("m-1", T0 + 1, 2.0)])
    columns = contract.decode(data, "g", now=T0)
    assert [(r.index, r.reason, r.field) for r in columns.rejects] == [(1, reason, field)]
    assert columns.value.tolist() == [1.0, 2.0]
    np.testing.assert_array_equal(columns.ts, [T0, T0 + 1])


def test_an_invalid_reading_differs_from_the_valid_one_in_one_field_only() -> None:
    good = reading("m-1", T0, 2.0)
    for reason, field in READING_REASONS.items():
        bad = invalid_reading(reason, "m-1", T0, 2.0)
        changed = {k for k in good if bad.get(k) != good[k]}
        assert field in changed, reason
        assert changed <= {field, "unit"}, reason  # non_finite also picks the GWh unit


@pytest.mark.parametrize(("reason", "field"), PAYLOAD_REASONS.items())
def test_an_invalid_payload_is_rejected_whole_with_its_reason(reason: str, field: str) -> None:
    data = invalid_payload(reason, "gw-01", [reading("m-1", T0)])
    with pytest.raises(PayloadError) as err:
        contract.decode(data, "gw-01", now=T0)
    assert (err.value.reason, err.value.field) == (reason, field)


def test_an_unknown_reason_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="use one of bad_reading, bad_id"):
        invalid_reading("bad_mood")
    with pytest.raises(ValueError, match="use one of too_large, not_json"):
        invalid_payload("bad_mood", "g")
