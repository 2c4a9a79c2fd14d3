"""Park and zone land-use indicators (docs/landuse.md §4–5) as :class:`KpiRow` rows.

Yearly, per park and for the zone (scope ``park``/``zone``, period ``year``):

- ``land_output_rate`` = Σ revenue / land area, in 100 M CNY/km2. The land area is the
  park's ``land_km2`` from the registry when set, else the sum of its enterprises'
  ``land_m2``; the zone's is the sum of its parks'.
- ``energy_output_rate`` = Σ value_added / Σ energy_tce (10k CNY/tce) and
  ``water_output_rate`` = Σ value_added × 10 000 / Σ fresh_water_m3 (CNY/m3), each
  summed over the enterprises that have both numbers (a missing meter does not
  inflate the rate).
- ``graded_enterprises`` and ``grade_share_A``..``grade_share_D`` (% of the graded).
- ``flagged_land_mu_<rule>`` and ``flagged_enterprises_<rule>`` for each idle rule.

Monthly (period ``month``, over the idle test window): ``idle_enterprises_tested``
(with a baseline and data that month, so a zero below is not an untested zone),
``idle_enterprises_stopped``,
``idle_enterprises_suspected_idle``, ``idle_enterprises_stopped_1y`` and the land
(mu) of the last two. Group sums are one ``bincount`` or ``add.reduceat`` per column set.
GB/T 36132-2018 divides these by reference values; smartpark writes the raw rates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from smartpark.analytics.landuse.dataset import Dataset
from smartpark.analytics.landuse.evaluation import Evaluation
from smartpark.analytics.landuse.grades import GRADES
from smartpark.analytics.landuse.idle import RULES, Detection, IdleConfig
from smartpark.store.base import KpiRow, Scope

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

M2_PER_KM2: Final = 1e6
YUAN_PER_10K: Final = 10_000.0
TEN_K_PER_100M: Final = 10_000.0  # 10k CNY per 100 M CNY


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def start_ms(year: int, month: int, timezone: str) -> int:
    """Epoch ms of local midnight on the first of ``month`` in ``timezone``."""
    moment = dt.datetime(year, month, 1, tzinfo=_zone(timezone))
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class _Groups:
    """The parks (sorted) then the zone; sums over enterprises per group."""

    keys: list[tuple[Scope, str]]
    park_of: npt.NDArray[np.intp]

    @classmethod
    def of(cls, data: Dataset) -> _Groups:
        parks = sorted(set(data.static.park))
        code = {p: k for k, p in enumerate(parks)}
        park_of = np.array([code[p] for p in data.static.park], np.intp)
        keys: list[tuple[Scope, str]] = [("park", p) for p in parks]
        keys.append(("zone", data.zone))
        return cls(keys, park_of)

    def sum(self, values: FloatArray, use: BoolArray | None = None) -> FloatArray:
        """Per group (axis 0), Σ ``values`` over enterprises (where ``use``)."""
        values = np.asarray(values, np.float64)
        if use is not None:
            values = np.where(use, values, 0.0)
        n_parks = len(self.keys) - 1
        if values.ndim == 1:
            parks = np.bincount(self.park_of, weights=values, minlength=n_parks)
        else:
            order = np.argsort(self.park_of, kind="stable")
            starts = np.searchsorted(self.park_of[order], np.arange(n_parks))
            parks = np.add.reduceat(values[order], starts, axis=0)
        return np.concatenate([parks, values.sum(axis=0, keepdims=True)])


def _tz(data: Dataset, ident: str) -> str:
    return data.timezones.get(ident, data.timezones.get(data.zone, "Asia/Shanghai"))


def year_rows(
    data: Dataset, evaluation: Evaluation, detection: Detection | None = None
) -> list[KpiRow]:
    """The yearly land-use KPIs of every park and the zone."""
    year = evaluation.year
    j = data.year_index(year)
    groups = _Groups.of(data)
    static = data.static
    revenue = data.facts["revenue"][:, j]
    va = data.facts["value_added"][:, j]
    energy = data.energy_tce[:, j]
    water = data.fresh_water_m3[:, j]

    has_land = static.land_m2 > 0
    enterprise_land = groups.sum(static.land_m2, has_land)
    land_m2 = enterprise_land.copy()
    parks = [ident for scope, ident in groups.keys if scope == "park"]
    for g, ident in enumerate(parks):
        if ident in data.park_land_m2:
            land_m2[g] = data.park_land_m2[ident]
    land_m2[-1] = land_m2[:-1].sum()

    has_revenue = ~np.isnan(revenue)
    revenue_sum = groups.sum(revenue, has_revenue)
    revenue_n = groups.sum(np.ones_like(revenue), has_revenue)
    va_energy = ~np.isnan(va) & (energy > 0)
    va_water = ~np.isnan(va) & (water > 0)
    graded = evaluation.graded
    per_grade = np.stack([evaluation.grade == g for g in range(len(GRADES))], axis=1)
    grade_n = groups.sum(per_grade.astype(np.float64))  # (groups, grades)
    graded_n = groups.sum(graded.astype(np.float64))

    columns: dict[str, FloatArray] = {
        "land_output_rate": _rate(revenue_sum / TEN_K_PER_100M, land_m2 / M2_PER_KM2, revenue_n),
        "energy_output_rate": _rate(groups.sum(va, va_energy), groups.sum(energy, va_energy), None),
        "water_output_rate": _rate(
            groups.sum(va, va_water) * YUAN_PER_10K, groups.sum(water, va_water), None
        ),
        "graded_enterprises": graded_n,
    }
    for g, letter in enumerate(GRADES):
        columns[f"grade_share_{letter}"] = _rate(100.0 * grade_n[:, g], graded_n, graded_n)
    if detection is not None:
        land_mu = static.land_mu
        for rule in RULES:
            raised = detection.raised[rule]
            columns[f"flagged_land_mu_{rule}"] = groups.sum(land_mu, raised & (land_mu > 0))
            columns[f"flagged_enterprises_{rule}"] = groups.sum(raised.astype(np.float64))
    rows: list[KpiRow] = []
    for g, (scope, ident) in enumerate(groups.keys):
        start = start_ms(year, 1, _tz(data, ident))
        for kpi, values in columns.items():
            value = float(values[g])
            if np.isfinite(value):
                rows.append(KpiRow(scope, ident, "year", kpi, start, value))
    return rows


def _rate(num: FloatArray, den: FloatArray, count: FloatArray | None) -> FloatArray:
    ok = den > 0
    if count is not None:
        ok &= count > 0
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=ok)
    return out


def month_rows(
    data: Dataset, detection: Detection, config: IdleConfig | None = None
) -> list[KpiRow]:
    """Idle counts and flagged land per month of the test window, per park and zone."""
    config = config or IdleConfig()
    groups = _Groups.of(data)
    runs = detection.runs
    land_mu = np.where(data.static.land_mu > 0, data.static.land_mu, 0.0)
    suspected = runs.run_length >= config.suspected_months
    stopped_1y = runs.run_length >= config.stopped_1y_months
    columns = {
        "idle_enterprises_tested": groups.sum((~np.isnan(runs.ratio)).astype(np.float64)),
        "idle_enterprises_stopped": groups.sum(runs.stopped.astype(np.float64)),
        "idle_enterprises_suspected_idle": groups.sum(suspected.astype(np.float64)),
        "idle_enterprises_stopped_1y": groups.sum(stopped_1y.astype(np.float64)),
        "flagged_land_mu_suspected_idle": groups.sum(np.where(suspected, land_mu[:, None], 0.0)),
        "flagged_land_mu_stopped_1y": groups.sum(np.where(stopped_1y, land_mu[:, None], 0.0)),
    }
    rows: list[KpiRow] = []
    for k in range(runs.ratio.shape[1]):
        code = runs.first + k
        for g, (scope, ident) in enumerate(groups.keys):
            start = start_ms(code // 12, code % 12 + 1, _tz(data, ident))
            for kpi, values in columns.items():
                rows.append(KpiRow(scope, ident, "month", kpi, start, float(values[g, k])))
    return rows
