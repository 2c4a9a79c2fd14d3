"""Measured savings (节能量) of a registry project per local month since go-live.

For ``[project.ID]`` (docs/savings.md): the CalTRACK daily model (:mod:`.caltrack`) is
fitted on its baseline days and predicts, from each reporting day's temperature, what
its meters would have used without the project. Per month:

* ``avoided`` = predicted − measured, over the days that have both (``days``; the
  month's other days are ``days_missing``, left out of both sums, never counted as 0);
* ``uncertainty``: the half-width of its 90 % interval, the root sum of squares of
  eemeter's daily prediction intervals (daily errors taken as independent);
* ``avoided_tce``, ``avoided_tco2``: with its park's coefficients valid at the month's
  start (GB/T 2589; the grid factor for electricity, the fuels' factors, none for
  renewable supplies); ``avoided_cost_cny``: at a flat price of its enterprise's tariff
  (the ``flat`` period price for electricity: a daily model cannot tell which
  time-of-use period the saved kWh fell in), none without a tariff.

Missing inputs are errors that say what is missing and what supplies it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics.savings import caltrack
from smartpark.analytics.savings.inputs import Daily, read_daily, timezone_of
from smartpark.core import quantities
from smartpark.core.errors import AnalyticsError, OptionError
from smartpark.core.factors import FactorSet
from smartpark.core.registry import BASELINE_MIN_DAYS, Park, Project, Registry
from smartpark.core.tariffs import ELECTRICITY
from smartpark.store.base import Store

# tce per canonical unit of each energy counter (GB/T 2589 coefficients).
TCE_FACTOR: Final = {
    "electricity_import": "electricity_tce_per_kwh",
    "electricity_export": "electricity_tce_per_kwh",
    "green_electricity_import": "electricity_tce_per_kwh",
    "pv_generation": "electricity_tce_per_kwh",
    "wind_generation": "electricity_tce_per_kwh",
    "natural_gas": "natural_gas_tce_per_m3",
    "coal": "coal_tce_per_t",
    "diesel": "diesel_tce_per_t",
    "heat": "heat_tce_per_gj",
    "steam": "steam_tce_per_t",
}
LIMITS: Final = (
    "The baseline is a model of use against outdoor temperature only: a change in "
    "production, occupancy or equipment other than the project after go-live is counted "
    "as savings (or losses). Re-baseline, or adjust, when operations change.",
    f"The baseline period must hold {BASELINE_MIN_DAYS} to 365 days with at least 90 % of "
    "them having both energy and temperature (CalTRACK, as eemeter checks it).",
    "Temperatures outside the baseline's range are extrapolated by the model.",
    "The uncertainty is the 90 % prediction interval of the baseline, summed over the "
    "month's days as independent errors; it does not cover errors of the meters.",
    "Cost uses one flat price per unit (electricity: the tariff's flat-period price), not "
    "the time-of-use periods in which the energy was saved.",
)


@dataclass(frozen=True)
class Month:
    """One local month of the reporting period (``month`` "total": all of them)."""

    month: str  # YYYY-MM
    days: int  # days with both energy and temperature
    days_missing: int
    baseline: float  # predicted, canonical unit (NaN: no day counted)
    actual: float
    avoided: float
    uncertainty: float  # ± at 90 %
    avoided_tce: float
    avoided_tco2: float  # NaN: no emission factor for the quantity
    avoided_cost_cny: float  # NaN: no tariff

    @property
    def avoided_pct(self) -> float:
        return 100.0 * self.avoided / self.baseline if self.baseline > 0 else math.nan


@dataclass(frozen=True)
class Savings:
    project: Project
    quantity: str
    unit: str
    timezone: str
    first: dt.date  # reporting days [first, end)
    end: dt.date
    fit: caltrack.Fit
    months: tuple[Month, ...]
    total: Month
    notes: tuple[str, ...]


def savings(
    store: Store,
    reg: Registry,
    ident: str,
    first: dt.date | None = None,
    end: dt.date | None = None,
    *,
    today: dt.date,
) -> Savings:
    """Project ``ident``'s savings per month over ``[first, end)`` (default: go-live to
    ``today``, the park's local date)."""
    project = reg.projects.get(ident)
    if project is None:
        known = ", ".join(sorted(reg.projects)) or "none: add [project.ID] to the registry"
        raise OptionError(f"--project: no project {ident!r} in the registry (known: {known})")
    first = max(first or project.go_live, project.go_live)
    end = end or today
    if end <= first:
        raise OptionError(
            f"--to: {end} leaves no reporting day: project {ident} goes live {project.go_live}"
            + (f", and the range starts {first}" if first > project.go_live else "")
        )
    tz = timezone_of(reg, project)
    quantity = reg.meters[project.meters[0]].quantity
    base = read_daily(store, reg, project, project.baseline_start, project.baseline_end)
    _check_baseline(reg, project, base)
    model, fit = caltrack.fit(base.days, base.energy, base.temperature_c, tz, quantity, ident)
    report = read_daily(store, reg, project, first, end)
    pred = caltrack.predict(model, report.days, report.temperature_c, tz, quantity)
    counted = np.isfinite(report.energy) & np.isfinite(pred.predicted)
    if not counted.any():
        raise AnalyticsError(_no_reporting(reg, project, report, first, end))
    rates = _Rates.of(reg, project, quantity)
    months = _months(report, pred, counted, rates)
    notes = [*fit.warnings, *rates.notes]
    return Savings(
        project=project,
        quantity=quantity,
        unit=quantities.BY_NAME[quantity].canonical_unit,
        timezone=tz,
        first=first,
        end=end,
        fit=fit,
        months=tuple(months),
        total=_total(months),
        notes=tuple(notes),
    )


def _supplier(project: Project) -> str:
    if project.temperature_meter is not None:
        return (
            f"temperature meter {project.temperature_meter!r} has no readings then: ingest "
            "them (its gateway, or `smartpark import readings`)"
        )
    return f"add those days to its temperature_file {project.temperature_file}"


def _check_baseline(reg: Registry, project: Project, base: Daily) -> None:
    """Say which input the baseline lacks before eemeter refuses it."""
    days = base.days
    no_temp = [d for d, t in zip(days, base.temperature_c, strict=True) if not np.isfinite(t)]
    no_energy = [d for d, e in zip(days, base.energy, strict=True) if not np.isfinite(e)]
    span = f"baseline {project.baseline_start} to {project.baseline_end}"
    if len(days) - len(no_temp) < BASELINE_MIN_DAYS:
        raise AnalyticsError(
            f"project {project.id}: no temperature for {len(no_temp)} of the {len(days)} days "
            f"of its {span} (first {no_temp[0]}; CalTRACK needs {BASELINE_MIN_DAYS}): "
            f"{_supplier(project)}"
        )
    if len(days) - len(no_energy) < BASELINE_MIN_DAYS:
        meters = ", ".join(project.meters)
        raise AnalyticsError(
            f"project {project.id}: too short a baseline: {len(days) - len(no_energy)} of the "
            f"{len(days)} days of its {span} have readings of {meters} (first missing "
            f"{no_energy[0]}; CalTRACK needs {BASELINE_MIN_DAYS}): ingest or import "
            "(`smartpark import readings`) the baseline's readings, or move the baseline "
            "in the registry"
        )


def _no_reporting(
    reg: Registry, project: Project, report: Daily, first: dt.date, end: dt.date
) -> str:
    span = f"{first} to {end}"
    if not np.isfinite(report.energy).any():
        return (
            f"project {project.id}: no readings of {', '.join(project.meters)} from {span} "
            "(since go-live): ingest them (the meters' gateways) or import them "
            "(`smartpark import readings`), or choose --from/--to where they exist"
        )
    return f"project {project.id}: no temperature from {span}: {_supplier(project)}"


@dataclass(frozen=True)
class _Rates:
    """Per month: tce and tCO2 per unit and a flat price, from the park and tariff."""

    park: Park
    tce_name: str
    co2: Mapping[str, float]  # factor name -> multiplier to tCO2 per unit
    price: Callable[[dt.date], float]  # CNY per unit on a day (NaN: none)
    notes: tuple[str, ...]

    @classmethod
    def of(cls, reg: Registry, project: Project, quantity: str) -> _Rates:
        park = reg.parks[reg.enterprises[project.enterprise].park]
        co2 = _CO2.get(quantity, {})
        notes = [] if co2 else [f"no CO2: {quantity} carries no emission factor"]
        tariff = reg.tariffs.tariff_for(project.enterprise, park.id, quantity)
        if tariff is None:
            notes.append(
                f"no cost: no {quantity} tariff for {project.enterprise} (name one in the "
                "zone's tariffs file, docs/registry.md)"
            )

        def price(day: dt.date) -> float:
            k = tariff.version_on(day) if tariff is not None else -1
            if tariff is None or k < 0:
                return math.nan
            v = tariff.versions[k]
            return v.prices.get("flat", math.nan) if quantity == ELECTRICITY else v.price

        return cls(park, TCE_FACTOR[quantity], co2, price, tuple(notes))

    def factors(self, day: dt.date) -> FactorSet:
        for s in self.park.sets:
            if (s.valid_from is None or s.valid_from <= day) and (
                s.valid_to is None or day < s.valid_to
            ):
                return s
        return self.park.sets[-1]

    def tco2(self, day: dt.date) -> float:
        s = self.factors(day)
        return sum(s.factor(n) * k for n, k in self.co2.items()) if self.co2 else math.nan


# tCO2 per canonical unit: factor name -> multiplier (docs/kpis.md, core/factors.py).
_CO2: Final[dict[str, dict[str, float]]] = {
    "electricity_import": {"grid_tco2_per_mwh": 1e-3},
    "natural_gas": {"natural_gas_tco2_per_km3": 1e-3},
    "coal": {"coal_tco2_per_t": 1.0},
    "diesel": {"diesel_tco2_per_t": 1.0},
    "heat": {"heat_tco2_per_gj": 1.0},
}


def _months(
    report: Daily, pred: caltrack.Prediction, counted: npt.NDArray[np.bool_], rates: _Rates
) -> list[Month]:
    days = report.days
    keys = np.array([d.year * 12 + d.month - 1 for d in days])
    out = []
    for key in np.unique(keys).tolist():
        span = keys == key
        ok = span & counted
        start = days[int(np.argmax(span))]
        baseline = float(pred.predicted[ok].sum()) if ok.any() else math.nan
        actual = float(report.energy[ok].sum()) if ok.any() else math.nan
        avoided = baseline - actual
        s = rates.factors(start)
        out.append(
            Month(
                month=f"{key // 12:04d}-{key % 12 + 1:02d}",
                days=int(ok.sum()),
                days_missing=int(span.sum() - ok.sum()),
                baseline=baseline,
                actual=actual,
                avoided=avoided,
                uncertainty=float(np.sqrt((pred.half_width[ok] ** 2).sum()))
                if ok.any()
                else math.nan,
                avoided_tce=avoided * s.factor(rates.tce_name),
                avoided_tco2=avoided * rates.tco2(start),
                avoided_cost_cny=avoided * rates.price(start),
            )
        )
    return out


def _total(months: list[Month]) -> Month:
    counted = [m for m in months if m.days > 0]

    def total(name: str) -> float:
        return float(sum(getattr(m, name) for m in counted))

    return Month(
        month="total",
        days=sum(m.days for m in months),
        days_missing=sum(m.days_missing for m in months),
        baseline=total("baseline"),
        actual=total("actual"),
        avoided=total("avoided"),
        uncertainty=math.sqrt(sum(m.uncertainty**2 for m in counted)),
        avoided_tce=total("avoided_tce"),
        avoided_tco2=total("avoided_tco2"),
        avoided_cost_cny=total("avoided_cost_cny"),
    )


__all__ = ["LIMITS", "Month", "Savings", "savings"]
