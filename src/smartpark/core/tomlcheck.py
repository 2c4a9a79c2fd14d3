"""Checking TOML documents the way every smartpark file is checked: all problems at once.

A :class:`Checker` collects ``path: message`` problems instead of stopping at the first,
so a user fixes a file in one pass (``meter.chem-a-main.quantity: unknown quantity
'gass'``). The registry, the alert rules and the gateway configuration build their own
readers on it; the wording of a problem (``must be an integer, got 'x'``, ``must be
within [1, 1000], got 5000``, ``unknown key 'colour'``) is the same in every file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

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


_KIND_NAMES: Final = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    dict: "a table",
    list: "a list",
}


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _bounds(minimum: float | None, maximum: float | None) -> str:
    """``within [lo, hi]``, ``>= lo`` or ``<= hi``: the one wording of a range."""
    if minimum is not None and maximum is not None:
        return f"within [{minimum}, {maximum}]"
    return f">= {minimum}" if minimum is not None else f"<= {maximum}"


class Checker:
    """Collects every problem with its path; see the module docstring.

    Paths join with dots; ``""`` is the top of the document (``batch_ms``, not
    ``.batch_ms``). :meth:`done` raises the :class:`ConfigError` with every problem.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.failed_sections: set[str] = set()

    def error(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def done(self, source: str) -> None:
        """Raise ``ConfigError(source, problems)`` if anything was found."""
        if self.problems:
            raise ConfigError(source, self.problems)

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
                self.error(_join(path, key), f"unknown key {key!r}")

    def value(
        self,
        path: str,
        table: Mapping[str, Any],
        key: str,
        kind: type | tuple[type, ...],
        default: Any = None,
        *,
        required: bool = False,
        minimum: float | None = None,
        maximum: float | None = None,
        choices: tuple[str | int, ...] | None = None,
    ) -> Any:
        """``table[key]`` if it is of ``kind`` (and in ``choices`` or the bounds), else
        ``default`` with an error; a missing key is ``default`` (an error if ``required``).
        ``bool`` is never taken for ``int``."""
        where = _join(path, key)
        if key not in table:
            if required:
                self.error(where, "missing required key")
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            # (int, float) reads "a number"
            names = [
                _KIND_NAMES.get(k, k.__name__) for k in kinds if k is not int or float not in kinds
            ]
            self.error(where, f"must be {' or '.join(names)}, got {value!r}")
            return default
        if choices is not None and value not in choices:
            self.error(where, f"must be one of {', '.join(map(str, choices))}, got {value!r}")
            return default
        if isinstance(value, int | float) and not isinstance(value, bool):
            ok = self._finite(where, value) and self._within(where, value, minimum, maximum)
            return value if ok else default
        return value

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
        where = f"{path}.{key}"
        if not self._finite(where, value):
            return default
        if positive and value <= 0:
            self.error(where, f"must be > 0, got {value!r}")
            return default
        return value if self._within(where, value, minimum, maximum) else default

    def _finite(self, where: str, value: float) -> bool:
        if value != value or value in (float("inf"), float("-inf")):
            self.error(where, f"must be finite, got {value!r}")
            return False
        return True

    def _within(
        self, where: str, value: float, minimum: float | None, maximum: float | None
    ) -> bool:
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.error(where, f"must be {_bounds(minimum, maximum)}, got {value!r}")
            return False
        return True
