"""A self-contained HTML report: tables and inline SVG charts, nothing fetched.

The report must open from a file on a laptop with no network, so charts are drawn here
as SVG (line or bar), and every string that reaches the page is HTML-escaped. Fonts are
the machine's: Noto Sans CJK (Debian ``fonts-noto-cjk``) first, so Chinese names render
on screen and in the PDF (analytics/report/pdf.py) alike.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Literal

import numpy as np
import numpy.typing as npt

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
_W, _H, _PAD_L, _PAD_R, _PAD_T, _PAD_B = 720, 260, 64, 16, 16, 40


@dataclass(frozen=True)
class Series:
    name: str
    x_ms: npt.NDArray[np.int64]  # epoch ms
    y: npt.NDArray[np.float64]


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    series: Sequence[Series]
    kind: Literal["line", "bar"] = "line"
    limit: float | None = None  # a horizontal line, e.g. an emission limit
    limit_label: str = "limit"
    tz: dt.tzinfo = dt.UTC


@dataclass(frozen=True)
class Table:
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    caption: str = ""
    # (row, column) -> how a cell is marked: "bad" (red, e.g. a gap above a budget), "good"
    marks: Mapping[tuple[int, int], str] = field(default_factory=dict)


@dataclass(frozen=True)
class Section:
    heading: str
    text: str = ""
    tables: Sequence[Table] = field(default_factory=tuple)
    charts: Sequence[Chart] = field(default_factory=tuple)
    notice: bool = False  # drawn as a boxed warning (e.g. the data that is missing)


def render(title: str, sections: Sequence[Section], subtitle: str = "", lang: str = "en") -> str:
    """The whole report as one HTML document (``lang``: its ``<html lang>``)."""
    body = "\n".join(_section(s) for s in sections)
    return f"""<!doctype html>
<html lang="{escape(lang)}"><head><meta charset="utf-8">
<title>{escape(title)}</title>
<style>
body{{font-family:"Noto Sans CJK SC","Noto Sans",system-ui,sans-serif;margin:2em auto;
max-width:980px;color:#222}}
@page{{size:A4;margin:14mm}}
@media print{{body{{margin:0;max-width:none}} figure,table{{break-inside:avoid}}
h2{{break-after:avoid}} svg{{max-width:100%;height:auto}}}}
.notice{{border:2px solid #d62728;padding:4px 12px;margin:1em 0}}
table{{border-collapse:collapse;margin:1em 0;font-size:14px}}
th,td{{border:1px solid #ccc;padding:3px 6px;text-align:right}}
.wide{{overflow-x:auto}}
th:first-child,td:first-child{{text-align:left}}
caption{{text-align:left;font-weight:bold;padding:4px 0}}
figure{{margin:1em 0}} figcaption{{font-weight:bold}}
.muted{{color:#666}}
td.bad{{color:#d62728;font-weight:bold}} td.good{{color:#2ca02c}}
</style></head><body>
<h1>{escape(title)}</h1>
<p class="muted">{escape(subtitle)}</p>
{body}
</body></html>
"""


def _section(s: Section) -> str:
    parts = [f"<h2>{escape(s.heading)}</h2>"]
    if s.text:
        parts.extend(f"<p>{escape(line)}</p>" for line in s.text.split("\n"))
    parts.extend(_table(t) for t in s.tables)
    parts.extend(_chart(c) for c in s.charts)
    if s.notice:
        return '<section class="notice">' + "\n".join(parts) + "</section>"
    return "\n".join(parts)


def _table(t: Table) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in t.columns)
    rows = "".join(
        "<tr>" + "".join(_cell(v, t.marks.get((i, j), "")) for j, v in enumerate(row)) + "</tr>"
        for i, row in enumerate(t.rows)
    )
    caption = f"<caption>{escape(t.caption)}</caption>" if t.caption else ""
    table = f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    return f'<div class="wide">{table}</div>'


def _cell(value: str, mark: str) -> str:
    return (
        f'<td class="{escape(mark)}">{escape(value)}</td>' if mark else f"<td>{escape(value)}</td>"
    )


def _chart(c: Chart) -> str:
    finite_y = [s.y[np.isfinite(s.y)] for s in c.series]
    if not any(y.size for y in finite_y):
        return f"<figure><figcaption>{escape(c.title)}</figcaption><p>no data</p></figure>"
    y_values = [float(v) for y in finite_y if y.size for v in (y.min(), y.max())]
    if c.limit is not None:
        y_values.append(c.limit)
    y0 = min(0.0, *y_values)
    y1 = max(y_values)
    y1 = y0 + (y1 - y0) * 1.08 if y1 > y0 else y0 + 1.0

    def sy(y: npt.NDArray[np.float64] | float) -> npt.NDArray[np.float64]:
        frac = (np.asarray(y, np.float64) - y0) / (y1 - y0)
        return _H - _PAD_B - frac * (_H - _PAD_T - _PAD_B)

    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(c.title)}">'
    ]
    for tick in _ticks(y0, y1):
        y = float(sy(tick))
        svg.append(
            f'<line x1="{_PAD_L}" x2="{_W - _PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{_PAD_L - 4}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
            f"{_fmt(tick)}</text>"
        )
    draw = _bars if c.kind == "bar" else _lines
    svg.extend(draw(c, sy))
    for i, s in enumerate(c.series):
        svg.append(
            f'<text x="{_PAD_L + 8 + 150 * i}" y="{_PAD_T + 10}" font-size="12" '
            f'fill="{_PALETTE[i % len(_PALETTE)]}">{escape(s.name)}</text>'
        )
    if c.limit is not None:
        y = float(sy(c.limit))
        svg.append(
            f'<line x1="{_PAD_L}" x2="{_W - _PAD_R}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#d62728" stroke-dasharray="6 4"/><text x="{_W - _PAD_R}" '
            f'y="{y - 4:.1f}" font-size="11" text-anchor="end" fill="#d62728">'
            f"{escape(c.limit_label)} {_fmt(c.limit)}</text>"
        )
    svg.append("</svg>")
    return (
        f"<figure><figcaption>{escape(c.title)} ({escape(c.unit)})</figcaption>"
        f"{''.join(svg)}</figure>"
    )


_Scale = Callable[[npt.NDArray[np.float64] | float], npt.NDArray[np.float64]]


def _x_label(x: float, ms: int, tz: dt.tzinfo, fmt: str) -> str:
    when = dt.datetime.fromtimestamp(ms / 1000, tz=tz).strftime(fmt)
    return (
        f'<text x="{x:.1f}" y="{_H - _PAD_B + 16}" font-size="11" '
        f'text-anchor="middle">{when}</text>'
    )


def _lines(c: Chart, sy: _Scale) -> list[str]:
    """One polyline per series on a time axis."""
    xs = [s.x_ms for s in c.series if s.x_ms.size]
    x0 = min(int(x.min()) for x in xs)
    x1 = max(max(int(x.max()) for x in xs), x0 + 1)

    def sx(x: npt.NDArray[np.int64] | int) -> npt.NDArray[np.float64]:
        return _PAD_L + (np.asarray(x, np.float64) - x0) / (x1 - x0) * (_W - _PAD_L - _PAD_R)

    out = [
        _x_label(float(sx(int(ms))), int(ms), c.tz, "%m-%d %H:%M")
        for ms in np.linspace(x0, x1, 5).astype(np.int64)
    ]
    for i, s in enumerate(c.series):
        finite = np.isfinite(s.y)
        px, py = sx(s.x_ms[finite]), sy(s.y[finite])
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(px, py, strict=True))
        out.append(
            f'<polyline fill="none" stroke="{_PALETTE[i % len(_PALETTE)]}" '
            f'stroke-width="1.5" points="{points}"/>'
        )
    return out


def _bars(c: Chart, sy: _Scale) -> list[str]:
    """Grouped bars: one category per distinct x (e.g. a day), one bar per series."""
    categories = np.unique(np.concatenate([s.x_ms for s in c.series]))
    cat_w = (_W - _PAD_L - _PAD_R) / max(categories.size, 1)
    bar_w = cat_w * 0.8 / max(len(c.series), 1)
    base = float(sy(0.0))
    every = max(1, categories.size // 10)
    out = [
        _x_label(_PAD_L + (k + 0.5) * cat_w, int(ms), c.tz, "%m-%d")
        for k, ms in enumerate(categories.tolist())
        if k % every == 0
    ]
    for i, s in enumerate(c.series):
        finite = np.isfinite(s.y)
        slots = np.searchsorted(categories, s.x_ms[finite])
        for k, y in zip(slots.tolist(), sy(s.y[finite]).tolist(), strict=True):
            x = _PAD_L + k * cat_w + 0.1 * cat_w + i * bar_w
            out.append(
                f'<rect x="{x:.1f}" y="{min(y, base):.1f}" width="{bar_w:.1f}" '
                f'height="{abs(base - y):.1f}" fill="{_PALETTE[i % len(_PALETTE)]}"/>'
            )
    return out


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    span = hi - lo
    step = 10 ** math.floor(math.log10(span / count)) if span > 0 else 1.0
    for mult in (1, 2, 5, 10):
        if span / (step * mult) <= count:
            step *= mult
            break
    start = math.ceil(lo / step) * step
    return [start + k * step for k in range(int((hi - start) / step) + 1)]


def number(v: float) -> str:
    """A table's number: thousands separators from 100 up, else 3 significant digits;
    "" for NaN or infinity (the caller says "no data")."""
    if not np.isfinite(v):
        return ""
    return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3g}"


def _fmt(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}"
