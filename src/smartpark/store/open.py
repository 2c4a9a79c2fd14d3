"""Pick the store a store URL names (docs/configuration.md ``--store``)."""

from __future__ import annotations

from smartpark.core.registry import Registry
from smartpark.core.urls import StoreUrl
from smartpark.store.base import Store


def open_store(url: StoreUrl, registry: Registry) -> Store:
    """The :class:`Store` for ``url``: SQLite for ``sqlite://``, else InfluxDB.

    Opening does not contact InfluxDB; call ``ensure_database()`` on an
    :class:`~smartpark.store.influx.InfluxStore` to check the server (and create the
    database on 1.x). Implementations are imported here, so importing
    :mod:`smartpark.store` stays light.
    """
    if url.kind == "sqlite":
        from smartpark.store.sqlite import SqliteStore

        return SqliteStore(url.path, registry)
    from smartpark.store.influx import InfluxStore

    return InfluxStore(url, registry)
