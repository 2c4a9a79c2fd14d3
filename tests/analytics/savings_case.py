"""A savings case known by hand: an electricity meter whose daily use follows the outdoor
temperature, 1000 + 40 x max(0, T - 18) kWh, until go-live and 10 % less after it.

* T: a deterministic seasonal series (coolest in January, about 26 degC in July) and,
  through the day, a cycle of +-4 degC whose mean over the day's readings is T exactly;
* a day-of-week wobble of +-25 kWh (zero over each week, on weekdays and weekends alike)
  gives the baseline residuals, so the model has an uncertainty, while a month's use
  stays within a few kWh of the formula;
* the counter and the temperature meter read every 3 hours.

The baseline is 2024-01-01 to 2024-12-31 (365 days), go-live 2025-01-01, and the
reporting period runs to 2025-09-01. What the project saved in a day is exactly the
measured use / 9 (10 % of the use without it).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np
import numpy.typing as npt

from smartpark.analytics.periods import local_midnight_ms
from smartpark.core.registry import Registry
from smartpark.store.base import ReadingColumns, Store

TZ: Final = "Asia/Shanghai"
BASELINE: Final = (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
GO_LIVE: Final = dt.date(2025, 1, 1)
END: Final = dt.date(2025, 9, 1)
FIRST: Final = BASELINE[0]
HOUR_MS: Final = 3_600_000
STEP_H: Final = 3  # hours between readings
WOBBLE: Final = (25.0, -25.0, 25.0, -25.0, 0.0, 15.0, -15.0)  # Monday .. Sunday
SAVED: Final = 0.10

F64 = npt.NDArray[np.float64]


def registry_text(temperature: str = 'temperature_meter = "e1-temp"') -> str:
    return f"""
[zone.z1]
name = "Z1"
timezone = "{TZ}"

[park.p1]
zone = "z1"
name = "P1"
[park.p1.factors]
grid_tco2_per_mwh = 0.5

[park.p2]
zone = "z1"
name = "P2"

[enterprise.e1]
park = "p1"
name = "E1"

[enterprise.e2]
park = "p2"
name = "E2"

[gateway.g1]
park = "p1"

[gateway.g2]
park = "p2"

[meter.e1-main]
enterprise = "e1"
gateway = "g1"
quantity = "electricity_import"
interval_s = 10800

[meter.e1-temp]
enterprise = "e1"
gateway = "g1"
quantity = "ambient_temperature"
interval_s = 10800

[meter.e2-main]
enterprise = "e2"
gateway = "g2"
quantity = "electricity_import"
interval_s = 10800

[project.chiller]
enterprise = "e1"
name = "Chiller plant retrofit"
name_zh = "冷站改造"
meters = ["e1-main"]
baseline_start = {BASELINE[0]}
baseline_end = {BASELINE[1]}
go_live = {GO_LIVE}
{temperature}
"""


def days(first: dt.date = FIRST, end: dt.date = END) -> list[dt.date]:
    return [first + dt.timedelta(days=k) for k in range((end - first).days)]


def temperature(day: dt.date) -> float:
    k = (day - FIRST).days
    return 12.0 - 14.0 * float(np.cos(2 * np.pi * (k + 10) / 365.25))


def use(day: dt.date) -> float:
    """The day's measured kWh."""
    base = 1000.0 + 40.0 * max(0.0, temperature(day) - 18.0) + WOBBLE[day.weekday()]
    return base * (1.0 - SAVED) if day >= GO_LIVE else base


def readings(
    reg: Registry,
    *,
    energy_from: dt.date = FIRST,
    temperature_from: dt.date = FIRST,
    until: dt.date = END,
) -> ReadingColumns:
    """Readings every :data:`STEP_H` hours of the counter and the temperature meter, to
    ``until`` (and its midnight, which closes the last day)."""
    code = reg.meter_code
    meter, ts, value = [], [], []
    register = 0.0
    hours = np.arange(0, 24, STEP_H)
    for day in days(FIRST, until):
        start = local_midnight_ms(day, TZ)
        stamps = start + hours * HOUR_MS
        if day >= energy_from:
            meter.append(np.full(hours.size, code["e1-main"]))
            ts.append(stamps)
            value.append(register + use(day) * hours / 24.0)
        if day >= temperature_from:
            meter.append(np.full(hours.size, code["e1-temp"]))
            ts.append(stamps)
            value.append(temperature(day) + 4.0 * np.sin(2 * np.pi * hours / 24.0))
        register += use(day)
    end = local_midnight_ms(until, TZ)
    meter += [np.array([code["e1-main"], code["e1-temp"]])]
    ts += [np.array([end, end])]
    value += [np.array([register, temperature(until)])]
    return ReadingColumns(
        np.concatenate(meter).astype(np.int32),
        np.concatenate(ts).astype(np.int64),
        np.concatenate(value).astype(np.float64),
    )


def write(store: Store, reg: Registry, **kw: dt.date) -> None:
    cols = readings(reg, **kw)
    step = 20_000
    for a in range(0, len(cols), step):
        store.write(
            ReadingColumns(
                cols.meter[a : a + step], cols.ts[a : a + step], cols.value[a : a + step]
            )
        )


def temperature_csv() -> str:
    return "date,temperature_c\n" + "".join(f"{d},{temperature(d):.6f}\n" for d in days())


def oracle_avoided() -> dict[str, float]:
    """Per reporting month: the avoided kWh by an independent baseline, ordinary least
    squares of the baseline days' use on 1 and max(0, T - 18)."""
    base = days(*BASELINE)
    x = np.array([[1.0, max(0.0, temperature(d) - 18.0)] for d in base])
    y = np.array([use(d) for d in base])
    a, b = np.linalg.lstsq(x, y, rcond=None)[0]
    out: dict[str, float] = {}
    for d in days(GO_LIVE, END):
        predicted = a + b * max(0.0, temperature(d) - 18.0)
        key = f"{d:%Y-%m}"
        out[key] = out.get(key, 0.0) + predicted - use(d)
    return out


def known_avoided() -> dict[str, float]:
    """Per reporting month: what the project saved, measured use / 9."""
    out: dict[str, float] = {}
    for d in days(GO_LIVE, END):
        key = f"{d:%Y-%m}"
        out[key] = out.get(key, 0.0) + use(d) * SAVED / (1.0 - SAVED)
    return out


def actual() -> dict[str, float]:
    out: dict[str, float] = {}
    for d in days(GO_LIVE, END):
        out[f"{d:%Y-%m}"] = out.get(f"{d:%Y-%m}", 0.0) + use(d)
    return out
