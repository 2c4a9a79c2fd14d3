"""KPI tables for people and programs: a rich table, CSV, JSON or an Excel workbook.

Every column names its unit; a row computed on incomplete data (completeness below
:data:`analytics.kpis.table.COMPLETE_AT`) is flagged, in the table with a ``!`` and in
CSV/JSON/.xlsx with ``incomplete``. In the table, park and zone values with a zero-carbon park
reference line (:mod:`analytics.kpis.targets`) are green when they meet it, red when not.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from rich.table import Table

from smartpark.analytics import periods, xlsx_words
from smartpark.analytics.kpis import targets
from smartpark.analytics.kpis.catalogue import ALL_KPIS, KPIS
from smartpark.analytics.kpis.table import COMPLETE_AT, KpiTable
from smartpark.core.cells import csv_text
from smartpark.core.registry import Lang
from smartpark.core.workbook import Column, Kind, Sheet, xlsx_bytes

DEFAULT_COLUMNS: Final = (
    "electricity_kwh",
    "energy_tce",
    "co2_total_t",
    "carbon_per_energy",
    "renewable_share",
    "clean_energy_share",
    "peak_demand_kw",
    "fresh_water_m3",
    "water_reuse_rate",
    "nox_kg",
    "completeness",
)
# What ``smartpark kpi`` shows of products by default (analytics/products).
PRODUCT_COLUMNS: Final = (
    "product_output",
    "product_energy_tce",
    "unit_energy_kgce",
    "unit_electricity_kwh",
    "benchmark_value",
    "limit_value",
    "benchmark_level",
    "gap_to_next_level",
    "completeness",
)
_META: Final = ("scope", "id", "period", "start", "end", "factors_version", "incomplete")
# The meta columns' heads in the workbook (the CSV and JSON keep the names of _META).
_META_HEADS: Final[dict[Lang, dict[str, str]]] = {
    "en": {
        "scope": "Scope",
        "id": "ID",
        "period": "Period",
        "start": "Start",
        "end": "End",
        "timezone": "Time zone",
        "factors_version": "Factors version",
        "incomplete": "Incomplete",
    },
    "zh": {
        "scope": "范围",
        "id": "编号",
        "period": "周期",
        "start": "开始",
        "end": "结束",
        "timezone": "时区",
        "factors_version": "排放因子版本",
        "incomplete": "数据不完整",
    },
}
_DATE_KIND: Final[dict[str, Kind]] = {
    "hour": "datetime",
    "day": "date",
    "month": "month",
    "year": "date",
}


def _local(ms: int, timezone: str, period: str) -> str:
    moment = periods.from_ms(ms, timezone)
    if period == "hour":
        return moment.strftime("%Y-%m-%d %H:%M")
    if period == "day":
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m")


def _number(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.4g}"


def rich_table(table: KpiTable, kpis: Sequence[str] = DEFAULT_COLUMNS, title: str = "") -> Table:
    out = Table(title=title or None, caption=f"! = completeness below {COMPLETE_AT:g} %")
    out.add_column("id", no_wrap=True)
    out.add_column("period", no_wrap=True)
    for kpi in kpis:
        # Spaces let long names wrap in the header instead of being cut.
        out.add_column(f"{kpi.replace('_', ' ')}\n[dim]{ALL_KPIS[kpi].unit}[/]", justify="right")
    out.add_column("", justify="left")
    for rec in table.records():
        style = "yellow" if rec["incomplete"] else None
        out.add_row(
            rec["id"] if rec["scope"] != "zone" else f"{rec['id']} (zone)",
            _local(rec["start_ms"], rec["timezone"], rec["period"]),
            *(_against_line(rec, k) for k in kpis),
            "!" if rec["incomplete"] else "",
            style=style,
        )
    return out


def _against_line(rec: dict[str, Any], kpi: str) -> str:
    """The value, green/red where a zero-carbon park reference line applies (park, zone)."""
    text = _number(rec.get(kpi))
    value, tce = rec.get(kpi), rec.get("energy_tce")
    if value is None or rec["scope"] == "enterprise":
        return text
    annual = targets.annualised(tce, rec["end_ms"] - rec["start_ms"]) if tce else None
    verdict = targets.meets(kpi, value, annual)
    if verdict is None:
        return text
    return f"[green]{text}[/]" if verdict else f"[red]{text}[/]"


def _flat(rec: dict[str, Any], kpis: Sequence[str]) -> dict[str, Any]:
    row = {
        "scope": rec["scope"],
        "id": rec["id"],
        "period": rec["period"],
        "start": periods.from_ms(rec["start_ms"], rec["timezone"]).isoformat(),
        "end": periods.from_ms(rec["end_ms"], rec["timezone"]).isoformat(),
        "factors_version": rec["factors_version"],
        "incomplete": rec["incomplete"],
    }
    row.update({k: rec.get(k) for k in kpis})
    return row


def to_csv(table: KpiTable, kpis: Sequence[str] = tuple(KPIS)) -> str:
    """One line per (scope, id, period start); KPI columns carry their unit in the header.
    No cell holds a formula (:func:`~smartpark.core.cells.safe_cell`)."""
    head = [*_META, *(f"{k} [{ALL_KPIS[k].unit}]" for k in kpis)]
    columns = (*_META, *kpis)
    flat = (_flat(rec, kpis) for rec in table.records())
    return csv_text([head, *([row[c] for c in columns] for row in flat)])


def to_json(
    table: KpiTable, kpis: Sequence[str] = tuple(KPIS), source: Mapping[str, Any] | None = None
) -> str:
    """``{"units": {kpi: unit}, "rows": [...]}`` (and ``"source"``: where the windows came
    from, rollups or raw readings, when given); undefined values are ``null``."""
    doc: dict[str, Any] = {
        "units": {k: ALL_KPIS[k].unit for k in kpis},
        "rows": [_flat(rec, kpis) for rec in table.records()],
    }
    if source is not None:
        doc["source"] = dict(source)
    return json.dumps(doc, indent=1)


def to_xlsx(
    table: KpiTable,
    kpis: Sequence[str] = tuple(KPIS),
    *,
    scope: str,
    period: str,
    span: tuple[str, str],
    source: str,
    park: str | None = None,
    timezone: str = "UTC",
    lang: Lang = "en",
) -> bytes:
    """The columns of :func:`to_csv` as one sheet of an .xlsx workbook, headed for people:
    KPI labels in ``lang`` (:meth:`~analytics.kpis.catalogue.KpiSpec.label`: "Energy
    consumption [tce]", "综合能源消费量 [tce]") with their units, start and end
    as local dates, numbers as numbers; above the header, ``scope`` (of ``park``, if
    given), ``period``, ``span`` (the ``--from``/``--to`` asked), the windows' ``source``
    (rollups, raw or mixed) and the rows' time zone (``timezone`` when there are no
    rows; a column of its own when rows have several). Text through
    :func:`~smartpark.core.cells.safe_cell`, as in the CSV."""
    records = list(table.records())
    timezones = sorted({rec["timezone"] for rec in records}) or [timezone]
    several = len(timezones) > 1  # then each row names its own
    when = _DATE_KIND.get(period, "datetime")
    first = ("scope", "id", "period")

    def head(name: str) -> str:
        return _META_HEADS[lang][name]

    columns = (
        *(Column(head(m), kind="text") for m in first),
        Column(head("start"), kind=when),
        Column(head("end"), kind=when),
        *((Column(head("timezone"), kind="text"),) if several else ()),
        Column(head("factors_version"), kind="text"),
        Column(head("incomplete"), kind="bool"),
        *(Column(ALL_KPIS[k].label(lang), ALL_KPIS[k].unit) for k in kpis),
    )
    rows = [
        [
            *(rec[m] for m in first),
            periods.from_ms(rec["start_ms"], rec["timezone"]),
            periods.from_ms(rec["end_ms"], rec["timezone"]),
            *((rec["timezone"],) if several else ()),
            rec["factors_version"],
            rec["incomplete"],
            *(rec.get(k) for k in kpis),
        ]
        for rec in records
    ]
    w = xlsx_words.WORDS[lang]
    lines = (
        w["kpi_title"].format(period=xlsx_words.word(lang, period), start=span[0], end=span[1]),
        xlsx_words.line(
            lang,
            [
                ("scope", xlsx_words.scope_text(lang, scope, park)),
                ("period", xlsx_words.word(lang, period)),
                ("source", xlsx_words.word(lang, source)),
            ],
        ),
        xlsx_words.timezone_line(lang, timezones)
        + " · "
        + w["incomplete_note"].format(pct=f"{COMPLETE_AT:g}"),
    )
    return xlsx_bytes([Sheet(w["kpi_sheet"], columns, rows, lines)])
