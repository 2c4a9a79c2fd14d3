"""A small registry and column builders shared by the store tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from smartpark.core import registry
from smartpark.core.registry import Registry
from smartpark.store.base import ReadingColumns

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z, epoch ms


def registry_doc(extra_meters: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    meters: dict[str, dict[str, Any]] = {
        "a-elec": {"enterprise": "ent-a", "gateway": "gw-a", "quantity": "electricity_import"},
        "a-gas": {"enterprise": "ent-a", "gateway": "gw-a", "quantity": "natural_gas"},
        "a-water": {"enterprise": "ent-a", "gateway": "gw-a", "quantity": "fresh_water"},
        "b-nox": {"enterprise": "ent-b", "gateway": "gw-b", "quantity": "nox"},
        "b-output": {"enterprise": "ent-b", "gateway": "gw-b", "quantity": "output_value"},
        "b-waste": {"enterprise": "ent-b", "gateway": "gw-b", "quantity": "solid_waste_generated"},
    }
    meters.update(extra_meters or {})
    return {
        "zone": {"z": {"name": "Zone"}},
        "park": {
            "park-1": {"zone": "z", "name": "Park 1"},
            "park-2": {"zone": "z", "name": "Park 2"},
        },
        "enterprise": {
            "ent-a": {"park": "park-1", "name": "A"},
            "ent-b": {"park": "park-2", "name": "B"},
        },
        "gateway": {"gw-a": {"park": "park-1"}, "gw-b": {"park": "park-2"}},
        "meter": meters,
    }


REGISTRY: Registry = registry.from_dict(registry_doc())


def code(meter: str, reg: Registry = REGISTRY) -> int:
    return reg.meter_code[meter]


def columns(points: list[tuple[str, int, float]], reg: Registry = REGISTRY) -> ReadingColumns:
    """Columns from (meter id, ts, value) triples, in the given order."""
    if not points:
        return ReadingColumns.empty()
    return ReadingColumns(
        np.array([reg.meter_code[m] for m, _, _ in points], dtype=np.int32),
        np.array([t for _, t, _ in points], dtype=np.int64),
        np.array([v for _, _, v in points], dtype=np.float64),
    )


def triples(readings: ReadingColumns, reg: Registry = REGISTRY) -> list[tuple[str, int, float]]:
    """(meter id, ts, value) triples of columns, in column order."""
    return [
        (reg.meter_ids[m], t, v)
        for m, t, v in zip(
            readings.meter.tolist(), readings.ts.tolist(), readings.value.tolist(), strict=True
        )
    ]


def expected(
    points: list[tuple[str, int, float]], reg: Registry = REGISTRY
) -> list[tuple[str, int, float]]:
    """What a read returns: last write per (meter, ts), sorted by (meter code, ts)."""
    latest = {(m, t): v for m, t, v in points}
    return sorted(
        ((m, t, v) for (m, t), v in latest.items()), key=lambda p: (reg.meter_code[p[0]], p[1])
    )
