"""The gateway configuration file (docs/gateway.md), validated with every error at once.

::

    gateway = "gw-chem-a"                 # must exist in the registry
    registry = "registry.toml"            # relative paths are relative to this file
    broker = "mqtts://gw-chem-a@broker.park.example:8883"   # password from env or file
    outbox = "/var/lib/smartpark/gw-chem-a.db"
    outbox_max_mb = 512
    batch_max = 500                       # readings per message (1..1000)
    batch_ms = 1000

    [mqtt]                                # optional
    protocol = "3.1.1"                    # 3.1.1 | 5
    ca_file = "ca.pem"                    # TLS (mqtts://): CA, client certificate and key
    cert_file = "gw.pem"
    key_file = "gw.key"
    max_inflight = 20                     # messages awaiting PUBACK
    drain_rate = 5000                     # backlog readings/s after an outage (0: unlimited)
    live_during_drain = true

    [modbus.main-board]                   # one Modbus TCP endpoint
    host = "10.0.0.21"
    [[modbus.main-board.read]]
    meter = "chem-a-main"                 # quantity and interval come from the registry
    device_id = 1
    function = "holding"                  # holding | input
    address = 0
    type = "float32"                      # int16 | uint16 | int32 | uint32 | float32 | float64
    word_order = "big"                    # big (ABCD) | little (CDAB)
    byte_order = "big"                    # within each register
    scale = 1.0
    unit = "kWh"

    [simulator]                           # meters not read above are simulated when set
    seed = 42

    [csv]                                 # optional back-fill
    path = "history.csv"

A problem is reported with its path (``modbus.main-board.read[2].type: unknown type
'float33'``); a meter the registry does not give to this gateway is an error. The common
options ``--registry`` and ``--broker`` (or ``SMARTPARK_REGISTRY`` / ``SMARTPARK_BROKER``)
override the file's values; the MQTT password comes from ``SMARTPARK_MQTT_PASSWORD`` or
the file named by ``SMARTPARK_MQTT_PASSWORD_FILE``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from smartpark.core import quantities, registry
from smartpark.core.errors import ConfigError
from smartpark.core.ids import ID_PATTERN, is_valid_id
from smartpark.core.secrets import read_secret
from smartpark.core.tomlcheck import read_toml
from smartpark.core.urls import BrokerUrl, parse_broker_url
from smartpark.gateway.drivers.registers import TYPES, Endpoint, RegisterMap
from smartpark.gateway.outbox import MIB
from smartpark.gateway.publisher import MqttOptions, PublishOptions

_TOP: Final = {
    "gateway",
    "registry",
    "broker",
    "outbox",
    "outbox_max_mb",
    "batch_max",
    "batch_ms",
    "log_level",
    "metrics_host",
    "metrics_port",
    "mqtt",
    "modbus",
    "simulator",
    "csv",
}
_MQTT: Final = {
    "protocol",
    "ca_file",
    "cert_file",
    "key_file",
    "keepalive_s",
    "max_inflight",
    "drain_rate",
    "live_during_drain",
    "client_id",
}
_ENDPOINT: Final = {"host", "port", "timeout_s", "retries", "read"}
_READ: Final = {
    "meter",
    "device_id",
    "function",
    "address",
    "type",
    "word_order",
    "byte_order",
    "scale",
    "unit",
}
_SIMULATOR: Final = {"seed", "resets_per_year", "exceed_probability"}
_CSV: Final = {"path", "chunk"}
MAX_BATCH: Final = 1000  # keeps every payload well under the contract's 256 KiB
DEFAULT_BROKER: Final = "mqtt://127.0.0.1:1883"  # as smartpark.core.settings


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    seed: int = 0
    resets_per_year: float = 0.0
    exceed_probability: float = 0.02


@dataclass(frozen=True, slots=True)
class CsvConfig:
    path: Path
    chunk: int = 5000


@dataclass(frozen=True)
class GatewayConfig:
    """A validated gateway configuration, with its registry."""

    gateway: str
    park: str
    registry: registry.Registry
    broker: BrokerUrl
    outbox: Path
    outbox_max_bytes: int
    mqtt: MqttOptions
    publish: PublishOptions
    endpoints: tuple[Endpoint, ...] = ()
    simulator: SimulatorConfig | None = None
    simulated_meters: tuple[str, ...] = ()
    unread_meters: tuple[str, ...] = ()  # the gateway's meters nothing reads
    csv: CsvConfig | None = None
    log_level: str = "info"
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    source: str = "<config>"
    meter_quantity: Mapping[str, str] = field(default_factory=dict)

    @property
    def meters(self) -> tuple[str, ...]:
        """The registry meters of this gateway, sorted."""
        return tuple(sorted(self.meter_quantity))


def load(
    path: str | Path, *, registry_path: str | Path | None = None, broker: str | None = None
) -> GatewayConfig:
    """Load and validate ``path``; ``ConfigError`` lists every problem with its path."""
    path = Path(path)
    data = read_toml(path, "config file")
    return from_dict(
        data,
        base=path.resolve().parent,
        source=str(path),
        registry_path=registry_path or os.environ.get("SMARTPARK_REGISTRY") or None,
        broker=broker or os.environ.get("SMARTPARK_BROKER") or None,
    )


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}")

    def keys(self, path: str, table: Mapping[str, Any], allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                self.add(f"{path}.{key}" if path else key, f"unknown key {key!r}")

    def get(
        self,
        table: Mapping[str, Any],
        path: str,
        key: str,
        kind: type | tuple[type, ...],
        default: Any,
        *,
        required: bool = False,
        minimum: float | None = None,
        maximum: float | None = None,
        choices: tuple[str, ...] | None = None,
    ) -> Any:
        where = f"{path}.{key}" if path else key
        if key not in table:
            if required:
                self.add(where, "missing required key")
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = False if isinstance(value, bool) and bool not in kinds else isinstance(value, kinds)
        if not ok:
            names = " or ".join(k.__name__ for k in kinds).replace("str", "a string")
            names = names.replace("int", "an integer").replace("float", "a number")
            names = names.replace("bool", "true or false").replace("dict", "a table")
            self.add(where, f"must be {names}, got {value!r}")
            return default
        if choices is not None and value not in choices:
            self.add(where, f"must be one of {', '.join(choices)}, got {value!r}")
            return default
        if isinstance(value, int | float) and not isinstance(value, bool):
            if value != value or value in (float("inf"), float("-inf")):
                self.add(where, f"must be finite, got {value!r}")
                return default
            if (minimum is not None and value < minimum) or (
                maximum is not None and value > maximum
            ):
                lo = "" if minimum is None else f">= {minimum:g}"
                hi = "" if maximum is None else f"<= {maximum:g}"
                self.add(where, f"must be {' and '.join(x for x in (lo, hi) if x)}, got {value!r}")
                return default
        return value


def from_dict(
    data: Mapping[str, Any],
    *,
    base: Path,
    source: str = "<config>",
    registry_path: str | Path | None = None,
    broker: str | None = None,
) -> GatewayConfig:
    """Validate a parsed configuration; relative paths are resolved against ``base``."""
    p = _Problems()
    p.keys("", data, _TOP)

    def rel(value: str | Path) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else base / path

    gateway = p.get(data, "", "gateway", str, None, required=True)
    if gateway is not None and not is_valid_id(gateway):
        p.add("gateway", f"invalid id {gateway!r}: must match {ID_PATTERN}")
        gateway = None

    # Registry: a broken registry is reported as such (its own paths), with the rest.
    reg: registry.Registry | None = None
    reg_value = registry_path or p.get(data, "", "registry", str, "registry.toml")
    reg_file = Path(reg_value) if registry_path else rel(reg_value)
    try:
        reg = registry.load(reg_file)
    except ConfigError as exc:
        p.items.extend(f"registry ({exc.source}): {problem}" for problem in exc.problems)
    park = ""
    meter_quantity: dict[str, str] = {}
    if reg is not None and gateway is not None:
        if gateway not in reg.gateways:
            p.add("gateway", f"gateway {gateway!r} is not in the registry {reg.source}")
        else:
            park = reg.gateways[gateway].park
            meter_quantity = {m.id: m.quantity for m in reg.meters_of_gateway(gateway)}

    broker_text = broker or p.get(data, "", "broker", str, DEFAULT_BROKER)
    try:
        broker_url = parse_broker_url(broker_text)
    except ValueError as exc:
        p.add("broker", str(exc))
        broker_url = parse_broker_url(DEFAULT_BROKER)

    outbox_value = p.get(data, "", "outbox", str, None)
    outbox = rel(outbox_value) if outbox_value else base / f"{gateway or 'gateway'}-outbox.db"
    outbox_mb = p.get(data, "", "outbox_max_mb", (int, float), 512, minimum=1)
    batch_max = p.get(data, "", "batch_max", int, 500, minimum=1, maximum=MAX_BATCH)
    batch_ms = p.get(data, "", "batch_ms", int, 1000, minimum=0, maximum=3_600_000)
    log_level = p.get(
        data, "", "log_level", str, "info", choices=("debug", "info", "warning", "error")
    )
    metrics_host = p.get(data, "", "metrics_host", str, "127.0.0.1")
    metrics_port = p.get(data, "", "metrics_port", int, None, minimum=0, maximum=65535)

    # [mqtt]
    mq = p.get(data, "", "mqtt", dict, {})
    p.keys("mqtt", mq, _MQTT)
    protocol = p.get(mq, "mqtt", "protocol", str, "3.1.1", choices=("3.1.1", "5"))
    tls_files = {}
    for key in ("ca_file", "cert_file", "key_file"):
        value = p.get(mq, "mqtt", key, str, None)
        if value is not None:
            file = rel(value)
            if not file.is_file():
                p.add(f"mqtt.{key}", f"no such file: {file}")
            tls_files[key] = str(file)
    if tls_files and not broker_url.tls:
        p.add("mqtt", "TLS files are set but the broker URL is not mqtts://")
    if ("cert_file" in tls_files) != ("key_file" in tls_files):
        p.add("mqtt", "cert_file and key_file go together")
    publish = PublishOptions(
        batch_max=batch_max,
        batch_ms=batch_ms,
        max_inflight=p.get(mq, "mqtt", "max_inflight", int, 20, minimum=1, maximum=1000),
        drain_rate=float(p.get(mq, "mqtt", "drain_rate", (int, float), 5000.0, minimum=0)),
        live_during_drain=p.get(mq, "mqtt", "live_during_drain", bool, True),
    )
    mqtt = MqttOptions(
        host=broker_url.host,
        port=broker_url.port,
        client_id=p.get(mq, "mqtt", "client_id", str, None) or f"smartpark-{gateway}",
        protocol=protocol,
        keepalive_s=p.get(mq, "mqtt", "keepalive_s", int, 30, minimum=5, maximum=3600),
        tls=broker_url.tls,
        ca_file=tls_files.get("ca_file"),
        cert_file=tls_files.get("cert_file"),
        key_file=tls_files.get("key_file"),
        username=broker_url.username,
        password=read_secret("mqtt_password") if broker_url.username else None,
    )

    # [modbus.*]
    endpoints: list[Endpoint] = []
    mapped: dict[str, str] = {}  # meter -> path of the read that maps it
    modbus = p.get(data, "", "modbus", dict, {})
    for name, table in modbus.items():
        path = f"modbus.{name}"
        if not isinstance(table, dict):
            p.add(path, "must be a table")
            continue
        if not is_valid_id(name):
            p.add(path, f"invalid endpoint name {name!r}: must match {ID_PATTERN}")
        p.keys(path, table, _ENDPOINT)
        reads = []
        raw_reads = p.get(table, path, "read", list, [])
        if not raw_reads:
            p.add(f"{path}.read", "an endpoint needs at least one [[read]]")
        for i, entry in enumerate(raw_reads):
            rpath = f"{path}.read[{i}]"
            if not isinstance(entry, dict):
                p.add(rpath, "must be a table")
                continue
            read = _register(
                p, rpath, entry, meter_quantity, mapped, reg is not None and bool(park)
            )
            if read is not None:
                reads.append(read)
        endpoints.append(
            Endpoint(
                name=name,
                host=p.get(table, path, "host", str, "", required=True),
                port=p.get(table, path, "port", int, 502, minimum=1, maximum=65535),
                timeout_s=float(
                    p.get(table, path, "timeout_s", (int, float), 1.0, minimum=0.01, maximum=60)
                ),
                retries=p.get(table, path, "retries", int, 2, minimum=0, maximum=10),
                reads=tuple(reads),
            )
        )

    # [simulator]
    simulator = None
    if "simulator" in data:
        sim = p.get(data, "", "simulator", dict, {})
        p.keys("simulator", sim, _SIMULATOR)
        simulator = SimulatorConfig(
            seed=p.get(sim, "simulator", "seed", int, 0),
            resets_per_year=float(
                p.get(
                    sim, "simulator", "resets_per_year", (int, float), 0.0, minimum=0, maximum=365
                )
            ),
            exceed_probability=float(
                p.get(
                    sim, "simulator", "exceed_probability", (int, float), 0.02, minimum=0, maximum=1
                )
            ),
        )
    if not publish.live_during_drain and publish.drain_rate > 0 and reg is not None:
        poll_rate = sum(1.0 / reg.meters[m].interval_s for m in meter_quantity)
        if publish.drain_rate < poll_rate:
            p.add(
                "mqtt.drain_rate",
                f"{publish.drain_rate:g} readings/s is below this gateway's polling rate "
                f"({poll_rate:.1f}/s): with live_during_drain = false the queue would only grow",
            )
    unmapped = tuple(sorted(set(meter_quantity) - set(mapped)))
    simulated = unmapped if simulator is not None else ()
    unread = () if simulator is not None else unmapped

    # [csv]
    csv_config = None
    if "csv" in data:
        table = p.get(data, "", "csv", dict, {})
        p.keys("csv", table, _CSV)
        csv_path = p.get(table, "csv", "path", str, None, required=True)
        if csv_path is not None:
            file = rel(csv_path)
            if not file.is_file():
                p.add("csv.path", f"no such file: {file}")
            csv_config = CsvConfig(
                file, p.get(table, "csv", "chunk", int, 5000, minimum=1, maximum=100_000)
            )

    if p.items:
        raise ConfigError(source, p.items)
    assert reg is not None
    assert gateway is not None
    return GatewayConfig(
        gateway=gateway,
        park=park,
        registry=reg,
        broker=broker_url,
        outbox=outbox,
        outbox_max_bytes=max(int(outbox_mb * MIB), 64 * 1024),
        mqtt=mqtt,
        publish=publish,
        endpoints=tuple(endpoints),
        simulator=simulator,
        simulated_meters=simulated,
        unread_meters=unread,
        csv=csv_config,
        log_level=log_level,
        metrics_host=metrics_host,
        metrics_port=metrics_port,
        source=source,
        meter_quantity=meter_quantity,
    )


def _register(
    p: _Problems,
    path: str,
    entry: Mapping[str, Any],
    meter_quantity: Mapping[str, str],
    mapped: dict[str, str],
    registry_ok: bool,
) -> RegisterMap | None:
    p.keys(path, entry, _READ)
    before = len(p.items)
    meter = p.get(entry, path, "meter", str, None, required=True)
    quantity = None
    if meter is not None and registry_ok:
        if meter not in meter_quantity:
            p.add(f"{path}.meter", f"meter {meter!r} is not read by this gateway in the registry")
        elif meter in mapped:
            p.add(f"{path}.meter", f"meter {meter!r} is already read by {mapped[meter]}")
        else:
            mapped[meter] = path
            quantity = meter_quantity[meter]
    device_id = p.get(entry, path, "device_id", int, 1, minimum=0, maximum=255)
    function = p.get(entry, path, "function", str, "holding", choices=("holding", "input"))
    address = p.get(entry, path, "address", int, None, required=True, minimum=0, maximum=65535)
    dtype = entry.get("type")
    if dtype is None:
        p.add(f"{path}.type", "missing required key")
    elif dtype not in TYPES:
        p.add(f"{path}.type", f"unknown type {dtype!r} (expected one of {', '.join(TYPES)})")
    word_order = p.get(entry, path, "word_order", str, "big", choices=("big", "little"))
    byte_order = p.get(entry, path, "byte_order", str, "big", choices=("big", "little"))
    scale = p.get(entry, path, "scale", (int, float), 1.0)
    if scale == 0:
        p.add(f"{path}.scale", "must not be 0")
    default_unit = quantities.BY_NAME[quantity].canonical_unit if quantity else ""
    unit = p.get(entry, path, "unit", str, default_unit)
    if quantity is not None and unit and unit not in quantities.BY_NAME[quantity].units:
        accepted = ", ".join(quantities.BY_NAME[quantity].units)
        p.add(f"{path}.unit", f"unit {unit!r} not accepted for {quantity} (accepted: {accepted})")
    if address is not None and dtype in TYPES and address + TYPES[dtype][1] > 65536:
        p.add(f"{path}.address", f"{dtype} at {address} runs past register 65535")
    if len(p.items) > before or meter is None or quantity is None or dtype is None:
        return None
    return RegisterMap(
        meter=meter,
        quantity=quantity,
        device_id=device_id,
        function=function,
        address=address,
        type=dtype,
        word_order=word_order,
        byte_order=byte_order,
        scale=float(scale),
        unit=unit,
    )
