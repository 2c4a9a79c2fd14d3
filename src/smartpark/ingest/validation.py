"""Admission of one MQTT message: decode the payload, then check it against the registry.

:func:`smartpark.core.contract.decode` checks the payload on its own (JSON, types, units,
timestamps) and converts values to canonical units. This module adds what only the
registry knows (docs/registry.md: a gateway cannot write another enterprise's data). A reading
is rejected, first reason wins, when

- ``unknown_meter``: its meter is not in the registry;
- ``wrong_gateway``: the meter is not read by the topic's gateway (a meter read by hand,
  ``source = "manual"``, by none: its readings come only from ``smartpark import``);
- ``wrong_park``: the meter is not in the topic's park;
- ``quantity_mismatch``: the reading's quantity is not the meter's quantity.

The whole message is rejected when its topic's gateway is unknown (``unknown_gateway``)
or lives in another park than the topic says (``wrong_park``), and when decode rejects
the payload whole (``not_json``, ``too_large``, ``gateway_mismatch``, ...).

The checks are vectorized: one dict lookup per *distinct* meter id of the payload, then
numpy comparisons against the registry's int32 columns.

Values leave here in the quantity's canonical unit, but *without* the meter's
``multiplier`` (CT ratio): the store holds what the meter reported, and the analytics
apply the multiplier when they read. A corrected multiplier then fixes history without
re-ingesting it, and a replayed reading always stores the same value.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from smartpark.core import contract
from smartpark.core.errors import ContractError
from smartpark.core.quantities import QUANTITIES
from smartpark.core.registry import Registry
from smartpark.core.topics import Topic, parse_topic
from smartpark.store.base import ReadingColumns

UNKNOWN_METER: Final = "unknown_meter"
WRONG_GATEWAY: Final = "wrong_gateway"
WRONG_PARK: Final = "wrong_park"
QUANTITY_MISMATCH: Final = "quantity_mismatch"
UNKNOWN_GATEWAY: Final = "unknown_gateway"
BAD_TOPIC: Final = "bad_topic"

_LAYOUTS_MAX: Final = 4096  # (gateway, meter list) verdicts remembered (bounded memory)

UNKNOWN_LABEL: Final = "unknown"
"""Gateway label for messages whose gateway is not in the registry (bounded cardinality)."""


@dataclass(slots=True)
class Admitted:
    """The outcome of one message: the readings to store and what was rejected."""

    gateway: str  # registry gateway id, or UNKNOWN_LABEL
    readings: ReadingColumns
    received: int  # readings in the payload (0 when it was rejected whole)
    rejected: Counter[str] = field(default_factory=Counter)  # reason -> readings
    payload_error: str | None = None  # reason when the payload was rejected whole
    detail: str | None = None  # the first problem, for the log
    topic: Topic | None = None  # the parsed topic, once the payload decoded

    @property
    def accepted(self) -> int:
        return len(self.readings)


class Validator:
    """Decodes and validates messages against one registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._meter_code = registry.meter_code
        park_code = {p: i for i, p in enumerate(registry.park_ids)}
        self._gateway_code = {g: i for i, g in enumerate(registry.gateway_ids)}
        self._gateway_park = {g: park_code[gw.park] for g, gw in registry.gateways.items()}
        self._park_code = park_code
        self._meter_gateway = registry.meter_gateway
        self._meter_park = registry.meter_park
        self._meter_quantity = registry.meter_quantity
        self._layouts: dict[
            tuple[str, tuple[str, ...]], tuple[npt.NDArray[np.int32], bool, npt.NDArray[np.int32]]
        ] = {}

    def admit(self, topic: str, payload: bytes, *, now_ms: int | None = None) -> Admitted:
        """Decode ``payload`` received on ``topic`` and keep the readings the registry allows."""
        try:
            parsed = parse_topic(topic)
        except ContractError as exc:
            return _rejected_whole(UNKNOWN_LABEL, BAD_TOPIC, exc.detail)
        if parsed.channel != "telemetry":
            return _rejected_whole(UNKNOWN_LABEL, BAD_TOPIC, f"not a telemetry topic: {topic!r}")
        label = parsed.gateway if parsed.gateway in self._gateway_code else UNKNOWN_LABEL
        try:
            columns = contract.decode(payload, parsed.gateway, now=now_ms)
        except ContractError as exc:
            return _rejected_whole(label, exc.reason, str(exc))
        return self.check(columns, parsed)

    def check(self, columns: contract.Columns, topic: Topic) -> Admitted:
        """Map decoded columns to registry meter codes; reject what the registry forbids."""
        rejected: Counter[str] = Counter(r.reason for r in columns.rejects)
        detail = _describe(columns.rejects[0]) if columns.rejects else None
        gateway_park = self._gateway_park.get(topic.gateway)
        n = len(columns)
        if gateway_park is None or gateway_park != self._park_code.get(topic.park):
            reason = UNKNOWN_GATEWAY if gateway_park is None else WRONG_PARK
            label = UNKNOWN_LABEL if gateway_park is None else topic.gateway
            if n:
                rejected[reason] += n
            return Admitted(
                gateway=label,
                readings=ReadingColumns.empty(),
                received=columns.received,
                rejected=rejected,
                detail=detail
                or f"gateway {topic.gateway!r} is not a registry gateway of park {topic.park!r}",
                topic=topic,
            )

        # A gateway sends the same meter ids in the same order again and again: the
        # registry verdict on the payload's distinct meter list is computed once.
        distinct, all_allowed, quantity_of = self._layout(topic.gateway, gateway_park, columns)
        if all_allowed and not columns.rejects:
            expected = quantity_of[columns.meter_idx]
            if not (expected != columns.quantity).any():  # the common case: all good
                return Admitted(
                    gateway=topic.gateway,
                    readings=ReadingColumns(distinct[columns.meter_idx], columns.ts, columns.value),
                    received=columns.received,
                    topic=topic,
                )
        meter = distinct[columns.meter_idx]
        known = meter >= 0
        safe = np.where(known, meter, 0)
        checks: list[tuple[str, npt.NDArray[np.bool_]]] = [
            (UNKNOWN_METER, ~known),
            (WRONG_GATEWAY, self._meter_gateway[safe] != self._gateway_code[topic.gateway]),
            (WRONG_PARK, self._meter_park[safe] != gateway_park),
            (QUANTITY_MISMATCH, self._meter_quantity[safe] != columns.quantity),
        ]
        ok = np.ones(n, dtype=bool)
        for reason, bad in checks:
            hit = bad & ok
            count = int(np.count_nonzero(hit))
            if count:
                rejected[reason] += count
                if detail is None:
                    detail = self._explain(reason, columns, int(np.argmax(hit)), topic)
                ok &= ~hit
        readings = ReadingColumns(meter, columns.ts, columns.value)
        if not ok.all():
            readings = readings.take(ok)
        return Admitted(
            gateway=topic.gateway,
            readings=readings,
            received=columns.received,
            rejected=rejected,
            detail=detail,
            topic=topic,
        )

    def _layout(
        self, gateway: str, gateway_park: int, columns: contract.Columns
    ) -> tuple[npt.NDArray[np.int32], bool, npt.NDArray[np.int32]]:
        """Codes of the distinct meters, whether all may come from ``gateway``, quantities."""
        key = (gateway, tuple(columns.meters))
        layout = self._layouts.get(key)
        if layout is None:
            code_of = self._meter_code.get
            distinct = np.array([code_of(m, -1) for m in key[1]], dtype=np.int32)
            known = distinct >= 0
            safe = np.where(known, distinct, 0)
            allowed = (
                known
                & (self._meter_gateway[safe] == self._gateway_code[gateway])
                & (self._meter_park[safe] == gateway_park)
            )
            quantity_of = np.where(known, self._meter_quantity[safe], -1).astype(np.int32)
            layout = (distinct, bool(allowed.all()), quantity_of)
            if len(self._layouts) >= _LAYOUTS_MAX:
                self._layouts.clear()
            self._layouts[key] = layout
        return layout

    def _explain(self, reason: str, columns: contract.Columns, i: int, topic: Topic) -> str:
        meter_id = columns.meters[int(columns.meter_idx[i])]
        if reason == UNKNOWN_METER:
            return f"meter {meter_id!r} is not in the registry"
        meter = self.registry.meters[meter_id]
        if reason == WRONG_GATEWAY:
            if meter.manual:
                return (
                    f"meter {meter_id!r} is read by hand (source manual), not by "
                    f"{topic.gateway!r}: its readings come from `smartpark import readings`"
                )
            return f"meter {meter_id!r} is read by {meter.gateway!r}, not {topic.gateway!r}"
        if reason == WRONG_PARK:
            park = self.registry.park_of_meter(meter_id)
            return f"meter {meter_id!r} is in park {park!r}, not {topic.park!r}"
        got = QUANTITIES[int(columns.quantity[i])].name
        return f"meter {meter_id!r} measures {meter.quantity}, not {got}"


def _rejected_whole(gateway: str, reason: str, detail: str) -> Admitted:
    return Admitted(
        gateway=gateway,
        readings=ReadingColumns.empty(),
        received=0,
        payload_error=reason,
        detail=detail,
    )


def _describe(rejection: contract.Rejection) -> str:
    return f"readings[{rejection.index}].{rejection.field}: {rejection.detail} ({rejection.reason})"
