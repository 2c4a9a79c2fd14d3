"""Telemetry payloads of the wire contract (docs/contract.md) for tests: valid by default.

::

    from smartpark.testing.payloads import payload, reading

    data = payload("gw-01", [reading("m-boiler-gas", 1_764_000_000_000, 12.5,
                                     quantity="natural_gas")])
    # b'{"gateway": "gw-01", "seq": 1, "sent_at": <now>, "readings": [{"meter": ...}]}'

:func:`reading` builds one reading (a dict, so a test can change anything), with the
quantity's canonical unit and the current time unless told otherwise; :func:`payload`
wraps readings in the envelope and encodes it. Any field given as :data:`OMIT` is left
out. For negative tests, :func:`invalid_reading` and :func:`invalid_payload` build
exactly what :func:`smartpark.core.contract.decode` rejects with a given reason;
:data:`READING_REASONS` and :data:`PAYLOAD_REASONS` map every reason to the field the
rejection names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, Final

from smartpark.core import contract, quantities
from smartpark.core.timestamps import now_ms

__all__ = [
    "OMIT",
    "PAYLOAD_REASONS",
    "READING_REASONS",
    "Omit",
    "invalid_payload",
    "invalid_reading",
    "payload",
    "reading",
]


class Omit(Enum):
    """The type of :data:`OMIT`."""

    OMIT = "OMIT"

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Final = Omit.OMIT
"""Give a field this value to leave it out of the reading or the envelope."""

DEFAULT_QUANTITY: Final = "electricity_import"

# Per-reading rejection reason -> the field the rejection names.
READING_REASONS: Final[Mapping[str, str]] = {
    contract.BAD_READING: "value",
    contract.BAD_ID: "meter",
    contract.UNKNOWN_QUANTITY: "quantity",
    contract.BAD_UNIT: "unit",
    contract.NON_FINITE: "value",
    contract.BAD_TS: "ts",
    contract.TS_OUT_OF_RANGE: "ts",
}
# Whole-payload rejection reason -> the field the PayloadError names.
PAYLOAD_REASONS: Final[Mapping[str, str]] = {
    contract.TOO_LARGE: "payload",
    contract.NOT_JSON: "payload",
    contract.BAD_PAYLOAD: "payload",
    contract.GATEWAY_MISMATCH: "gateway",
    contract.TOO_MANY_READINGS: "readings",
}


def reading(
    meter: str | Omit,
    ts: int | str | Omit | None = None,
    value: Any = 1.0,
    *,
    quantity: str | Omit = DEFAULT_QUANTITY,
    unit: str | Omit | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One reading: ``ts`` in epoch ms or RFC 3339 (default: now), ``unit`` the quantity's
    canonical unit unless given.

    Nothing is checked, so a test may pass anything (``value="12.5"``, ``unit="furlong"``);
    ``extra`` fields are added as they are (decoders ignore unknown fields), and a field
    given as :data:`OMIT` is left out.
    """
    if unit is None:
        known = None if quantity is OMIT else quantities.BY_NAME.get(quantity)
        if known is None:
            raise ValueError(
                f"quantity {quantity!r} has no canonical unit: pass unit=... as well, "
                f"or use invalid_reading({contract.UNKNOWN_QUANTITY!r})"
            )
        unit = known.canonical_unit
    fields: dict[str, Any] = {
        "meter": meter,
        "quantity": quantity,
        "ts": now_ms() if ts is None else ts,
        "value": value,
        "unit": unit,
        **extra,
    }
    return {k: v for k, v in fields.items() if v is not OMIT}


def payload(
    gateway: str | Omit,
    readings: Sequence[Any] | Omit,
    *,
    seq: Any = 1,
    sent_at: Any = None,
    **envelope: Any,
) -> bytes:
    """The encoded payload of ``gateway`` (``sent_at`` defaults to now).

    ``readings`` are put in as they are, so they may be anything JSON can hold (also
    broken readings). ``envelope`` adds or replaces envelope fields; :data:`OMIT` drops
    one (``seq=OMIT``). Encoded with :func:`json.dumps`, so a float ``nan`` becomes
    ``NaN``, which is not JSON.
    """
    doc: dict[str, Any] = {
        "gateway": gateway,
        "seq": seq,
        "sent_at": now_ms() if sent_at is None else sent_at,
        "readings": readings if readings is OMIT else list(readings),
        **envelope,
    }
    return json.dumps({k: v for k, v in doc.items() if v is not OMIT}).encode()


def invalid_reading(
    reason: str,
    meter: str = "m-1",
    ts: int | str | None = None,
    value: float = 1.0,
) -> dict[str, Any]:
    """A reading that decoding rejects with ``reason`` (naming ``READING_REASONS[reason]``).

    It is the valid ``reading(meter, ts, value)`` with one thing broken, so it is rejected
    for that reason and no earlier one.
    """
    good = reading(meter, ts, value)
    broken: dict[str, dict[str, Any]] = {
        contract.BAD_READING: {"value": str(value)},  # a string for a number
        contract.BAD_ID: {"meter": "Not A Slug"},
        contract.UNKNOWN_QUANTITY: {"quantity": "no_such_quantity"},
        contract.BAD_UNIT: {"unit": "furlong"},
        contract.NON_FINITE: {"value": 1e308, "unit": "GWh"},  # x 1e6 to kWh overflows
        contract.BAD_TS: {"ts": "2026-11-25T08:00:00"},  # RFC 3339 without an offset
        contract.TS_OUT_OF_RANGE: {"ts": 0},  # 1970, before the accepted window
    }
    if reason not in broken:
        raise ValueError(f"unknown reason {reason!r}: use one of {', '.join(READING_REASONS)}")
    return {**good, **broken[reason]}


def invalid_payload(
    reason: str,
    gateway: str,
    readings: Sequence[Any] = (),
) -> bytes:
    """A payload that decoding for the topic of ``gateway`` rejects whole with ``reason``
    (a :class:`~smartpark.core.errors.PayloadError` naming ``PAYLOAD_REASONS[reason]``).
    """
    if reason == contract.TOO_LARGE:
        return payload(gateway, readings, padding="x" * contract.MAX_PAYLOAD_BYTES)
    if reason == contract.NOT_JSON:
        return payload(gateway, readings)[:-1]  # the closing brace is missing
    if reason == contract.BAD_PAYLOAD:
        return payload(gateway, readings, seq=OMIT)
    if reason == contract.GATEWAY_MISMATCH:
        return payload(f"not-{gateway}", readings)
    if reason == contract.TOO_MANY_READINGS:
        # Readings are counted before they are read: tiny ones stay below the size limit.
        return payload(gateway, [0] * (contract.MAX_READINGS + 1))
    raise ValueError(f"unknown reason {reason!r}: use one of {', '.join(PAYLOAD_REASONS)}")
