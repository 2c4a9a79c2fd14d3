"""Small registries and readings for the analytics tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from smartpark.analytics import periods
from smartpark.core import registry
from smartpark.core.registry import Registry
from smartpark.store.base import ReadingColumns

TZ = "Asia/Shanghai"
DAY_MS = 86_400_000
HOUR_MS = 3_600_000


def park_registry(
    meters: Mapping[str, Mapping[str, Any]],
    *,
    park: Mapping[str, Any] | None = None,
    timezone: str = TZ,
    enterprises: Iterable[str] = ("e1",),
    extra_parks: Mapping[str, Mapping[str, Any]] | None = None,
    enterprise_park: Mapping[str, str] | None = None,
) -> Registry:
    """Zone z1 > park p1 (+ extra parks) > enterprises; meters default to enterprise e1."""
    parks: dict[str, Any] = {"p1": {"zone": "z1", "name": "P1", **(park or {})}}
    for pid, table in (extra_parks or {}).items():
        parks[pid] = {"zone": "z1", "name": pid, **table}
    ents = {e: {"park": (enterprise_park or {}).get(e, "p1"), "name": e} for e in enterprises}
    gateways = {f"g-{e}": {"park": t["park"]} for e, t in ents.items()}
    doc: dict[str, Any] = {
        "zone": {"z1": {"name": "Z1", "timezone": timezone}},
        "park": parks,
        "enterprise": ents,
        "gateway": gateways,
        "meter": {
            mid: {"enterprise": "e1", **dict(table)}
            | {"gateway": f"g-{table.get('enterprise', 'e1')}"}
            for mid, table in meters.items()
        },
    }
    return registry.from_dict(doc)


def day_ms(year: int, month: int, day: int, timezone: str = TZ) -> int:
    return periods.local_midnight_ms(dt.date(year, month, day), timezone)


def columns(reg: Registry, rows: Iterable[tuple[str, int, float]]) -> ReadingColumns:
    """Readings from ``(meter id, ts ms, value)`` tuples (any order)."""
    rows = list(rows)
    if not rows:
        return ReadingColumns.empty()
    code = reg.meter_code
    return ReadingColumns(
        np.array([code[m] for m, _, _ in rows], np.int32),
        np.array([t for _, t, _ in rows], np.int64),
        np.array([v for _, _, v in rows], np.float64),
    )


def regular(
    meter: str, start_ms: int, end_ms: int, step_ms: int, values: Iterable[float]
) -> list[tuple[str, int, float]]:
    ts = range(start_ms, end_ms, step_ms)
    return [(meter, t, float(v)) for t, v in zip(ts, values, strict=False)]
