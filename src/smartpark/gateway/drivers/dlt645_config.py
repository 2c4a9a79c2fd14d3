"""The ``[dlt645.BUS]`` tables of a gateway configuration (docs/gateway.md).

::

    [dlt645.feeder-bus]                   # one RS-485 line
    device = "/dev/ttyUSB0"               # a local adapter ... or a serial server:
    # host = "10.0.0.30"                  #   transparent TCP <-> RS-485
    # port = 8899
    baudrate = 2400                       # 1200 | 2400 | 4800 | 9600 | 19200
    parity = "E"                          # E | N | O (8 data bits, 1 stop bit)
    timeout_s = 0.5                       # per request
    retries = 1                           # per request
    gap_ms = 0                            # silence after a reply before the next request

    [[dlt645.feeder-bus.read]]
    meter = "chem-a-line1"                # registry meter: quantity and interval from there
    address = "000000000001"              # 12 digits as on the nameplate
    di = "forward_active_energy"          # a name or the code "00010000"
    scale = 1.0                           # e.g. a CT ratio when the meter reads secondary

Pure validation, no I/O (so ``gateway check`` needs no port): :func:`parse_dlt645` reports
every problem on a :class:`~smartpark.core.tomlcheck.Checker` with its TOML path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from smartpark.core import quantities
from smartpark.core.tomlcheck import Checker
from smartpark.gateway.drivers.dlt645_codec import DATA_IDS, DataId, data_id

BAUDRATES: Final = (1200, 2400, 4800, 9600, 19200)
PARITIES: Final = ("E", "N", "O")
_BUS_KEYS: Final = {
    "device",
    "host",
    "port",
    "baudrate",
    "parity",
    "timeout_s",
    "retries",
    "gap_ms",
    "preamble",
    "read",
}
_READ_KEYS: Final = {"meter", "address", "di", "scale"}


@dataclass(frozen=True, slots=True)
class Dlt645Read:
    """One registry meter read from one data item of one DL/T 645 meter."""

    meter: str
    quantity: str
    address: str  # 12 digits, as printed on the meter
    di: DataId
    scale: float = 1.0

    @property
    def factor(self) -> float:
        """raw value × factor = value in the quantity's canonical unit."""
        return self.scale * quantities.get(self.quantity).factor(self.di.unit)

    @property
    def unit(self) -> str:
        return quantities.get(self.quantity).canonical_unit


@dataclass(frozen=True, slots=True)
class Dlt645Bus:
    """One RS-485 line: a serial ``device`` or a serial server at ``host``:``port``."""

    name: str
    device: str | None = None
    host: str | None = None
    port: int = 0
    baudrate: int = 2400
    parity: str = "E"
    timeout_s: float = 1.0
    retries: int = 1
    gap_ms: int = 0
    preamble: int = 4
    reads: tuple[Dlt645Read, ...] = ()

    @property
    def endpoint(self) -> str:
        return self.device if self.device is not None else f"{self.host}:{self.port}"


def _string(check: Checker, path: str, table: Mapping[str, Any], key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        check.error(f"{path}.{key}", f"must be a non-empty string, got {value!r}")
        return None
    return value.strip()


def parse_dlt645(
    check: Checker,
    data: Mapping[str, Any],
    meter_quantity: Mapping[str, str] | None,
    mapped: dict[str, str] | None = None,
) -> list[Dlt645Bus]:
    """The buses of ``data["dlt645"]``; problems go to ``check``.

    ``meter_quantity`` is the registry's meter -> quantity for this gateway (``None`` when
    the registry could not be read: meter ids are then not checked). ``mapped`` (meter ->
    TOML path of what reads it) is shared with the other drivers' sections, so a meter read
    twice is an error naming both places.
    """
    mapped = {} if mapped is None else mapped
    buses: list[Dlt645Bus] = []
    lines: dict[str, str] = {}  # endpoint -> bus path
    for name, table in check.tables(data, "dlt645").items():
        path = f"dlt645.{name}"
        check.keys(path, table, _BUS_KEYS)
        device = _string(check, path, table, "device")
        host = _string(check, path, table, "host")
        port = check.number(path, table, "port", 0, integer=True, minimum=1, maximum=65535)
        if (device is None) == (host is None):
            check.error(path, 'set either device = "/dev/ttyUSB0" or host and port')
        elif host is not None and not port:
            check.error(f"{path}.port", "a serial server needs its TCP port")
        elif device is not None and "port" in table:
            check.error(f"{path}.port", "port is for a serial server (host); a device has none")
        endpoint = device if device is not None else f"{host}:{port}"
        if endpoint in lines:
            check.error(path, f"{endpoint} is already the line of {lines[endpoint]}")
        lines[endpoint] = path
        baudrate = table.get("baudrate", 2400)
        if baudrate not in BAUDRATES or isinstance(baudrate, bool):
            check.error(
                f"{path}.baudrate",
                f"must be one of {', '.join(map(str, BAUDRATES))}, got {baudrate!r}",
            )
            baudrate = 2400
        parity = table.get("parity", "E")
        if parity not in PARITIES:
            check.error(f"{path}.parity", f"must be E, N or O, got {parity!r}")
            parity = "E"
        timeout_s = check.number(path, table, "timeout_s", 1.0, minimum=0.01, maximum=60)
        retries = check.number(path, table, "retries", 1, integer=True, minimum=0, maximum=10)
        gap_ms = check.number(path, table, "gap_ms", 0, integer=True, minimum=0, maximum=1000)
        preamble = check.number(path, table, "preamble", 4, integer=True, minimum=0, maximum=4)
        raw_reads = table.get("read", [])
        if not isinstance(raw_reads, list) or not raw_reads:
            check.error(f"{path}.read", f"a bus needs at least one [[{path}.read]]")
            raw_reads = []
        reads: list[Dlt645Read] = []
        items: dict[tuple[str, int], str] = {}
        for i, entry in enumerate(raw_reads):
            rpath = f"{path}.read[{i}]"
            if not isinstance(entry, dict):
                check.error(rpath, "must be a table")
                continue
            read = _read(check, rpath, entry, meter_quantity, mapped)
            if read is None:
                continue
            key = (read.address, read.di.di)
            if key in items:
                check.error(rpath, f"{read.address} {read.di.code} is already read by {items[key]}")
                continue
            items[key] = rpath
            reads.append(read)
        if (device is None) == (host is None):
            continue
        buses.append(
            Dlt645Bus(
                name=name,
                device=device,
                host=host,
                port=int(port or 0),
                baudrate=int(baudrate),
                parity=str(parity),
                timeout_s=float(timeout_s),
                retries=int(retries),
                gap_ms=int(gap_ms),
                preamble=int(preamble),
                reads=tuple(reads),
            )
        )
    return buses


def _read(
    check: Checker,
    path: str,
    entry: Mapping[str, Any],
    meter_quantity: Mapping[str, str] | None,
    mapped: dict[str, str],
) -> Dlt645Read | None:
    before = len(check.problems)
    check.keys(path, entry, _READ_KEYS)
    meter = _string(check, path, entry, "meter")
    quantity: str | None = None
    if meter is None:
        check.error(f"{path}.meter", "missing required key")
    elif meter_quantity is not None and meter not in meter_quantity:
        check.error(f"{path}.meter", f"meter {meter!r} is not read by this gateway in the registry")
    elif meter in mapped:
        check.error(f"{path}.meter", f"meter {meter!r} is already read by {mapped[meter]}")
    else:
        mapped[meter] = path
        quantity = meter_quantity[meter] if meter_quantity is not None else None
    address = entry.get("address")
    if address is None:
        check.error(f"{path}.address", "missing required key")
    elif not isinstance(address, str) or len(address) != 12 or not address.isdigit():
        check.error(
            f"{path}.address",
            f"must be the 12 digits of the meter's address as a string, e.g. "
            f'"000000000001" (pad with zeros), got {address!r}',
        )
    raw_di = entry.get("di")
    di: DataId | None = None
    if raw_di is None:
        check.error(f"{path}.di", "missing required key")
    elif not isinstance(raw_di, str):
        check.error(f"{path}.di", f"must be a name or an 8-digit code string, got {raw_di!r}")
    else:
        try:
            di = data_id(raw_di)
        except ValueError:
            known = ", ".join(f"{d.code} ({d.name})" for d in DATA_IDS.values())
            check.error(f"{path}.di", f"unknown data identifier {raw_di!r}; known: {known}")
    if di is not None and quantity is not None:
        q = quantities.get(quantity)
        if di.unit not in q.units or di.nature != q.nature:
            fits = [d for d in DATA_IDS.values() if d.unit in q.units and d.nature == q.nature]
            hint = (
                "pick one of " + ", ".join(f"{d.code} ({d.name})" for d in fits)
                if fits
                else "no DL/T 645 data item in the table fits it"
            )
            check.error(
                f"{path}.di",
                f"{di.code} ({di.name}, {di.unit or 'no unit'}, {di.nature}) cannot feed "
                f"{meter} ({quantity}, {q.canonical_unit}, {q.nature}): {hint}",
            )
    scale = check.number(path, entry, "scale", 1.0)
    if scale == 0:
        check.error(f"{path}.scale", "must not be 0")
    if len(check.problems) > before or meter is None or di is None or quantity is None:
        return None
    assert isinstance(address, str)
    return Dlt645Read(meter=meter, quantity=quantity, address=address, di=di, scale=float(scale))
