"""A land-use :class:`Analysis` for people and programs: rich tables, CSV, JSON or .xlsx.

:func:`landuse` and :func:`idle` give what ``smartpark landuse`` and ``smartpark idle``
print in one ``--format``: a string (CSV, JSON), the bytes of an .xlsx workbook, or a
:class:`Screen` of rich renderables. The pieces are here too: :func:`select` (a park's
enterprises, grades staying zone-wide), the JSON payloads as dicts, the CSV text, the
workbooks' sheets and the tables. The records themselves come
from :mod:`records`; the rules are in docs/landuse.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal

from rich.console import RenderableType
from rich.highlighter import ReprHighlighter
from rich.table import Table
from rich.text import Text

from smartpark.analytics import xlsx_words
from smartpark.analytics.landuse import records
from smartpark.analytics.landuse.analysis import Analysis
from smartpark.analytics.landuse.indicators import INDICATORS, UNITS
from smartpark.core.cells import csv_text
from smartpark.core.errors import OptionError
from smartpark.core.registry import Lang
from smartpark.core.workbook import Column, Sheet, xlsx_bytes
from smartpark.store.base import KpiRow

Format = Literal["table", "csv", "json", "xlsx"]
KpiScope = Literal["park", "region"]  # park: the park and zone KPIs; region: shared figures
DISCLAIMER: Final = "Grades are an aid for the park's management committee, not an official result."
DISCLAIMERS: Final[dict[Lang, str]] = {
    "en": DISCLAIMER,
    "zh": "评价等级仅供园区管委会参考，并非官方评价结果。",
}
CSV_HEAD: Final = ("year", "enterprise", "park", "land_mu", "profile", "grade", "rank", "score")
PARK_KPIS: Final = (
    ("land_output_rate", "100M CNY/km2"),
    ("energy_output_rate", "10k CNY/tce"),
    ("water_output_rate", "CNY/m3"),
    ("grade_share_A", "%"),
    ("grade_share_B", "%"),
    ("grade_share_C", "%"),
    ("grade_share_D", "%"),
)
REGION_KPIS: Final = (
    ("shared_tax", "10k CNY"),
    ("shared_revenue", "10k CNY"),
    ("shared_value_added", "10k CNY"),
    ("shared_energy_tce", "tce"),
    ("shared_land_mu", "mu"),
)

_highlight = ReprHighlighter()


@dataclass(frozen=True)
class Screen:
    """Renderables to print, in order, on a console at least ``width`` columns wide."""

    parts: tuple[RenderableType, ...]
    width: int


@dataclass(frozen=True)
class Selection:
    """The records of an analysis shown for one park (or all); grades stay zone-wide."""

    analysis: Analysis
    park: str | None
    enterprises: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    kpis: list[KpiRow]
    scope: KpiScope = "park"


def select(analysis: Analysis, park: str | None = None, scope: KpiScope = "park") -> Selection:
    """The enterprises, flags and KPI rows of ``park`` (and the zone's KPIs), or all; with
    ``scope`` region the regions' shared figures (of the regions ``park`` counts in)."""
    data = analysis.data
    if park is not None and park not in set(data.static.park):
        raise OptionError(f"--park: no park {park!r} in zone {data.zone!r}")
    if scope == "region" and not data.region_ids:
        raise OptionError(
            "--scope: the registry defines no regions; add [region.ID] tables and each "
            "park's region (docs/registry.md)"
        )
    rows = analysis.year_rows()
    if scope == "region":
        kpis = [r for r in rows if r.scope == "region" and _counts(analysis, r.id, park)]
    else:
        kpis = [
            r
            for r in rows
            if r.scope in ("park", "zone") and (park is None or r.scope == "zone" or r.id == park)
        ]
    return Selection(
        analysis,
        park,
        [r for r in records.enterprises(analysis) if park in (None, r["park"])],
        [f for f in records.flags(analysis) if park in (None, f["park"])],
        kpis,
        scope,
    )


def _counts(analysis: Analysis, region: str, park: str | None) -> bool:
    """Whether ``region``'s figures of the analysis year take a share of ``park``."""
    if park is None:
        return True
    data = analysis.data
    r, p = data.region_ids.index(region), data.region_parks.index(park)
    j = data.year_index(analysis.evaluation.year)
    return any(float(w[r, p, j]) > 0 for w in data.region_shares.values())


def explain(analysis: Analysis, enterprise: str) -> dict[str, Any]:
    """:func:`records.explain`, with an unknown enterprise an :class:`OptionError`."""
    try:
        return records.explain(analysis, enterprise)
    except KeyError:
        raise OptionError(f"--explain: no enterprise {enterprise!r} in the zone") from None


def landuse(
    analysis: Analysis,
    output: Format,
    park: str | None = None,
    explain_id: str | None = None,
    scope: KpiScope = "park",
    lang: Lang | None = None,
) -> str | bytes | Screen:
    """What ``smartpark landuse`` prints: one enterprise explained, or the whole zone;
    ``lang`` (default: the zone's) is the language of the .xlsx headers."""
    if explain_id is not None:
        if output == "xlsx":
            raise OptionError("--explain: one enterprise as table or json, not xlsx")
        record = explain(analysis, explain_id)
        return to_json(record) if output == "json" else explain_screen(record)
    shown = select(analysis, park, scope)
    if output == "json":
        return to_json(landuse_payload(shown))
    if output == "csv":
        return landuse_csv(shown)
    if output == "xlsx":
        return landuse_xlsx(shown, lang or analysis.data.lang)
    return landuse_screen(shown)


def idle(
    analysis: Analysis, output: Format, park: str | None = None, lang: Lang | None = None
) -> str | bytes | Screen:
    """What ``smartpark idle`` prints: the flags at the analysis's as-of month."""
    shown = select(analysis, park)
    if output == "json":
        return to_json(idle_payload(shown))
    if output == "csv":
        return idle_csv(shown)
    if output == "xlsx":
        return idle_xlsx(shown, lang or analysis.data.lang)
    return idle_screen(shown)


def to_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def landuse_payload(shown: Selection) -> dict[str, Any]:
    result = shown.analysis
    return {
        "zone": result.data.zone,
        "year": result.evaluation.year,
        "profile": result.evaluation.config.profile,
        "shares": list(result.evaluation.config.shares),
        "benchmarks": records.benchmarks(result),
        "enterprises": shown.enterprises,
        "flags": shown.flags,
        "kpis": [
            {
                "scope": r.scope,
                "id": r.id,
                "period": r.period,
                "kpi": r.kpi,
                "start_ms": r.start_ms,
                "value": r.value,
            }
            for r in shown.kpis
        ],
        "control_revenue_per_mu": result.control_revenue_per_mu,
        "notes": list(result.notes),
        "disclaimer": DISCLAIMER,
    }


def untested(shown: Selection) -> dict[str, str]:
    """Enterprise -> why the idle rules could not test it, for the selected park."""
    st = shown.analysis.data.static
    reasons = shown.analysis.detection.runs.untested
    return {
        e: why
        for e, p, why in zip(st.ids, st.park, reasons, strict=True)
        if why and shown.park in (None, p)
    }


def idle_payload(shown: Selection) -> dict[str, Any]:
    result = shown.analysis
    return {
        "zone": result.data.zone,
        "as_of": result.detection.runs.months[-1],
        "facts_year": result.evaluation.year,
        "flags": shown.flags,
        "untested": untested(shown),
        "notes": list(result.detection.notes),
    }


def landuse_csv(shown: Selection) -> str:
    """One line per enterprise: grade, indicators, item scores, flags, why not graded.
    No cell holds a formula (:func:`~smartpark.core.cells.safe_cell`)."""
    head = [*CSV_HEAD, *INDICATORS, *(f"item_{k}" for k in INDICATORS), "flags", "not_graded"]
    return csv_text([head, *_grade_rows(shown)])


def idle_csv(shown: Selection) -> str:
    """One line per flag; the evidence as a JSON object. No cell holds a formula."""
    head = ["rule", "enterprise", "park", "land_mu", "evidence"]
    return csv_text([head, *_flag_rows(shown)])


def _grade_rows(shown: Selection) -> list[list[Any]]:
    """The rows of :func:`landuse_csv` and :func:`grades_sheet`, one per enterprise."""
    return [
        [
            *(r[k] for k in CSV_HEAD),
            *(r["indicators"].get(k) for k in INDICATORS),
            *(r["items"].get(k) for k in INDICATORS),
            ";".join(r["flags"]),
            r["not_graded"],
        ]
        for r in shown.enterprises
    ]


def _flag_rows(shown: Selection) -> list[list[Any]]:
    """The rows of :func:`idle_csv` and :func:`flags_sheet`, one per flag."""
    return [
        [
            f["rule"],
            f["enterprise"],
            f["park"],
            f["land_mu"],
            json.dumps(f["evidence"], ensure_ascii=False),
        ]
        for f in shown.flags
    ]


# -- .xlsx: the CSV's columns, and the tables' sheets, with units and lines ---------

# Column heads in Chinese; in English they are the CSV's names.
_ZH: Final = {
    "year": "年度",
    "enterprise": "企业",
    "park": "园区",
    "land_mu": "用地面积",
    "profile": "评价类型",
    "grade": "等级",
    "rank": "排名",
    "score": "得分",
    "tax_per_mu": "亩均税收",
    "revenue_per_mu": "亩均营业收入",
    "va_per_mu": "亩均增加值",
    "va_per_energy": "单位能耗增加值",
    "tax_per_energy": "单位能耗税收",
    "tax_per_kwh": "单位电耗税收",
    "va_per_pollutant": "单位排放增加值",
    "labour_productivity": "全员劳动生产率",
    "rd_intensity": "研发经费投入强度",
    "item": "得分",
    "flags": "标记",
    "not_graded": "未评价原因",
    "rule": "规则",
    "evidence": "依据",
    "scope": "范围",
    "id": "编号",
    "reason": "原因",
    "note": "说明",
    "land_output_rate": "单位土地产出",
    "energy_output_rate": "单位能耗产出",
    "water_output_rate": "单位水耗产出",
    "grade_share_A": "A 类企业占比",
    "grade_share_B": "B 类企业占比",
    "grade_share_C": "C 类企业占比",
    "grade_share_D": "D 类企业占比",
    "shared_tax": "分成税收",
    "shared_revenue": "分成营业收入",
    "shared_value_added": "分成增加值",
    "shared_energy_tce": "分成综合能源消费量",
    "shared_land_mu": "分成用地面积",
}


def _head(name: str, lang: Lang) -> str:
    if name.startswith("item_"):
        indicator = name.removeprefix("item_")
        return f"{_ZH[indicator]}{_ZH['item']}" if lang == "zh" else name
    return _ZH.get(name, name) if lang == "zh" else name


def landuse_xlsx(shown: Selection, lang: Lang = "en") -> bytes:
    """The grades (the CSV's columns), the flags, the park (or region) KPIs and the notes,
    a sheet each, as an .xlsx workbook; text through
    :func:`~smartpark.core.cells.safe_cell`, as in the CSV."""
    books = [grades_sheet(shown, lang), flags_sheet(shown, lang), park_kpis_sheet(shown, lang)]
    if shown.analysis.notes:
        books.append(notes_sheet(shown, lang))
    return xlsx_bytes(books)


def idle_xlsx(shown: Selection, lang: Lang = "en") -> bytes:
    """The flags (the CSV's columns) and the enterprises not tested, as an .xlsx."""
    return xlsx_bytes([flags_sheet(shown, lang), untested_sheet(shown, lang)])


def _lines(shown: Selection, lang: Lang, title: str, *more: tuple[str, str]) -> tuple[str, ...]:
    """The title, then scope and source (and ``more``), then the time zone."""
    data = shown.analysis.data
    scope = f"{xlsx_words.word(lang, 'zone')} {data.zone}"
    if shown.park is not None:
        scope += xlsx_words.aside(lang, f"{xlsx_words.word(lang, 'park')} {shown.park}")
    source = ", ".join(xlsx_words.word(lang, s) for s in data.sources) or "-"
    pairs = [("scope", scope), *more, ("source", source)]
    zone = xlsx_words.timezone_line(lang, data.timezones.values())
    return title, xlsx_words.line(lang, pairs), zone


def grades_sheet(shown: Selection, lang: Lang = "en") -> Sheet:
    """One row per enterprise, the columns of :func:`landuse_csv`, the disclaimer above."""
    ev = shown.analysis.evaluation
    title = xlsx_words.WORDS[lang]["grades_title"].format(
        zone=shown.analysis.data.zone,
        year=ev.year,
        profile=ev.config.profile,
        shares="/".join(f"{s:g}" for s in ev.config.shares),
    )
    columns = (
        Column(_head("year", lang), kind="integer"),
        Column(_head("enterprise", lang), kind="text"),
        Column(_head("park", lang), kind="text"),
        Column(_head("land_mu", lang), "mu", decimals=1),
        Column(_head("profile", lang), kind="text"),
        Column(_head("grade", lang), kind="text"),
        Column(_head("rank", lang), kind="integer"),
        Column(_head("score", lang), decimals=2),
        *(Column(_head(k, lang), UNITS[k]) for k in INDICATORS),
        *(Column(_head(f"item_{k}", lang), decimals=2) for k in INDICATORS),
        Column(_head("flags", lang), kind="text"),
        Column(_head("not_graded", lang), kind="text"),
    )
    lines = (*_lines(shown, lang, title), DISCLAIMERS[lang])
    return Sheet(xlsx_words.word(lang, "grades_sheet"), columns, _grade_rows(shown), lines)


def flags_sheet(shown: Selection, lang: Lang = "en") -> Sheet:
    """One row per flag, the columns of :func:`idle_csv` (the evidence as JSON)."""
    result = shown.analysis
    as_of = result.detection.runs.months[-1]
    title = xlsx_words.WORDS[lang]["flags_title"].format(zone=result.data.zone, as_of=as_of)
    columns = (
        Column(_head("rule", lang), kind="text"),
        Column(_head("enterprise", lang), kind="text"),
        Column(_head("park", lang), kind="text"),
        Column(_head("land_mu", lang), "mu", decimals=1),
        Column(_head("evidence", lang), "JSON", kind="text"),
    )
    facts = ("facts_year", str(result.evaluation.year))
    lines = _lines(shown, lang, title, ("as_of", as_of), facts)
    return Sheet(xlsx_words.word(lang, "flags_sheet"), columns, _flag_rows(shown), lines)


def park_kpis_sheet(shown: Selection, lang: Lang = "en") -> Sheet:
    """One row per park and the zone (or, scope region, per region): the indicators of
    :func:`park_kpi_table` with their units."""
    year = shown.analysis.evaluation.year
    region = shown.scope == "region"
    kpis = REGION_KPIS if region else PARK_KPIS
    key = "region_kpis_title" if region else "park_kpis_title"
    title = xlsx_words.WORDS[lang][key].format(zone=shown.analysis.data.zone, year=year)
    values: dict[tuple[str, str], dict[str, float]] = {}
    for row in shown.kpis:
        values.setdefault((row.scope, row.id), {})[row.kpi] = row.value
    columns = (
        Column(_head("scope", lang), kind="text"),
        Column(_head("id", lang), kind="text"),
        *(Column(_head(name, lang), unit) for name, unit in kpis),
    )
    rows = [
        [scope, ident, *(v.get(name) for name, _ in kpis)] for (scope, ident), v in values.items()
    ]
    name = xlsx_words.word(lang, "park_kpis_sheet")
    return Sheet(name, columns, rows, _lines(shown, lang, title))


def untested_sheet(shown: Selection, lang: Lang = "en") -> Sheet:
    """The enterprises the idle rules could not test, and why."""
    result = shown.analysis
    as_of = result.detection.runs.months[-1]
    title = xlsx_words.WORDS[lang]["untested_title"].format(zone=result.data.zone, as_of=as_of)
    columns = (
        Column(_head("enterprise", lang), kind="text"),
        Column(_head("reason", lang), kind="text"),
    )
    rows = [[e, why] for e, why in untested(shown).items()]
    return Sheet(xlsx_words.word(lang, "untested_sheet"), columns, rows, _lines(shown, lang, title))


def notes_sheet(shown: Selection, lang: Lang = "en") -> Sheet:
    """The analysis's notes (benchmarks from the current year, missing years, ...)."""
    result = shown.analysis
    title = xlsx_words.WORDS[lang]["notes_title"].format(
        zone=result.data.zone, year=result.evaluation.year
    )
    rows = [[note] for note in result.notes]
    columns = (Column(_head("note", lang), kind="text"),)
    return Sheet(xlsx_words.word(lang, "notes_sheet"), columns, rows, _lines(shown, lang, title))


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _line(text: str, highlight: bool = True) -> Text:
    """``text`` as printed without markup, highlighted like a console highlights a str."""
    return _highlight(text) if highlight else Text(text)


def landuse_screen(shown: Selection) -> Screen:
    """The grades table, the flags, the park KPIs, the notes and the disclaimer."""
    parts: list[RenderableType] = [grade_table(shown)]
    if shown.flags:
        parts.append(flag_table(shown.analysis, shown.flags))
    parts.append(park_kpi_table(shown))
    parts += [_line(f"note: {note}", highlight=False) for note in shown.analysis.notes]
    parts.append(_line(DISCLAIMER))
    return Screen(tuple(parts), 140)


def grade_table(shown: Selection) -> Table:
    ev = shown.analysis.evaluation
    title = (
        f"{shown.analysis.data.zone} {ev.year}: per-mu grades ({ev.config.profile}, shares "
        f"{'/'.join(f'{s:g}' for s in ev.config.shares)})"
    )
    table = Table(title=title)
    for column, justify in [
        ("rank", "right"),
        ("enterprise", "left"),
        ("park", "left"),
        ("mu", "right"),
        ("grade", "center"),
        ("score", "right"),
        ("items", "left"),
        ("flags / not graded", "left"),
    ]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    rows = shown.enterprises
    ordered = sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0, r["enterprise"]))
    for r in ordered:
        items = ", ".join(f"{k} {v:.1f}" for k, v in r["items"].items() if v is not None)
        if r["pollutant_mean_used"]:
            items += " (pollutant: cohort mean)"
        notes = ", ".join(r["flags"])
        if r["not_graded"]:
            notes = f"not graded: {r['not_graded']}" + (f"; {notes}" if notes else "")
        table.add_row(
            _fmt(r["rank"]),
            r["enterprise"],
            r["park"],
            _fmt(r["land_mu"], 1),
            r["grade"],
            _fmt(r["score"]),
            items,
            notes,
        )
    return table


def park_kpi_table(shown: Selection) -> Table:
    """The park and zone indicators, or (scope region) the regions' shared figures."""
    year = shown.analysis.evaluation.year
    columns: tuple[tuple[str, str], ...]
    if shown.scope == "region":
        title, columns = f"region shared figures {year} (enclave agreements)", REGION_KPIS
    else:
        title, columns = f"park land-use indicators {year}", PARK_KPIS
    table = Table(title=title)
    table.add_column("scope")
    for name, unit in columns:
        table.add_column(f"{name}\n({unit})", justify="right")
    values: dict[str, dict[str, float]] = {}
    for row in shown.kpis:
        values.setdefault(f"{row.scope} {row.id}", {})[row.kpi] = row.value
    for scope, v in values.items():
        table.add_row(scope, *(_fmt(v.get(name)) for name, _ in columns))
    return table


def flag_table(result: Analysis, flag_rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"idle and inefficient land at {result.detection.runs.months[-1]}")
    for column in ("rule", "enterprise", "park", "mu", "evidence"):
        table.add_column(column)
    for f in flag_rows:
        table.add_row(
            f["rule"], f["enterprise"], f["park"], _fmt(f["land_mu"], 1), evidence(f["evidence"])
        )
    return table


def idle_screen(shown: Selection) -> Screen:
    """The flags table, the enterprises not tested and the facts year used."""
    parts: list[RenderableType] = [flag_table(shown.analysis, shown.flags)]
    parts += [_line(f"not tested: {e}: {why}", False) for e, why in untested(shown).items()]
    parts.append(_line(f"facts of {shown.analysis.evaluation.year}"))
    return Screen(tuple(parts), 140)


def evidence(values: dict[str, Any]) -> str:
    """A flag's evidence on one line: ``ratios 25-01:0.00 ...; stopped_since 2024-11``."""
    parts = []
    for key, value in values.items():
        if key == "run_ratio" and isinstance(value, dict):
            ratios = " ".join(f"{m[2:]}:{r:.2f}" for m, r in value.items())
            parts.append(f"ratios {ratios}")
        elif isinstance(value, dict):
            parts.append(f"{key} " + " ".join(f"{k}:{_fmt(v)}" for k, v in value.items()))
        elif value is not None:
            parts.append(f"{key} {_fmt(value)}")
    return "; ".join(parts)


_ITEM_FIXED: Final = frozenset(
    {
        "indicator",
        "unit",
        "value",
        "benchmark",
        "benchmark_source",
        "ratio",
        "cap",
        "weight",
        "item_score",
        "note",
    }
)


def explain_screen(record: dict[str, Any]) -> Screen:
    """One enterprise's grade, item by item, its flags and the disclaimer."""
    head = f"{record['enterprise']} {record['year']}: grade {record['grade']}"
    if record["rank"]:
        head += f", rank {record['rank']} of {record['graded']}, score {_fmt(record['score'])}"
    parts: list[RenderableType] = [_line(head)]
    if record["not_graded"]:
        parts.append(_line(f"not graded: {record['not_graded']}"))
    if record["items"]:
        table = Table(title=f"items ({record['profile']}): weight × min(value / benchmark, cap)")
        for column in ("indicator", "inputs", "value", "benchmark", "ratio", "weight", "item"):
            table.add_column(column)
        for item in record["items"]:
            inputs = ", ".join(f"{k} {_fmt(v)}" for k, v in item.items() if k not in _ITEM_FIXED)
            table.add_row(
                f"{item['indicator']} ({item['unit']})",
                inputs,
                _fmt(item["value"], 4),
                f"{_fmt(item['benchmark'], 4)} ({item['benchmark_source']})",
                _fmt(item["ratio"], 4),
                _fmt(item["weight"], 0),
                _fmt(item["item_score"]) + (f" — {item['note']}" if item["note"] else ""),
            )
        parts.append(table)
    parts += [
        _line(f"flag {flag['rule']}: {evidence(flag['evidence'])}") for flag in record["flags"]
    ]
    if record["idle_untested"]:
        parts.append(_line(f"idle rules: {record['idle_untested']}"))
    parts.append(_line(DISCLAIMER))
    return Screen(tuple(parts), 120)
