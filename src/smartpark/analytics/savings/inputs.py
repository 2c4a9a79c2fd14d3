"""A project's daily inputs: its meters' energy and the outdoor temperature per local day.

Both come from the day windows every KPI reads (:func:`~analytics.days.source.range_days`:
day rows where current, the 15-minute level elsewhere), summed into the local days of
the project's park:

* energy: the sum of its meters' consumption, in their quantity's canonical unit. A day
  counts only when every meter has readings in it and in the day after (so its last
  stretch up to midnight is measured, not cut short); any other day is missing (NaN),
  never 0;
* temperature: the time-weighted mean of its ``ambient_temperature`` meter (degC) on a
  day its samples cover by more than half (eemeter's rule for hourly temperature), or
  the value of the day in its ``temperature_file`` (CSV ``date,temperature_c``).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from smartpark.analytics.days.source import range_days
from smartpark.analytics.periods import local_midnight_ms
from smartpark.analytics.readings.series import FloatArray
from smartpark.core.errors import AnalyticsError
from smartpark.core.registry import Project, Registry
from smartpark.store.base import Store

DAY_MS: Final = 86_400_000
MIN_COVER: Final = 0.5  # a day's temperature needs more than half of it covered
CSV_HEADER: Final = ("date", "temperature_c")


@dataclass(frozen=True)
class Daily:
    """Per local day from ``first`` (inclusive): energy and temperature, NaN where missing."""

    first: dt.date
    energy: FloatArray  # canonical unit of the project's quantity
    temperature_c: FloatArray

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=k) for k in range(self.energy.size)]

    def index(self, day: dt.date) -> int:
        return (day - self.first).days


def timezone_of(reg: Registry, project: Project) -> str:
    return reg.parks[reg.enterprises[project.enterprise].park].timezone


def read_daily(
    store: Store, reg: Registry, project: Project, first: dt.date, end: dt.date
) -> Daily:
    """The project's days ``[first, end)``."""
    tz = timezone_of(reg, project)
    n = (end - first).days
    # One day more: a day's energy counts when its meters also read the day after.
    edges = np.array(
        [local_midnight_ms(first + dt.timedelta(days=k), tz) for k in range(n + 2)], np.int64
    )
    temp_meter = project.temperature_meter
    wanted = [*project.meters, *([temp_meter] if temp_meter else [])]
    codes = np.array(sorted(reg.meter_code[m] for m in wanted), np.int32)
    dw, _ = range_days(store, reg, int(edges[0]), int(edges[-1]), meters=codes)
    gi = dw.cells.index(edges, "day")

    def per_day(x: FloatArray) -> FloatArray:
        return np.add.reduceat(x[..., : gi[-1]], gi[:-1], axis=-1)

    rows = np.array([reg.meter_code[m] for m in project.meters], np.intp)
    samples = per_day(dw.samples[rows].astype(np.float64))
    read = np.asarray((samples > 0).all(axis=0), np.bool_)
    whole = read[:-1] & read[1:]
    energy = np.where(whole, per_day(dw.consumption[rows]).sum(axis=0)[:-1], np.nan)
    if temp_meter is not None:
        t = reg.meter_code[temp_meter]
        integral, covered = per_day(dw.integral[t])[:-1], per_day(dw.covered[t])[:-1]
        ok = covered > MIN_COVER * np.diff(edges)[:-1]
        temperature = np.where(ok, integral / np.where(ok, covered, 1.0), np.nan)
    else:
        temperature = file_temperatures(reg, project, first, n)
    return Daily(first, energy, temperature)


def temperature_path(reg: Registry, project: Project) -> Path:
    """The project's temperature file, relative to the registry file."""
    return Path(reg.source).parent / (project.temperature_file or "")


def file_temperatures(reg: Registry, project: Project, first: dt.date, n: int) -> FloatArray:
    """Days ``first`` .. ``first + n`` of the project's temperature file (NaN: not in it)."""
    path = temperature_path(reg, project)
    out = np.full(n, np.nan)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            lines = list(csv.reader(f))
    except OSError as exc:
        raise AnalyticsError(
            f"project {project.id}: cannot read its temperature_file {path} ({exc.strerror}); "
            "write it (a CSV date,temperature_c, one row per day) or fix the registry"
        ) from None
    if not lines or tuple(c.strip() for c in lines[0]) != CSV_HEADER:
        raise AnalyticsError(f"{path}:1: the header must be {','.join(CSV_HEADER)}")
    for number, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        day, value = _row(path, number, line)
        k = (day - first).days
        if 0 <= k < n:
            out[k] = value
    return out


def _row(path: Path, number: int, line: list[str]) -> tuple[dt.date, float]:
    where = f"{path}:{number}"
    if len(line) != len(CSV_HEADER):
        raise AnalyticsError(f"{where}: expected 2 cells (date,temperature_c), got {len(line)}")
    try:
        day = dt.date.fromisoformat(line[0].strip())
    except ValueError:
        raise AnalyticsError(f"{where}: date must be YYYY-MM-DD, got {line[0]!r}") from None
    try:
        value = float(line[1])
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not -90.0 <= value <= 60.0:
        raise AnalyticsError(f"{where}: temperature_c must be a degC value, got {line[1]!r}")
    return day, value


__all__ = ["Daily", "file_temperatures", "read_daily", "temperature_path", "timezone_of"]
