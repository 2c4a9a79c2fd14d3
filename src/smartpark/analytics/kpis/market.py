"""Green electricity certificates on the window grid, for market-based scope 2.

An enterprise's certificates (绿证) and green power contracts are MWh per local month
(``[enterprise.ID.green_certificates]``, docs/registry.md). They are spread evenly over
the 15-minute windows of their month in the park's time zone, so a month carries all of
them and an hour or a day its share of the month (docs/kpis.md, market-based scope 2).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from smartpark.analytics import periods
from smartpark.analytics.readings.series import FloatArray, IntArray
from smartpark.core.registry import Registry


def certificate_kwh(reg: Registry, points: IntArray) -> FloatArray:
    """kWh certified per enterprise (``reg.enterprise_ids`` order) and column (windows or
    cells, edges ``points``): each column its time share of the month's."""
    lo, hi = points[:-1], points[1:]
    out = np.zeros((len(reg.enterprise_ids), points.size - 1))
    for row, eid in enumerate(reg.enterprise_ids):
        ent = reg.enterprises[eid]
        timezone = reg.parks[ent.park].timezone if ent.park in reg.parks else "UTC"
        for month, mwh in ent.green_certificates.items():
            year, mon = (int(x) for x in month.split("-"))
            start = periods.local_midnight_ms(dt.date(year, mon, 1), timezone)
            following = dt.date(year + mon // 12, mon % 12 + 1, 1)
            end = periods.local_midnight_ms(following, timezone)
            overlap = np.clip(np.minimum(hi, end) - np.maximum(lo, start), 0, None)
            out[row] += mwh * 1000.0 * overlap / (end - start)
    return out
