"""One enterprise over two years with a chosen monthly shape, for the dual-control tests.

Zone z1 (Asia/Shanghai) > park p1 > enterprise e1 with two hourly counters: electricity
import and natural gas. Within a month both run at constant rates (``E`` kWh and ``G`` m3
per hour), so a month's energy and CO2 are computed by hand from the default factors:

- energy (tce) = hours × (E × 0.0001229 + G × 0.0012143)
- CO2 (t) = hours × (E / 1000 × 0.5306 + G / 1000 × 2.162)
"""

from __future__ import annotations

import calendar
import datetime as dt
from pathlib import Path

import numpy as np

from smartpark.analytics import periods
from smartpark.core import registry as registry_mod
from smartpark.core.registry import Registry
from smartpark.store.base import ReadingColumns, Store

TZ = "Asia/Shanghai"
ELECTRICITY_TCE_PER_KWH = 0.0001229
GAS_TCE_PER_M3 = 0.0012143
GRID_TCO2_PER_MWH = 0.5306
GAS_TCO2_PER_KM3 = 2.162
# The monthly shape: multiples of 1000 kWh/h and 100 m3/h.
SHAPE = {
    2025: (2.0, 2.0, 1.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.5, 2.0, 2.5),
    2026: (2.2, 2.0, 1.6, 1.2, 1.0, 1.0, 1.0, 1.0, 1.0, 1.5, 2.0, 2.5),
}
AS_OF = dt.date(2026, 7, 15)  # the year to date: January to June 2026
FACTS_HEADER = "year,enterprise,tax,revenue,value_added,employees,rd_spend,pollutant_t,profit\n"
VALUE_ADDED_2026 = 50_000.0  # 10k CNY

REGISTRY = """
[zone.z1]
name = "Z1"
timezone = "Asia/Shanghai"
facts = "facts.csv"
dual_control = "targets.toml"

[park.p1]
zone = "z1"
name = "P1"

[enterprise.e1]
park = "p1"
name = "E1"

[gateway.g1]
park = "p1"

[meter.e1-imp]
enterprise = "e1"
gateway = "g1"
quantity = "electricity_import"
interval_s = 3600

[meter.e1-gas]
enterprise = "e1"
gateway = "g1"
quantity = "natural_gas"
interval_s = 3600
"""


def rates(year: int, month: int) -> tuple[float, float]:
    """(kWh per hour, m3 per hour) in a month."""
    s = SHAPE[year][month - 1]
    return 1000.0 * s, 100.0 * s


def hours(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1] * 24


def energy(year: int, month: int) -> float:
    e, g = rates(year, month)
    return hours(year, month) * (e * ELECTRICITY_TCE_PER_KWH + g * GAS_TCE_PER_M3)


def co2(year: int, month: int) -> float:
    e, g = rates(year, month)
    return hours(year, month) * (e / 1000 * GRID_TCO2_PER_MWH + g / 1000 * GAS_TCO2_PER_KM3)


def write_zone(folder: Path, targets: str, facts: str | None = None) -> Registry:
    """The registry, targets and facts files in ``folder``; the registry loaded."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "registry.toml").write_text(REGISTRY, encoding="utf-8")
    (folder / "targets.toml").write_text(targets, encoding="utf-8")
    if facts is not None:
        (folder / "facts.csv").write_text(FACTS_HEADER + facts, encoding="utf-8")
    return registry_mod.load(folder / "registry.toml")


def write_readings(store: Store, reg: Registry, first_year: int) -> None:
    """Hourly register readings from the day before ``first_year`` to July 2, 2026."""
    start = periods.local_midnight_ms(dt.date(first_year - 1, 12, 31), TZ)
    end = periods.local_midnight_ms(dt.date(2026, 7, 2), TZ)
    ts = np.arange(start, end + 1, 3_600_000, dtype=np.int64)
    local = [periods.from_ms(int(t), TZ) for t in ts[:-1]]
    per_hour = np.array(
        [rates(d.year, d.month) if d.year in SHAPE else rates(first_year, 1) for d in local]
    )
    registers = np.vstack([np.zeros((1, 2)), np.cumsum(per_hour, axis=0)])
    codes = reg.meter_code
    n = ts.size
    store.write(
        ReadingColumns(
            np.concatenate([np.full(n, codes["e1-imp"]), np.full(n, codes["e1-gas"])]).astype(
                np.int32
            ),
            np.concatenate([ts, ts]),
            np.concatenate([registers[:, 0], registers[:, 1]]),
        )
    )
