"""Rule conditions as *segments*, computed for all subjects of a rule at once (numpy).

A segment says "for subject ``s``, from ``start`` to ``end`` the condition was true
(or false)". Two families:

* **periodic** (``pollutant_limit``, ``completeness``, ``rate_of_change``,
  ``kpi_threshold``, ``product_limit``): one segment per subject and closed period (local
  hours, or the KPI's period), true or false, known at the period's end. A period without
  data is false (a silent meter is the business of ``stale_meter``); a KPI period without
  a stored value has no segment.
* **month closes** (``dual_control_projection``): one segment per dual-control target
  and closed month, true when the year-end projection at the close exceeds the budget.
* **gaps** (``stale_meter``, ``gateway_offline``): a meter (or every meter of a
  gateway) without a reading for longer than its limit is true from
  ``last reading + limit`` until the next reading, which adds a zero-length false
  segment. A gap still running at the end of the window is true up to it (``open``).

The hourly ``pollutant_limit`` and ``completeness`` read the meters' 15-minute windows
(:func:`~analytics.windows.rollups.source.range_windows`: the store's rollups where current,
raw readings elsewhere), so they cost the same whatever the history.

Only the subjects that matter leave this module: those with a true segment, and those
the caller names as already alerting (so they can resolve).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics import periods
from smartpark.analytics.alerts import projections
from smartpark.analytics.alerts.rules import PRODUCT_LEVELS, Rule
from smartpark.analytics.dualcontrol.targets import BUDGETS
from smartpark.analytics.readings import gauges
from smartpark.analytics.readings.series import FloatArray, IntArray
from smartpark.analytics.windows.rollups.source import range_windows
from smartpark.core import quantities
from smartpark.core.registry import POLLUTANTS, Registry
from smartpark.store.base import ReadingColumns, Store

HOUR_MS: Final = 3_600_000
BoolArray = npt.NDArray[np.bool_]
IdxArray = npt.NDArray[np.intp]
ObjArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class Subjects:
    """What a rule watches: ``scope`` plus ids, each with its park (the grouping key of
    its alerts) and time zone; ``scopes``, when given, the scope of each subject instead
    (dual-control targets mix enterprises, parks, zones and regions)."""

    scope: str
    ids: tuple[str, ...]
    park: tuple[str, ...]
    timezone: tuple[str, ...]
    scopes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.ids)

    def key(self, k: int) -> tuple[str, str]:
        """(scope, id) of subject ``k``: its alert's key."""
        return (self.scopes[k] if self.scopes else self.scope, self.ids[k])


@dataclass(frozen=True)
class Segments:
    """Condition segments sorted by (subject, start, active); ``end`` exclusive.

    ``detail``, when given, holds per segment the rule's own event fields (a mapping, or
    None), sent with the firing it causes and the resolve it causes.
    """

    subject: IdxArray
    start: IntArray
    end: IntArray
    active: BoolArray
    value: FloatArray
    threshold: FloatArray
    detail: ObjArray | None = None

    @classmethod
    def empty(cls) -> Segments:
        z = np.zeros(0, np.int64)
        return cls(z.astype(np.intp), z, z, z.astype(np.bool_), z.astype(float), z.astype(float))

    @classmethod
    def concat(cls, parts: Sequence[Segments]) -> Segments:
        if not parts:
            return cls.empty()
        cat = np.concatenate
        detail = None
        if any(p.detail is not None for p in parts):
            detail = cat([p.details() for p in parts])
        seg = cls(
            cat([p.subject for p in parts]),
            cat([p.start for p in parts]),
            cat([p.end for p in parts]),
            cat([p.active for p in parts]),
            cat([p.value for p in parts]),
            cat([p.threshold for p in parts]),
            detail,
        )
        # Inactive before active at the same instant: a reading ends one gap first.
        order = np.lexsort((seg.active, seg.start, seg.subject))
        return seg.take(order)

    def take(self, index: IdxArray | BoolArray) -> Segments:
        return Segments(
            self.subject[index],
            self.start[index],
            self.end[index],
            self.active[index],
            self.value[index],
            self.threshold[index],
            None if self.detail is None else self.detail[index],
        )

    def details(self) -> ObjArray:
        """``detail``, or None for every segment."""
        if self.detail is not None:
            return self.detail
        return np.full(len(self), None, dtype=object)

    def __len__(self) -> int:
        return int(self.subject.size)

    def keep_subjects(self, wanted: IdxArray) -> Segments:
        """Segments of subjects with a true segment or listed in ``wanted``."""
        mask = np.zeros(int(self.subject.max(initial=-1)) + 1, np.bool_)
        mask[self.subject[self.active]] = True
        wanted = wanted[wanted < mask.size]
        mask[wanted] = True
        return self.take(mask[self.subject]) if len(self) else self


class RegistryArrays:
    """Registry facts as arrays indexed by meter code."""

    def __init__(self, registry: Registry) -> None:
        self.reg = registry
        self.meter_ids = registry.meter_ids
        meters = [registry.meters[m] for m in self.meter_ids]
        self.n = len(meters)
        self.quantity = np.array([m.quantity for m in meters], dtype=object)
        self.enterprise = np.array([m.enterprise for m in meters], dtype=object)
        self.park = np.array([registry.park_of_meter(m.id) for m in meters], dtype=object)
        self.gateway = np.array([m.gateway for m in meters], dtype=object)
        self.interval_ms = registry.meter_interval_s * 1000
        self.multiplier = registry.meter_multiplier
        self.is_counter = np.array(
            [quantities.BY_NAME[m.quantity].nature == "counter" for m in meters], np.bool_
        )
        self.o2_ref = np.array([np.nan if m.o2_ref is None else m.o2_ref for m in meters])
        # CEMS stacks: pollutant meter -> the O2 and flow gauges of its (enterprise, stack).
        self.partner_o2 = registry.stack_partner("o2")
        self.partner_flow = registry.stack_partner("flue_gas_flow")

    @cached_property
    def timezone(self) -> npt.NDArray[np.object_]:
        return np.array([self.reg.parks[p].timezone for p in self.park], dtype=object)

    def select(self, rule: Rule, quantities_: Sequence[str] | None = None) -> IdxArray:
        """Codes of the meters a rule applies to (filters and quantity), ascending."""
        reg = self.reg
        mask = np.ones(self.n, np.bool_)
        f = rule.filters
        if f.parks:
            wanted = [k for k, p in enumerate(reg.park_ids) if p in f.parks]
            mask &= np.isin(reg.meter_park, wanted)
        if f.enterprises:
            wanted = [k for k, e in enumerate(reg.enterprise_ids) if e in f.enterprises]
            mask &= np.isin(reg.meter_enterprise, wanted)
        if f.meters:
            mask &= np.isin(np.arange(self.n), [reg.meter_code[m] for m in f.meters])
        if quantities_ is not None:
            codes = [quantities.BY_NAME[q].code for q in quantities_]
            mask &= np.isin(reg.meter_quantity, codes)
        return np.flatnonzero(mask)

    def meter_subjects(self, codes: IdxArray) -> Subjects:
        return Subjects(
            "meter",
            tuple(self.meter_ids[c] for c in codes.tolist()),
            tuple(self.park[codes].tolist()),
            tuple(self.timezone[codes].tolist()),
        )


# ---------------------------------------------------------------------------------------
# Periods


def hour_ends_in(timezone: str, after_ms: int, until_ms: int) -> IntArray:
    """Boundaries of the local hours ending in ``(after_ms, until_ms]``, with the first start.

    ``out[k]..out[k+1]`` are consecutive hours; empty when none ends in the range.
    """
    bounds = periods.boundaries(timezone, "hour", after_ms - 2 * HOUR_MS, until_ms)
    ends = bounds[(bounds > after_ms) & (bounds <= until_ms)]
    if ends.size == 0:
        return ends
    first = bounds[np.searchsorted(bounds, ends[0]) - 1]
    return np.concatenate([[first], ends]).astype(np.int64)


def _periodic(
    values: FloatArray, active: BoolArray, bounds: IntArray, threshold: float | FloatArray
) -> Segments:
    """Subjects x periods matrices into segments (row-major: subject, then time)."""
    n_subj, n_per = values.shape
    subject = np.repeat(np.arange(n_subj, dtype=np.intp), n_per)
    start = np.tile(bounds[:-1], n_subj)
    end = np.tile(bounds[1:], n_subj)
    thr = np.broadcast_to(np.asarray(threshold, np.float64).reshape(-1, 1), (n_subj, n_per))
    return Segments(subject, start, end, active.ravel(), values.ravel(), thr.ravel().copy())


def _by_timezone(subjects: Subjects) -> dict[str, IdxArray]:
    tz = np.array(subjects.timezone, dtype=object)
    return {z: np.flatnonzero(tz == z) for z in sorted(set(subjects.timezone))}


def _remap(seg: Segments, rows: IdxArray) -> Segments:
    return Segments(rows[seg.subject], seg.start, seg.end, seg.active, seg.value, seg.threshold)


def _hourly(
    store: Store,
    arr: RegistryArrays,
    bounds: IntArray,
    wanted: npt.NDArray[np.int32],
    meters: IdxArray,
    field: str,
) -> FloatArray:
    """Per meter of ``meters`` and local hour of ``bounds``: the sum of a per-window
    quantity (analytics/windows/meter_windows.py) of its 15-minute windows, from the store's rollups
    where they are current and raw readings elsewhere (only ``wanted`` meters read)."""
    mw, _ = range_windows(store, arr.reg, int(bounds[0]), int(bounds[-1]), meters=wanted)
    gi = mw.grid.index(bounds, "hour boundary")
    per_window = getattr(mw, field)[meters].astype(np.float64)
    return np.add.reduceat(per_window[:, : gi[-1]], gi[:-1], axis=1)


def _read(store: Store, start_ms: int, end_ms: int, codes: IdxArray) -> ReadingColumns:
    if codes.size == 0 or end_ms <= start_ms:
        return ReadingColumns.empty()
    return store.read(start_ms, end_ms, codes.astype(np.int32))


# ---------------------------------------------------------------------------------------
# Periodic rules over local hours


def pollutant_limit(
    arr: RegistryArrays, store: Store, rule: Rule, after_ms: int, until_ms: int
) -> tuple[Subjects, Segments]:
    """Hourly time-weighted mean of the O2-corrected concentration above the limit.

    The same arithmetic as the ``*_exceed_h`` KPIs (:mod:`analytics.readings.emissions`).
    """
    codes = arr.select(rule, [rule.quantity] if rule.quantity else POLLUTANTS)
    subjects = arr.meter_subjects(codes)
    limits = np.array(
        [
            rule.limit
            if rule.limit is not None
            else arr.reg.parks[arr.park[c]].limits.get(arr.quantity[c], np.nan)
            for c in codes.tolist()
        ],
        np.float64,
    )
    parts = []
    for tz, rows in _by_timezone(subjects).items():
        bounds = hour_ends_in(tz, after_ms, until_ms)
        if bounds.size < 2:
            continue
        meters = codes[rows]
        partners = np.concatenate([arr.partner_o2[meters], arr.partner_flow[meters]])
        wanted = np.unique(np.concatenate([meters, partners[partners >= 0]])).astype(np.int32)
        integral = _hourly(store, arr, bounds, wanted, meters, "conc_integral")
        covered = _hourly(store, arr, bounds, wanted, meters, "conc_covered")
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(covered > 0, integral / covered, np.nan)
        limit = limits[rows][:, None]
        active = np.isfinite(mean) & (mean > limit)
        parts.append(_remap(_periodic(mean, active, bounds, limits[rows]), rows))
    return subjects, Segments.concat(parts)


def _group_subjects(arr: RegistryArrays, codes: IdxArray, scope: str) -> tuple[Subjects, IdxArray]:
    """Subjects at ``scope`` (meter, enterprise or park) and each meter's subject row."""
    if scope == "meter":
        return arr.meter_subjects(codes), np.arange(codes.size, dtype=np.intp)
    keys = arr.enterprise[codes] if scope == "enterprise" else arr.park[codes]
    ids, row = np.unique(keys.astype(str), return_inverse=True)
    parks = [arr.reg.enterprises[i].park if scope == "enterprise" else str(i) for i in ids.tolist()]
    tzs = [arr.reg.parks[p].timezone for p in parks]
    return Subjects(scope, tuple(ids.tolist()), tuple(parks), tuple(tzs)), row.astype(np.intp)


def completeness(
    arr: RegistryArrays, store: Store, rule: Rule, after_ms: int, until_ms: int
) -> tuple[Subjects, Segments]:
    """Received / expected samples per local hour (percent) below ``below``."""
    codes = arr.select(rule, [rule.quantity] if rule.quantity else None)
    subjects, row_of_meter = _group_subjects(arr, codes, rule.scope or "meter")
    threshold = 100.0 * float(rule.below or 0.0)
    parts = []
    tz_of_meter = arr.timezone[codes]
    for tz in sorted(set(tz_of_meter.tolist())):
        mrows = np.flatnonzero(tz_of_meter == tz)
        bounds = hour_ends_in(tz, after_ms, until_ms)
        if bounds.size < 2:
            continue
        meters = codes[mrows]
        got = _hourly(store, arr, bounds, meters.astype(np.int32), meters, "samples")
        expected = np.diff(bounds)[None, :] / arr.interval_ms[meters][:, None]
        # Sum per subject (meters of one subject share the time zone: it is the park's).
        sub_rows, sub_of = np.unique(row_of_meter[mrows], return_inverse=True)
        got_s = np.zeros((sub_rows.size, bounds.size - 1))
        exp_s = np.zeros_like(got_s)
        np.add.at(got_s, sub_of, np.minimum(got, expected))
        np.add.at(exp_s, sub_of, expected)
        pct = 100.0 * got_s / exp_s
        parts.append(_remap(_periodic(pct, pct < threshold, bounds, threshold), sub_rows))
    return subjects, Segments.concat(parts)


def rate_of_change(
    arr: RegistryArrays, store: Store, rule: Rule, after_ms: int, until_ms: int
) -> tuple[Subjects, Segments]:
    """Largest rise (or fall) per hour between consecutive readings, per local hour.

    ``rate = (v[i] - v[i-1]) / (t[i] - t[i-1])`` in canonical units per hour, counted in
    the hour of the later reading; counters are scaled by their multiplier.
    """
    codes = arr.select(rule, [rule.quantity] if rule.quantity else None)
    subjects = arr.meter_subjects(codes)
    parts = []
    for tz, rows in _by_timezone(subjects).items():
        bounds = hour_ends_in(tz, after_ms, until_ms)
        if bounds.size < 2:
            continue
        meters = codes[rows]
        margin = gauges.HOLD_INTERVALS * int(arr.interval_ms[meters].max())
        cols = _read(store, int(bounds[0]) - margin, int(bounds[-1]), meters)
        n_h = bounds.size - 1
        hi = np.full((meters.size, n_h), -np.inf)
        lo = np.full((meters.size, n_h), np.inf)
        if len(cols) > 1:
            m, t = cols.meter, cols.ts
            v = cols.value * np.where(arr.is_counter[m], arr.multiplier[m], 1.0)
            same = m[1:] == m[:-1]
            dt_h = (t[1:] - t[:-1]) / HOUR_MS
            with np.errstate(invalid="ignore", divide="ignore"):
                rate = np.where(dt_h > 0, (v[1:] - v[:-1]) / dt_h, np.nan)
            hour = np.searchsorted(bounds, t[1:], side="right") - 1
            ok = same & np.isfinite(rate) & (hour >= 0) & (hour < n_h)
            row_of = np.full(arr.n, -1, np.intp)
            row_of[meters] = np.arange(meters.size)
            r, h = row_of[m[1:][ok]], hour[ok]
            np.maximum.at(hi, (r, h), rate[ok])
            np.minimum.at(lo, (r, h), rate[ok])
        above = np.inf if rule.above is None else rule.above
        below = -np.inf if rule.below is None else rule.below
        over, under = hi > above, lo < below
        value = np.where(over, hi, np.where(under, lo, np.where(np.isfinite(hi), hi, np.nan)))
        threshold = np.where(over | (rule.below is None), above, below)
        seg = _periodic(value, over | under, bounds, 0.0)
        seg = Segments(seg.subject, seg.start, seg.end, seg.active, seg.value, threshold.ravel())
        parts.append(_remap(seg, rows))
    return subjects, Segments.concat(parts)


# ---------------------------------------------------------------------------------------
# Gap rules


def gaps(
    group: IdxArray,
    ts: IntArray,
    n_groups: int,
    limit_ms: IntArray,
    read_start_ms: int | IntArray,
    until_ms: int,
) -> Segments:
    """Silences longer than ``limit_ms[g]`` in readings sorted by (group, ts).

    The time before a group's first reading counts from ``read_start_ms`` (one instant,
    or one per group). Values are the silence in minutes, thresholds the limit in
    minutes.
    """
    start_of = np.broadcast_to(np.asarray(read_start_ms, np.int64), (n_groups,))
    counts = np.bincount(group, minlength=n_groups)
    stop = np.cumsum(counts)
    first = stop - counts
    has = counts > 0
    all_g = np.arange(n_groups, dtype=np.intp)
    lim = limit_ms.astype(np.int64)
    # Silence before the first reading (or over the whole range without one).
    lead_end = np.where(has, ts[np.minimum(first, max(ts.size - 1, 0))] if ts.size else 0, until_ms)
    lead = (lead_end - start_of) > lim
    # Silences between consecutive readings of a group.
    same = np.zeros(ts.size, np.bool_)
    if ts.size > 1:
        same[:-1] = group[1:] == group[:-1]
    gap = np.zeros(ts.size, np.int64)
    gap[:-1] = ts[1:] - ts[:-1]
    inner = same & (gap > lim[group])
    i = np.flatnonzero(inner)
    # Silence after the last reading, still running at ``until_ms``.
    last = np.maximum(stop - 1, 0)
    tail = has & ((until_ms - (ts[last] if ts.size else 0)) > lim)
    g_tail = all_g[tail]
    g_lead = all_g[lead]
    minutes = 60_000.0
    active = Segments(
        np.concatenate([g_lead, group[i], g_tail]).astype(np.intp),
        np.concatenate(
            [start_of[g_lead] + lim[g_lead], ts[i] + lim[group[i]], ts[last[g_tail]] + lim[g_tail]]
        ),
        np.concatenate([lead_end[g_lead], ts[i + 1], np.full(g_tail.size, until_ms, np.int64)]),
        np.ones(g_lead.size + i.size + g_tail.size, np.bool_),
        np.concatenate(
            [
                (lead_end[g_lead] - start_of[g_lead]) / minutes,
                gap[i] / minutes,
                (until_ms - ts[last[g_tail]]) / minutes,
            ]
        ),
        np.concatenate([lim[g_lead], lim[group[i]], lim[g_tail]]) / minutes,
    )
    # A reading ends a silence: zero-length false segments at every group's first
    # reading and at each reading that ends an inner gap.
    g_first = all_g[has]
    ends_at = np.concatenate([ts[first[g_first]], ts[i + 1]]) if ts.size else np.zeros(0, np.int64)
    end_groups = np.concatenate([g_first, group[i]]).astype(np.intp)
    inactive = Segments(
        end_groups,
        ends_at,
        ends_at,
        np.zeros(end_groups.size, np.bool_),
        np.full(end_groups.size, np.nan),
        lim[end_groups] / minutes,
    )
    return Segments.concat([active, inactive])


def stale_meter(
    arr: RegistryArrays, store: Store, rule: Rule, after_ms: int, until_ms: int
) -> tuple[Subjects, Segments]:
    codes = arr.select(rule, [rule.quantity] if rule.quantity else None)
    subjects = arr.meter_subjects(codes)
    limit = int(rule.intervals or 1) * arr.interval_ms[codes]
    # One read per distinct limit, each reaching back just that far: a daily meter's
    # five-day lookback must not drag five days of every minute meter along.
    parts = [
        _read(store, after_ms - int(lim), until_ms, codes[limit == lim])
        for lim in np.unique(limit).tolist()
    ]
    parts = [p for p in parts if len(p)]
    if len(parts) > 1:
        cat = ReadingColumns(
            np.concatenate([p.meter for p in parts]),
            np.concatenate([p.ts for p in parts]),
            np.concatenate([p.value for p in parts]),
        )
        cols = cat.take(np.argsort(cat.meter, kind="stable"))
    else:
        cols = parts[0] if parts else ReadingColumns.empty()
    row_of = np.full(arr.n, -1, np.intp)
    row_of[codes] = np.arange(codes.size)
    seg = gaps(row_of[cols.meter], cols.ts, codes.size, limit, after_ms - limit, until_ms)
    return subjects, seg


def gateway_offline(
    arr: RegistryArrays, store: Store, rule: Rule, after_ms: int, until_ms: int
) -> tuple[Subjects, Segments]:
    """A gateway none of whose meters sent a reading for ``minutes``."""
    reg = arr.reg
    codes = arr.select(rule)
    codes = codes[reg.meter_gateway[codes] >= 0]  # meters read by hand have no gateway
    gw_codes = np.unique(reg.meter_gateway[codes])
    gw_ids = [reg.gateway_ids[g] for g in gw_codes.tolist()]
    parks = tuple(reg.gateways[g].park for g in gw_ids)
    subjects = Subjects(
        "gateway", tuple(gw_ids), parks, tuple(reg.parks[p].timezone for p in parks)
    )
    limit_ms = round(float(rule.minutes or 0.0) * 60_000)
    # All meters of the selected gateways speak for the gateway.
    row_of_gw = np.full(len(reg.gateway_ids), -1, np.intp)
    row_of_gw[gw_codes] = np.arange(gw_codes.size)
    meter_gw = np.where(reg.meter_gateway >= 0, row_of_gw[reg.meter_gateway], -1)
    all_codes = np.flatnonzero(meter_gw >= 0)
    read_start = after_ms - limit_ms
    cols = _read(store, read_start, until_ms, all_codes)
    group = meter_gw[cols.meter]
    order = np.lexsort((cols.ts, group))
    limits = np.full(len(gw_ids), limit_ms, np.int64)
    seg = gaps(group[order], cols.ts[order], len(gw_ids), limits, read_start, until_ms)
    return subjects, seg


# ---------------------------------------------------------------------------------------
# KPI rules


def kpi_subjects(reg: Registry, rule: Rule) -> Subjects:
    f = rule.filters
    if rule.scope == "enterprise":
        ids = [
            e
            for e in reg.enterprise_ids
            if (not f.enterprises or e in f.enterprises)
            and (not f.parks or reg.enterprises[e].park in f.parks)
        ]
        parks = [reg.enterprises[e].park for e in ids]
        tzs = tuple(reg.parks[p].timezone for p in parks)
        return Subjects("enterprise", tuple(ids), tuple(parks), tzs)
    if rule.scope == "park":
        wanted = set(f.parks) | {reg.enterprises[e].park for e in f.enterprises}
        ids = [p for p in reg.park_ids if not wanted or p in wanted]
        return Subjects("park", tuple(ids), tuple(ids), tuple(reg.parks[p].timezone for p in ids))
    wanted_parks = set(f.parks) | {reg.enterprises[e].park for e in f.enterprises}
    zones = {reg.parks[p].zone for p in wanted_parks}
    ids = [z for z in reg.zone_ids if not zones or z in zones]
    tzs = tuple(reg.zones[z].timezone for z in ids)
    # Zone alerts group by zone (the "park" slot is the grouping key).
    return Subjects("zone", tuple(ids), tuple(ids), tzs)


_LONGEST_PERIOD_MS: Final = {"hour": HOUR_MS, "day": 25 * HOUR_MS, "month": 32 * 24 * HOUR_MS}


@dataclass(frozen=True)
class _Ended:
    """A stored KPI value of a subject (its row in :class:`Subjects`) whose period ended."""

    subject: int
    kpi: str
    start_ms: int
    end_ms: int
    value: float


def _ended_kpi_rows(
    store: Store,
    subjects: Subjects,
    period_name: str,
    kpis: Sequence[str],
    after_ms: int,
    until_ms: int,
) -> list[_Ended]:
    """The stored ``kpis`` of ``subjects`` (at their scope) whose ``period_name`` period, in
    the subject's time zone, ended in ``(after_ms, until_ms]``."""
    if not subjects.ids:
        return []
    period = periods.parse_period(period_name)
    row_of = {ident: k for k, ident in enumerate(subjects.ids)}
    rows = store.read_kpis(
        after_ms - _LONGEST_PERIOD_MS[period],
        until_ms,
        scope=subjects.scope,  # type: ignore[arg-type]
        period=period,
        kpis=kpis,
    )
    out = []
    for row in rows:
        k = row_of.get(row.id)
        if row.kpi not in kpis or k is None:
            continue
        bounds = periods.boundaries(
            subjects.timezone[k], period, row.start_ms, row.start_ms + _LONGEST_PERIOD_MS[period]
        )
        if bounds.size < 2 or bounds[0] != row.start_ms:
            continue
        row_end = int(bounds[1])
        if after_ms < row_end <= until_ms:
            out.append(_Ended(k, row.kpi, row.start_ms, row_end, row.value))
    return out


def kpi_threshold(
    arr: RegistryArrays, store: Store, rule: Rule, after_ms: int, until_ms: int
) -> tuple[Subjects, Segments]:
    """KPI rows of the rule's scope and period whose period ended in ``(after, until]``."""
    subjects = kpi_subjects(arr.reg, rule)
    kpis = [rule.kpi] if rule.kpi else []
    rows = _ended_kpi_rows(store, subjects, rule.period or "day", kpis, after_ms, until_ms)
    subject = [r.subject for r in rows]
    v = np.array([r.value for r in rows], np.float64)
    above = np.full(v.shape, np.inf if rule.above is None else rule.above)
    below = np.full(v.shape, -np.inf if rule.below is None else rule.below)
    if rule.target is not None and rule.kpi is not None:
        # The park's target for this KPI; a park without one never alerts.
        line = np.array(
            [arr.reg.parks[subjects.ids[k]].targets.get(rule.kpi, np.nan) for k in subject]
        )
        if rule.target == "above":
            above = np.where(np.isnan(line), np.inf, line)
        else:
            below = np.where(np.isnan(line), -np.inf, line)
    over, under = v > above, v < below
    threshold = np.where(over | ~np.isfinite(below), above, below)
    seg = Segments(
        np.array(subject, np.intp),
        np.array([r.start_ms for r in rows], np.int64),
        np.array([r.end_ms for r in rows], np.int64),
        over | under,
        v,
        threshold.astype(np.float64),
    )
    return subjects, Segments.concat([seg])


# ---------------------------------------------------------------------------------------
# Product rules


def product_limit(
    arr: RegistryArrays, store: Store, rule: Rule, after_ms: int, until_ms: int
) -> tuple[Subjects, Segments]:
    """Products whose graded unit value (``benchmark_value``) of a closed period is worse
    than level ``level`` (``benchmark_level`` above it): the product KPI rows
    (analytics/products/unit_energy.py) whose period ended in ``(after, until]``.

    The threshold is the product's level ``level`` corrected for the plant (level 3: its
    ``limit_value``). A period without output has no KPI rows (NaN is not stored): it
    neither fires nor resolves.
    """
    reg = arr.reg
    ids = rule.filters.products_of(reg)
    parks = tuple(reg.park_of_product(p) for p in ids)
    subjects = Subjects("product", ids, parks, tuple(reg.parks[p].timezone for p in parks))
    kpis = ("benchmark_value", "benchmark_level")
    rows = _ended_kpi_rows(store, subjects, rule.period or "month", kpis, after_ms, until_ms)
    periods_: dict[tuple[int, int], dict[str, float]] = {}
    end_of: dict[tuple[int, int], int] = {}
    for r in rows:
        periods_.setdefault((r.subject, r.start_ms), {})[r.kpi] = r.value
        end_of[(r.subject, r.start_ms)] = r.end_ms
    keys = [key for key, got in periods_.items() if len(got) == len(kpis)]
    level = rule.level or PRODUCT_LEVELS[-1]
    bound = [
        reg.products[p].limit.corrected(reg.products[p].inputs)[level - 1] for p in subjects.ids
    ]
    seg = Segments(
        np.array([k for k, _ in keys], np.intp),
        np.array([s for _, s in keys], np.int64),
        np.array([end_of[key] for key in keys], np.int64),
        np.array([periods_[key]["benchmark_level"] > level for key in keys], np.bool_),
        np.array([periods_[key]["benchmark_value"] for key in keys], np.float64),
        np.array([bound[k] for k, _ in keys], np.float64),
    )
    return subjects, Segments.concat([seg])


# ---------------------------------------------------------------------------------------
# Dual-control rules


def dual_control_projection(
    arr: RegistryArrays, store: Store, rule: Rule, after_ms: int, until_ms: int
) -> tuple[Subjects, Segments]:
    """Dual-control targets whose year-end projection, at the close of a month, exceeds
    the budget by more than ``margin`` % (:mod:`~.projections`): one segment per target
    and closed month, ``value`` the projection, ``threshold`` the line
    ``budget × (1 + margin / 100)``, and the year, budget, projection, method and gap as
    the segment's detail. A year without a target setting the budget is false."""
    watched = projections.watched(arr.reg, rule)
    subjects = Subjects(
        "target",
        tuple(w.id for w in watched),
        tuple(w.park for w in watched),
        tuple(w.timezone for w in watched),
        scopes=tuple(w.scope for w in watched),
    )
    got = projections.closes(store, arr.reg, rule, watched, after_ms, until_ms)
    factor = 1 + float(rule.margin or 0.0) / 100
    line = np.array([np.nan if c.budget is None else c.budget * factor for c in got])
    value = np.array([np.nan if c.projection is None else c.projection for c in got])
    detail = np.empty(len(got), dtype=object)
    for i, c in enumerate(got):
        gap = None if c.budget is None or c.projection is None else c.projection - c.budget
        detail[i] = {
            "year": c.year,
            "budget": c.budget,
            "projection": c.projection,
            "method": c.method,
            "gap": gap,
        }
    seg = Segments(
        np.array([c.subject for c in got], np.intp),
        np.array([c.start_ms for c in got], np.int64),
        np.array([c.end_ms for c in got], np.int64),
        np.isfinite(line) & (value > line),
        value.astype(np.float64),
        line.astype(np.float64),
        detail,
    )
    return subjects, Segments.concat([seg])


CONDITIONS: Final = {
    "pollutant_limit": pollutant_limit,
    "completeness": completeness,
    "rate_of_change": rate_of_change,
    "stale_meter": stale_meter,
    "gateway_offline": gateway_offline,
    "kpi_threshold": kpi_threshold,
    "product_limit": product_limit,
    "dual_control_projection": dual_control_projection,
}
PERIODIC_HOURLY: Final = ("pollutant_limit", "completeness", "rate_of_change")
KPI_KINDS: Final = ("kpi_threshold", "product_limit")  # evaluated on stored KPI rows


def unit_of(arr: RegistryArrays, rule: Rule, subject: str | None = None) -> str:
    """The unit of a rule's ``value`` and ``threshold`` (of ``subject`` where it varies:
    a product's standard grades kgce/t or kWh/t)."""
    if rule.kind == "pollutant_limit":
        return "mg/m3"
    if rule.kind == "completeness":
        return "%"
    if rule.kind in ("stale_meter", "gateway_offline"):
        return "min"
    if rule.kind == "rate_of_change" and rule.quantity:
        return f"{quantities.BY_NAME[rule.quantity].canonical_unit}/h"
    if rule.kind == "kpi_threshold" and rule.kpi:
        from smartpark.analytics.kpis.catalogue import unit

        return unit(rule.kpi)
    if rule.kind == "dual_control_projection" and rule.budget:
        return BUDGETS[rule.budget]
    product = arr.reg.products.get(subject or "")
    if rule.kind == "product_limit" and product is not None:
        return product.limit.unit
    return ""
