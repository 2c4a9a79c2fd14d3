"""The telemetry payload (docs/contract.md): encode on the gateway, decode to columns on ingest.

A payload is UTF-8 JSON, at most 256 KiB and 10 000 readings::

    {"gateway": "gw-01", "seq": 1842, "sent_at": <ts>, "readings": [
       {"meter": "m-boiler-gas", "quantity": "natural_gas", "ts": <ts>, "value": 1234.5,
        "unit": "m3"}]}

:func:`decode` turns it straight into numpy columns (ts ms, canonical value, quantity
code, meter index). A payload that is not JSON, too large, or whose envelope is wrong is
rejected whole (:class:`PayloadError`); otherwise each reading is accepted or rejected
on its own with a machine-readable reason naming the field (:class:`Rejection`).

Decoding takes a strict typed fast path with msgspec; only when that fails does it walk
the readings one by one to find which ones are bad and why. :func:`check_readings`
applies the same per-reading checks to readings that came another way (a sheet).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import attrgetter
from typing import Any, Final

import msgspec
import numpy as np
import numpy.typing as npt

from smartpark.core import quantities
from smartpark.core.errors import ContractError, PayloadError
from smartpark.core.ids import is_valid_id
from smartpark.core.timestamps import MAX_FUTURE_MS, TS_MIN_MS, now_ms, parse_ts

MAX_PAYLOAD_BYTES: Final = 256 * 1024
MAX_READINGS: Final = 10_000

# Per-reading rejection reasons.
BAD_READING: Final = "bad_reading"  # not an object, a field missing or of the wrong type
BAD_ID: Final = "bad_id"
UNKNOWN_QUANTITY: Final = "unknown_quantity"
BAD_UNIT: Final = "bad_unit"
NON_FINITE: Final = "non_finite"
BAD_TS: Final = "bad_ts"
TS_OUT_OF_RANGE: Final = "ts_out_of_range"
# Whole-payload rejection reasons.
TOO_LARGE: Final = "too_large"
NOT_JSON: Final = "not_json"
BAD_PAYLOAD: Final = "bad_payload"
GATEWAY_MISMATCH: Final = "gateway_mismatch"
TOO_MANY_READINGS: Final = "too_many_readings"


class Reading(msgspec.Struct, frozen=True):
    """One reading as it travels on the wire."""

    meter: str
    quantity: str
    ts: int | str
    value: float
    unit: str


class Payload(msgspec.Struct, frozen=True):
    gateway: str
    seq: int
    sent_at: int | str
    readings: list[Reading]


class _LoosePayload(msgspec.Struct):
    gateway: str
    seq: int
    sent_at: int | str
    readings: list[msgspec.Raw]


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int  # position of the reading in the payload
    reason: str
    field: str
    detail: str


@dataclass(slots=True)
class Columns:
    """Accepted readings of one payload as columns, values in canonical units."""

    gateway: str
    seq: int
    meters: list[str]  # distinct meter ids; meter_idx points into this list
    meter_idx: npt.NDArray[np.int32]
    quantity: npt.NDArray[np.int32]  # codes into quantities.QUANTITIES
    ts: npt.NDArray[np.int64]  # epoch ms
    value: npt.NDArray[np.float64]  # canonical unit
    received: int  # readings in the payload, accepted or not
    rejects: list[Rejection] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.ts.shape[0])


_STRICT = msgspec.json.Decoder(Payload)
_LOOSE = msgspec.json.Decoder(_LoosePayload)
_ENCODER = msgspec.json.Encoder()


def encode(gateway: str, seq: int, sent_at_ms: int, readings: Sequence[Reading]) -> bytes:
    """Serialise a payload (the gateway side of the contract)."""
    return _ENCODER.encode(Payload(gateway, seq, sent_at_ms, list(readings)))


def decode(
    data: bytes,
    topic_gateway: str,
    *,
    now: int | None = None,
    ts_min_ms: int = TS_MIN_MS,
    max_future_ms: int = MAX_FUTURE_MS,
) -> Columns:
    """Decode and validate one payload into columns.

    Raises :class:`PayloadError` when the payload is rejected whole; otherwise returns
    the accepted readings and a :class:`Rejection` for each rejected one.
    """
    if len(data) > MAX_PAYLOAD_BYTES:
        raise PayloadError(TOO_LARGE, "payload", f"{len(data)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        payload: Payload | _LoosePayload = _STRICT.decode(data)
        strict = True
    except msgspec.ValidationError:
        payload = _decode_envelope(data)
        strict = False
    except (msgspec.DecodeError, RecursionError) as exc:
        raise PayloadError(NOT_JSON, "payload", f"not valid JSON: {exc}") from None
    if payload.gateway != topic_gateway:
        raise PayloadError(
            GATEWAY_MISMATCH,
            "gateway",
            f"payload gateway {payload.gateway[:80]!r} != topic gateway {topic_gateway!r}",
        )
    if len(payload.readings) > MAX_READINGS:
        raise PayloadError(
            TOO_MANY_READINGS, "readings", f"{len(payload.readings)} readings > {MAX_READINGS}"
        )
    rejects: list[Rejection] = []
    if strict:
        assert isinstance(payload, Payload)
        readings = payload.readings
        index = np.arange(len(readings))
    else:
        assert isinstance(payload, _LoosePayload)
        readings, kept = _decode_readings(payload.readings, rejects)
        index = np.asarray(kept, dtype=np.int64)
    return _to_columns(
        payload.gateway,
        payload.seq,
        readings,
        index,
        rejects,
        received=len(payload.readings),
        ts_min=ts_min_ms,
        ts_max=(now_ms() if now is None else now) + max_future_ms,
    )


def check_readings(
    readings: Sequence[Reading],
    *,
    now: int | None = None,
    ts_min_ms: int = TS_MIN_MS,
    max_future_ms: int = MAX_FUTURE_MS,
) -> Columns:
    """Validate readings that came without a payload, by the rules :func:`decode` applies
    to a payload's readings: meter id, quantity, unit (converted to the canonical unit),
    finite value, timestamp (epoch ms, or RFC 3339 with offset) inside the window.

    The sheet importer (``smartpark import readings``, ``ingest/importer.py``) sends rows
    read by hand through here, so they meet exactly the checks of MQTT readings. Each
    :class:`Rejection`'s ``index`` is the reading's position in ``readings``.
    """
    return _to_columns(
        "",
        0,
        list(readings),
        np.arange(len(readings)),
        [],
        received=len(readings),
        ts_min=ts_min_ms,
        ts_max=(now_ms() if now is None else now) + max_future_ms,
    )


def _decode_envelope(data: bytes) -> _LoosePayload:
    try:
        return _LOOSE.decode(data)
    except msgspec.ValidationError as exc:
        raise PayloadError(BAD_PAYLOAD, "payload", str(exc)) from None
    except (msgspec.DecodeError, RecursionError) as exc:
        raise PayloadError(NOT_JSON, "payload", f"not valid JSON: {exc}") from None


_FIELD_TYPES: Final[dict[str, Any]] = {
    "meter": str,
    "quantity": str,
    "ts": int | str,
    "value": float,
    "unit": str,
}


def _decode_readings(
    raws: list[msgspec.Raw], rejects: list[Rejection]
) -> tuple[list[Reading], list[int]]:
    """Slow path: find which readings are malformed and why, field by field."""
    good: list[Reading] = []
    kept: list[int] = []
    for i, raw in enumerate(raws):
        try:
            fields = msgspec.json.decode(raw, type=dict[str, msgspec.Raw])
        except (msgspec.DecodeError, RecursionError):
            rejects.append(Rejection(i, BAD_READING, "reading", "reading is not an object"))
            continue
        values: dict[str, Any] = {}
        for name, typ in _FIELD_TYPES.items():
            if name not in fields:
                rejects.append(Rejection(i, BAD_READING, name, f"missing field {name!r}"))
                break
            try:
                values[name] = msgspec.json.decode(fields[name], type=typ)
            except (msgspec.DecodeError, RecursionError) as exc:
                reason = NON_FINITE if "out of range" in str(exc) else BAD_READING
                rejects.append(Rejection(i, reason, name, f"{name}: {exc}"))
                break
        else:
            good.append(Reading(**values))
            kept.append(i)
    return good, kept


def _to_columns(
    gateway: str,
    seq: int,
    readings: list[Reading],
    index: npt.NDArray[np.int64],
    rejects: list[Rejection],
    *,
    received: int,
    ts_min: int,
    ts_max: int,
) -> Columns:
    # Every per-reading step below iterates in C (map over attrgetter / dict methods into
    # np.fromiter); Python-level loops run only over distinct meter ids or rejects.
    n = len(readings)
    ok = np.ones(n, dtype=bool)

    # Identifiers: index each reading's meter among the distinct ids, validate each new
    # distinct id once (ids seen valid before are remembered).
    meter_col = tuple(map(_METER, readings))
    layout = _METER_LAYOUTS.get(meter_col)  # a gateway repeats its meter sequence
    if layout is not None:
        meters, meter_idx = list(layout[0]), layout[1]
        unseen: list[str] = []
    else:
        meters = list(dict.fromkeys(meter_col))
        meter_pos = {m: i for i, m in enumerate(meters)}
        meter_idx = np.fromiter(map(meter_pos.__getitem__, meter_col), dtype=np.int32, count=n)
        unseen = [m for m in meters if m not in _VALID_IDS]
        if not unseen:
            _remember_layout(meter_col, meters, meter_idx)
    if unseen:
        bad_ids = {m for m in unseen if not is_valid_id(m)}
        _remember_valid_ids(m for m in unseen if m not in bad_ids)
        if bad_ids:
            bad_meter = np.fromiter((m in bad_ids for m in meters), dtype=bool, count=len(meters))
            _reject(
                ok,
                bad_meter[meter_idx],
                index,
                rejects,
                BAD_ID,
                "meter",
                lambda i: f"invalid meter id {readings[i].meter[:80]!r}",
            )

    # Quantity and unit: one dict lookup per reading gives a row of the unit table.
    unit_row = np.fromiter(
        map(_UNIT_ROW.get, map(_QUANTITY_UNIT, readings), repeat(_NO_UNIT_ROW)),
        dtype=np.intp,
        count=n,
    )
    codes = _UNIT_CODE[unit_row]
    factors = _UNIT_FACTOR[unit_row]
    missing = unit_row == _NO_UNIT_ROW
    if missing.any():
        known_q = np.fromiter((r.quantity in quantities.BY_NAME for r in readings), bool, count=n)
        _reject(
            ok,
            missing & ~known_q,
            index,
            rejects,
            UNKNOWN_QUANTITY,
            "quantity",
            lambda i: f"unknown quantity {readings[i].quantity[:80]!r}",
        )
        _reject(
            ok,
            missing & known_q,
            index,
            rejects,
            BAD_UNIT,
            "unit",
            lambda i: f"unit {readings[i].unit[:40]!r} not accepted for {readings[i].quantity}",
        )

    # Values: finite floats only (msgspec already refused bools and strings).
    with np.errstate(over="ignore"):  # an overflow to inf is rejected just below
        value = np.fromiter(map(_VALUE, readings), dtype=np.float64, count=n) * factors
    finite = np.isfinite(value)
    if not finite.all():
        _reject(
            ok,
            ~finite,
            index,
            rejects,
            NON_FINITE,
            "value",
            lambda i: f"value {readings[i].value!r} is not finite",
        )

    # Timestamps: ints are epoch ms; strings are RFC 3339 (parsed one by one, rare path).
    raw_ts = list(map(_TS, readings))
    ts_fast = np.array(raw_ts) if n else np.zeros(0, dtype=np.int64)
    if ts_fast.dtype == np.int64 and ts_fast.shape == (n,):
        ts = ts_fast
        ts_outside = (ts < ts_min) | (ts > ts_max)
    else:  # RFC 3339 strings, or ints beyond int64
        ts, ts_outside = _parse_mixed_ts(raw_ts, ts_min, ts_max, index, ok, rejects)
    if ts_outside.any():
        _reject(
            ok,
            ts_outside,
            index,
            rejects,
            TS_OUT_OF_RANGE,
            "ts",
            lambda i: f"timestamp {str(readings[i].ts)[:40]!r} outside the accepted window",
        )

    rejects.sort(key=lambda r: r.index)
    if ok.all():
        kept_meters, kept_idx = meters, meter_idx
    else:
        kept_meters, kept_idx = _compact(meters, meter_idx[ok])
    return Columns(
        gateway=gateway,
        seq=seq,
        meters=kept_meters,
        meter_idx=kept_idx,
        quantity=codes[ok],
        ts=ts[ok],
        value=value[ok],
        received=received,
        rejects=rejects,
    )


# Column getters and the unit table as arrays, for _to_columns.
_METER: Final = attrgetter("meter")
_QUANTITY_UNIT: Final = attrgetter("quantity", "unit")
_VALUE: Final = attrgetter("value")
_TS: Final = attrgetter("ts")
_UNIT_ROW: Final[dict[tuple[str, str], int]] = {
    key: row for row, key in enumerate(quantities.UNIT_TABLE)
}
_NO_UNIT_ROW: Final = len(_UNIT_ROW)  # the extra last row: unknown quantity or unit
_UNIT_CODE: Final = np.array([c for c, _ in quantities.UNIT_TABLE.values()] + [-1], np.int32)
_UNIT_FACTOR: Final = np.array([f for _, f in quantities.UNIT_TABLE.values()] + [1.0])

# Meter ids already found valid (ids repeat in every payload of a gateway). Bounded: a
# client sending endless new ids only makes the set restart.
_VALID_IDS: set[str] = set()
_VALID_IDS_MAX: Final = 100_000


# Meter sequences of valid ids seen before -> (distinct ids, index of each reading's id).
# Both are shared between payloads, so the index array is read-only.
_METER_LAYOUTS: dict[tuple[str, ...], tuple[list[str], npt.NDArray[np.int32]]] = {}
_METER_LAYOUTS_MAX: Final = 4_096
# Only payloads up to this many readings are remembered, so the cache holds at most
# 4 096 x 1 000 references (tens of MB) even if every payload had a new meter sequence.
_METER_LAYOUT_READINGS_MAX: Final = 1_000


def _remember_layout(key: tuple[str, ...], meters: list[str], idx: npt.NDArray[np.int32]) -> None:
    if len(key) > _METER_LAYOUT_READINGS_MAX:
        return
    if len(_METER_LAYOUTS) >= _METER_LAYOUTS_MAX:
        _METER_LAYOUTS.clear()
    idx.setflags(write=False)
    _METER_LAYOUTS[key] = (meters, idx)


def _remember_valid_ids(ids: Iterable[str]) -> None:
    if len(_VALID_IDS) > _VALID_IDS_MAX:
        _VALID_IDS.clear()
    _VALID_IDS.update(ids)


def _parse_mixed_ts(
    raw_ts: list[int | str],
    ts_min: int,
    ts_max: int,
    index: npt.NDArray[np.int64],
    ok: npt.NDArray[np.bool_],
    rejects: list[Rejection],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Timestamps with RFC 3339 strings among them: parse one by one (the rare path)."""
    n = len(raw_ts)
    ts = np.zeros(n, dtype=np.int64)
    outside = np.zeros(n, dtype=bool)
    for i, raw in enumerate(raw_ts):
        try:
            t = parse_ts(raw)
        except ContractError as exc:
            if ok[i]:
                rejects.append(Rejection(int(index[i]), BAD_TS, "ts", exc.detail))
            ok[i] = False
            continue
        if ts_min <= t <= ts_max:
            ts[i] = t
        else:
            outside[i] = True
    return ts, outside


def _reject(
    ok: npt.NDArray[np.bool_],
    mask: npt.NDArray[np.bool_],
    index: npt.NDArray[np.int64],
    rejects: list[Rejection],
    reason: str,
    field_name: str,
    detail: Any,
) -> None:
    """Record a rejection for each still-accepted reading in ``mask`` (first reason wins)."""
    hit = mask & ok
    for i in np.flatnonzero(hit):
        rejects.append(Rejection(int(index[i]), reason, field_name, detail(int(i))))
    ok &= ~mask


def _compact(
    meters: list[str], meter_idx: npt.NDArray[np.int32]
) -> tuple[list[str], npt.NDArray[np.int32]]:
    used, inverse = np.unique(meter_idx, return_inverse=True)
    return [meters[i] for i in used], inverse.astype(np.int32)
