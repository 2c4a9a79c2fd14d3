"""smartpark shared kernel: wire contract, quantity catalogue, park registry, settings.

Every part (``gateway``, ``ingest``, ``analytics``) imports this package; it imports none
of them (the CLI aside, which imports each part lazily inside its command).
"""

__version__ = "0.1.0"
