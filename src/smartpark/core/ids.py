"""Identifier rules (docs/contract.md): park, gateway, enterprise, meter and zone ids are slugs.

An id that does not match is rejected, never "cleaned up": it would otherwise reach MQTT
topics, InfluxDB tags and file names.
"""

from __future__ import annotations

import re

from smartpark.core.errors import ContractError

ID_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
_ID_RE = re.compile(ID_PATTERN)


def is_valid_id(value: object) -> bool:
    """True when ``value`` is a string slug ``[a-z0-9][a-z0-9_-]{0,63}``."""
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None


def check_id(value: object, field: str) -> str:
    """Return ``value`` if it is a valid id, else raise ``ContractError(bad_id)``."""
    if not is_valid_id(value):
        raise ContractError("bad_id", field, f"invalid id {value!r}: must match {ID_PATTERN}")
    assert isinstance(value, str)
    return value
