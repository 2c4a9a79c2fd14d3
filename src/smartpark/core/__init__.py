"""The core every part shares: the wire contract, quantities and units, ids and topics,
timestamps, store and broker URLs, the park registry, emission factors, settings,
secrets, structured logs, TOML config checking, spreadsheet cells that hold no formula
(``cells``) and every exception (``errors``).

The core imports nothing above it: no part (``gateway``, ``ingest``, ``analytics``), no
store, no command. ``tests/test_layers.py`` keeps that true.
"""
