"""The ``[hj212]`` table of the gateway config: where to listen, which loggers, which meters.

::

    [hj212]
    host = "127.0.0.1"            # loopback unless the loggers are on another host
    port = 9212
    timezone = "Asia/Shanghai"    # the loggers' local time (DataTime, QN)
    max_connections = 64
    max_invalid_bytes = 8192      # bytes without an accepted packet before a disconnect
    idle_timeout_s = 300
    store_commands = ["2011"]     # 2011 real-time, 2051 minute, 2061 hourly, 2031 daily
    store_flags = ["N", "T"]

    [hj212.logger.010000A8900016F000169DC0]     # the logger's MN
    pw = "123456"                 # or pw_secret = "HJ212_BOILER_PW" (SMARTPARK_HJ212_BOILER_PW)
    meters = { a21026 = "chem-a-boiler-so2", a19001 = "chem-a-boiler-o2" }
    units = { a00000 = "m3/h" }   # only for a logger that does not send the standard's unit

:func:`parse_hj212` checks it on a :class:`~smartpark.core.tomlcheck.Checker`, so every
problem names its TOML path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from smartpark.core import quantities
from smartpark.core.errors import ContractError
from smartpark.core.ids import ID_PATTERN, is_valid_id
from smartpark.core.secrets import read_secret
from smartpark.core.tomlcheck import Checker
from smartpark.gateway.hj212.codes import CODES

DATA_COMMANDS: Final = {"2011": "Rtd", "2051": "Avg", "2061": "Avg", "2031": "Avg"}
DATA_FLAGS: Final = {
    "N": "normal",
    "F": "stopped",
    "M": "maintenance",
    "S": "manual (set value)",
    "D": "fault",
    "C": "calibrating",
    "T": "over the upper range",
    "B": "communication failure",
}
_MN_RE: Final = re.compile(r"[0-9A-Za-z]{1,24}")
_KEYS: Final = {
    "host",
    "port",
    "timezone",
    "max_connections",
    "max_invalid_bytes",
    "idle_timeout_s",
    "store_commands",
    "store_flags",
    "logger",
}
_LOGGER_KEYS: Final = {"pw", "pw_secret", "meters", "units"}


@dataclass(frozen=True, slots=True)
class LoggerConfig:
    """One data logger: its MN, its password, pollutant code -> meter id, unit overrides."""

    mn: str
    pw: str = field(repr=False)
    meters: dict[str, str]
    units: dict[str, str] = field(default_factory=dict)

    def unit(self, code: str) -> str:
        return self.units.get(code) or CODES[code].unit


@dataclass(frozen=True, slots=True)
class Hj212Config:
    loggers: dict[str, LoggerConfig]
    host: str = "127.0.0.1"
    port: int = 9212
    timezone: str = "Asia/Shanghai"
    max_connections: int = 64
    max_invalid_bytes: int = 8192
    idle_timeout_s: float = 300.0
    store_commands: frozenset[str] = frozenset({"2011"})
    store_flags: frozenset[str] = frozenset({"N", "T"})

    @property
    def meters(self) -> list[str]:
        """Every meter id the loggers feed."""
        return [m for lg in self.loggers.values() for m in lg.meters.values()]


def parse_hj212(checker: Checker, table: Any, path: str = "hj212") -> Hj212Config | None:
    """The config of ``table`` (the ``[hj212]`` table), or ``None`` with the problems
    recorded on ``checker``."""
    before = len(checker.problems)
    if not isinstance(table, Mapping):
        checker.error(path, "must be a table ([hj212])")
        return None
    checker.keys(path, table, _KEYS)
    d = Hj212Config(loggers={})
    host = table.get("host", d.host)
    if not isinstance(host, str) or not host:
        checker.error(f"{path}.host", f"must be a host name or address, got {host!r}")
    port = checker.number(path, table, "port", d.port, minimum=0, maximum=65535, integer=True)
    timezone = table.get("timezone", d.timezone)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        checker.error(f"{path}.timezone", f"unknown time zone {timezone!r} (e.g. Asia/Shanghai)")
    limits = {
        "max_connections": checker.number(
            path, table, "max_connections", d.max_connections, minimum=1, maximum=10_000,
            integer=True,
        ),
        "max_invalid_bytes": checker.number(
            path, table, "max_invalid_bytes", d.max_invalid_bytes, minimum=1100,
            maximum=1 << 20, integer=True,
        ),
        "idle_timeout_s": float(
            checker.number(
                path, table, "idle_timeout_s", d.idle_timeout_s, positive=True, maximum=86_400
            )
        ),
    }  # fmt: skip
    commands = _choices(checker, f"{path}.store_commands", table, d.store_commands, DATA_COMMANDS)
    flags = _choices(checker, f"{path}.store_flags", table, d.store_flags, DATA_FLAGS)
    loggers = _loggers(checker, f"{path}.logger", table.get("logger", {}))
    if len(checker.problems) > before:
        return None
    return Hj212Config(
        loggers=loggers,
        host=host,
        port=port,
        timezone=timezone,
        store_commands=commands,
        store_flags=flags,
        **limits,
    )


def _choices(
    checker: Checker,
    path: str,
    table: Mapping[str, Any],
    default: frozenset[str],
    allowed: Mapping[str, str],
) -> frozenset[str]:
    key = path.rsplit(".", 1)[-1]
    raw = table.get(key)
    if raw is None:
        return default
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        checker.error(path, f"must be a list of strings among {', '.join(allowed)}")
        return default
    for bad in [x for x in raw if x not in allowed]:
        checker.error(path, f"unknown value {bad!r} (expected one of {', '.join(allowed)})")
    return frozenset(raw)


def _loggers(checker: Checker, path: str, raw: Any) -> dict[str, LoggerConfig]:
    if not isinstance(raw, Mapping):
        checker.error(path, "must be a table of tables ([hj212.logger.MN])")
        return {}
    out: dict[str, LoggerConfig] = {}
    owner: dict[str, str] = {}  # meter id -> MN that feeds it
    for mn, table in raw.items():
        here = f"{path}.{mn}"
        if not _MN_RE.fullmatch(mn):
            checker.error(here, f"MN {mn!r} must be 1-24 letters and digits")
            continue
        if not isinstance(table, Mapping):
            checker.error(here, "must be a table")
            continue
        checker.keys(here, table, _LOGGER_KEYS)
        pw = _password(checker, here, table)
        meters = _meters(checker, f"{here}.meters", table.get("meters"), owner, mn)
        units = _units(checker, f"{here}.units", table.get("units", {}), meters)
        if pw is not None:
            out[mn] = LoggerConfig(mn=mn, pw=pw, meters=meters, units=units)
    return out


def _password(checker: Checker, path: str, table: Mapping[str, Any]) -> str | None:
    pw, secret = table.get("pw"), table.get("pw_secret")
    if (pw is None) == (secret is None):
        checker.error(path, "set exactly one of pw or pw_secret (a SMARTPARK_<NAME> secret)")
        return None
    if secret is not None:
        if not isinstance(secret, str) or not re.fullmatch(r"[A-Za-z0-9_]{1,64}", secret):
            checker.error(f"{path}.pw_secret", f"must be a secret name, got {secret!r}")
            return None
        pw = read_secret(secret)
        if pw is None:
            checker.error(
                f"{path}.pw_secret",
                f"secret not set: export SMARTPARK_{secret.upper()} or "
                f"SMARTPARK_{secret.upper()}_FILE",
            )
            return None
    if not isinstance(pw, str) or not re.fullmatch(r"[0-9A-Za-z]{1,16}", pw):
        checker.error(f"{path}.pw", "must be 1-16 letters and digits (the logger's PW)")
        return None
    return pw


def _meters(
    checker: Checker, path: str, raw: Any, owner: dict[str, str], mn: str
) -> dict[str, str]:
    if not isinstance(raw, Mapping) or not raw:
        checker.error(path, "must be a table of pollutant code = meter id (e.g. a21026 = ...)")
        return {}
    out: dict[str, str] = {}
    for code, meter in raw.items():
        if code not in CODES:
            known = ", ".join(sorted(CODES))
            checker.error(f"{path}.{code}", f"unknown pollutant code {code!r} (known: {known})")
        elif not is_valid_id(meter):
            checker.error(f"{path}.{code}", f"invalid meter id {meter!r}: must match {ID_PATTERN}")
        elif meter in owner:
            checker.error(f"{path}.{code}", f"meter {meter!r} is already fed by {owner[meter]}")
        else:
            owner[meter] = f"{mn}.{code}"
            out[code] = meter
    return out


def _units(checker: Checker, path: str, raw: Any, meters: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        checker.error(path, "must be a table of pollutant code = unit")
        return {}
    out: dict[str, str] = {}
    for code, unit in raw.items():
        if code not in meters:
            checker.error(f"{path}.{code}", f"code {code!r} is not in this logger's meters")
            continue
        try:
            quantities.get(CODES[code].quantity).factor(unit)
        except ContractError as exc:
            checker.error(f"{path}.{code}", exc.detail)
            continue
        out[code] = unit
    return out
