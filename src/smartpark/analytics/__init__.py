"""smartpark analytics: vectorized low-carbon KPIs per enterprise, park and zone.

::

    from smartpark.analytics import compute_kpis, read_range, write_back, KPIS

    readings = read_range(store, registry, start_ms, end_ms)      # with edge readings
    table = compute_kpis(registry, readings, start_ms, end_ms, ["day"], ["park"])
    table.value("park", "petrochem", "day", start_ms, "co2_total_t")
    write_back(store, table)                                       # measurement kpi
"""

from smartpark.analytics.kpis.catalogue import KPI_NAMES, KPIS, KpiSpec
from smartpark.analytics.kpis.compute import SCOPES, compute_kpis
from smartpark.analytics.kpis.table import COMPLETE_AT, KpiBlock, KpiTable
from smartpark.analytics.readings.readers import read_range
from smartpark.analytics.writeback import write_back

__all__ = [
    "COMPLETE_AT",
    "KPIS",
    "KPI_NAMES",
    "SCOPES",
    "KpiBlock",
    "KpiSpec",
    "KpiTable",
    "compute_kpis",
    "read_range",
    "write_back",
]
