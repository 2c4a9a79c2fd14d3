"""The errors smartpark raises.

::

    SmartparkError            root of everything below
    ├── ConfigError           a file or setting is invalid; carries every problem at once
    └── ContractError         a value breaks the wire contract (topic, id, unit, timestamp)

User-facing errors say what to fix and where (``meter.chem-a-main.quantity: unknown
quantity 'gass'``).
"""

from __future__ import annotations


class SmartparkError(Exception):
    """Root of all smartpark errors."""


class ConfigError(SmartparkError):
    """A configuration or registry file is invalid.

    ``problems`` lists every error found, each prefixed with its path, so a user fixes
    the file in one pass.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} error(s)\n{lines}")


class ContractError(SmartparkError):
    """A value breaks the wire contract (DESIGN §2).

    ``reason`` is machine-readable (``bad_id``, ``bad_unit``, ...); ``field`` names the
    offending field.
    """

    def __init__(self, reason: str, field: str, detail: str) -> None:
        self.reason = reason
        self.field = field
        self.detail = detail
        super().__init__(f"{field}: {detail} ({reason})")
