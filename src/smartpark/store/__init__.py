"""The store both ingest and analytics meet in (docs/store.md).

Readings travel as columns of registry meter codes, epoch-ms timestamps and canonical
values (:class:`ReadingColumns`); tags (``park``, ``enterprise``, ``meter``,
``quantity``) and the measurement (the quantity's kind) are derived from the registry,
never from a payload. Implementations: InfluxDB (v1 ``/write`` + ``/query``, v2
``/api/v2/write``) and the embedded SQLite store; :func:`open_store` picks one from a
store URL.
"""

from smartpark.core.errors import StoreError, StoreRejectedError
from smartpark.store.base import KpiRow, ReadingColumns, Store
from smartpark.store.open import open_store

__all__ = [
    "KpiRow",
    "ReadingColumns",
    "Store",
    "StoreError",
    "StoreRejectedError",
    "open_store",
]
