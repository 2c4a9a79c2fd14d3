"""Checking TOML documents the way every smartpark file is checked: all problems at once.

A :class:`Checker` collects ``path: message`` problems instead of stopping at the first,
so a user fixes a file in one pass (``meter.chem-a-main.quantity: unknown quantity
'gass'``). The registry and the alert rules build their own readers on it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smartpark.core.errors import ConfigError
from smartpark.core.ids import ID_PATTERN, is_valid_id


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """The parsed document; ``ConfigError`` (``cannot read WHAT`` or ``invalid TOML``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [f"cannot read {what}: {exc}"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"invalid TOML: {exc}"]) from None


class Checker:
    """Collects every problem with its path; see the module docstring."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.failed_sections: set[str] = set()

    def error(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def tables(self, data: Mapping[str, Any], name: str) -> dict[str, dict[str, Any]]:
        """The ``[name.ID]`` tables of ``data`` whose ids are valid slugs."""
        raw = data.get(name, {})
        if not isinstance(raw, dict):
            self.error(name, f"must be a table of tables ([{name}.ID])")
            self.failed_sections.add(name)
            return {}
        out: dict[str, dict[str, Any]] = {}
        for ident, table in raw.items():
            if not is_valid_id(ident):
                self.error(f"{name}.{ident}", f"invalid id {ident!r}: must match {ID_PATTERN}")
            elif not isinstance(table, dict):
                self.error(f"{name}.{ident}", "must be a table")
            else:
                out[ident] = table
        return out

    def keys(self, path: str, table: Mapping[str, Any], allowed: set[str]) -> None:
        """An error for each key of ``table`` not in ``allowed``."""
        for key in table:
            if key not in allowed:
                self.error(f"{path}.{key}", f"unknown key {key!r}")

    def number(
        self,
        path: str,
        table: Mapping[str, Any],
        key: str,
        default: Any = None,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
        integer: bool = False,
    ) -> Any:
        """A finite number (an int with ``integer``) within the bounds, else ``default``."""
        value = table.get(key, default)
        if value is None or value is default:
            return value
        ok_type = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, ok_type):
            kind = "an integer" if integer else "a number"
            self.error(f"{path}.{key}", f"must be {kind}, got {value!r}")
            return default
        if value != value or value in (float("inf"), float("-inf")):
            self.error(f"{path}.{key}", f"must be finite, got {value!r}")
            return default
        if positive and value <= 0:
            self.error(f"{path}.{key}", f"must be > 0, got {value!r}")
            return default
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            low = "-inf" if minimum is None else minimum
            high = "inf" if maximum is None else maximum
            self.error(f"{path}.{key}", f"must be within [{low}, {high}], got {value!r}")
            return default
        return value
