"""What the API and the web view answer, read from the store, the alert state and land use.

Every function takes the caller's :class:`~smartpark.serve.scopes.Visible` and returns
plain records (str, int, float, None) filtered by it. Names and units are those of
docs/kpis.md (:data:`~smartpark.analytics.kpis.catalogue.KPIS`); times are RFC 3339 UTC.
"""

from __future__ import annotations

import asyncio
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from smartpark.analytics.alerts.state import AlertState
from smartpark.analytics.alerts.state import default_path as alerts_default_path
from smartpark.analytics.kpis import targets
from smartpark.analytics.kpis.catalogue import ALL_KPIS, KPIS, PRODUCT_KPIS
from smartpark.analytics.landuse import job as landuse_job
from smartpark.analytics.landuse import records as landuse_records
from smartpark.analytics.landuse.analysis import Analysis
from smartpark.core.registry import Registry
from smartpark.core.timestamps import format_rfc3339
from smartpark.core.urls import StoreUrl
from smartpark.serve import products
from smartpark.serve.scopes import Visible
from smartpark.store.base import Period, Scope, Store
from smartpark.store.rollups import NO_TS

MAX_KPI_ROWS: Final = 200_000
HOUR_MS: Final = 3_600_000
_UNITS: Final = {name: spec.unit for name, spec in KPIS.items()}


@dataclass
class Sources:
    """The store, registry and files one server reads; land use cached per year."""

    registry: Registry
    registry_path: Path
    store: Store
    store_url: StoreUrl
    alerts_path: Path | None = None  # default: beside the store
    landuse_monthly: Path | None = None  # monthly CSV for land use (default: the store)
    _landuse: dict[int, Analysis] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # PDF reports printed at once (each a headless Chromium)
    pdf_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))

    @property
    def alert_state(self) -> Path:
        return self.alerts_path or alerts_default_path(str(self.store_url))

    def analysis(self, year: int) -> Analysis:
        with self._lock:
            if year not in self._landuse:
                request = landuse_job.Request(
                    registry=self.registry_path,
                    year=year,
                    store=self.store_url,
                    monthly=self.landuse_monthly,
                )
                self._landuse[year] = landuse_job.run(request).analysis
            return self._landuse[year]


def timezone_of(reg: Registry, kind: str, ident: str) -> str:
    """The time zone dates of ``kind:ident`` (a zone, region, park, enterprise, meter or
    product) are read in: its own, or its park's."""
    if kind == "product":
        return products.timezone(reg, ident)
    if kind == "zone":
        return reg.zones[ident].timezone
    if kind == "region":
        return reg.regions[ident].timezone
    if kind == "meter":
        ident, kind = reg.meters[ident].enterprise, "enterprise"
    park = ident if kind == "park" else reg.enterprises[ident].park
    return reg.parks[park].timezone


def _num(value: float) -> float | None:
    return value if math.isfinite(value) else None


def kpi_rows(
    src: Sources,
    scope: Scope,
    ident: str,
    period: Period,
    start_ms: int,
    end_ms: int,
    kpis: tuple[str, ...],
) -> list[dict[str, Any]]:
    """The stored KPI rows of one subject (caller already allowed), sorted by kpi, start.

    The store reads just this subject's rows (and ``kpis``, if any); a period start is
    formatted once per reply, not once per KPI. A product's graded value, limit, gap and
    output are in its own units (:func:`~smartpark.serve.products.unit_of`).
    """
    units = _UNITS
    if scope == "product":
        product = src.registry.products[ident]
        units = {k: products.unit_of(product, k) for k in PRODUCT_KPIS}
    rows = src.store.read_kpis(start_ms, end_ms, scope, period, ids=(ident,), kpis=kpis or None)
    starts: dict[int, str] = {}
    out: list[dict[str, Any]] = []
    for r in rows[: MAX_KPI_ROWS + 1]:
        start = starts.get(r.start_ms)
        if start is None:
            start = starts[r.start_ms] = format_rfc3339(r.start_ms)
        out.append(
            {
                "scope": r.scope,
                "id": r.id,
                "period": r.period,
                "kpi": r.kpi,
                "start": start,
                "value": r.value if math.isfinite(r.value) else None,
                "unit": units.get(r.kpi, ""),
            }
        )
    return out


def line_of(kpi: str) -> dict[str, Any] | None:
    """The zero-carbon reference line of ``kpi`` (docs/kpis.md), if it has one."""
    if kpi == "carbon_per_energy":
        return {
            "side": "below",
            "value": targets.CARBON_PER_ENERGY_LINE,
            "large_park_value": targets.CARBON_PER_ENERGY_LINE_LARGE,
            "large_park_tce": targets.LARGE_PARK_TCE,
        }
    if kpi in targets.GUIDING_LINES:
        side, value = targets.GUIDING_LINES[kpi]
        return {"side": side, "value": value}
    return None


def catalogue() -> list[dict[str, Any]]:
    """Every KPI of a scope, then every KPI of a product (group ``product``)."""
    return [
        {
            "kpi": s.name,
            "unit": s.unit,
            "group": s.group,
            "description": s.description,
            "line": line_of(s.name),
        }
        for s in ALL_KPIS.values()
    ]


def tree(reg: Registry, vis: Visible) -> dict[str, Any]:
    """The registry as zone → park → enterprise → meter, gateways per park; visible only."""
    parks_of: dict[str, list[dict[str, Any]]] = {}
    for p in sorted(reg.parks.values(), key=lambda p: p.id):
        if not vis.allows("park", p.id) and not any(
            vis.allows("enterprise", e.id) for e in reg.enterprises.values() if e.park == p.id
        ):
            continue
        enterprises = [
            {
                "id": e.id,
                "name": e.name,
                "meters": [
                    {"id": m.id, "quantity": m.quantity, "gateway": m.gateway, "role": m.role}
                    for m in sorted(reg.meters.values(), key=lambda m: m.id)
                    if m.enterprise == e.id and vis.allows("meter", m.id)
                ],
            }
            for e in sorted(reg.enterprises.values(), key=lambda e: e.id)
            if e.park == p.id and vis.allows("enterprise", e.id)
        ]
        gateways = [
            {"id": g.id, "name": g.name}
            for g in sorted(reg.gateways.values(), key=lambda g: g.id)
            if g.park == p.id and vis.allows("gateway", g.id)
        ]
        full = vis.allows("park", p.id)
        parks_of.setdefault(p.zone, []).append(
            {
                "id": p.id,
                "name": p.name if full else "",
                "timezone": p.timezone,
                "visible": full,
                "enterprises": enterprises,
                "gateways": gateways,
            }
        )
    zones = []
    for zone_id, parks in sorted(parks_of.items()):
        full = vis.allows("zone", zone_id)
        zone = reg.zones[zone_id]
        zones.append(
            {
                "id": zone_id if full else None,
                "name": zone.name if full else "",
                "visible": full,
                "parks": parks,
            }
        )
    return {"zones": zones}


def alerts(src: Sources, vis: Visible, history: bool) -> list[dict[str, Any]]:
    """Firing and pending alerts (or, with ``history``, every event) the caller may see."""
    path = src.alert_state
    if not path.exists():
        return []
    with AlertState(path) as st:
        if history:
            return [e for e in st.events() if vis.allows(str(e["scope"]), str(e["id"]))]
        return [
            {
                "rule": a.rule,
                "scope": a.scope,
                "id": a.id,
                "status": a.status,
                "since": format_rfc3339(a.since_ms),
                "clearing": a.clearing_ms is not None,
                "value": a.value,
                "threshold": a.threshold,
                "fingerprint": a.fingerprint,
            }
            for a in st.all_active()
            if vis.allows(a.scope, a.id)
        ]


Freshness = Literal["ok", "late", "never"]
LATE_AFTER_INTERVALS: Final = 3  # late: the last reading is older than this many intervals


def freshness(src: Sources, vis: Visible, at_ms: int) -> list[dict[str, Any]]:
    """Whether each visible meter and gateway reported as expected, as of ``at_ms``.

    One record per meter, then per gateway: ``status`` is "ok" (the last reading at or
    before ``at_ms`` is at most :data:`LATE_AFTER_INTERVALS` of the meter's own
    ``interval_s`` old), "late" (older) or "never" (no reading at all in the store up to
    ``at_ms``, however old: :func:`_last_readings`); ``last`` (RFC 3339 UTC, None
    for never), ``age_s``, ``interval_s`` and ``stale`` (status is not "ok", kept for
    the API's earlier clients). Meters read by hand follow the same rule with their own
    (monthly) interval. A gateway is as fresh as its freshest visible meter (ok when
    any of them is on time); its ``last`` is the newest of their readings and its
    ``interval_s`` the smallest of their intervals.
    """
    reg = src.registry
    codes = np.array(sorted(reg.meter_code[m] for m in vis.ids["meter"]), dtype=np.int32)
    last = {reg.meter_ids[c]: ts for c, ts in _last_readings(src.store, codes, at_ms)}
    meters: list[dict[str, Any]] = []
    # each visible gateway's visible meters: (last reading or None, interval_s)
    of_gateway: dict[str, list[tuple[int | None, int]]] = {
        g: [] for g in sorted(vis.ids["gateway"])
    }
    for m in sorted(vis.ids["meter"]):
        meter, ts = reg.meters[m], last.get(m)
        meters.append(_fresh("meter", m, ts, at_ms, meter.interval_s))
        if meter.gateway in of_gateway:
            of_gateway[meter.gateway].append((ts, meter.interval_s))
    return meters + [_gateway(g, mine, at_ms) for g, mine in of_gateway.items()]


def _last_readings(store: Store, codes: npt.NDArray[np.int32], at_ms: int) -> list[tuple[int, int]]:
    """(meter code, ts) of the last reading at or before ``at_ms`` of each of ``codes``
    that has one; a meter without any is left out.

    The store's reading spans (:meth:`~smartpark.store.base.Store.reading_span`, no
    reading read) decide most meters at once: one with no reading, or whose first is
    after ``at_ms``, has none; one whose last reading is at or before ``at_ms`` has that.
    Only a meter with readings on both sides of ``at_ms`` (``at_ms`` in the past) is
    searched for: newest first, in slices that double (an hour, then two, four...), each
    only for the meters not found yet, down to the earliest of their first readings, so
    the search ends with every one of them found.
    """
    first, last = store.reading_span(codes)
    reported = (last != NO_TS) & (first <= at_ms)
    settled = reported & (last <= at_ms)
    found = list(zip(codes[settled].tolist(), last[settled].tolist(), strict=True))
    straddling = reported & ~settled
    codes = codes[straddling]
    earliest = int(first[straddling].min(initial=at_ms))
    end, span = at_ms + 1, HOUR_MS
    while codes.size and end > earliest:
        start = max(earliest, end - span)
        cols = store.read(start, end, codes)
        if len(cols):
            ends = np.flatnonzero(np.diff(cols.meter, append=np.int32(-1)))
            found += zip(cols.meter[ends].tolist(), cols.ts[ends].tolist(), strict=True)
            codes = codes[~np.isin(codes, cols.meter[ends])]
        end, span = start, span * 2
    return found


def _age_s(ts: int | None, at_ms: int) -> float | None:
    return None if ts is None else (at_ms - ts) / 1000.0


def _status(age_s: float | None, interval_s: int) -> Freshness:
    if age_s is None:
        return "never"
    return "ok" if age_s <= LATE_AFTER_INTERVALS * interval_s else "late"


def _fresh(kind: str, ident: str, ts: int | None, at_ms: int, interval_s: int) -> dict[str, Any]:
    """The record of a meter whose last reading is at ``ts`` (None: never)."""
    age = _age_s(ts, at_ms)
    return _record(kind, ident, _status(age, interval_s), ts, age, interval_s)


_RANK: Final[dict[Freshness, int]] = {"ok": 0, "late": 1, "never": 2}


def _gateway(ident: str, meters: list[tuple[int | None, int]], at_ms: int) -> dict[str, Any]:
    """A gateway's record from its meters' (last reading, interval_s): the status of the
    freshest of them (ok, else late, else never), the newest reading, the smallest
    interval (None: no meters)."""
    statuses = [_status(_age_s(ts, at_ms), interval) for ts, interval in meters]
    status: Freshness = min(statuses, key=_RANK.__getitem__, default="never")
    newest = max((ts for ts, _ in meters if ts is not None), default=None)
    interval = min((interval for _, interval in meters), default=None)
    return _record("gateway", ident, status, newest, _age_s(newest, at_ms), interval)


def _record(
    kind: str,
    ident: str,
    status: Freshness,
    ts: int | None,
    age_s: float | None,
    interval_s: int | None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "id": ident,
        "status": status,
        "last": None if ts is None else format_rfc3339(ts),
        "age_s": age_s,
        "interval_s": interval_s,
        "stale": status != "ok",
    }


def landuse(src: Sources, vis: Visible, year: int) -> dict[str, Any]:
    """Grades and idle flags of the visible enterprises, park/zone land-use KPIs."""
    analysis = src.analysis(year)
    enterprises = [
        r
        for r in landuse_records.enterprises(analysis)
        if vis.allows("enterprise", r["enterprise"])
    ]
    flags = [
        f for f in landuse_records.flags(analysis) if vis.allows("enterprise", f["enterprise"])
    ]
    kpis = [
        {
            "scope": r.scope,
            "id": r.id,
            "period": r.period,
            "kpi": r.kpi,
            "start": format_rfc3339(r.start_ms),
            "value": _num(r.value),
        }
        for r in analysis.year_rows()
        if vis.allows(r.scope, r.id)
    ]
    return {"year": year, "enterprises": enterprises, "flags": flags, "kpis": kpis}
