"""The Modbus driver on RS-485 in Modbus RTU: a real pymodbus serial server on one end of a
pty pair (a null-modem cable), the driver on the other; and RTU over TCP as a transparent
serial server passes it. Several slave ids share the line; a dead one stalls nobody."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from pymodbus import FramerType

from smartpark.core.errors import ConfigError
from smartpark.gateway import config as gwconfig
from smartpark.gateway.config import from_dict
from smartpark.gateway.drivers.base import TIMEOUT
from smartpark.gateway.drivers.modbus import Endpoint, ModbusDriver, RegisterMap, encode
from smartpark.gateway.readings import ReadingBatch
from smartpark.gateway.service import Gateway
from smartpark.testing.mqtt import Collector
from smartpark.testing.servers import Mosquitto
from tests.gateway.modbus_server import modbus_rtu_server, modbus_server
from tests.gateway.ptylink import PtyLink
from tests.gateway.test_gateway_e2e import by_meter, until, write_config, write_registry

pytestmark = pytest.mark.timeout(60)

T = 1_767_225_600_000


def run_async(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """An async test body run in its own event loop (fixtures pass through)."""

    @functools.wraps(fn)
    def test(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return test


def reg(meter: str, device_id: int, address: int, dtype: str = "float32") -> RegisterMap:
    return RegisterMap(
        meter=meter,
        quantity="active_power",
        device_id=device_id,
        function="holding",
        address=address,
        type=dtype,  # type: ignore[arg-type]
        unit="kW",
    )


SLAVES = {
    1: encode(123.5, "float32") + encode(-5, "int16"),
    2: encode(456.25, "float32"),
    7: encode(789.0, "float32"),
}
READS = (
    reg("m1", 1, 0),
    reg("m1-i16", 1, 2, "int16"),
    reg("m2", 2, 0),
    reg("m7", 7, 0),
)
EXPECTED = {"m1": 123.5, "m1-i16": -5.0, "m2": 456.25, "m7": 789.0}


def values(batch: ReadingBatch) -> dict[str, float]:
    return dict(zip(batch.meter.tolist(), batch.value.tolist(), strict=True))


# A pty has no parity bits: Linux refuses a second tcsetattr with PARENB on it, which
# pymodbus's serial transport makes; the line is 8N1 here (the 8E1 default is a config test).
PTY_PARITY = "N"


@run_async
async def test_several_slave_ids_on_one_rs485_line_are_read() -> None:
    with PtyLink() as line:
        async with modbus_rtu_server(line.a, SLAVES, parity=PTY_PARITY):
            driver = ModbusDriver(
                Endpoint("bus", device=line.b, parity=PTY_PARITY, timeout_s=1.0, reads=READS)
            )
            try:
                result = await driver.read([r.meter for r in READS], T)
            finally:
                await driver.close()
    assert result.errors == []
    assert values(result.readings) == EXPECTED
    assert set(result.readings.unit.tolist()) == {"kW"}


@run_async
async def test_a_dead_slave_times_out_and_the_others_are_still_read() -> None:
    reads = (*READS, reg("m-dead", 9, 0))
    with PtyLink() as line:
        async with modbus_rtu_server(line.a, SLAVES, parity=PTY_PARITY):
            driver = ModbusDriver(
                Endpoint(
                    "bus", device=line.b, parity=PTY_PARITY, timeout_s=0.3, retries=0, reads=reads
                )
            )
            try:
                started = time.monotonic()
                first = await driver.read([r.meter for r in reads], T)
                elapsed = time.monotonic() - started
                second = await driver.read([r.meter for r in reads], T + 1000)
            finally:
                await driver.close()
    for result in (first, second):
        assert values(result.readings) == EXPECTED
        assert [(e.meter, e.reason) for e in result.errors] == [("m-dead", TIMEOUT)]
    # the dead slave costs its own timeout once per poll (not once per meter of the bus)
    assert elapsed < 0.3 * 2 + 5


@run_async
async def test_a_bad_crc_fails_only_its_slave() -> None:
    with PtyLink() as line:
        async with modbus_rtu_server(line.a, SLAVES, parity=PTY_PARITY, corrupt=frozenset({2})):
            driver = ModbusDriver(
                Endpoint(
                    "bus", device=line.b, parity=PTY_PARITY, timeout_s=0.3, retries=0, reads=READS
                )
            )
            try:
                result = await driver.read([r.meter for r in READS], T)
            finally:
                await driver.close()
    assert values(result.readings) == {m: v for m, v in EXPECTED.items() if m != "m2"}
    assert [(e.meter, e.reason) for e in result.errors] == [("m2", TIMEOUT)]


@run_async
async def test_after_noise_on_the_line_the_retry_reads_the_next_clean_frame() -> None:
    with PtyLink() as line:
        async with modbus_rtu_server(
            line.a, SLAVES, parity=PTY_PARITY, noise=b"\x00\xff", noisy_replies=1
        ):
            noisy = Endpoint(
                "bus", device=line.b, parity=PTY_PARITY, timeout_s=0.3, retries=0, reads=READS
            )
            driver = ModbusDriver(noisy)
            try:
                first = await driver.read([r.meter for r in READS], T)
                second = await driver.read([r.meter for r in READS], T + 1000)
            finally:
                await driver.close()
    # the noisy reply is lost to its request (pymodbus drops it), nothing else is
    assert [(e.meter, e.reason) for e in first.errors] == [("m1", TIMEOUT)]
    assert values(first.readings) == {m: v for m, v in EXPECTED.items() if m != "m1"}
    assert second.errors == []
    assert values(second.readings) == EXPECTED


@run_async
async def test_rtu_frames_over_tcp_to_a_serial_server() -> None:
    async with modbus_server(SLAVES[1], framer=FramerType.RTU) as port:
        reads = (reg("m1", 1, 0), reg("m1-i16", 1, 2, "int16"))
        driver = ModbusDriver(
            Endpoint("server", host="127.0.0.1", port=port, framer="rtu", reads=reads)
        )
        try:
            result = await driver.read(["m1", "m1-i16"], T)
        finally:
            await driver.close()
    assert result.errors == []
    assert values(result.readings) == {"m1": 123.5, "m1-i16": -5.0}


@run_async
async def test_a_missing_serial_device_is_a_connection_error_naming_it(tmp_path: Path) -> None:
    device = str(tmp_path / "ttyUSB9")
    driver = ModbusDriver(Endpoint("bus", device=device, timeout_s=0.2, reads=READS[:1]))
    try:
        result = await driver.read(["m1"], T)
    finally:
        await driver.close()
    assert [e.reason for e in result.errors] == ["connection"]
    assert device in result.errors[0].detail
    assert "9600 8E1" in result.errors[0].detail


REGISTRY = """\
[zone.z]
name = "Z"
[park.p]
zone = "z"
name = "P"
[enterprise.e]
park = "p"
name = "E"
[gateway.gw]
park = "p"
[meter.m1]
enterprise = "e"
gateway = "gw"
quantity = "active_power"
[meter.m2]
enterprise = "e"
gateway = "gw"
quantity = "active_power"
"""


def config(tmp_path: Path, line: dict[str, object]) -> dict[str, object]:
    (tmp_path / "registry.toml").write_text(REGISTRY)
    reads = [
        {"meter": "m1", "device_id": 1, "address": 0, "type": "float32"},
        {"meter": "m2", "device_id": 2, "address": 0, "type": "float32"},
    ]
    return {
        "gateway": "gw",
        "registry": "registry.toml",
        "outbox": "o.db",
        "modbus": {"bus": {**line, "read": reads}},
    }


def test_a_serial_line_in_the_config(tmp_path: Path) -> None:
    data = config(tmp_path, {"device": "/dev/ttyUSB0", "baudrate": 19200, "parity": "N"})
    (ep,) = from_dict(data, base=tmp_path).endpoints
    assert (ep.device, ep.baudrate, ep.parity, ep.stopbits, ep.framer) == (
        "/dev/ttyUSB0",
        19200,
        "N",
        1,
        "rtu",
    )
    assert [r.device_id for r in ep.reads] == [1, 2]
    assert ep.where == "/dev/ttyUSB0 19200 8N1"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({}, "modbus.bus: give host (Modbus TCP) or device (Modbus RTU on a serial port)"),
        (
            {"host": "10.0.0.5", "device": "/dev/ttyUSB0"},
            "modbus.bus: give host (Modbus TCP) or device",
        ),
        ({"device": "/dev/ttyUSB0", "baudrate": 9601}, "modbus.bus.baudrate: must be one of"),
        ({"device": "/dev/ttyUSB0", "parity": "X"}, "modbus.bus.parity: must be one of E, N, O"),
        ({"device": "/dev/ttyUSB0", "port": 502}, "modbus.bus.port: only with host"),
        ({"host": "10.0.0.5", "parity": "N"}, "modbus.bus.parity: only with device"),
        ({"host": "10.0.0.5", "framer": "ascii"}, "modbus.bus.framer: must be one of socket, rtu"),
    ],
)
def test_a_bad_line_names_the_key(tmp_path: Path, line: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_dict(config(tmp_path, line), base=tmp_path)
    assert any(message in p for p in info.value.problems), info.value.problems


def test_rtu_meters_reach_a_real_subscriber_through_the_gateway(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """pymodbus RTU slaves -> pty -> the gateway's driver -> outbox -> mosquitto -> subscriber."""
    registry = tmp_path / "registry.toml"
    write_registry(registry, {"rtu-energy": "electricity_import", "rtu-power": "active_power"})
    slaves = {3: encode(4321.5, "float32"), 4: encode(-250, "int16")}
    collector = Collector(mosquitto.host, mosquitto.port).start()

    async def main() -> None:
        with PtyLink() as line:
            async with modbus_rtu_server(line.a, slaves, parity=PTY_PARITY):
                body = f"""
[modbus.rs485]
device = "{line.b}"
baudrate = 9600
parity = "{PTY_PARITY}"
timeout_s = 0.5
[[modbus.rs485.read]]
meter = "rtu-energy"
device_id = 3
address = 0
type = "float32"
unit = "kWh"
[[modbus.rs485.read]]
meter = "rtu-power"
device_id = 4
address = 0
type = "int16"
scale = 0.1
unit = "kW"
"""
                path = write_config(tmp_path / "gw.toml", registry, mosquitto.url, body)
                gw = Gateway(gwconfig.load(path))
                task = asyncio.create_task(gw.run())
                try:
                    await until(
                        lambda: sum(r["meter"] == "rtu-power" for r in collector.readings()) >= 2,
                        30,
                        "two polls of rtu-power",
                    )
                finally:
                    gw.stop()
                    await asyncio.wait_for(task, 30)

    try:
        asyncio.run(main())
        readings = by_meter(collector.readings())
    finally:
        collector.stop()
    energy, power = readings["rtu-energy"], readings["rtu-power"]
    assert {(r["quantity"], r["unit"], r["value"]) for r in energy} == {
        ("electricity_import", "kWh", 4321.5)
    }
    assert {(r["quantity"], r["unit"]) for r in power} == {("active_power", "kW")}
    assert [r["value"] for r in power] == [pytest.approx(-25.0)] * len(power)


def test_the_example_rtu_config_loads() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    cfg = gwconfig.load(examples / "gateway-modbus-rtu.toml")
    lines = {ep.name: ep for ep in cfg.endpoints}
    assert lines["flow-meters"].where == "/dev/ttyUSB0 9600 8E1"
    assert [r.device_id for r in lines["flow-meters"].reads] == [11, 12]
    assert lines["steam-server"].framer == "rtu"
    assert {r.meter for ep in cfg.endpoints for r in ep.reads} == {
        "chem-a-gas",
        "chem-a-water",
        "chem-a-steam",
    }
