"""Secrets from the environment or files, never from command lines, settings or logs.

Kept apart from :mod:`smartpark.core.settings` (which re-exports :func:`read_secret`) so that
lean processes such as the edge gateway can read a password without loading pydantic.
"""

from __future__ import annotations

import os
from pathlib import Path

from smartpark.core.errors import ConfigError


def read_secret(name: str) -> str | None:
    """A secret from ``SMARTPARK_<NAME>`` or the file named by ``SMARTPARK_<NAME>_FILE``."""
    key = f"SMARTPARK_{name.upper()}"
    value = os.environ.get(key)
    if value:
        return value
    path = os.environ.get(f"{key}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(f"{key}_FILE", [f"cannot read secret file: {exc.strerror}"]) from None
