"""Test helpers for smartpark and for users' own tests (as ``structlog.testing`` is).

- ``smartpark.testing.servers``: real mosquitto and influxd started on free loopback
  ports in temporary directories, always stopped.
- ``smartpark.testing.memory_store``: an in-memory ``Store`` with the real store's
  semantics (idempotent points, KPI rows), for tests that need no database.

Nothing in the runtime imports this package.
"""
