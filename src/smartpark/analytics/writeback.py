"""Write computed KPIs back to the store's measurement ``kpi`` (docs/store.md).

Idempotent: a KPI point is keyed by (scope, id, period, kpi, period start), so writing
the same period again overwrites it (SQLite ``INSERT OR REPLACE``; InfluxDB same series
and timestamp). Only full periods are ever computed (:mod:`analytics.periods`), so a
recomputation never replaces a whole period with a fragment. Values that are not
defined (a ratio over zero, NaN) are not written.
"""

from __future__ import annotations

from typing import Final

from smartpark.analytics.kpis.table import KpiTable
from smartpark.core.logs import get_logger
from smartpark.store.base import Store

BATCH_ROWS: Final = 50_000
_log = get_logger(__name__)


def write_back(store: Store, table: KpiTable, batch_rows: int = BATCH_ROWS) -> int:
    """Write every finite KPI value of ``table``; return the number of points written."""
    rows = table.rows()
    for k in range(0, len(rows), batch_rows):
        store.write_kpis(rows[k : k + batch_rows])
    _log.info("kpis_written", points=len(rows), blocks=len(table.blocks))
    return len(rows)
