"""smartpark: industrial-park telemetry and low-carbon KPIs, one package in layers.

``core`` (what every part shares) < ``store`` < the parts ``gateway``, ``ingest``,
``analytics``, ``deploy``, ``testing`` < ``grafana`` < ``demo`` < ``cli``; each imports
only what stands below it, and a part never imports a sibling (docs/architecture.md,
checked by tests/test_layers.py).
"""

__version__ = "0.1.0"
