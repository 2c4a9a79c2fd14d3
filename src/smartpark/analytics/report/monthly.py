"""The monthly report of a zone or park: what a management committee sends upward.

:func:`build` gathers one month (docs/report.md): the month's KPI rows of the scope, its
enterprises and its days from the store (or, when the store has no month rows, the KPIs
computed from the readings with :func:`~analytics.jobs.kpi_job`), the same month last
year, the zero-carbon line (:mod:`analytics.kpis.targets`), each stack's pollutants from the
month's readings (:mod:`analytics.windows.stacks`), land-use grades and idle flags
(:mod:`analytics.landuse.job`), the alerts fired (the alert state file) and the scope's
products graded against their limit standards (:mod:`analytics.report.products`) and
the dual-control targets of its zone, parks and enterprises planned against actual
(:mod:`analytics.report.dualcontrol`). What is
missing is collected as it is met and shown first, before any number. :func:`html`
lays it out with the report renderer (:mod:`analytics.report.html`); the .xlsx workbook
(:mod:`analytics.report.xlsx`) takes its rows from the same builders (:func:`headline`,
:func:`tou`, :func:`carbon_text`, ...), with the numbers kept as numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np

from smartpark.analytics.alerts.state import AlertState
from smartpark.analytics.days.source import range_days
from smartpark.analytics.days.stacks import StackTotals, stack_totals_of
from smartpark.analytics.dualcontrol.planrows import PLAN_KPI
from smartpark.analytics.dualcontrol.scoped import as_of_after
from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.kpis import targets
from smartpark.analytics.kpis.catalogue import KPIS
from smartpark.analytics.kpis.compute import SCOPES
from smartpark.analytics.kpis.table import COMPLETE_AT
from smartpark.analytics.landuse import job as landuse_job
from smartpark.analytics.periods import from_ms, local_midnight_ms
from smartpark.analytics.report import dualcontrol as dualcontrol_section
from smartpark.analytics.report import products as product_section
from smartpark.analytics.report import savings as savings_section
from smartpark.analytics.report.dualcontrol import DualControl
from smartpark.analytics.report.html import Chart, Section, Series, Table, render
from smartpark.analytics.report.html import number as _num
from smartpark.analytics.report.labels import LABELS, check_lang, name
from smartpark.analytics.report.products import Products
from smartpark.analytics.report.savings import ProjectSavings
from smartpark.analytics.windows.stacks import cems_meters
from smartpark.core.errors import AnalyticsError, ConfigError, OptionError
from smartpark.core.registry import POLLUTANTS, Lang, Park, Region, Registry, Zone
from smartpark.core.timestamps import now_ms
from smartpark.core.urls import StoreUrl
from smartpark.store.base import KpiRow, Scope, Store

# The scopes a report covers: every KPI scope above the enterprise.
REPORT_SCOPES: Final[tuple[Scope, ...]] = tuple(s for s in SCOPES if s != "enterprise")
HEADLINE: Final = (
    "energy_tce",
    "electricity_kwh",
    "co2_scope1_t",
    "co2_scope2_t",
    "co2_total_t",
    "carbon_per_energy",
    "renewable_share",
    "clean_energy_share",
    "fresh_water_m3",
    "water_reuse_rate",
    "completeness",
)
ENERGY: Final = (
    "energy_tce",
    "electricity_kwh",
    "pv_kwh",
    "wind_kwh",
    "renewable_share",
    "clean_energy_share",
    "peak_demand_kw",
    "load_factor",
    "energy_intensity",
)
TOU: Final = ("sharp", "peak", "flat", "valley")
CARBON: Final = (
    "co2_scope1_t",
    "co2_scope2_t",
    "co2_scope2_market_t",
    "co2_total_t",
    "carbon_per_energy",
    "carbon_intensity",
)
WATER: Final = ("fresh_water_m3", "water_reuse_rate", "wastewater_m3", "water_intensity")
POLLUTION: Final = (
    "so2_kg",
    "nox_kg",
    "particulate_kg",
    "so2_exceed_h",
    "nox_exceed_h",
    "particulate_exceed_h",
)
# The key indicators of each park of a zone or region report, and data quality's.
PARK_KPIS: Final = (
    "energy_tce",
    "co2_total_t",
    "carbon_per_energy",
    "clean_energy_share",
    "completeness",
)
QUALITY: Final = ("completeness", "stale_meters", "resets", "spikes_dropped")
TOU_TOTALS: Final = ("peak_share", "electricity_cost_cny", "peak_shift_saving_cny")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
NAN = float("nan")


@dataclass(frozen=True)
class Request:
    """One report: ``month`` "YYYY-MM" of ``scope`` ``id`` in ``lang`` (None: the zone's)."""

    month: str
    scope: str = "zone"
    id: str | None = None  # None: the registry's first zone (scope zone only)
    lang: str | None = None
    alerts: Path | None = None  # the alert state file; None: no alerts section
    registry_path: Path | None = None  # for land use; None: no land-use section
    store_url: StoreUrl | None = None  # for land use (its monthly KPIs)
    now_ms: int | None = None  # the clock that tells the month in progress; None: now


@dataclass(frozen=True)
class Stack:
    """One emission point of the scope: its month's pollutant KPIs (POLLUTION names)."""

    enterprise: str
    stack: str  # "" for the enterprise's pollutant meters on no stack
    values: dict[str, float]  # NaN where the pollutant is not metered at this stack
    readings: int  # pollutant readings of the month in the store (0: no values)


@dataclass(frozen=True)
class Monthly:
    """One month of one scope, gathered; :func:`html` lays it out."""

    registry: Registry
    scope: Scope
    id: str
    lang: Lang
    timezone: str
    month: str  # YYYY-MM
    start_ms: int
    end_ms: int  # the month's end; in progress: the end of the days so far
    source: str  # "store" or "readings"
    values: dict[str, float]  # the month's KPIs of the scope
    last_year: dict[str, float]  # the same month a year before (empty: none)
    day_starts: list[int]
    days: dict[str, list[float]]  # KPI -> one value per day of ``day_starts``
    enterprises: dict[str, dict[str, float]]  # the month's KPIs of each enterprise
    parks: dict[str, dict[str, float]]  # the month's KPIs of each park (zone reports)
    stacks: list[Stack]  # the scope's emission points, by enterprise and stack
    missing: list[str] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    grades: list[tuple[str, str, str]] = field(default_factory=list)  # ent, grade, previous
    flags: list[tuple[str, str]] = field(default_factory=list)  # ent, rule
    partial: bool = False  # the month in progress: its days so far, [start_ms, end_ms)
    products: Products | None = None  # the scope's products graded; None: it has none
    dualcontrol: DualControl | None = None  # the scope's targets; None: no section
    # the scope's energy-saving projects live by the month's end (empty: no section)
    savings: list[ProjectSavings] = field(default_factory=list)

    @property
    def annual_tce(self) -> float:
        """The energy of the covered days scaled to a year (0 when no day is covered yet:
        the first day of the month in progress), which chooses the zero-carbon line."""
        tce = self.values.get("energy_tce", NAN)
        span = self.end_ms - self.start_ms
        return targets.annualised(tce if tce == tce else 0.0, span) if span > 0 else 0.0

    @property
    def line(self) -> float:
        return targets.carbon_per_energy_line(self.annual_tce)

    @property
    def no_data(self) -> bool:
        """No readings at all: every value is shown as "no data", never as a zero."""
        return not self.values.get("completeness", NAN) > 0


@dataclass(frozen=True)
class Headline:
    """One key indicator: the month's value, the same month last year, the change in %
    (NaN: none), the zero-carbon line as text (``≤ 0.20``) and whether it is met."""

    kpi: str
    value: float
    last_year: float
    change: float
    line: str
    meets: bool | None


@dataclass(frozen=True)
class TouRow:
    """One row of the time-of-use table: a KPI, its value and unit, and (the four
    periods' kWh) its share of the import in % (NaN: none)."""

    kpi: str
    value: float
    unit: str
    share: float


def parse_month(text: str) -> tuple[int, int]:
    m = _MONTH.match(text)
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1900 <= int(m.group(1)) <= 2199:
        raise OptionError(
            f"--month: expected YYYY-MM of the years 1900-2199, e.g. 2026-11, got {text!r}"
        )
    return int(m.group(1)), int(m.group(2))


def month_bounds(month: str, timezone: str) -> tuple[int, int]:
    """Epoch ms of the local start of ``month`` ("YYYY-MM") and of the next month."""
    return _bounds(*parse_month(month), timezone)


def _bounds(year: int, month: int, timezone: str) -> tuple[int, int]:
    tz = ZoneInfo(timezone)
    start = dt.datetime(year, month, 1, tzinfo=tz)
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def _target(reg: Registry, request: Request) -> tuple[Scope, str, str, list[str]]:
    """(scope, id, time zone, enterprise ids) of the request, checked."""
    scope = next((s for s in REPORT_SCOPES if s == request.scope), None)
    if scope is None:
        raise OptionError(
            f"--scope: unknown scope {request.scope!r} (expected one of {', '.join(REPORT_SCOPES)})"
        )
    if scope == "zone":
        ident = request.id or reg.zone_ids[0]
        if ident not in reg.zones:
            raise OptionError(f"--id: unknown zone {ident!r} (registry has {', '.join(reg.zones)})")
        parks = {p for p, park in reg.parks.items() if park.zone == ident}
        tz = reg.zones[ident].timezone
    elif scope == "park":
        if request.id is None or request.id not in reg.parks:
            raise OptionError(
                f"--id: give one of the registry's parks ({', '.join(reg.parks)}), "
                f"got {request.id!r}"
            )
        ident, parks, tz = request.id, {request.id}, reg.parks[request.id].timezone
    else:  # a region: its parks and the enclave parks it shares in (docs/kpis.md)
        if not reg.regions:
            raise OptionError("--scope region: the registry defines no [region.ID] tables")
        if request.id is None or request.id not in reg.regions:
            raise OptionError(
                f"--id: give one of the registry's regions ({', '.join(reg.regions)}), "
                f"got {request.id!r}"
            )
        ident, tz = request.id, reg.regions[request.id].timezone
        parks = {p for p in reg.parks if ident in reg.regions_of_park(p)}
    ents = [e for e, ent in reg.enterprises.items() if ent.park in parks]
    return scope, ident, tz, ents


def _zone_of(reg: Registry, scope: Scope, ident: str) -> str:
    if scope == "zone":
        return ident
    if scope == "region":  # the zone of the region's first park
        return next(p.zone for p in reg.parks.values() if ident in reg.regions_of_park(p.id))
    return reg.parks[ident].zone


def build(store: Store, registry: Registry, request: Request) -> Monthly:
    """Gather the month; what is missing is noted, never printed as a zero.

    A closed month reads its stored month rows, or computes them (rollups where current,
    readings elsewhere) when none is stored. The month in progress (``request.now_ms``
    before its end) covers its days so far, up to the last local midnight, always
    computed: a month row stored before the month ended is out of date by definition.
    """
    scope, ident, tz, ents = _target(registry, request)
    lang = check_lang(request.lang or registry.zones[_zone_of(registry, scope, ident)].lang)
    words = LABELS[lang]
    year, month = parse_month(request.month)
    start, month_end = _bounds(year, month, tz)
    first = dt.date(year, month, 1)
    now = now_ms() if request.now_ms is None else request.now_ms
    if now < start:
        today = from_ms(now, tz).date().isoformat()
        raise OptionError(
            f"--month: {request.month} has not begun ({today} in {tz}); ask for this month "
            "or an earlier one"
        )
    end = _so_far(start, month_end, tz, now)
    partial = end < month_end
    products = [p for p in registry.product_ids if registry.products[p].enterprise in ents]
    rows: list[KpiRow] = []
    source = "readings"
    if not partial:  # a closed month: its stored rows, if it has a month row
        rows = [
            *store.read_kpis(start, end, scope, "month"),
            *store.read_kpis(start, end, "enterprise", "month"),
            *(store.read_kpis(start, end, "park", "month") if scope != "park" else []),
            *(store.read_kpis(start, end, "product", "month") if products else []),
            *store.read_kpis(start, end, scope, "day"),
        ]
        source = "store"
    if end > start and (partial or not _stored(_of(rows, scope, ident, "month", start))):
        computed = kpi_job(
            store, registry, start, end, ("day", "month"), write=False, open_end=True
        )
        rows, source = computed.table.rows(), "readings"
    stacks: list[Stack] = []
    if end > start:  # the stack table needs the CEMS meters' days (day rows where current)
        cems, _ = range_days(store, registry, start, end, meters=cems_meters(registry))
        stacks = _stacks(stack_totals_of(registry, cems, start, end), set(ents))
    found = _index(rows)
    values = found.get((scope, ident, "month", start), {})
    ent_values = {e: found.get(("enterprise", e, "month", start), {}) for e in ents}
    in_scope = {registry.enterprises[e].park for e in ents} if scope != "park" else set()
    park_values = {p: found.get(("park", p, "month", start), {}) for p in sorted(in_scope)}
    day_starts = sorted({r.start_ms for r in rows if r.period == "day" and r.id == ident})
    by_day = [found.get((scope, ident, "day", s), {}) for s in day_starts]
    days = {k: [d.get(k, NAN) for d in by_day] for k in KPIS}
    so_far = round((end - start) / 86_400_000) if partial else None
    last_year = _last_year(store, registry, scope, ident, tz, (year - 1, month), so_far)
    local_today = from_ms(now, tz).date()
    last_day = (first + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
    dual, dual_notes = dualcontrol_section.gather(
        store, registry, lang, _zone_of(registry, scope, ident), scope, ident,
        as_of_after(last_day, local_today),
    )  # fmt: skip
    saved, savings_notes = savings_section.gather(
        store, registry, set(ents), first, last_day + dt.timedelta(days=1)
    )
    report = Monthly(
        registry, scope, ident, lang, tz, request.month, start, end, source,
        values, last_year, day_starts, days, ent_values, park_values,
        stacks, partial=partial,
        products=product_section.gather(registry, found, products, first, scope)
        if products else None,
        dualcontrol=dual,
        savings=saved,
    )  # fmt: skip
    if partial:
        report.missing.append(_in_progress(report, month_end))
    report.missing.extend(_missing(report))
    if report.products is not None:
        report.missing.extend(product_section.notes(registry, lang, report.products, first))
    report.missing.extend(dual_notes)
    report.missing.extend(savings_notes)
    unread = [_stack_name(report, s) for s in report.stacks if not s.readings]
    if unread and words["no_readings"] not in report.missing:
        report.missing.append(words["no_stack_readings"].format(stacks=", ".join(unread)))
    if not last_year:
        missing = words["no_last_year_days" if partial else "no_last_year"]
        report.missing.append(missing.format(month=f"{year - 1}-{month:02d}"))
    if request.alerts is not None:
        _alerts(report, request.alerts)
    if request.registry_path is not None:
        _landuse(report, request)
    return report


def _so_far(start: int, end: int, timezone: str, now: int) -> int:
    """The end of the month ``[start, end)`` as of ``now``: ``end`` once it is over,
    else the last local midnight (no earlier than ``start``)."""
    if now >= end:
        return end
    return max(start, local_midnight_ms(from_ms(now, timezone).date(), timezone))


def _last_year(
    store: Store,
    registry: Registry,
    scope: Scope,
    ident: str,
    tz: str,
    year_month: tuple[int, int],
    days: int | None,
) -> dict[str, float]:
    """The same month a year before: its stored month row; for a month in progress (its
    ``days`` so far), the same days, computed: like for like. Empty: nothing stored."""
    start, end = _bounds(*year_month, tz)
    if days is None:
        stored = _of(store.read_kpis(start, end, scope, "month"), scope, ident, "month", start)
        return stored if _stored(stored) else {}
    same = min(end, local_midnight_ms(dt.date(*year_month, 1) + dt.timedelta(days), tz))
    if same <= start:
        return {}
    rows = kpi_job(store, registry, start, same, ("month",), write=False, open_end=True)
    values = _of(rows.table.rows(), scope, ident, "month", start)
    return values if values.get("completeness", NAN) > 0 else {}


def _in_progress(r: Monthly, month_end: int) -> str:
    """The note that opens a partial report: the month so far and its days."""
    words = LABELS[r.lang]
    n_days = round((month_end - r.start_ms) / 86_400_000)
    if r.end_ms <= r.start_ms:
        return words["in_progress_none"].format(m=n_days)
    tz = ZoneInfo(r.timezone)
    first = dt.datetime.fromtimestamp(r.start_ms / 1000, tz).date()
    last = dt.datetime.fromtimestamp(r.end_ms / 1000, tz).date() - dt.timedelta(days=1)
    return words["in_progress"].format(
        first=first.strftime("%m-%d"),
        last=last.strftime("%m-%d"),
        n=(last - first).days + 1,
        m=n_days,
    )


def _stacks(totals: StackTotals, ents: set[str]) -> list[Stack]:
    return [
        Stack(
            e,
            totals.stack[i],
            {
                **{f"{p}_kg": float(totals.kg[p][i]) for p in POLLUTANTS},
                **{f"{p}_exceed_h": float(totals.exceed_h[p][i]) for p in POLLUTANTS},
            },
            int(totals.readings[i]),
        )
        for i, e in enumerate(totals.enterprise)
        if e in ents
    ]


def _index(rows: Sequence[KpiRow]) -> dict[tuple[str, str, str, int], dict[str, float]]:
    """The rows' values by (scope, id, period, start), in one pass."""
    out: dict[tuple[str, str, str, int], dict[str, float]] = {}
    for r in rows:
        out.setdefault((r.scope, r.id, r.period, r.start_ms), {})[r.kpi] = r.value
    return out


def _of(
    rows: Sequence[KpiRow], scope: str, ident: str, period: str, start: int
) -> dict[str, float]:
    return {
        r.kpi: r.value
        for r in rows
        if r.scope == scope and r.id == ident and r.period == period and r.start_ms == start
    }


def _stored(values: dict[str, float]) -> bool:
    """Whether a subject's stored rows of a period hold its KPIs (``kpi --write``), not
    only the dual-control plan (``targets --write``, a row of the month it plans)."""
    return bool(values.keys() - {PLAN_KPI})


def _missing(r: Monthly) -> list[str]:
    """What the month lacks: readings, days, enterprises' intervals, unmetered KPIs."""
    words = LABELS[r.lang]
    completeness = r.values.get("completeness", NAN)
    if not completeness > 0:
        return [words["no_readings"]]
    out: list[str] = []
    tz = ZoneInfo(r.timezone)
    n_days = round((r.end_ms - r.start_ms) / 86_400_000)
    covered = {
        dt.datetime.fromtimestamp(s / 1000, tz).date()
        for s, c in zip(r.day_starts, r.days["completeness"], strict=True)
        if c > 0
    }
    first = dt.datetime.fromtimestamp(r.start_ms / 1000, tz).date()
    empty = [first + dt.timedelta(d) for d in range(n_days)]
    empty = [d for d in empty if d not in covered]
    if empty:
        out.append(
            words["days_covered"].format(n=n_days - len(empty), m=n_days, days=_day_ranges(empty))
        )
    for e, v in r.enterprises.items():
        c = v.get("completeness", NAN)
        if not c >= COMPLETE_AT:
            out.append(
                words["ent_incomplete"].format(
                    name=name(r.registry.enterprises[e], r.lang), value=_num(c)
                )
            )
    shown = dict.fromkeys((*HEADLINE, *ENERGY, *WATER))
    blank = [k for k in shown if not np.isfinite(r.values.get(k, NAN))]
    if blank:
        out.append(words["no_value"].format(kpis=", ".join(KPIS[k].label(r.lang) for k in blank)))
    return out


def _day_ranges(days: list[dt.date]) -> str:
    spans: list[list[dt.date]] = []
    for d in days:
        if spans and (d - spans[-1][-1]).days == 1:
            spans[-1].append(d)
        else:
            spans.append([d])
    return ", ".join(
        s[0].strftime("%m-%d") + (f"–{s[-1].strftime('%m-%d')}" if len(s) > 1 else "")
        for s in spans
    )


def _alerts(r: Monthly, path: Path) -> None:
    if not path.exists():
        r.missing.append(LABELS[r.lang]["no_alerts"].format(path=path))
        return
    parks = {p for p, park in r.registry.parks.items() if r.id in (p, park.zone)}
    with AlertState(path) as st:
        events = st.events()
    for e in events:
        since = dt.datetime.fromisoformat(str(e["starts_at"])).timestamp() * 1000
        in_scope = e.get("park") in parks or (e["scope"], e["id"]) == (r.scope, r.id)
        if e["state"] == "firing" and r.start_ms <= since < r.end_ms and in_scope:
            r.alerts.append(e)


def _landuse(r: Monthly, request: Request) -> None:
    assert request.registry_path is not None
    try:
        done = landuse_job.run(
            landuse_job.Request(
                registry=request.registry_path,
                store=request.store_url,
                zone=_zone_of(r.registry, r.scope, r.id),
                as_of=r.month,
            )
        )
    except (AnalyticsError, ConfigError) as exc:
        r.missing.append(LABELS[r.lang]["no_landuse"].format(reason=exc))
        return
    ev, prev = done.analysis.evaluation, done.analysis.previous
    in_scope = {e for e in r.enterprises}
    for i, ent in enumerate(ev.ids):
        if ent not in in_scope:
            continue
        before = ""
        if prev is not None and ent in prev.ids:
            before = prev.grade_letter(prev.ids.index(ent))
        r.grades.append((ent, ev.grade_letter(i), before))
    r.flags.extend(
        (f.enterprise, f.rule) for f in done.analysis.detection.flags if f.enterprise in in_scope
    )


# -- layout ------------------------------------------------------------------------


def title(r: Monthly) -> str:
    """``Fine Chemicals Park (精细化工园区) · Monthly report 2026-11``."""
    reg = r.registry
    thing: Zone | Park | Region = (
        reg.zones[r.id]
        if r.scope == "zone"
        else reg.regions[r.id]
        if r.scope == "region"
        else reg.parks[r.id]
    )
    return f"{name(thing, r.lang)} · {LABELS[r.lang]['title']} {r.month}"


def source_text(r: Monthly) -> str:
    """Where the month's KPIs came from: the store's rows, the readings, or (the month in
    progress) its days so far."""
    w = LABELS[r.lang]
    if r.partial:
        return w["source_partial"]
    return w["source_store"] if r.source == "store" else w["source_readings"]


def subtitle(r: Monthly) -> str:
    """``Scope: park petrochem · Month: 2026-11 · KPIs from the store (kpi rows)``."""
    w = LABELS[r.lang]
    return (
        f"{w['scope']}: {w.get(r.scope, r.scope)} {r.id} · {w['month']}: {r.month} · "
        f"{source_text(r)}"
    )


def carbon_text(r: Monthly) -> str:
    """The zero-carbon park line of the month, with the annualised consumption it is for."""
    return LABELS[r.lang]["line_text"].format(
        tce=_num(r.annual_tce if np.isfinite(r.values.get("energy_tce", 0.0)) else NAN),
        line=f"{r.line:.2f}",
    )


def html(r: Monthly) -> str:
    """The report as one self-contained HTML document in ``r.lang``."""
    w = LABELS[r.lang]
    no_data = r.no_data
    sections = [
        Section(
            w["missing"] if r.missing else w["scope"],
            text="\n".join(r.missing) if r.missing else w["complete"],
            notice=bool(r.missing),
        ),
        Section(w["headline"], tables=[_headline(r, no_data), *_parks(r, no_data)]),
        Section(
            w["energy"],
            tables=[_kpi_table(r, ENERGY, no_data)],
            charts=[_daily(r, w["daily_energy"], ("energy_tce", "co2_total_t"), "tce, tCO2")],
        ),
        _tou(r, no_data),
        Section(
            w["carbon"],
            text=carbon_text(r),
            tables=[_kpi_table(r, CARBON, no_data)],
            charts=[_daily(r, w["daily_cpe"], ("carbon_per_energy",), "tCO2/tce", limit=r.line)],
        ),
        Section(w["water"], tables=[_kpi_table(r, WATER, no_data)]),
        *([product_section.section(r.registry, r.lang, r.products)] if r.products else []),
        *(
            [dualcontrol_section.section(r.registry, r.lang, r.dualcontrol)]
            if r.dualcontrol
            else []
        ),
        *([savings_section.section(r.registry, r.lang, r.savings)] if r.savings else []),
        Section(w["emissions"], tables=[_emissions(r)]),
        Section(w["quality"], tables=[_quality(r)]),
    ]
    if r.grades or r.flags:
        sections.append(_landuse_section(r))
    sections.append(_alerts_section(r))
    return render(title(r), sections, subtitle=subtitle(r), lang=r.lang)


def _cell(value: float, no_data: bool, w: dict[str, str]) -> str:
    return w["no_data"] if no_data or not np.isfinite(value) else _num(value)


def headline(r: Monthly) -> list[Headline]:
    """The key indicators (:data:`HEADLINE`): value, last year, change, line, verdict."""
    out = []
    for k in HEADLINE:
        v, before = r.values.get(k, NAN), r.last_year.get(k, NAN)
        change = (v - before) / before * 100 if before and np.isfinite(before) else NAN
        line = ""
        meets = targets.meets(k, v, r.annual_tce)
        if k == "carbon_per_energy":
            line = f"≤ {r.line:.2f}"
        elif k in targets.GUIDING_LINES:
            side, threshold = targets.GUIDING_LINES[k]
            line = f"{'≥' if side == 'above' else '≤'} {threshold:g}"
        out.append(Headline(k, v, before, change, line, meets))
    return out


def _headline(r: Monthly, no_data: bool) -> Table:
    w = LABELS[r.lang]
    rows = [
        [
            KPIS[h.kpi].label(r.lang),
            _cell(h.value, no_data, w),
            KPIS[h.kpi].unit,
            "" if not np.isfinite(h.last_year) else _num(h.last_year),
            "" if no_data or not np.isfinite(h.change) else f"{h.change:+.1f}",
            h.line,
            "" if h.meets is None or no_data else (w["yes"] if h.meets else w["no"]),
        ]
        for h in headline(r)
    ]
    return Table(
        [w["kpi"], w["value"], w["unit"], w["last_year"], w["change"], w["line"], w["verdict"]],
        rows,
    )


def _parks(r: Monthly, no_data: bool) -> list[Table]:
    """One row per park of the scope: its key KPIs of the month."""
    if not r.parks:
        return []
    w = LABELS[r.lang]
    rows = [
        [name(r.registry.parks[p], r.lang), *(_cell(v.get(k, NAN), no_data, w) for k in PARK_KPIS)]
        for p, v in r.parks.items()
    ]
    heads = [f"{KPIS[k].label(r.lang)} ({KPIS[k].unit})" for k in PARK_KPIS]
    return [Table([w["park"], *heads], rows)]


def _kpi_table(r: Monthly, kpis: Sequence[str], no_data: bool) -> Table:
    w = LABELS[r.lang]
    return Table(
        [w["kpi"], w["value"], w["unit"]],
        [
            [KPIS[k].label(r.lang), _cell(r.values.get(k, NAN), no_data, w), KPIS[k].unit]
            for k in kpis
        ],
    )


def tou(r: Monthly) -> list[TouRow] | None:
    """The month's electricity per time-of-use period, with each one's share of the
    import, then the peak share, cost and peak-shift saving; None: no tariffs (no split)."""
    if not np.isfinite(r.values.get("electricity_cost_cny", NAN)):
        return None
    kwh = {p: r.values.get(f"electricity_kwh_{p}", NAN) for p in TOU}
    total = sum(v for v in kwh.values() if np.isfinite(v))
    rows = [
        TouRow(f"electricity_kwh_{p}", v, "kWh", v / total * 100 if total else NAN)
        for p, v in kwh.items()
    ]
    rows += [TouRow(k, r.values.get(k, NAN), KPIS[k].unit, NAN) for k in TOU_TOTALS]
    return rows


def _tou(r: Monthly, no_data: bool) -> Section:
    w = LABELS[r.lang]
    split = tou(r)
    if split is None:
        return Section(w["tou"], text=w["no_tariffs"])
    rows = [
        [
            KPIS[t.kpi].label(r.lang),
            _cell(t.value, no_data, w),
            t.unit,
            "" if no_data or not np.isfinite(t.share) else f"{t.share:.1f}",
        ]
        for t in split
    ]
    chart = _daily(
        r,
        w["daily_tou"],
        tuple(f"electricity_kwh_{p}" for p in TOU),
        "kWh",
        names=[w[p] for p in TOU],
    )
    return Section(
        w["tou"],
        tables=[Table([w["kpi"], w["value"], w["unit"], w["tou_share"]], rows)],
        charts=[chart],
    )


def _daily(
    r: Monthly,
    title: str,
    kpis: Sequence[str],
    unit: str,
    *,
    limit: float | None = None,
    names: Sequence[str] | None = None,
) -> Chart:
    x = np.array(r.day_starts, np.int64)
    return Chart(
        title,
        unit,
        [
            Series(names[i] if names else KPIS[k].label(r.lang), x, np.array(r.days[k], np.float64))
            for i, k in enumerate(kpis)
        ],
        kind="line" if limit is not None else "bar",
        limit=limit,
        limit_label=LABELS[r.lang]["limit"],
        tz=ZoneInfo(r.timezone),
    )


def _stack_name(r: Monthly, s: Stack) -> str:
    return f"{s.enterprise}/{s.stack or LABELS[r.lang]['no_stack']}"


def _emissions(r: Monthly) -> Table:
    """One row per stack: its id, enterprise and park, mass and exceedance hours."""
    w = LABELS[r.lang]
    reg = r.registry
    rows = []
    for s in r.stacks:
        ent = reg.enterprises[s.enterprise]
        cells = [
            w["no_data"] if not s.readings else "–" if not np.isfinite(v) else _num(v)
            for v in (s.values[k] for k in POLLUTION)
        ]
        rows.append(
            [s.stack or w["no_stack"], name(ent, r.lang), name(reg.parks[ent.park], r.lang), *cells]
        )
    heads = [f"{KPIS[k].label(r.lang)} ({KPIS[k].unit})" for k in POLLUTION]
    return Table([w["stack"], w["enterprise"], w["park"], *heads], rows)


def _quality(r: Monthly) -> Table:
    w = LABELS[r.lang]
    return Table(
        [w["enterprise"], *(f"{KPIS[k].label(r.lang)} ({KPIS[k].unit})" for k in QUALITY)],
        [
            [
                name(r.registry.enterprises[e], r.lang),
                *(_cell(v.get(k, NAN), False, w) for k in QUALITY),
            ]
            for e, v in r.enterprises.items()
        ],
    )


def _landuse_section(r: Monthly) -> Section:
    w = LABELS[r.lang]
    ents = r.registry.enterprises
    grades = Table(
        [w["enterprise"], w["grade"], w["previous"], w["changed"]],
        [[name(ents[e], r.lang), g, p, "✔" if p and p != g else ""] for e, g, p in r.grades],
    )
    flags = Table(
        [w["enterprise"], w["rule"]], [[name(ents[e], r.lang), rule] for e, rule in r.flags]
    )
    return Section(w["landuse"], tables=[grades, flags] if r.flags else [grades])


def _alerts_section(r: Monthly) -> Section:
    w = LABELS[r.lang]
    if not r.alerts:
        return Section(w["alerts"], text=w["none_fired"])
    rows = [
        [str(e["rule"]), f"{e['scope']} {e['id']}", str(e["state"]), str(e["starts_at"]),
         "" if e.get("value") is None else _num(float(e["value"]))]
        for e in r.alerts
    ]  # fmt: skip
    return Section(
        w["alerts"],
        tables=[Table([w["rule_id"], w["scope"], w["state"], w["at"], w["value"]], rows)],
    )
