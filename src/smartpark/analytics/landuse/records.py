"""An :class:`Analysis` as plain records: per enterprise, per flag, and item by item.

:mod:`render` turns these into a table, CSV or JSON, and a report can embed them; every
value is a str, int, float or None (NaN becomes None), so JSON needs no custom encoder.
"""

from __future__ import annotations

import math
from typing import Any

from smartpark.analytics.landuse import scoring
from smartpark.analytics.landuse.analysis import Analysis
from smartpark.analytics.landuse.idle import RULES
from smartpark.analytics.landuse.indicators import FORMULAS, INDICATORS, UNITS


def _num(value: float, digits: int = 6) -> float | None:
    """A finite number rounded, else None (JSON has no NaN or Infinity)."""
    value = float(value)
    if not math.isfinite(value):
        return None
    return round(value, digits)


def enterprises(analysis: Analysis) -> list[dict[str, Any]]:
    """One record per enterprise: grade, rank, score, indicators, items, flags, reason."""
    ev = analysis.evaluation
    st = analysis.data.static
    flags: dict[str, list[str]] = {e: [] for e in ev.ids}
    for flag in analysis.detection.flags:
        flags[flag.enterprise].append(flag.rule)
    out = []
    for i, ident in enumerate(ev.ids):
        profile = int(ev.profile[i])
        used = [k for k in range(len(INDICATORS)) if scoring.WEIGHTS[max(profile, 0), k] > 0]
        out.append(
            {
                "year": ev.year,
                "enterprise": ident,
                "park": st.park[i],
                "land_mu": _num(st.land_mu[i], 4),
                "profile": scoring.PROFILE_NAMES[profile] if profile >= 0 else None,
                "grade": ev.grade_letter(i),
                "rank": int(ev.rank[i]) or None,
                "score": _num(ev.score[i], 4),
                "not_graded": ev.reasons[i] or None,
                "indicators": {INDICATORS[k]: _num(ev.values[i, k]) for k in used},
                "items": {INDICATORS[k]: _num(ev.items[i, k], 4) for k in used}
                if ev.graded[i]
                else {},
                "pollutant_mean_used": bool(ev.pollutant_filled[i]),
                "flags": flags[ident],
                "idle_untested": analysis.detection.runs.untested[i] or None,
            }
        )
    return out


def flags(analysis: Analysis) -> list[dict[str, Any]]:
    order = {rule: k for k, rule in enumerate(RULES)}
    records = [
        {
            "enterprise": f.enterprise,
            "park": f.park,
            "rule": f.rule,
            "land_mu": _num(f.land_mu, 4),
            "evidence": dict(f.evidence),
        }
        for f in analysis.detection.flags
    ]
    return sorted(records, key=lambda r: (order[r["rule"]], r["enterprise"]))


def benchmarks(analysis: Analysis) -> dict[str, dict[str, Any]]:
    ev = analysis.evaluation
    used = scoring.WEIGHTS.max(axis=0) > 0
    return {
        name: {
            "value": _num(ev.benchmarks[k]),
            "unit": UNITS[name],
            "source": ev.benchmark_source[k],
        }
        for k, name in enumerate(INDICATORS)
        if used[k]
    }


def _note(indicator: str, value: float, filled: bool) -> str | None:
    if indicator == "va_per_pollutant" and filled:
        return "no pollutant data: the cohort's mean item score"
    if math.isinf(value):
        return "0 t discharged: the capped item score"
    return None


def explain(analysis: Analysis, enterprise: str) -> dict[str, Any]:
    """How one enterprise's grade and flags were reached, item by item."""
    ev = analysis.evaluation
    if enterprise not in ev.ids:
        raise KeyError(enterprise)
    i = ev.ids.index(enterprise)
    data = analysis.data
    inputs = data.inputs(data.year_index(ev.year))
    profile = int(ev.profile[i])
    items = []
    for k, name in enumerate(INDICATORS):
        weight = float(scoring.WEIGHTS[profile, k]) if profile >= 0 else 0.0
        if weight <= 0:
            continue
        num, den = FORMULAS[name]
        value, bench = float(ev.values[i, k]), float(ev.benchmarks[k])
        ratio = value / bench if bench > 0 and not math.isnan(value) else math.nan
        items.append(
            {
                "indicator": name,
                "unit": UNITS[name],
                num: _num(inputs[num][i]),
                den: _num(data.static.land_mu[i] if den == "land_mu" else inputs[den][i]),
                "value": _num(value),
                "benchmark": _num(bench),
                "benchmark_source": ev.benchmark_source[k],
                "ratio": _num(ratio),
                "cap": ev.config.cap,
                "weight": weight,
                "item_score": _num(ev.items[i, k], 4),
                "note": _note(name, value, bool(ev.pollutant_filled[i])),
            }
        )
    return {
        "enterprise": enterprise,
        "year": ev.year,
        "profile": scoring.PROFILE_NAMES[profile] if profile >= 0 else None,
        "grade": ev.grade_letter(i),
        "rank": int(ev.rank[i]) or None,
        "graded": int(ev.graded.sum()),
        "score": _num(ev.score[i], 4),
        "not_graded": ev.reasons[i] or None,
        "items": items,
        "flags": [f for f in flags(analysis) if f["enterprise"] == enterprise],
        "idle_untested": analysis.detection.runs.untested[i] or None,
    }
