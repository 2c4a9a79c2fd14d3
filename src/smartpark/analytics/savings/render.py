"""Savings for people and programs: a plain table, CSV or JSON (``smartpark savings``),
and the records the API answers with. A missing value (a month without a counted day, a
quantity without an emission factor, no tariff) is ``None``/blank, never 0."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import fields
from typing import Any, Final, Literal

from smartpark.analytics.savings.caltrack import CONFIDENCE, METHOD
from smartpark.analytics.savings.savings import LIMITS, Month, Savings
from smartpark.core.cells import csv_text
from smartpark.core.readable import number

Format = Literal["table", "csv", "json"]
SOURCE: Final = (
    "CalTRACK methods (caltrack.org) as implemented by OpenEEmeter's eemeter "
    "(github.com/openeemeter/eemeter), DailyModel"
)
MONTH_FIELDS: Final = (*(f.name for f in fields(Month)), "avoided_pct")


def _value(x: Any) -> Any:
    return None if isinstance(x, float) and not math.isfinite(x) else x


def month_record(m: Month) -> dict[str, Any]:
    return {name: _value(getattr(m, name)) for name in MONTH_FIELDS}


def record(s: Savings) -> dict[str, Any]:
    """One project's savings as the JSON answer (CLI and API)."""
    p = s.project
    return {
        "project": p.id,
        "name": p.name,
        "name_zh": p.name_zh,
        "enterprise": p.enterprise,
        "meters": list(p.meters),
        "quantity": s.quantity,
        "unit": s.unit,
        "timezone": s.timezone,
        "baseline": {"from": str(p.baseline_start), "to": str(p.baseline_end)},
        "go_live": str(p.go_live),
        "from": str(s.first),
        "to": str(s.end),
        "method": METHOD,
        "source": SOURCE,
        "confidence": CONFIDENCE,
        "limits": list(LIMITS),
        "model": {
            "type": s.fit.model_type,
            "split": s.fit.split,
            "cvrmse": _value(s.fit.cvrmse),
            "rmse": _value(s.fit.rmse),
            "baseline_days": s.fit.days,
            "fit_seconds": round(s.fit.seconds, 3),
        },
        "months": [month_record(m) for m in s.months],
        "total": month_record(s.total),
        "notes": list(s.notes),
    }


def rows(results: Sequence[Savings]) -> list[dict[str, Any]]:
    """One flat row per project and month (the total last): CSV and the API's tables."""
    return [
        {"project": s.project.id, "unit": s.unit, **month_record(m)}
        for s in results
        for m in (*s.months, s.total)
    ]


def render(results: Sequence[Savings], fmt: Format) -> str:
    if fmt == "json":
        body = {"method": METHOD, "projects": [record(s) for s in results]}
        return json.dumps(body, ensure_ascii=False, indent=2) + "\n"
    table = rows(results)
    if fmt == "csv":
        head = list(table[0]) if table else ["project", "unit", *MONTH_FIELDS]
        return csv_text([head, *([r[k] for k in head] for r in table)])
    return "\n".join(_text(s) for s in results)


_SHOWN: Final = (
    ("month", "month"),
    ("days", "days"),
    ("baseline", "baseline"),
    ("actual", "actual"),
    ("avoided", "avoided"),
    ("±90%", "uncertainty"),
    ("%", "avoided_pct"),
    ("tce", "avoided_tce"),
    ("tCO2", "avoided_tco2"),
    ("CNY", "avoided_cost_cny"),
)


def _text(s: Savings) -> str:
    p = s.project
    head = [
        f"{p.id} ({p.name}), {p.enterprise}: {s.quantity} in {s.unit}, {s.first} to {s.end}",
        f"{METHOD}: {s.fit.model_type}, split {s.fit.split}, CVRMSE "
        f"{number(s.fit.cvrmse, 3)} over {s.fit.days} baseline days "
        f"({p.baseline_start} to {p.baseline_end}); go-live {p.go_live}",
    ]
    cells = [[name for name, _ in _SHOWN]]
    for m in (*s.months, s.total):
        rec = month_record(m)
        cells.append([_cell(rec[key]) for _, key in _SHOWN])
    widths = [max(len(r[k]) for r in cells) for k in range(len(_SHOWN))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join([*head, *lines, *(f"note: {n}" for n in s.notes)]) + "\n"


def _cell(value: Any) -> str:
    if value is None or isinstance(value, str):
        return value or "–"
    if isinstance(value, int):
        return str(value)
    return number(float(value))


__all__ = ["Format", "record", "render", "rows"]
