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
from smartpark.core.mqtt import PROTOCOLS, MqttOptions
from smartpark.core.tomlcheck import Checker, read_toml
from smartpark.core.urls import DEFAULT_BROKER, BrokerUrl, parse_broker_url
from smartpark.gateway.drivers.dlt645_config import Dlt645Bus, parse_dlt645
from smartpark.gateway.drivers.registers import TYPES, Endpoint, RegisterMap
from smartpark.gateway.hj212.codes import CODES as HJ212_CODES
from smartpark.gateway.hj212.config import Hj212Config, parse_hj212
from smartpark.gateway.outbox import MIB
from smartpark.gateway.publisher import PublishOptions

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
    "dlt645",
    "hj212",
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
_ENDPOINT: Final = {
    "host",
    "port",
    "device",
    "baudrate",
    "parity",
    "stopbits",
    "framer",
    "timeout_s",
    "retries",
    "read",
}
BAUDRATES: Final = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
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
LOG_LEVELS: Final = ("debug", "info", "warning", "error")
MAX_BATCH: Final = 1000  # keeps every payload well under the contract's 256 KiB


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
    dlt645: tuple[Dlt645Bus, ...] = ()  # RS-485 lines of DL/T 645-2007 meters
    hj212: Hj212Config | None = None  # the receiver HJ 212 data loggers dial into
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


def from_dict(
    data: Mapping[str, Any],
    *,
    base: Path,
    source: str = "<config>",
    registry_path: str | Path | None = None,
    broker: str | None = None,
) -> GatewayConfig:
    """Validate a parsed configuration; relative paths are resolved against ``base``."""
    c = _Checker(base)
    c.keys("", data, _TOP)
    gateway = c.value("", data, "gateway", str, None, required=True)
    if gateway is not None and not is_valid_id(gateway):
        c.error("gateway", f"invalid id {gateway!r}: must match {ID_PATTERN}")
        gateway = None
    reg = c.registry(data, registry_path)
    park = ""
    meter_quantity: dict[str, str] = {}
    if reg is not None and gateway is not None:
        if gateway not in reg.gateways:
            c.error("gateway", f"gateway {gateway!r} is not in the registry {reg.source}")
        else:
            park = reg.gateways[gateway].park
            meter_quantity = {m.id: m.quantity for m in reg.meters_of_gateway(gateway)}
    broker_url = c.broker(broker or c.value("", data, "broker", str, DEFAULT_BROKER))

    outbox_value = c.value("", data, "outbox", str, None)
    outbox = c.rel(outbox_value) if outbox_value else base / f"{gateway or 'gateway'}-outbox.db"
    outbox_mb = c.value("", data, "outbox_max_mb", (int, float), 512, minimum=1)
    batch_max = c.value("", data, "batch_max", int, 500, minimum=1, maximum=MAX_BATCH)
    batch_ms = c.value("", data, "batch_ms", int, 1000, minimum=0, maximum=3_600_000)
    log_level = c.value("", data, "log_level", str, "info", choices=LOG_LEVELS)
    metrics_host = c.value("", data, "metrics_host", str, "127.0.0.1")
    metrics_port = c.value("", data, "metrics_port", int, None, minimum=0, maximum=65535)

    mq = c.value("", data, "mqtt", dict, {})
    mqtt = c.mqtt(mq, broker_url, f"smartpark-{gateway}")
    publish = PublishOptions(
        batch_max=batch_max,
        batch_ms=batch_ms,
        max_inflight=c.value("mqtt", mq, "max_inflight", int, 20, minimum=1, maximum=1000),
        drain_rate=float(c.value("mqtt", mq, "drain_rate", (int, float), 5000.0, minimum=0)),
        live_during_drain=c.value("mqtt", mq, "live_during_drain", bool, True),
    )
    registry_ok = reg is not None and bool(park)
    mapped: dict[str, str] = {}  # meter -> TOML path of the read that maps it, any driver
    endpoints = c.modbus(c.value("", data, "modbus", dict, {}), meter_quantity, registry_ok, mapped)
    buses = parse_dlt645(c, data, meter_quantity if registry_ok else None, mapped)
    hj212 = parse_hj212(c, data["hj212"]) if "hj212" in data else None
    if hj212 is not None and registry_ok:
        c.hj212_meters(hj212, meter_quantity, mapped)
    simulator = c.simulator(data)
    if not publish.live_during_drain and publish.drain_rate > 0 and reg is not None:
        poll_rate = sum(1.0 / reg.meters[m].interval_s for m in meter_quantity)
        if publish.drain_rate < poll_rate:
            c.error(
                "mqtt.drain_rate",
                f"{publish.drain_rate:g} readings/s is below this gateway's polling rate "
                f"({poll_rate:.1f}/s): with live_during_drain = false the queue would only grow",
            )
    unmapped = tuple(sorted(set(meter_quantity) - set(mapped)))
    csv_config = c.csv(data)

    c.done(source)
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
        endpoints=endpoints,
        dlt645=tuple(buses),
        hj212=hj212,
        simulator=simulator,
        simulated_meters=unmapped if simulator is not None else (),
        unread_meters=() if simulator is not None else unmapped,
        csv=csv_config,
        log_level=log_level,
        metrics_host=metrics_host,
        metrics_port=metrics_port,
        source=source,
        meter_quantity=meter_quantity,
    )


class _Checker(Checker):
    """The sections of a gateway file on top of :class:`Checker`."""

    def __init__(self, base: Path) -> None:
        super().__init__()
        self.base = base

    def rel(self, value: str | Path) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base / path

    def file(self, path: str, table: Mapping[str, Any], key: str) -> Path | None:
        """An existing file named by ``table[key]`` (relative to the config file)."""
        value = self.value(path, table, key, str, None)
        if value is None:
            return None
        file = self.rel(value)
        if not file.is_file():
            self.error(f"{path}.{key}", f"no such file: {file}")
        return file

    def registry(
        self, data: Mapping[str, Any], override: str | Path | None
    ) -> registry.Registry | None:
        """The registry; a broken one is reported with its own paths, with the rest."""
        if override:
            reg_file = Path(override)
        else:
            reg_file = self.rel(self.value("", data, "registry", str, "registry.toml"))
        try:
            return registry.load(reg_file)
        except ConfigError as exc:
            self.problems.extend(f"registry ({exc.source}): {p}" for p in exc.problems)
            return None

    def broker(self, text: str) -> BrokerUrl:
        try:
            return parse_broker_url(text)
        except ValueError as exc:
            self.error("broker", str(exc))
            return parse_broker_url(DEFAULT_BROKER)

    def mqtt(self, mq: Mapping[str, Any], url: BrokerUrl, client_id: str) -> MqttOptions:
        self.keys("mqtt", mq, _MQTT)
        tls_files = {
            key: str(file)
            for key in ("ca_file", "cert_file", "key_file")
            if (file := self.file("mqtt", mq, key)) is not None
        }
        if tls_files and not url.tls:
            self.error("mqtt", "TLS files are set but the broker URL is not mqtts://")
        if ("cert_file" in tls_files) != ("key_file" in tls_files):
            self.error("mqtt", "cert_file and key_file go together")
        return MqttOptions.from_url(
            url,
            self.value("mqtt", mq, "client_id", str, None) or client_id,
            protocol=self.value("mqtt", mq, "protocol", str, "3.1.1", choices=PROTOCOLS),
            keepalive_s=self.value("mqtt", mq, "keepalive_s", int, 30, minimum=5, maximum=3600),
            ca_file=tls_files.get("ca_file"),
            cert_file=tls_files.get("cert_file"),
            key_file=tls_files.get("key_file"),
        )

    def modbus(
        self,
        modbus: Mapping[str, Any],
        meter_quantity: Mapping[str, str],
        registry_ok: bool,
        mapped: dict[str, str],
    ) -> tuple[Endpoint, ...]:
        """The ``[modbus.NAME]`` endpoints; the meters their reads map go into ``mapped``."""
        endpoints: list[Endpoint] = []
        for name, table in modbus.items():
            path = f"modbus.{name}"
            if not isinstance(table, dict):
                self.error(path, "must be a table")
                continue
            if not is_valid_id(name):
                self.error(path, f"invalid endpoint name {name!r}: must match {ID_PATTERN}")
            self.keys(path, table, _ENDPOINT)
            reads = []
            raw_reads = self.value(path, table, "read", list, [])
            if not raw_reads:
                self.error(f"{path}.read", "an endpoint needs at least one [[read]]")
            for i, entry in enumerate(raw_reads):
                rpath = f"{path}.read[{i}]"
                if not isinstance(entry, dict):
                    self.error(rpath, "must be a table")
                    continue
                read = self.register(rpath, entry, meter_quantity, mapped, registry_ok)
                if read is not None:
                    reads.append(read)
            timeout_s = self.value(
                path, table, "timeout_s", (int, float), 1.0, minimum=0.01, maximum=60
            )
            endpoints.append(
                Endpoint(
                    name=name,
                    timeout_s=float(timeout_s),
                    retries=self.value(path, table, "retries", int, 2, minimum=0, maximum=10),
                    reads=tuple(reads),
                    **self.modbus_line(path, table),
                )
            )
        return tuple(endpoints)

    def hj212_meters(
        self, config: Hj212Config, meter_quantity: Mapping[str, str], mapped: dict[str, str]
    ) -> None:
        """Each meter a logger feeds is this gateway's, read once, of the code's quantity."""
        for mn, logger in config.loggers.items():
            for code, meter in logger.meters.items():
                path = f"hj212.logger.{mn}.meters.{code}"
                quantity = HJ212_CODES[code].quantity
                if meter not in meter_quantity:
                    self.error(path, f"meter {meter!r} is not read by this gateway in the registry")
                elif meter in mapped:
                    self.error(path, f"meter {meter!r} is already read by {mapped[meter]}")
                elif meter_quantity[meter] != quantity:
                    self.error(
                        path,
                        f"{code} is {quantity} but meter {meter!r} is {meter_quantity[meter]} "
                        "in the registry",
                    )
                else:
                    mapped[meter] = path

    def modbus_line(self, path: str, table: Mapping[str, Any]) -> dict[str, Any]:
        """Where ``[modbus.NAME]`` is: ``host`` (TCP) or ``device`` (RS-485, Modbus RTU)."""
        has_host, has_device = "host" in table, "device" in table
        if has_host == has_device:
            self.error(path, "give host (Modbus TCP) or device (Modbus RTU on a serial port)")
        if has_device:
            for key in ("port", "framer"):
                if key in table:
                    self.error(f"{path}.{key}", "only with host; a serial device is always RTU")
            return {
                "device": self.value(path, table, "device", str, None),
                "baudrate": self.value(path, table, "baudrate", int, 9600, choices=BAUDRATES),
                "parity": self.value(path, table, "parity", str, "E", choices=("E", "N", "O")),
                "stopbits": self.value(path, table, "stopbits", int, 1, choices=(1, 2)),
                "framer": "rtu",
            }
        for key in ("baudrate", "parity", "stopbits"):
            if key in table:
                self.error(f"{path}.{key}", "only with device (a serial line)")
        return {
            "host": self.value(path, table, "host", str, ""),
            "port": self.value(path, table, "port", int, 502, minimum=1, maximum=65535),
            "framer": self.value(path, table, "framer", str, "socket", choices=("socket", "rtu")),
        }

    def register(
        self,
        path: str,
        entry: Mapping[str, Any],
        meter_quantity: Mapping[str, str],
        mapped: dict[str, str],
        registry_ok: bool,
    ) -> RegisterMap | None:
        """One ``[[modbus.NAME.read]]``; None when it has a problem."""
        self.keys(path, entry, _READ)
        before = len(self.problems)
        meter = self.value(path, entry, "meter", str, None, required=True)
        quantity = None
        if meter is not None and registry_ok:
            if meter not in meter_quantity:
                self.error(
                    f"{path}.meter", f"meter {meter!r} is not read by this gateway in the registry"
                )
            elif meter in mapped:
                self.error(f"{path}.meter", f"meter {meter!r} is already read by {mapped[meter]}")
            else:
                mapped[meter] = path
                quantity = meter_quantity[meter]
        device_id = self.value(path, entry, "device_id", int, 1, minimum=0, maximum=255)
        function = self.value(path, entry, "function", str, "holding", choices=("holding", "input"))
        address = self.value(
            path, entry, "address", int, None, required=True, minimum=0, maximum=65535
        )
        dtype = entry.get("type")
        if dtype is None:
            self.error(f"{path}.type", "missing required key")
        elif dtype not in TYPES:
            self.error(
                f"{path}.type", f"unknown type {dtype!r} (expected one of {', '.join(TYPES)})"
            )
        orders = ("big", "little")
        word_order = self.value(path, entry, "word_order", str, "big", choices=orders)
        byte_order = self.value(path, entry, "byte_order", str, "big", choices=orders)
        scale = self.value(path, entry, "scale", (int, float), 1.0)
        if scale == 0:
            self.error(f"{path}.scale", "must not be 0")
        q = quantities.BY_NAME[quantity] if quantity else None
        unit = self.value(path, entry, "unit", str, q.canonical_unit if q else "")
        if q is not None and unit and unit not in q.units:
            self.error(
                f"{path}.unit",
                f"unit {unit!r} not accepted for {quantity} (accepted: {', '.join(q.units)})",
            )
        if address is not None and dtype in TYPES and address + TYPES[dtype][1] > 65536:
            self.error(f"{path}.address", f"{dtype} at {address} runs past register 65535")
        if len(self.problems) > before or meter is None or quantity is None or dtype is None:
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

    def simulator(self, data: Mapping[str, Any]) -> SimulatorConfig | None:
        if "simulator" not in data:
            return None
        sim = self.value("", data, "simulator", dict, {})
        self.keys("simulator", sim, _SIMULATOR)
        number = (int, float)
        return SimulatorConfig(
            seed=self.value("simulator", sim, "seed", int, 0),
            resets_per_year=float(
                self.value("simulator", sim, "resets_per_year", number, 0.0, minimum=0, maximum=365)
            ),
            exceed_probability=float(
                self.value(
                    "simulator", sim, "exceed_probability", number, 0.02, minimum=0, maximum=1
                )
            ),
        )

    def csv(self, data: Mapping[str, Any]) -> CsvConfig | None:
        if "csv" not in data:
            return None
        table = self.value("", data, "csv", dict, {})
        self.keys("csv", table, _CSV)
        if "path" not in table:
            self.error("csv.path", "missing required key")
        file = self.file("csv", table, "path")
        if file is None:
            return None
        chunk = self.value("csv", table, "chunk", int, 5000, minimum=1, maximum=100_000)
        return CsvConfig(file, chunk)
