"""What the demo shows at the end: the KPIs per park, the faults, the products against
their limit standards, the HTML report."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table as RichTable

from smartpark.analytics import render as kpi_render
from smartpark.analytics.alerts.state import default_path
from smartpark.analytics.days import build as days
from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.kpis import targets
from smartpark.analytics.kpis.catalogue import KPIS
from smartpark.analytics.kpis.table import COMPLETE_AT, KpiBlock, KpiTable
from smartpark.analytics.readings.emissions import o2_corrected
from smartpark.analytics.readings.readers import read_range
from smartpark.analytics.report import Chart, Section, Series, Table, monthly, pdf, render
from smartpark.analytics.windows.rollups.build import build
from smartpark.analytics.windows.stacks import cems_meters
from smartpark.core.errors import AnalyticsError
from smartpark.core.registry import Registry
from smartpark.core.standards import ABOVE_LIMIT
from smartpark.core.timestamps import now_ms
from smartpark.core.urls import StoreUrl
from smartpark.demo.handread import HandRead
from smartpark.demo.outputsheet import EnteredOutput
from smartpark.demo.runner import DemoResult, local_time
from smartpark.store.base import ReadingColumns, Store

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
# The KPIs shown per park, with short headers so a park's days fit in 120 columns.
SHORT = {
    "energy_tce": "energy",
    "electricity_kwh": "electricity",
    "renewable_share": "RE",
    "co2_scope1_t": "CO2 s1",
    "co2_scope2_t": "CO2 s2",
    "co2_total_t": "CO2",
    "carbon_per_energy": "CO2/tce",
    "water_reuse_rate": "reuse",
    "nox_exceed_h": "NOx>",
    "so2_exceed_h": "SO2>",
    "particulate_exceed_h": "PM>",
    "completeness": "complete",
}
# The product KPIs shown per product and period, and their headers.
PRODUCT = (
    "product_output",
    "product_energy_tce",
    "benchmark_value",
    "limit_value",
    "benchmark_level",
    "gap_to_next_level",
)
PRODUCT_HEADERS = (
    "product",
    "period",
    "output",
    "energy tce",
    "graded value",
    "limit",
    "level",
    "gap to next level",
)
# The cost KPIs of the report (prices: the registry's tariffs, docs/registry.md).
COST = {
    "electricity_kwh_sharp": "sharp",
    "electricity_kwh_peak": "peak",
    "electricity_kwh_flat": "flat",
    "electricity_kwh_valley": "valley",
    "electricity_cost_cny": "electricity",
    "gas_cost_cny": "gas",
    "water_cost_cny": "water",
    "energy_cost_cny": "energy",
    "cost_per_output": "per output",
    "peak_share": "peak share",
    "peak_shift_saving_cny": "peak-shift saving",
}


@dataclass(frozen=True)
class DemoKpis:
    table: KpiTable
    readings: ReadingColumns  # the CEMS meters' readings (with edge readings), for charts
    in_store: int  # the gateways' meters' readings stored inside the simulated range


def compute(store: Store, registry: Registry, result: DemoResult) -> DemoKpis:
    """KPIs of every hour and day of the simulated range, from the store, written back."""
    end = max(result.reached_ms // HOUR_MS * HOUR_MS, result.start_ms + HOUR_MS)
    # Roll the run up, both levels (docs/kpis.md, "Rollups" and "Day level"), so the KPIs
    # below and later commands read them, as `smartpark kpi --follow` keeps them in a park.
    build(store, registry, result.start_ms, end)
    days.build(store, registry, result.start_ms, end)
    job = kpi_job(store, registry, result.start_ms, end, ("hour", "day"), write=True)
    stored = store.read(result.start_ms, result.end_ms)
    # Readings of meters read by hand came from a sheet (demo/handread.py), not a gateway.
    in_store = int((registry.meter_gateway[stored.meter] >= 0).sum())
    cems = read_range(store, registry, result.start_ms, end, meters=cems_meters(registry))
    return DemoKpis(job.table, cems, in_store)


def zero_carbon_line(table: KpiTable, park: str, days: float) -> float:
    """The park's ``carbon_per_energy`` line for its consumption over the run, annualised."""
    day = _summary_block(table, "park")
    tce = 0.0
    if day is not None and park in day.ids:
        tce = float(np.nansum(day.values["energy_tce"][day.row_of(park)]))
    return targets.carbon_per_energy_line(targets.annualised(tce, int(max(days, 1e-9) * DAY_MS)))


def print_summary(
    console: Console, registry: Registry, result: DemoResult, kpis: DemoKpis, days: float
) -> None:
    c = result.counts
    tz = ZoneInfo(registry.zones[registry.zone_ids[0]].timezone)
    block = _summary_block(kpis.table, "park")
    for park_id in registry.park_ids:
        if block is None or park_id not in block.ids:
            continue
        park = registry.parks[park_id]
        line = zero_carbon_line(kpis.table, park_id, days)
        table = RichTable(
            title=f"{park.name} ({park_id}) · zero-carbon line {line:.2f} tCO2/tce · "
            f"factors {park.factors_version}",
            caption=f"! = completeness below {COMPLETE_AT:g} %",
        )
        table.add_column(block.period, no_wrap=True)
        for kpi in SHORT:
            table.add_column(f"{SHORT[kpi]}\n[dim]{KPIS[kpi].unit}[/]", justify="right")
        table.add_column("")
        r = block.row_of(park_id)
        incomplete = block.incomplete()[r]
        for k, start in enumerate(block.starts.tolist()):
            fmt = "%m-%d" if block.period == "day" else "%m-%d %H:00"
            when = dt.datetime.fromtimestamp(start / 1000, tz).strftime(fmt)
            cells = []
            for kpi in SHORT:
                value = block.values[kpi][r, k]
                above_line = kpi == "carbon_per_energy" and value > line
                cells.append(f"[red]{_num(value)}[/]" if above_line else _num(value))
            table.add_row(when, *cells, "!" if incomplete[k] else "")
        console.print(table)
    lost = c.published - kpis.in_store
    verdict = "[green]nothing lost[/]" if lost == 0 else f"[red]{lost:+,} readings differ[/]"
    span = f"{local_time(result.start_ms, registry)} → {local_time(result.reached_ms, registry)}"
    console.print(
        f"\nsimulated {span}"
        f" in {result.wall_s:.1f} s ({c.stored / max(result.wall_s, 1e-9):,.0f} readings/s)"
        f"{' — interrupted' if result.interrupted else ''}"
    )
    console.print(
        f"published {c.published:,} · stored {c.stored:,} · in the store {kpis.in_store:,} · "
        f"rejected {c.rejected:,} · left in outboxes {c.outbox:,} → {verdict}"
    )
    for fault, outcome in fault_lines(registry, result, kpis.table):
        console.print(f"  • {fault}: {outcome}")


def fault_lines(registry: Registry, result: DemoResult, table: KpiTable) -> list[tuple[str, str]]:
    """(fault, outcome) of each staged fault."""
    f = result.faults
    ent = registry.meters[f.reset_meter].enterprise
    day = _summary_block(table, "enterprise")
    resets = float(np.nansum(day.values["resets"][day.row_of(ent)])) if day else float("nan")
    park = registry.park_of_meter(f.exceed_meter)
    pday = _summary_block(table, "park")
    exceed = (
        float(np.nansum(pday.values["nox_exceed_h"][pday.row_of(park)])) if pday else float("nan")
    )
    pending = "not reached before the run stopped"
    reached = result.reached_ms
    return [
        (
            f"gateway {f.offline_gateway} offline {local_time(f.offline_from_ms, registry)} – "
            f"{local_time(f.offline_to_ms, registry)}",
            "its outbox kept the readings and caught up"
            if reached >= f.offline_to_ms and result.counts.outbox == 0
            else pending,
        ),
        (
            f"counter {f.reset_meter} reset at {local_time(f.reset_at_ms, registry)}",
            f"{resets:.0f} reset(s) handled for {ent}" if reached > f.reset_at_ms else pending,
        ),
        (
            f"CEMS {f.exceed_meter} above the NOx limit "
            f"{local_time(f.exceed_from_ms, registry)} – {local_time(f.exceed_to_ms, registry)}",
            f"{exceed:.0f} exceedance hour(s) in {park}" if reached >= f.exceed_to_ms else pending,
        ),
    ]


def write_report(
    path: Path,
    registry: Registry,
    result: DemoResult,
    kpis: DemoKpis,
    store_desc: str,
    days: float,
) -> None:
    tz = ZoneInfo(registry.zones[registry.zone_ids[0]].timezone)
    c = result.counts
    sections = [
        Section(
            "Run",
            text=(
                f"Simulated {local_time(result.start_ms, registry)} to "
                f"{local_time(result.reached_ms, registry)}; broker {result.broker}; store "
                f"{store_desc}. Published {c.published:,} readings, {kpis.in_store:,} in the "
                f"store, {c.rejected:,} rejected."
            ),
            tables=[
                Table(
                    ["fault", "outcome"],
                    [
                        list(fault_outcome)
                        for fault_outcome in fault_lines(registry, result, kpis.table)
                    ],
                )
            ],
        )
    ]
    hour = _hour_block(kpis.table, "park")
    for park_id in registry.park_ids:
        park = registry.parks[park_id]
        day = _summary_block(kpis.table, "park")
        rows: list[list[str]] = []
        if day is not None and park_id in day.ids:
            r = day.row_of(park_id)
            for k, start in enumerate(day.starts.tolist()):
                fmt = "%Y-%m-%d" if day.period == "day" else "%Y-%m-%d %H:00"
                label = dt.datetime.fromtimestamp(start / 1000, tz).strftime(fmt)
                rows.append([label, *(_num(day.values[kpi][r, k]) for kpi in SHORT)])
        tables = [Table(["period", *(f"{h} ({KPIS[k].unit})" for k, h in SHORT.items())], rows)]
        charts: list[Chart] = []
        if day is not None and park_id in day.ids:
            tables.append(_cost_table(day, park_id, tz))
            charts.append(_tou_chart(day, park_id, tz))
            r = day.row_of(park_id)
            charts.append(
                Chart(
                    f"{'Daily' if day.period == 'day' else 'Hourly'} energy and carbon",
                    "tce, tCO2",
                    [
                        Series("energy tce", day.starts, day.values["energy_tce"][r]),
                        Series("CO2 t", day.starts, day.values["co2_total_t"][r]),
                    ],
                    kind="bar",
                    tz=tz,
                )
            )
        if hour is not None and park_id in hour.ids:
            r = hour.row_of(park_id)
            charts.append(
                Chart(
                    "Load curve (hourly mean demand)",
                    "kW",
                    [Series("electricity", hour.starts, hour.values["electricity_kwh"][r])],
                    tz=tz,
                )
            )
        charts.extend(_emission_charts(registry, kpis.readings, park_id, tz))
        line = zero_carbon_line(kpis.table, park_id, days)
        sections.append(
            Section(
                f"{park.name} ({park_id})",
                text=f"Zero-carbon park line: {line:.2f} tCO2/tce. Factors: "
                f"{park.factors_version}.",
                tables=tables,
                charts=charts,
            )
        )
    products = product_rows(registry, kpis.table)
    if products:
        sections.append(
            Section(
                "Unit-product energy against the limit standards",
                text="Each product's unit energy (kgce/t) or unit electricity (kWh/t), as its "
                "standard grades it, against the standard's levels; the limit (level 3) is "
                "corrected for the plant (docs/kpis.md).",
                tables=[Table(list(PRODUCT_HEADERS), products)],
            )
        )
    zone = registry.zones[registry.zone_ids[0]]
    path.write_text(
        render(
            f"smartpark demo — {zone.name}",
            sections,
            subtitle=f"{len(registry.parks)} "
            f"parks, {len(registry.enterprises)} enterprises, {len(registry.meters)} meters",
        ),
        encoding="utf-8",
    )


def _cost_table(block: KpiBlock, park_id: str, tz: dt.tzinfo) -> Table:
    """The park's cost KPIs per period (empty cells: no tariff for what it consumed)."""
    r = block.row_of(park_id)
    fmt = "%Y-%m-%d" if block.period == "day" else "%Y-%m-%d %H:00"
    rows = [
        [
            dt.datetime.fromtimestamp(start / 1000, tz).strftime(fmt),
            *(_num(block.values[kpi][r, k]) for kpi in COST),
        ]
        for k, start in enumerate(block.starts.tolist())
    ]
    return Table(
        ["period", *(f"{h} ({KPIS[k].unit})" for k, h in COST.items())],
        rows,
        caption="Cost at the example tariffs' placeholder prices (examples/tariffs-gansu.toml).",
    )


def _tou_chart(block: KpiBlock, park_id: str, tz: dt.tzinfo) -> Chart:
    r = block.row_of(park_id)
    return Chart(
        "Electricity by time-of-use period",
        "kWh",
        [
            Series(COST[k], block.starts, block.values[k][r])
            for k in COST
            if k.startswith("electricity_kwh_")
        ],
        kind="bar",
        tz=tz,
    )


def write_monthly_report(
    out: Path,
    store: Store,
    registry: Registry,
    registry_path: Path,
    store_url: StoreUrl,
    result: DemoResult,
    now: int | None = None,  # the clock (epoch ms); None: now
) -> list[str]:
    """``monthly-report.html`` and ``.pdf`` of the zone for the simulated month; notes.

    A month that is over gets its KPI rows computed and written to the store first, so
    the report (and a reader comparing it) reads them there; the month in progress is
    reported as its days so far (docs/report.md). The PDF needs Chromium: without it the
    demo notes why and keeps the HTML.
    """
    zone = registry.zones[registry.zone_ids[0]]
    start = dt.datetime.fromtimestamp(result.start_ms / 1000, ZoneInfo(zone.timezone))
    month = f"{start.year}-{start.month:02d}"
    first, last = monthly.month_bounds(month, zone.timezone)
    now = now_ms() if now is None else now
    if last <= now:  # a month in progress gets no month row (`kpi --follow` neither)
        kpi_job(store, registry, first, last, ("month",), write=True)
    request = monthly.Request(
        month,
        alerts=default_path(str(store_url)),
        registry_path=registry_path,
        store_url=store_url,
        now_ms=now,
    )
    page = monthly.html(monthly.build(store, registry, request))
    (out / "monthly-report.html").write_text(page, encoding="utf-8")
    try:
        pdf.html_to_pdf(page, out / "monthly-report.pdf")
    except AnalyticsError as exc:
        return [f"monthly report PDF not written: {exc}"]
    return []


def product_rows(registry: Registry, table: KpiTable) -> list[list[str]]:
    """Each product's unit value and level per day (per hour in a run shorter than a
    day): product, period, output, energy, graded value with its unit, limit, level, gap."""
    block = _summary_block(table, "product")
    if block is None:
        return []
    fmt = "%Y-%m-%d" if block.period == "day" else "%Y-%m-%d %H:00"
    tz = ZoneInfo(block.timezone)
    rows = []
    for r, ident in enumerate(block.ids):
        unit = registry.products[ident].limit.unit
        for k, start in enumerate(block.starts.tolist()):
            v = {kpi: float(block.values[kpi][r, k]) for kpi in PRODUCT}
            rows.append(
                [
                    ident,
                    dt.datetime.fromtimestamp(start / 1000, tz).strftime(fmt),
                    f"{_num(v['product_output'])} {registry.products[ident].unit}",
                    _num(v["product_energy_tce"]),
                    f"{_num(v['benchmark_value'])} {unit}"
                    if np.isfinite(v["benchmark_value"])
                    else "",
                    _num(v["limit_value"]),
                    _level(v["benchmark_level"], v["product_output"]),
                    _num(v["gap_to_next_level"]),
                ]
            )
    return rows


def print_products(console: Console, registry: Registry, table: KpiTable) -> None:
    """The products against their limit standards (docs/kpis.md)."""
    rows = product_rows(registry, table)
    if not rows:
        return
    out = RichTable(
        title="Unit-product energy against the limit standards (单位产品能耗对标)",
        caption="level 1 advanced, 2 new plants, 3 the limit (corrected for the plant)",
    )
    for header in PRODUCT_HEADERS:
        out.add_column(header, justify="left" if header in ("product", "period") else "right")
    for row in rows:
        out.add_row(*row)
    console.print(out)


def output_sheet_line(entered: EnteredOutput) -> str:
    """What the demo imported from its sheet of entered product output."""
    r = entered.report
    return (
        f"output sheet {entered.path.name} ({', '.join(entered.products)}): {r.rows} row(s) · "
        f"stored {r.stored} · rejected {r.rejected} (smartpark import output, docs/import.md)"
    )


def hand_read_line(hand: HandRead) -> str:
    """What the demo imported from its sheet of meters read by hand."""
    r = hand.report
    return (
        f"hand-read sheet {hand.path.name} ({', '.join(hand.meters)}): {r.rows} row(s) · "
        f"stored {r.stored} · rejected {r.rejected} (smartpark import readings, docs/import.md)"
    )


def write_run_json(
    path: Path,
    result: DemoResult,
    kpis: DemoKpis,
    hand: HandRead | None = None,
    entered: EnteredOutput | None = None,
) -> None:
    """The run's range, counts, faults and sheet imports, for scripts and tests."""
    run = {
        "start_ms": result.start_ms,
        "end_ms": result.end_ms,
        "reached_ms": result.reached_ms,
        "interrupted": result.interrupted,
        "broker": result.broker,
        "wall_s": round(result.wall_s, 3),
        "in_store": kpis.in_store,
        "counts": dataclasses.asdict(result.counts),
        "faults": dataclasses.asdict(result.faults),
        "hand_read": None
        if hand is None
        else {
            "file": hand.path.name,
            "meters": list(hand.meters),
            "rows": hand.report.rows,
            "stored": hand.report.stored,
            "rejected": hand.report.rejected,
        },
        "output_sheet": None
        if entered is None
        else {
            "file": entered.path.name,
            "products": list(entered.products),
            "rows": entered.report.rows,
            "stored": entered.report.stored,
            "rejected": entered.report.rejected,
        },
    }
    path.write_text(json.dumps(run, indent=1), encoding="utf-8")


def write_kpis_json(path: Path, table: KpiTable) -> None:
    path.write_text(kpi_render.to_json(table), encoding="utf-8")


def _emission_charts(
    registry: Registry, readings: ReadingColumns, park_id: str, tz: dt.tzinfo
) -> list[Chart]:
    charts = []
    park = registry.parks[park_id]
    for meter in sorted(registry.meters.values(), key=lambda m: m.id):
        if meter.quantity != "nox" or registry.park_of_meter(meter.id) != park_id:
            continue
        o2_code = int(registry.stack_partner("o2")[registry.meter_code[meter.id]])
        hours, means = _hourly_corrected(registry, readings, meter.id, o2_code, meter.o2_ref)
        charts.append(
            Chart(
                f"{meter.id}: hourly NOx (O2-corrected) against the limit",
                "mg/m3",
                [Series(meter.id, hours, means)],
                limit=park.limits["nox"],
                tz=tz,
            )
        )
    return charts


def _hourly_corrected(
    registry: Registry,
    readings: ReadingColumns,
    meter: str,
    o2_code: int,
    o2_ref: float | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    code = registry.meter_code
    sel = readings.meter == code[meter]
    ts, conc = readings.ts[sel], readings.value[sel]
    if o2_code >= 0 and o2_ref is not None:
        o2_sel = readings.meter == o2_code
        common, i, j = np.intersect1d(ts, readings.ts[o2_sel], return_indices=True)
        ts = common
        conc = o2_corrected(conc[i], readings.value[o2_sel][j], np.full(i.size, o2_ref))
    hour = ts // HOUR_MS
    uniq, inverse = np.unique(hour, return_inverse=True)
    sums = np.bincount(inverse, weights=np.nan_to_num(conc))
    counts = np.bincount(inverse)
    return uniq * HOUR_MS, sums / np.maximum(counts, 1)


def _summary_block(table: KpiTable, scope: str) -> KpiBlock | None:
    """The day block of ``scope``, or the hour block when the run holds no full day."""
    blocks = [b for b in table.blocks if b.scope == scope and b.starts.size]
    for period in ("day", "hour"):
        found = next((b for b in blocks if b.period == period), None)
        if found is not None:
            return found
    return None


def _hour_block(table: KpiTable, scope: str) -> KpiBlock | None:
    return next((b for b in table.blocks if b.scope == scope and b.period == "hour"), None)


def _level(level: float, output: float) -> str:
    if not np.isfinite(output):
        return "no output"
    if not np.isfinite(level):
        return ""
    return "above the limit" if level == ABOVE_LIMIT else f"{level:.0f}"


def _num(v: float) -> str:
    return "" if not np.isfinite(v) else (f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3g}")
