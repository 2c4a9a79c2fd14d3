"""The DL/T 645 driver on real lines: a pty pair and TCP against our line simulator, and
against the independent ``dlt645`` package (3.2.0, Apache-2.0) as the meter, over TCP and
over a serial pty link; a dead meter among live ones; error replies, follow-up frames and
a hostile line counted by reason."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from smartpark.core import registry
from smartpark.core.tomlcheck import Checker, read_toml
from smartpark.gateway.drivers import dlt645_codec as c
from smartpark.gateway.drivers.base import CONNECTION, DEVICE_EXCEPTION, SKIPPED, TIMEOUT
from smartpark.gateway.drivers.dlt645 import Dlt645Driver
from smartpark.gateway.drivers.dlt645_config import Dlt645Bus, Dlt645Read, parse_dlt645
from smartpark.gateway.drivers.dlt645_sim import LineSimulator, SimMeter, serve_pty, serve_tcp
from smartpark.testing.servers import free_port
from tests.gateway.ptylink import PtyLink

pytestmark = pytest.mark.timeout(60)
T = 1_767_225_600_000
EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "smartpark" / "examples"
R = TypeVar("R")


def run(main: Callable[[], Awaitable[R]]) -> R:
    async def bounded() -> R:
        async with asyncio.timeout(30):
            return await main()

    return asyncio.run(bounded())


def rd(meter: str, address: str, di: str, quantity: str = "", scale: float = 1.0) -> Dlt645Read:
    d = c.data_id(di)
    return Dlt645Read(meter, quantity or str(d.quantity), address, d, scale)


def meter(address: str, **values: float) -> SimMeter:
    return SimMeter(address, overrides={c.data_id(k).di: v for k, v in values.items()})


def values(result: object) -> dict[str, tuple[float, str]]:
    readings = result.readings  # type: ignore[attr-defined]
    return {
        str(m): (round(float(v), 6), str(u))
        for m, v, u in zip(readings.meter, readings.value, readings.unit, strict=True)
    }


def test_pty_line_reads_items_in_canonical_units() -> None:
    sim = LineSimulator(
        [
            meter("000000000001", forward_active_energy=1206.42, active_power_total=-1.2345),
            meter("000000000002", reverse_active_energy=77.5),
        ]
    )

    async def main() -> None:
        line = serve_pty(sim)
        bus = Dlt645Bus(
            "feeder",
            device=line.device,
            baudrate=9600,
            timeout_s=0.5,
            reads=(
                rd("m-import", "000000000001", "00010000"),
                rd("m-power", "000000000001", "active_power_total", scale=40.0),  # CT 200/5
                rd("m-export", "000000000002", "reverse_active_energy"),
            ),
        )
        driver = Dlt645Driver(bus)
        try:
            result = await driver.read(driver.meters, T)
        finally:
            await driver.close()
            line.close()
        assert result.errors == []
        assert values(result) == {
            "m-import": (1206.42, "kWh"),
            "m-power": (-49.38, "kW"),
            "m-export": (77.5, "kWh"),
        }
        assert list(result.readings.ts) == [T, T, T]
        assert not driver.rejects
        assert sim.requests == {"000000000001": 2, "000000000002": 1}

    run(main)


def test_dead_meter_is_bounded_and_never_stalls_the_others() -> None:
    live = [meter(f"00000000000{i}", forward_active_energy=100.0 * i) for i in (1, 2, 3)]
    sim = LineSimulator([*live, meter("000000000009")])
    sim.dead.add("000000000009")
    reads = (
        rd("a", "000000000001", "00010000"),
        rd("dead-energy", "000000000009", "00010000"),
        rd("dead-power", "000000000009", "02030000"),
        rd("b", "000000000002", "00010000"),
        rd("c", "000000000003", "00010000"),
    )

    async def main() -> None:
        line = serve_pty(sim)
        driver = Dlt645Driver(
            Dlt645Bus("b", device=line.device, timeout_s=0.15, retries=1, reads=reads)
        )
        try:
            for poll in range(5):
                t0 = time.monotonic()
                result = await driver.read(driver.meters, T + poll)
                elapsed = time.monotonic() - t0
                assert values(result) == {
                    "a": (100.0, "kWh"),
                    "b": (200.0, "kWh"),
                    "c": (300.0, "kWh"),
                }
                reasons = {e.meter: e.reason for e in result.errors}
                if poll < 3:
                    assert reasons == {"dead-energy": TIMEOUT, "dead-power": TIMEOUT}
                    # timeout × (retries + 1) for the dead address, once: its second item is
                    # not asked; generous slack for a loaded machine, no tight timing
                    assert elapsed < 2 * 0.15 + 1.0
                else:  # three failing polls in a row: skipped for a while, costs nothing
                    assert reasons == {"dead-energy": SKIPPED, "dead-power": SKIPPED}
        finally:
            await driver.close()
            line.close()
        stats = driver.stats["000000000009"]
        assert (stats.timeouts, stats.reads) == (3, 0)
        assert sim.requests["000000000009"] == 3 * 2  # 3 polls × (1 + 1 retry), one item each
        assert driver.stats["000000000001"].reads == 5
        assert driver.bus.stats.timeouts == 6

    run(main)


def test_error_reply_is_decoded_and_the_poll_goes_on() -> None:
    sim = LineSimulator([meter("000000000001"), meter("000000000002", voltage_a=231.4)])
    sim.refuse["000000000001"] = 0x04

    async def main() -> None:
        line = serve_pty(sim)
        reads = (rd("locked", "000000000001", "00010000"), rd("ok", "000000000002", "00010000"))
        driver = Dlt645Driver(Dlt645Bus("b", device=line.device, timeout_s=0.5, reads=reads))
        try:
            result = await driver.read(driver.meters, T)
            assert await driver.read_value("000000000002", c.data_id("voltage_a")) == 231.4
        finally:
            await driver.close()
            line.close()
        [error] = result.errors
        assert (error.meter, error.reason) == ("locked", DEVICE_EXCEPTION)
        assert "error byte 04h: password wrong / unauthorised" in error.detail
        assert set(values(result)) == {"ok"}
        assert sim.requests["000000000001"] == 1  # an error reply is an answer: no retry

    run(main)


def test_follow_up_frames_are_joined() -> None:
    # max_data = 6: four DI bytes leave two value bytes for the first frame (B1h), then
    # "read subsequent data" (12h) frames carry one byte each plus the sequence number.
    sim = LineSimulator([meter("000000000005", forward_active_energy=123456.78)], max_data=6)

    async def main() -> float:
        line = serve_pty(sim)
        bus = Dlt645Bus("b", device=line.device, timeout_s=0.5, reads=())
        driver = Dlt645Driver(bus)
        try:
            return await driver.read_value("000000000005", c.data_id("00010000"))
        finally:
            await driver.close()
            line.close()

    assert run(main) == 123456.78
    assert sim.requests["000000000005"] == 3  # 11h, then 12h seq 1 and seq 2


def test_hostile_line_counts_reasons_and_still_reads() -> None:
    sim = LineSimulator([meter("000000000001", forward_active_energy=42.0)])
    calls = 0

    def mangle(frame: c.Frame, reply: bytes) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 1:
            return b""  # first request: nothing comes back (retried)
        other = c.encode_frame("000000000077", frame.control | 0x80, frame.data + b"\x00" * 4)
        bad = bytearray(reply)
        bad[-2] ^= 0x55  # checksum corrupted
        return b"\x00\x13\x37" + other + bytes(bad) + reply[:11] + reply

    sim.mangle = mangle

    async def main() -> None:
        line = serve_pty(sim)
        reads = (rd("m", "000000000001", "00010000"),)
        driver = Dlt645Driver(
            Dlt645Bus("b", device=line.device, timeout_s=0.3, retries=2, reads=reads)
        )
        try:
            result = await driver.read(driver.meters, T)
        finally:
            await driver.close()
            line.close()
        assert values(result) == {"m": (42.0, "kWh")}
        assert dict(driver.rejects) == {
            "garbage": 1,
            "wrong_address": 1,
            "bad_checksum": 1,
            "truncated": 1,
        }
        assert driver.bus.stats.timeouts == 1

    run(main)


def test_tcp_serial_server_and_a_lost_server() -> None:
    sim = LineSimulator([meter("000000000001", forward_active_energy=10.0)])

    async def main() -> None:
        server = await serve_tcp(sim)
        port = server.port
        reads = (rd("m", "000000000001", "00010000"), rd("m2", "000000000001", "02030000"))
        driver = Dlt645Driver(
            Dlt645Bus("b", host="127.0.0.1", port=port, timeout_s=0.5, reads=reads)
        )
        try:
            result = await driver.read(driver.meters, T)
            assert values(result)["m"] == (10.0, "kWh")
            assert not result.errors
            await server.close()
            # the connection drops: this poll fails fast, the next one reconnects (and fails)
            results = [await driver.read(driver.meters, T + k) for k in range(3)]
        finally:
            await driver.close()
        for later in results:
            assert {e.reason for e in later.errors} <= {CONNECTION}
            assert len(later.errors) == 2
        assert "cannot connect to the serial server 127.0.0.1" in results[-1].errors[0].detail

    run(main)


def test_broadcast_read_address() -> None:
    async def main(meters: list[SimMeter]) -> str | None:
        sim = LineSimulator(meters)
        line = serve_pty(sim)
        driver = Dlt645Driver(Dlt645Bus("b", device=line.device, timeout_s=0.2, retries=0))
        try:
            return await driver.read_address()
        except Exception as exc:
            assert "no reply" in str(exc)
            assert driver.rejects  # the collision garbled the replies
            return None
        finally:
            await driver.close()
            line.close()

    assert asyncio.run(main([meter("202401150042")])) == "202401150042"
    assert asyncio.run(main([meter("000000000001"), meter("000000000002")])) is None


# -- against the independent implementation ------------------------------------------------


def dlt645_meter(address: str, server: object) -> object:
    """A ``dlt645`` MeterServerService serving known values at ``address``.

    Its ``set_address`` puts the given bytes on the wire as they are (no reversal), so we
    hand it the wire order (low byte first) of the printed address."""
    svc = server
    svc.set_address(c.address_bytes(address))  # type: ignore[attr-defined]
    svc.set_00(0x00010000, 1206.42)  # type: ignore[attr-defined]
    svc.set_00(0x00020000, 3.5)  # type: ignore[attr-defined]
    svc.set_02(0x02010100, 230.1)  # type: ignore[attr-defined]
    svc.set_02(0x02020100, -5.125)  # type: ignore[attr-defined]
    svc.set_02(0x02030000, -1.2345)  # type: ignore[attr-defined]
    svc.set_02(0x02060000, 0.951)  # type: ignore[attr-defined]
    return svc


EXPECTED = {
    "forward_active_energy": 1206.42,
    "reverse_active_energy": 3.5,
    "voltage_a": 230.1,
    "current_a": -5.125,
    "active_power_total": -1.2345,
    "power_factor_total": 0.951,
}


async def read_all(driver: Dlt645Driver, address: str) -> dict[str, float]:
    return {name: await driver.read_value(address, c.data_id(name)) for name in EXPECTED}


def test_against_the_dlt645_package_over_tcp() -> None:
    import dlt645  # the dev extra installs it: a missing package fails, never skips

    port = free_port()
    svc = dlt645_meter(
        "000102030425", dlt645.MeterServerService.new_tcp_server("127.0.0.1", port, 5.0)
    )
    assert svc.start()  # type: ignore[attr-defined]

    async def main() -> None:
        reads = (rd("imp", "000102030425", "00010000"), rd("pw", "000102030425", "02030000"))
        driver = Dlt645Driver(
            Dlt645Bus("b", host="127.0.0.1", port=port, timeout_s=1.0, reads=reads)
        )
        try:
            assert await read_all(driver, "000102030425") == EXPECTED
            result = await driver.read(driver.meters, T)
        finally:
            await driver.close()
        assert values(result) == {"imp": (1206.42, "kWh"), "pw": (-1.2345, "kW")}
        assert not driver.rejects

    try:
        run(main)
    finally:
        svc.stop()  # type: ignore[attr-defined]


def test_against_the_dlt645_package_over_a_serial_pty_link() -> None:
    import dlt645  # the dev extra installs it: a missing package fails, never skips

    with PtyLink() as link:
        server = dlt645.MeterServerService.new_rtu_server(link.b, 8, 1, 9600, "E", 1.0)
        svc = dlt645_meter("000000000161", server)
        assert svc.start()  # type: ignore[attr-defined]

        async def main() -> None:
            bus = Dlt645Bus("b", device=link.a, baudrate=9600, timeout_s=1.0, retries=1)
            driver = Dlt645Driver(bus)
            try:
                assert await read_all(driver, "000000000161") == EXPECTED
            finally:
                await driver.close()

        try:
            run(main)
        finally:
            svc.stop()  # type: ignore[attr-defined]


# -- configuration ------------------------------------------------------------------------


def gateway_meters() -> dict[str, str]:
    reg = registry.load(EXAMPLES / "registry.toml")
    return {m.id: m.quantity for m in reg.meters_of_gateway("gw-chem-a")}


def test_example_config_parses() -> None:
    data = read_toml(EXAMPLES / "gateway-dlt645.toml", "config file")
    check = Checker()
    buses = parse_dlt645(check, data, gateway_meters())
    assert check.problems == []
    assert [b.name for b in buses] == ["feeder-bus", "board-server"]
    feeder, board = buses
    assert (feeder.device, feeder.baudrate, feeder.parity) == ("/dev/ttyUSB0", 2400, "E")
    assert (board.host, board.port, board.baudrate) == ("127.0.0.1", 8899, 9600)
    reads = {r.meter: r for b in buses for r in b.reads}
    assert reads["chem-a-line1"].di.code == "00010000"
    assert reads["chem-a-main"].scale == 40.0
    assert reads["chem-a-power"].di.name == "active_power_total"


def test_config_errors_name_their_path() -> None:
    data = {
        "dlt645": {
            "bus-1": {
                "device": "/dev/ttyUSB0",
                "host": "10.0.0.1",
                "baudrate": 9601,
                "read": [
                    {"meter": "chem-a-main", "address": 1, "di": "00010000"},
                    {"meter": "chem-a-power", "address": "000000000001", "di": "voltage_a"},
                    {"meter": "chem-a-line1", "address": "000000000001", "di": "02800002"},
                    {"meter": "nope", "address": "000000000002", "di": "00010000", "x": 1},
                ],
            }
        }
    }
    check = Checker()
    parse_dlt645(check, data, gateway_meters())
    text = "\n".join(check.problems)
    assert 'dlt645.bus-1: set either device = "/dev/ttyUSB0" or host and port' in text
    assert "dlt645.bus-1.baudrate: must be one of 1200, 2400, 4800, 9600, 19200" in text
    assert "dlt645.bus-1.read[0].address: must be the 12 digits" in text
    assert (
        "dlt645.bus-1.read[1].di: 02010100 (voltage_a, V, gauge) cannot feed chem-a-power "
        "(active_power, kW, gauge): pick one of 02030000 (active_power_total)"
    ) in text
    assert "dlt645.bus-1.read[2].di: unknown data identifier '02800002'" in text
    assert "dlt645.bus-1.read[3].x: unknown key 'x'" in text
    assert "dlt645.bus-1.read[3].meter: meter 'nope' is not read by this gateway" in text
