"""Grafana's InfluxQL macro and template-variable interpolation, reproduced.

Grafana sends a raw InfluxQL panel query to InfluxDB only after it has replaced:

- ``$timeFilter`` / ``$__timeFilter`` with ``time >= <from>ms and time <= <to>ms``;
- ``$__from`` / ``$__to`` (also ``${__from}``, ``${__to}``) with the range's start and end
  in epoch milliseconds;
- ``$__interval`` with the rounded group-by interval (``(to - from) / maxDataPoints``,
  rounded to a "nice" step by Grafana's table, never below the panel's or datasource's
  minimum interval) and ``$__interval_ms`` with the same in milliseconds;
- template variables written ``$name``, ``${name}`` or ``[[name]]``. A variable that is
  multi-value or has an "All" option is formatted for a regex: one value is regex-escaped,
  several become ``(a|b)``, "All" (without a custom all value) means every option. A
  single-value variable is substituted as it is.

smartpark uses this to run every dashboard query against a real influxd in its tests and
to let an operator check a dashboard against a database, so this is the one place that
models Grafana's behaviour.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

DEFAULT_MAX_DATA_POINTS: Final = 1000  # Grafana's default when a panel has no width yet
DEFAULT_MIN_INTERVAL_MS: Final = 10_000  # the InfluxDB datasource's default minimum: 10s

# (upper bound inclusive, step), both in milliseconds: Grafana's interval rounding table.
_ROUNDING: Final[tuple[tuple[int, int], ...]] = (
    (10, 1),
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (750_000, 600_000),
    (1_050_000, 900_000),
    (1_500_000, 1_200_000),
    (2_700_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (32_400_000, 21_600_000),
    (86_400_000, 43_200_000),
    (172_800_000, 86_400_000),
    (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000),
)
_THIRTY_DAYS_MS: Final = 2_592_000_000
_TWO_YEARS_BOUND_MS: Final = 3_628_800_000
_YEAR_MS: Final = 31_536_000_000

_UNITS: Final = (("y", _YEAR_MS), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000))
_DURATION: Final = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")
_DURATION_MS: Final = {
    "ms": 1,
    "s": 1_000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "y": _YEAR_MS,
}
# Characters Grafana's InfluxDB datasource escapes in a regex value.
_REGEX_SPECIAL: Final = re.compile(r"([\\^$*+?.()|{}\[\]/])")
_VARIABLE: Final = re.compile(r"\$(\w+)|\$\{(\w+)\}|\[\[(\w+)\]\]")


@dataclass(frozen=True, slots=True)
class Variable:
    """A dashboard variable's current selection and how Grafana formats it.

    ``value`` is one string or several; ``regex`` says the variable is multi-value or has
    an "All" option (Grafana then formats it as a regex). ``all_values`` is what "All"
    expands to when the selection is ``"$__all"``.
    """

    value: str | Sequence[str]
    regex: bool = False
    all_values: Sequence[str] = ()


def round_interval(ms: int) -> int:
    """Grafana's rounding of a raw interval to a readable step (milliseconds)."""
    for bound, step in _ROUNDING:
        if ms <= bound:
            return step
    return _THIRTY_DAYS_MS if ms < _TWO_YEARS_BOUND_MS else _YEAR_MS


def parse_duration(text: str) -> int:
    """``"10s"`` → 10000: a Grafana/InfluxQL duration literal in milliseconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"not a duration: {text!r} (expected e.g. 10s, 5m, 1h, 1d)")
    return int(match.group(1)) * _DURATION_MS[match.group(2)]


def format_interval(ms: int) -> str:
    """Milliseconds as Grafana writes ``$__interval``: the largest whole unit (``1h``)."""
    for suffix, size in _UNITS:
        if ms >= size and ms % size == 0:
            return f"{ms // size}{suffix}"
    return f"{ms}ms"


def calculate_interval_ms(
    from_ms: int,
    to_ms: int,
    *,
    max_data_points: int = DEFAULT_MAX_DATA_POINTS,
    min_interval: str | None = None,
) -> int:
    """The ``$__interval`` Grafana computes for a time range, in milliseconds."""
    if to_ms <= from_ms:
        raise ValueError(f"empty time range: from {from_ms} to {to_ms}")
    if max_data_points < 1:
        raise ValueError(f"max_data_points must be >= 1, got {max_data_points}")
    floor = parse_duration(min_interval) if min_interval else DEFAULT_MIN_INTERVAL_MS
    raw = round_interval((to_ms - from_ms) // max_data_points)
    return max(raw, floor)


def time_filter(from_ms: int, to_ms: int) -> str:
    """What ``$timeFilter`` becomes for an absolute range."""
    return f"time >= {from_ms}ms and time <= {to_ms}ms"


def regex_escape(value: str) -> str:
    return _REGEX_SPECIAL.sub(r"\\\1", value)


def format_variable(variable: Variable) -> str:
    """A variable's selection as Grafana writes it into an InfluxQL query."""
    values: Sequence[str]
    if isinstance(variable.value, str):
        values = list(variable.all_values) if variable.value == "$__all" else [variable.value]
    else:
        values = variable.value
    if not variable.regex:
        if len(values) != 1:
            raise ValueError(f"a single-value variable needs one value, got {list(values)}")
        return values[0]
    escaped = [regex_escape(v) for v in values]
    if len(escaped) == 1:
        return escaped[0]
    return "(" + "|".join(escaped) + ")"


def interpolate(
    query: str,
    *,
    from_ms: int,
    to_ms: int,
    interval_ms: int,
    variables: Mapping[str, Variable],
) -> str:
    """Replace the macros and variables of ``query`` the way Grafana does.

    An unknown ``$name`` is left as it is (Grafana does the same), so InfluxDB reports it.
    """
    builtins = {
        "timeFilter": time_filter(from_ms, to_ms),
        "__timeFilter": time_filter(from_ms, to_ms),
        "__interval": format_interval(interval_ms),
        "__interval_ms": str(interval_ms),
        "__from": str(from_ms),
        "__to": str(to_ms),
    }

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name in builtins:
            return builtins[name]
        if name in variables:
            return format_variable(variables[name])
        return match.group(0)

    return _VARIABLE.sub(replace, query)
