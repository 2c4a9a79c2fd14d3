"""What a schedule sends for one period and one scope: a title, a mail text, chat lines,
attachments and the generic webhook's JSON.

* ``monthly_report``: the monthly report of a zone, park or region
  (:func:`smartpark.analytics.report.job.run`), one attachment per format (PDF, .xlsx,
  HTML); the mail text names the period and what the report says is missing; chat
  robots get the title, the period and the missing data, with the schedule's link.
* ``weekly_summary``: the scope's day KPIs of the ISO week (:data:`SUMMARY_KPIS`), one
  row per local day: a table in the mail text and as a CSV attachment
  (:func:`smartpark.core.cells.csv_text`), one line per day in chat messages. The day
  rows are the store's (written by ``smartpark kpi --write``/``--follow``); when the
  store holds none for the scope and week, they are computed from the readings
  (:func:`smartpark.analytics.jobs.kpi_job`, nothing written).

:class:`Contents` builds each (schedule, period, scope) once per cycle and hands the
same content to every recipient of it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

from smartpark.analytics.alerts.evaluate import rfc3339
from smartpark.analytics.delivery.config import Schedule
from smartpark.analytics.delivery.state import Delivery
from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.kpis.catalogue import KPIS
from smartpark.analytics.periods import from_ms, local_midnight_ms
from smartpark.analytics.report import job as report_job
from smartpark.analytics.report import monthly
from smartpark.core.cells import csv_text
from smartpark.core.registry import Lang, Registry
from smartpark.core.urls import StoreUrl
from smartpark.store.base import Scope
from smartpark.store.open import open_store

SUMMARY_KPIS: Final = (
    "energy_tce",
    "electricity_kwh",
    "co2_total_t",
    "carbon_per_energy",
    "renewable_share",
    "fresh_water_m3",
    "completeness",
)
MIME: Final = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html",
    "csv": "text/csv",
}
MAX_MISSING_LINES: Final = 5

_WORDS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "monthly": "Monthly report: {name}, {period}",
        "weekly": "Weekly summary: {name}, {period}",
        "range": "{first} to {last} ({tz})",
        "scope": "{name} ({kind} {id})",
        "attached": "Attached: {files}.",
        "missing": "The report notes missing data:",
        "complete": "The report notes no missing data.",
        "link": "Online",
        "day": "day",
        "csv": "The same table is attached as CSV.",
        "from_store": "Day KPIs as stored by the KPI job.",
        "from_readings": "Day KPIs computed from the readings (none were stored).",
        "no_data": "No data for this week.",
        "no_day": "no data",
        "footer": "Sent by smartpark schedule {schedule!r} to {recipient!r}.",
    },
    "zh": {
        "monthly": "月度报告：{name} {period}",
        "weekly": "周报：{name} {period}",
        "range": "{first} 至 {last}（{tz}）",
        "scope": "{name}（{kind} {id}）",
        "attached": "附件：{files}。",
        "missing": "报告注明的数据缺失：",
        "complete": "报告未注明数据缺失。",
        "link": "在线查看",
        "day": "日期",
        "csv": "同一表格以 CSV 附件发送。",
        "from_store": "日指标取自 KPI 任务写入的数据。",
        "from_readings": "日指标由读数计算（未找到已写入的日指标）。",
        "no_data": "本周无数据。",
        "no_day": "无数据",
        "footer": "由 smartpark 定时任务 {schedule!r} 发送给 {recipient!r}。",
    },
}


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    mime: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Content:
    """One period of one schedule for one scope, in every shape a route needs."""

    title: str  # mail subject, chat title
    text: str  # mail body (plain text), without the per-recipient footer
    lines: list[str]  # chat message lines
    attachments: tuple[Attachment, ...]
    body: dict[str, Any]  # the generic webhook's JSON, without the per-delivery fields
    link: str | None  # the schedule's link for this period and scope
    lang: Lang

    def footer(self, schedule: str, recipient: str) -> str:
        return _WORDS[self.lang]["footer"].format(schedule=schedule, recipient=recipient)


class Contents:
    """Builds contents, each (schedule, period, scope) once while this object lives."""

    def __init__(
        self,
        registry: Registry,
        registry_path: Path,
        store_url: StoreUrl,
        workdir: Path,
        now_ms: int,
    ) -> None:
        self.registry = registry
        self.registry_path = registry_path
        self.store_url = store_url
        self.workdir = workdir
        self.now_ms = now_ms
        self._cache: dict[tuple[str, str, str], Content] = {}
        self._failed: dict[tuple[str, str, str], Exception] = {}

    def get(self, schedule: Schedule, delivery: Delivery) -> Content:
        """The content of ``delivery``; the error of building it, raised again for every
        delivery of the same content (a report that failed is not built once more)."""
        key = (schedule.id, delivery.period, delivery.scope)
        if key in self._failed:
            raise self._failed[key]
        if key not in self._cache:
            build = self._monthly if schedule.kind == "monthly_report" else self._weekly
            try:
                self._cache[key] = build(schedule, delivery)
            except Exception as exc:
                self._failed[key] = exc
                raise
        return self._cache[key]

    # -- the monthly report ------------------------------------------------------------

    def _monthly(self, schedule: Schedule, d: Delivery) -> Content:
        kind, _, ident = d.scope.partition(":")
        lang = self._lang(schedule, kind, ident)
        words = _WORDS[lang]
        request = monthly.Request(
            d.period, scope=kind, id=ident, lang=schedule.lang, now_ms=self.now_ms
        )
        folder = self.workdir / f"{schedule.id}-{d.period}-{kind}-{ident}"
        attachments: list[Attachment] = []
        missing: list[str] = []
        for fmt in schedule.formats:
            out = folder / f"monthly-report-{kind}-{ident}-{d.period}.{fmt}"
            written = report_job.run(
                self.registry_path,
                self.store_url,
                request,
                cast("report_job.Format", fmt),
                out,
            )
            attachments.append(Attachment(out.name, MIME[fmt], written.path.read_bytes()))
            missing = written.missing
        name = self._name(kind, ident, lang)
        title = words["monthly"].format(name=name, period=d.period)
        span = self._range(d, schedule.timezone, lang)
        link = _link(schedule, d)
        text = [
            title,
            words["scope"].format(name=name, kind=kind, id=ident),
            span,
            "",
            words["attached"].format(files=", ".join(a.filename for a in attachments)),
        ]
        text += [words["missing"], *(f"- {m}" for m in missing)] if missing else [words["complete"]]
        if link:
            text += ["", f"{words['link']}: {link}"]
        lines = [span, *missing[:MAX_MISSING_LINES]]
        if len(missing) > MAX_MISSING_LINES:
            lines.append(f"... (+{len(missing) - MAX_MISSING_LINES})")
        body = self._body(schedule, d, name, title, link) | {
            "missing": missing,
            "formats": list(schedule.formats),
        }
        return Content(title, "\n".join(text), lines, tuple(attachments), body, link, lang)

    # -- the weekly summary ------------------------------------------------------------

    def _weekly(self, schedule: Schedule, d: Delivery) -> Content:
        kind, _, ident = d.scope.partition(":")
        scope = cast(Scope, kind)
        lang = self._lang(schedule, kind, ident)
        words = _WORDS[lang]
        tz = schedule.timezone
        first = from_ms(d.start_ms, tz).date()
        days = [first + dt.timedelta(days=n) for n in range(7)]
        starts = [local_midnight_ms(day, tz) for day in days]
        values, source = self._week_values(scope, ident, d.start_ms, d.end_ms)
        name = self._name(kind, ident, lang)
        title = words["weekly"].format(name=name, period=d.period)
        span = self._range(d, tz, lang)
        link = _link(schedule, d)
        header = [words["day"], *(f"{k} ({KPIS[k].unit})" for k in SUMMARY_KPIS)]
        rows = [
            (day.isoformat(), [values.get((start, k)) for k in SUMMARY_KPIS])
            for day, start in zip(days, starts, strict=True)
        ]
        csv_name = f"weekly-summary-{kind}-{ident}-{d.period}.csv"
        csv_data = csv_text([header, *([day, *cells] for day, cells in rows)]).encode("utf-8")
        has_data = bool(values)
        text = [title, words["scope"].format(name=name, kind=kind, id=ident), span, ""]
        if has_data:
            text += [*_fixed_width(header, rows), "", words[f"from_{source}"], words["csv"]]
        else:
            text += [words["no_data"], words["csv"]]
        if link:
            text += ["", f"{words['link']}: {link}"]
        lines = [span]
        if has_data:
            for day, start in zip(days, starts, strict=True):
                cells = [
                    f"{k} {_number(values[start, k])}{_unit(k)}"
                    for k in SUMMARY_KPIS[:4]
                    if (start, k) in values
                ]
                lines.append(f"{day:%m-%d %a}: " + (" · ".join(cells) or words["no_day"]))
        else:
            lines.append(words["no_data"])
        body = self._body(schedule, d, name, title, link) | {
            "source": source,
            "units": {k: KPIS[k].unit for k in SUMMARY_KPIS},
            "days": [
                {"day": day.isoformat()} | {k: values.get((start, k)) for k in SUMMARY_KPIS}
                for day, start in zip(days, starts, strict=True)
            ],
        }
        attachment = Attachment(csv_name, MIME["csv"], csv_data)
        return Content(title, "\n".join(text), lines, (attachment,), body, link, lang)

    def _week_values(
        self, scope: Scope, ident: str, start_ms: int, end_ms: int
    ) -> tuple[dict[tuple[int, str], float], str]:
        """(day start, KPI) → value of the scope's days, and where they came from."""
        store = open_store(self.store_url, self.registry)
        try:
            rows = store.read_kpis(start_ms, end_ms, scope, "day", ids=[ident], kpis=SUMMARY_KPIS)
            if rows:
                return {(r.start_ms, r.kpi): r.value for r in rows}, "store"
            table = kpi_job(store, self.registry, start_ms, end_ms, ["day"], write=False).table
        finally:
            store.close()
        out: dict[tuple[int, str], float] = {}
        try:
            block = table.block(scope, "day")
        except KeyError:
            return out, "readings"
        if ident not in block.ids:
            return out, "readings"
        row = block.row_of(ident)
        starts = block.starts.tolist()
        for kpi in SUMMARY_KPIS:
            for start, value in zip(starts, block.values[kpi][row].tolist(), strict=True):
                if math.isfinite(value):
                    out[(int(start), kpi)] = float(value)
        # A day without any reading (completeness 0) has no values, not zeros.
        empty = {s for (s, k), v in out.items() if k == "completeness" and v == 0.0}
        return {key: v for key, v in out.items() if key[0] not in empty}, "readings"

    # -- shared ------------------------------------------------------------------------

    def _lang(self, schedule: Schedule, kind: str, ident: str) -> Lang:
        if schedule.lang in ("en", "zh"):
            return cast(Lang, schedule.lang)
        reg = self.registry
        if kind == "zone":
            zone = ident
        elif kind == "park":
            zone = reg.parks[ident].zone
        elif kind == "enterprise":
            zone = reg.parks[reg.enterprises[ident].park].zone
        else:  # a region: the zone of its first park
            zone = next(p.zone for p in reg.parks.values() if ident in reg.regions_of_park(p.id))
        return reg.zones[zone].lang

    def _name(self, kind: str, ident: str, lang: Lang) -> str:
        reg = self.registry
        thing: Any = {
            "zone": reg.zones,
            "park": reg.parks,
            "enterprise": reg.enterprises,
            "region": reg.regions,
        }[kind][ident]
        zh = getattr(thing, "name_zh", "")
        return str(zh if lang == "zh" and zh else thing.name)

    def _range(self, d: Delivery, timezone: str, lang: Lang) -> str:
        first = from_ms(d.start_ms, timezone).date()
        last = from_ms(d.end_ms, timezone).date() - dt.timedelta(days=1)
        return _WORDS[lang]["range"].format(first=first, last=last, tz=timezone)

    def _body(
        self, schedule: Schedule, d: Delivery, name: str, title: str, link: str | None
    ) -> dict[str, Any]:
        kind, _, ident = d.scope.partition(":")
        return {
            "schedule": schedule.id,
            "kind": schedule.kind,
            "period": d.period,
            "scope": kind,
            "id": ident,
            "name": name,
            "start": rfc3339(d.start_ms, schedule.timezone),
            "end": rfc3339(d.end_ms, schedule.timezone),
            "title": title,
            "link": link,
        }


def _link(schedule: Schedule, d: Delivery) -> str | None:
    if schedule.link is None:
        return None
    kind, _, ident = d.scope.partition(":")
    return schedule.link.format(schedule=schedule.id, period=d.period, scope=kind, id=ident)


def _number(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _unit(kpi: str) -> str:
    unit = KPIS[kpi].unit
    return unit if unit == "%" else f" {unit}"


def _fixed_width(header: list[str], rows: list[tuple[str, list[float | None]]]) -> list[str]:
    """The table as aligned plain-text lines (numbers right-aligned)."""
    cells = [header, *([day, *(_number(v) for v in values)] for day, values in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in cells
    ]
