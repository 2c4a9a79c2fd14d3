"""The CalTRACK daily model, through OpenEEmeter's ``eemeter`` 4.x (docs/savings.md).

``eemeter.eemeter.DailyBaselineData`` checks the baseline as CalTRACK requires (at most
365 days, at least 90 % of them with energy and with temperature, ...) and
``DailyModel().fit`` selects and fits the temperature model (heating and cooling
balance points, season and weekday/weekend splits where they help);
``DailyModel.predict`` on ``DailyReportingData`` gives the baseline's prediction for
each reporting day (``predicted``) and its prediction interval (``predicted_unc``, the
half-width at 90 %: eemeter's ``uncertainty_alpha`` 0.1). eemeter takes temperatures in
degrees Fahrenheit; smartpark's are degC and are converted here.

eemeter and pandas are imported only when a model is fitted: they are the optional
extra ``savings`` (``pip install 'smartpark[savings]'``).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from smartpark.analytics.readings.series import FloatArray
from smartpark.core.errors import AnalyticsError, MissingExtraError

METHOD: Final = "CalTRACK daily (eemeter 4.x)"
CONFIDENCE: Final = 0.90  # eemeter's DailySettings.uncertainty_alpha = 0.1
# Quantities whose 0 eemeter reads as a missing day (is_electricity_data).
ELECTRICITY: Final = frozenset(
    {
        "electricity_import",
        "electricity_export",
        "green_electricity_import",
        "pv_generation",
        "wind_generation",
    }
)


@dataclass(frozen=True)
class Fit:
    """The fitted baseline model: what eemeter chose and how well it fits."""

    model_type: str  # eemeter's model, e.g. "hdd_tidd_cdd_smooth" (one per split)
    split: str  # the season/weekday split chosen, e.g. "fw-su_sh_wi" (no split)
    cvrmse: float  # of the baseline fit
    rmse: float  # canonical unit per day
    days: int  # baseline days fitted on
    seconds: float  # time to fit
    warnings: tuple[str, ...]  # eemeter's warnings about the baseline data


@dataclass(frozen=True)
class Prediction:
    """Per reporting day: the baseline's prediction and its 90 % half-width (NaN where
    the day has no temperature)."""

    predicted: FloatArray
    half_width: FloatArray


def _eemeter() -> Any:
    try:
        from eemeter import eemeter
    except ImportError:
        raise MissingExtraError(
            "smartpark savings needs eemeter (CalTRACK): pip install 'smartpark[savings]' "
            "(or '.[savings]' in a clone)"
        ) from None
    return eemeter


def _frame(days: list[dt.date], energy: FloatArray, temperature_c: FloatArray, tz: str) -> Any:
    import pandas as pd

    index = pd.DatetimeIndex([pd.Timestamp(d) for d in days]).tz_localize(tz)
    fahrenheit = temperature_c * 9.0 / 5.0 + 32.0
    return pd.DataFrame({"observed": energy, "temperature": fahrenheit}, index=index)


def _described(issues: list[Any]) -> str:
    return "; ".join(f"{w.qualified_name.rsplit('.', 1)[-1]}: {w.description}" for w in issues)


def fit(
    days: list[dt.date],
    energy: FloatArray,
    temperature_c: FloatArray,
    tz: str,
    quantity: str,
    project: str,
) -> tuple[Any, Fit]:
    """Fit the daily model on the baseline days; ``AnalyticsError`` naming eemeter's
    disqualifications when CalTRACK refuses the baseline."""
    ee = _eemeter()
    started = time.perf_counter()
    baseline = ee.DailyBaselineData(
        _frame(days, energy, temperature_c, tz), is_electricity_data=quantity in ELECTRICITY
    )
    if baseline.disqualification:
        raise AnalyticsError(
            f"project {project}: CalTRACK refuses the baseline "
            f"({_described(baseline.disqualification)})"
        )
    model = ee.DailyModel().fit(baseline)
    if model.disqualification:
        raise AnalyticsError(
            f"project {project}: the baseline model does not qualify "
            f"({_described(model.disqualification)})"
        )
    submodels = model.params.submodels.values()
    return model, Fit(
        model_type=", ".join(sorted({s.model_type.value for s in submodels})),
        split=str(model.best_combination),
        cvrmse=float(model.error["CVRMSE"]),
        rmse=float(model.error["RMSE"]),
        days=int(np.isfinite(energy).sum()),
        seconds=time.perf_counter() - started,
        warnings=tuple(f"{w.qualified_name}: {w.description}" for w in baseline.warnings),
    )


def predict(
    model: Any, days: list[dt.date], temperature_c: FloatArray, tz: str, quantity: str
) -> Prediction:
    """The baseline's prediction for ``days`` from their temperatures."""
    ee = _eemeter()
    frame = _frame(days, np.full(len(days), np.nan), temperature_c, tz)
    reporting = ee.DailyReportingData(frame, is_electricity_data=quantity in ELECTRICITY)
    out = model.predict(reporting).reindex(frame.index)
    return Prediction(
        predicted=out["predicted"].to_numpy(np.float64),
        half_width=out["predicted_unc"].to_numpy(np.float64),
    )


__all__ = ["CONFIDENCE", "METHOD", "Fit", "Prediction", "fit", "predict"]
