"""The monthly report as an Excel workbook: a sheet per section, numbers as numbers.

The sheets follow the HTML report (:func:`analytics.report.monthly.html`) section by
section, built from the same rows (:func:`~analytics.report.monthly.headline`,
:func:`~analytics.report.monthly.tou`, ...): what is missing first, then the key
indicators (with last year, the change and the zero-carbon line), each park's (zone and
region reports), energy, time-of-use electricity, carbon, water, unit-product energy
(when the scope has products: :func:`_products`), dual-control targets (when its zone
names a targets file with targets of the scope: :mod:`analytics.report.dualcontrol`),
pollutants per stack,
data completeness per enterprise, land-use grades and idle flags (when the report has
them), the alerts fired, and last the daily values the charts draw. Every sheet opens
with the report's title, its scope, month and data source, the time zone and the
section's heading; a value the month has no data for says so in words, as in the HTML,
never a zero. Laid out by :mod:`smartpark.core.workbook`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from smartpark.analytics import xlsx_words
from smartpark.analytics.kpis.catalogue import ALL_KPIS, KPIS
from smartpark.analytics.periods import from_ms
from smartpark.analytics.products.committee import GRADED, Committee
from smartpark.analytics.report import dualcontrol as dualcontrol_section
from smartpark.analytics.report import monthly
from smartpark.analytics.report import products as product_section
from smartpark.analytics.report import savings as savings_section
from smartpark.analytics.report.labels import LABELS, name
from smartpark.analytics.report.monthly import NAN, Monthly
from smartpark.analytics.report.products import Products
from smartpark.core.workbook import Column, Sheet, xlsx_bytes

# The daily values of the report's charts: energy and CO2, tCO2/tce, time-of-use kWh.
DAILY: tuple[str, ...] = (
    "energy_tce",
    "co2_total_t",
    "carbon_per_energy",
    *(f"electricity_kwh_{p}" for p in monthly.TOU),
    "completeness",
)


def workbook(r: Monthly) -> bytes:
    """The report ``r`` as the bytes of an .xlsx file (:func:`sheets_of`)."""
    return xlsx_bytes(sheets_of(r))


def sheets_of(r: Monthly) -> list[Sheet]:
    """One sheet per section of the report, in the HTML's order, then the daily values."""
    out = [_missing(r), _headline(r)]
    if r.parks:
        out.append(_parks(r))
    out.append(_kpis(r, "sheet_energy", "energy", monthly.ENERGY))
    out.append(_tou(r))
    out.append(_kpis(r, "sheet_carbon", "carbon", monthly.CARBON, monthly.carbon_text(r)))
    out.append(_kpis(r, "sheet_water", "water", monthly.WATER))
    if r.products is not None:
        out += _products(r, r.products)
    if r.dualcontrol is not None:
        heading = LABELS[r.lang]["dualcontrol"]
        out.append(dualcontrol_section.sheet(r.registry, r.lang, r.dualcontrol, _lines(r, heading)))
    if r.savings:
        heading = LABELS[r.lang]["savings"]
        out.append(savings_section.sheet(r.registry, r.lang, r.savings, _lines(r, heading)))
    out += [_emissions(r), _quality(r)]
    if r.grades or r.flags:
        out.append(_grades(r))
        if r.flags:
            out.append(_flags(r))
    out += [_alerts(r), _daily(r)]
    return out


def _lines(r: Monthly, heading: str, *text: str) -> tuple[str, ...]:
    """Title; scope, month and source; time zone; the section's heading and text."""
    zone = xlsx_words.timezone_line(r.lang, [r.timezone])
    return (monthly.title(r), monthly.subtitle(r), zone, heading, *text)


def _value(r: Monthly, value: float) -> float | str:
    """A number, or the words for no data (never a zero, never a blank)."""
    return LABELS[r.lang]["no_data"] if r.no_data or not np.isfinite(value) else value


def _number(value: float) -> float | None:
    return value if np.isfinite(value) else None


def _kpi_columns(r: Monthly, kpis: Sequence[str]) -> tuple[Column, ...]:
    return tuple(Column(KPIS[k].label(r.lang), KPIS[k].unit) for k in kpis)


def _text(header: str) -> Column:
    return Column(header, kind="text")


def _missing(r: Monthly) -> Sheet:
    w = LABELS[r.lang]
    if r.missing:
        key, heading, notes = "sheet_missing", w["missing"], list(r.missing)
    else:
        key, heading, notes = "sheet_complete", w["scope"], [w["complete"]]
    return Sheet(w[key], (_text(w["note"]),), [[n] for n in notes], _lines(r, heading))


def _headline(r: Monthly) -> Sheet:
    w = LABELS[r.lang]
    columns = (
        _text(w["kpi"]),
        Column(w["value"]),
        _text(w["unit"]),
        Column(w["last_year"]),
        Column(w["change"], decimals=1),
        _text(w["line"]),
        _text(w["verdict"]),
    )
    rows = [
        [
            KPIS[h.kpi].label(r.lang),
            _value(r, h.value),
            KPIS[h.kpi].unit,
            _number(h.last_year),
            None if r.no_data else _number(h.change),
            h.line or None,
            None if h.meets is None or r.no_data else (w["yes"] if h.meets else w["no"]),
        ]
        for h in monthly.headline(r)
    ]
    return Sheet(w["sheet_headline"], columns, rows, _lines(r, w["headline"]))


def _parks(r: Monthly) -> Sheet:
    w = LABELS[r.lang]
    columns = (_text(w["park"]), *_kpi_columns(r, monthly.PARK_KPIS))
    rows = [
        [name(r.registry.parks[p], r.lang), *(_value(r, v.get(k, NAN)) for k in monthly.PARK_KPIS)]
        for p, v in r.parks.items()
    ]
    heading = f"{w['headline']}{xlsx_words.WORDS[r.lang][':']}{w['park']}"
    return Sheet(w["sheet_parks"], columns, rows, _lines(r, heading))


def _kpis(r: Monthly, sheet: str, heading: str, kpis: Sequence[str], *text: str) -> Sheet:
    """Indicator, value and unit of each of ``kpis`` (energy, carbon, water)."""
    w = LABELS[r.lang]
    columns = (_text(w["kpi"]), Column(w["value"]), _text(w["unit"]))
    rows = [[KPIS[k].label(r.lang), _value(r, r.values.get(k, NAN)), KPIS[k].unit] for k in kpis]
    return Sheet(w[sheet], columns, rows, _lines(r, w[heading], *text))


def _tou(r: Monthly) -> Sheet:
    w = LABELS[r.lang]
    columns = (
        _text(w["kpi"]),
        Column(w["value"]),
        _text(w["unit"]),
        Column(w["tou_share"], decimals=1),
    )
    split = monthly.tou(r)
    if split is None:
        return Sheet(w["sheet_tou"], columns, [], _lines(r, w["tou"], w["no_tariffs"]))
    rows = [
        [
            KPIS[t.kpi].label(r.lang),
            _value(r, t.value),
            t.unit,
            None if r.no_data else _number(t.share),
        ]
        for t in split
    ]
    return Sheet(w["sheet_tou"], columns, rows, _lines(r, w["tou"]))


def _products(r: Monthly, p: Products) -> list[Sheet]:
    """The section "Unit-product energy": the products graded, output per level, the
    products above the limit, and (when any) the output missing."""
    c = p.committee
    out = [_graded(r, c), _levels(r, c), _above(r, c)]
    return [*out, _output_missing(r, c)] if c.missing_output else out


def _graded(r: Monthly, c: Committee) -> Sheet:
    w, reg, lang = LABELS[r.lang], r.registry, r.lang
    columns = (
        _text(w["product"]),
        _text(w["enterprise"]),
        _text(w["standard"]),
        Column(ALL_KPIS["product_output"].label(lang)),
        _text(w["output_unit"]),
        _text(w["indicator"]),
        *(Column(ALL_KPIS[k].label(lang)) for k in ("benchmark_value", "limit_value")),
        Column(ALL_KPIS["gap_to_next_level"].label(lang)),
        _text(w["unit"]),
        _text(ALL_KPIS["benchmark_level"].label(lang)),
    )
    rows = [
        [
            name(reg.products[g.product], lang),
            name(reg.enterprises[g.enterprise], lang),
            product_section.standard_text(lang, g.standard, g.category),
            _value(r, g.output),
            reg.products[g.product].unit,
            product_section.indicator_text(reg, lang, g.product),
            _value(r, g.benchmark_value),
            g.limit_value,
            _number(g.gap),
            reg.products[g.product].limit.unit,
            w[g.standing],
        ]
        for g in c.grades
    ]
    text = () if c.above_limit else (w["none_above"],)
    return Sheet(w["sheet_products"], columns, rows, _lines(r, w["products"], *text))


def _levels(r: Monthly, c: Committee) -> Sheet:
    """Output per level per park and zone: an amount and a % column per level."""
    w = LABELS[r.lang]
    columns = (
        _text(w["park_or_zone"]),
        _text(w["standard"]),
        _text(w["output_unit"]),
        *(col for k in GRADED for col in (Column(w[k]), Column(f"{w[k]} %", decimals=1))),
        Column(w["ungraded"]),
        Column(w["without_output"], kind="integer"),
    )
    rows = [
        [
            product_section.scope_name(r.registry, r.lang, s),
            product_section.standard_text(r.lang, s.standard, s.category),
            s.unit,
            *(x for k in GRADED for x in (s.output[k], _number(s.share[k]))),
            s.output["ungraded"],
            s.products["no_output"],
        ]
        for s in c.shares
    ]
    return Sheet(w["sheet_levels"], columns, rows, _lines(r, w["levels_caption"]))


def _above(r: Monthly, c: Committee) -> Sheet:
    w, reg, lang = LABELS[r.lang], r.registry, r.lang
    columns = (
        _text(w["enterprise"]),
        _text(w["product"]),
        _text(w["park"]),
        *(Column(ALL_KPIS[k].label(lang)) for k in ("benchmark_value", "limit_value")),
        Column(w["excess"]),
        _text(w["unit"]),
    )
    rows = [
        [
            name(reg.enterprises[a.enterprise], lang),
            name(reg.products[a.product], lang),
            name(reg.parks[a.park], lang),
            a.benchmark_value,
            a.limit_value,
            a.excess,
            a.unit,
        ]
        for a in c.above_limit
    ]
    text = () if c.above_limit else (w["none_above"],)
    return Sheet(w["sheet_above"], columns, rows, _lines(r, w["above_caption"], *text))


def _output_missing(r: Monthly, c: Committee) -> Sheet:
    w, reg, lang = LABELS[r.lang], r.registry, r.lang
    columns = (
        _text(w["product"]),
        _text(w["enterprise"]),
        Column(ALL_KPIS["product_energy_tce"].label(lang), "tce"),
        _text(w["how"]),
    )
    rows = [
        [
            name(reg.products[m.product], lang),
            name(reg.enterprises[m.enterprise], lang),
            m.energy_tce,
            product_section.hint(lang, m),
        ]
        for m in c.missing_output
    ]
    heading = w["missing_caption"]
    return Sheet(w["sheet_output_missing"], columns, rows, _lines(r, heading))


def _emissions(r: Monthly) -> Sheet:
    """One row per stack: mass and exceedance hours; a stack without readings says so."""
    w = LABELS[r.lang]
    reg = r.registry
    columns = (
        _text(w["stack"]),
        _text(w["enterprise"]),
        _text(w["park"]),
        *_kpi_columns(r, monthly.POLLUTION),
    )
    rows: list[list[object]] = []
    for s in r.stacks:
        ent = reg.enterprises[s.enterprise]
        values = (s.values[k] for k in monthly.POLLUTION)
        cells = [w["no_data"] if not s.readings else _number(v) for v in values]
        rows.append(
            [s.stack or w["no_stack"], name(ent, r.lang), name(reg.parks[ent.park], r.lang), *cells]
        )
    return Sheet(w["sheet_emissions"], columns, rows, _lines(r, w["emissions"]))


def _quality(r: Monthly) -> Sheet:
    w = LABELS[r.lang]
    columns = (_text(w["enterprise"]), *_kpi_columns(r, monthly.QUALITY))
    rows = [
        [
            name(r.registry.enterprises[e], r.lang),
            *(
                w["no_data"] if not np.isfinite(x) else x
                for x in (v.get(k, NAN) for k in monthly.QUALITY)
            ),
        ]
        for e, v in r.enterprises.items()
    ]
    return Sheet(w["sheet_quality"], columns, rows, _lines(r, w["quality"]))


def _grades(r: Monthly) -> Sheet:
    w = LABELS[r.lang]
    ents = r.registry.enterprises
    columns = (_text(w["enterprise"]), _text(w["grade"]), _text(w["previous"]), _text(w["changed"]))
    rows = [
        [name(ents[e], r.lang), g, p or None, "✔" if p and p != g else None] for e, g, p in r.grades
    ]
    return Sheet(w["sheet_grades"], columns, rows, _lines(r, w["landuse"]))


def _flags(r: Monthly) -> Sheet:
    w = LABELS[r.lang]
    ents = r.registry.enterprises
    columns = (_text(w["enterprise"]), _text(w["rule"]))
    rows = [[name(ents[e], r.lang), rule] for e, rule in r.flags]
    return Sheet(w["sheet_flags"], columns, rows, _lines(r, w["landuse"]))


def _alerts(r: Monthly) -> Sheet:
    w = LABELS[r.lang]
    columns = (
        _text(w["rule_id"]),
        _text(w["scope"]),
        _text(w["state"]),
        _text(w["at"]),
        Column(w["value"]),
    )
    rows = [
        [
            str(e["rule"]),
            f"{e['scope']} {e['id']}",
            str(e["state"]),
            str(e["starts_at"]),
            None if e.get("value") is None else float(e["value"]),
        ]
        for e in r.alerts
    ]
    text = () if r.alerts else (w["none_fired"],)
    return Sheet(w["sheet_alerts"], columns, rows, _lines(r, w["alerts"], *text))


def _daily(r: Monthly) -> Sheet:
    """The values of the report's charts, one row per day, with the zero-carbon line."""
    w = LABELS[r.lang]
    columns = (Column(w["day"], kind="date"), *_kpi_columns(r, DAILY))
    rows = [
        [from_ms(start, r.timezone), *(_number(r.days[k][i]) for k in DAILY)]
        for i, start in enumerate(r.day_starts)
    ]
    line = f"{w['line']}{xlsx_words.WORDS[r.lang][':']}{r.line:.2f} tCO2/tce"
    return Sheet(w["sheet_daily"], columns, rows, _lines(r, w["daily"], line))
