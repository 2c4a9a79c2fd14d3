"""The Modbus TCP driver against a real pymodbus server: types, orders, scale, faults."""

from __future__ import annotations

import asyncio
import math
import socket

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartpark.gateway.drivers.base import (
    CONNECTION,
    DEVICE_EXCEPTION,
    NON_FINITE,
    SKIPPED,
    TIMEOUT,
)
from smartpark.gateway.drivers.modbus import Endpoint, ModbusDriver, RegisterMap, decode, encode
from smartpark.gateway.plausibility import screen
from smartpark.testing.servers import free_port
from tests.gateway.modbus_server import modbus_server

pytestmark = pytest.mark.timeout(60)

T = 1_767_225_600_000


def test_decode_known_answers() -> None:
    # 123.5 as IEEE 754 float32 is 0x42F70000: registers [0x42F7, 0x0000] in ABCD order.
    assert decode([0x42F7, 0x0000], "float32", "big", "big") == 123.5
    assert decode([0x0000, 0x42F7], "float32", "little", "big") == 123.5
    assert decode([0xF742, 0x0000], "float32", "big", "little") == 123.5
    assert decode([0xFFFB], "int16", "big", "big") == -5
    assert decode([0xFFFB], "uint16", "big", "big") == 65531
    assert decode([0x0001, 0x0000], "uint32", "big", "big") == 65536
    assert decode([0x0000, 0x0001], "uint32", "little", "big") == 65536
    assert decode([0xFFFF, 0xFFFE], "int32", "big", "big") == -2
    assert decode([0x3FF0, 0, 0, 0], "float64", "big", "big") == 1.0
    for dtype, value in [("float64", -1234567.875), ("int32", -100000), ("uint32", 3e9)]:
        for wo in ("big", "little"):
            for bo in ("big", "little"):
                regs = encode(value, dtype, wo, bo)  # type: ignore[arg-type]
                assert decode(regs, dtype, wo, bo) == value  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="float32 needs 2 registers"):
        decode([1], "float32", "big", "big")


HOLDING = (
    encode(123.5, "float32")  # 0
    + encode(456.25, "float32", "little")  # 2
    + encode(-5, "int16")  # 4
    + encode(65000, "uint16")  # 5
    + encode(-100000, "int32")  # 6
    + encode(3_000_000_000, "uint32", "little")  # 8
    + encode(1234567.891, "float64")  # 10
    + encode(math.nan, "float32")  # 14
    + encode(7.5, "float32", "big", "little")  # 16
)


def reg(meter: str, address: int, dtype: str, **kw: object) -> RegisterMap:
    return RegisterMap(
        meter=meter,
        quantity=str(kw.pop("quantity", "active_power")),
        device_id=int(kw.pop("device_id", 1)),  # type: ignore[call-overload]
        function=kw.pop("function", "holding"),  # type: ignore[arg-type]
        address=address,
        type=dtype,  # type: ignore[arg-type]
        unit=str(kw.pop("unit", "kW")),
        **kw,  # type: ignore[arg-type]
    )


READS = (
    reg("m-f32", 0, "float32"),
    reg("m-f32-cdab", 2, "float32", word_order="little"),
    reg("m-i16", 4, "int16"),
    reg("m-u16", 5, "uint16", scale=0.1),
    reg("m-i32", 6, "int32", scale=0.01),
    reg("m-u32", 8, "uint32", word_order="little", quantity="electricity_import", unit="Wh"),
    reg("m-f64", 10, "float64", quantity="natural_gas", unit="m3"),
    reg("m-nan", 14, "float32"),
    reg("m-bswap", 16, "float32", byte_order="little"),
    reg("m-input", 0, "uint16", function="input", quantity="o2", unit="%", scale=0.1),
    reg("m-bad-address", 900, "float32"),
)


def test_reads_every_type_order_and_scale_from_a_real_server() -> None:
    async def main() -> None:
        async with modbus_server(HOLDING, inputs=[215]) as port:
            driver = ModbusDriver(Endpoint("board", "127.0.0.1", port, 1.0, 1, READS))
            try:
                result = await driver.read(driver.meters, T)
            finally:
                await driver.close()
        got = dict(zip(result.readings.meter.tolist(), result.readings.value.tolist(), strict=True))
        assert math.isnan(got.pop("m-nan"))  # NaN is read; the screen rejects it
        assert got == {
            "m-f32": 123.5,
            "m-f32-cdab": 456.25,
            "m-i16": -5.0,
            "m-u16": pytest.approx(6500.0),
            "m-i32": pytest.approx(-1000.0),
            "m-u32": 3_000_000_000.0,
            "m-f64": 1234567.891,
            "m-bswap": 7.5,
            "m-input": pytest.approx(21.5),
        }
        assert np.all(result.readings.ts == T)
        units = dict(
            zip(result.readings.meter.tolist(), result.readings.unit.tolist(), strict=True)
        )
        assert (units["m-u32"], units["m-input"]) == ("Wh", "%")
        assert [(e.meter, e.reason) for e in result.errors] == [("m-bad-address", DEVICE_EXCEPTION)]
        assert "exception code 2" in result.errors[0].detail
        good, bad = screen(result.readings)
        assert [(e.meter, e.reason) for e in bad] == [("m-nan", NON_FINITE)]
        assert "m-nan" not in good.meter.tolist()
        assert len(good) == 9

    asyncio.run(main())


def test_unknown_unit_id_is_a_device_exception_not_a_hang() -> None:
    async def main() -> None:
        async with modbus_server(HOLDING) as port:
            driver = ModbusDriver(
                Endpoint(
                    "board", "127.0.0.1", port, 1.0, 0, (reg("m-9", 0, "float32", device_id=9),)
                )
            )
            result = await driver.read(["m-9"], T)
            await driver.close()
        assert [(e.meter, e.reason) for e in result.errors] == [("m-9", DEVICE_EXCEPTION)]

    asyncio.run(main())


def test_unreachable_endpoint_reports_its_meters_then_skips_them() -> None:
    port = free_port()  # nothing listens here
    driver = ModbusDriver(
        Endpoint("gone", "127.0.0.1", port, 0.5, 0, (reg("a", 0, "int16"), reg("b", 1, "int16")))
    )

    async def main() -> list[list[tuple[str, str]]]:
        out = []
        for k in range(4):
            result = await driver.read(["a", "b"], T + k * 1000)
            assert len(result.readings) == 0
            out.append([(e.meter, e.reason) for e in result.errors])
        await driver.close()
        return out

    polls = asyncio.run(main())
    assert polls[:3] == [[("a", CONNECTION), ("b", CONNECTION)]] * 3
    assert polls[3] == [("a", SKIPPED), ("b", SKIPPED)]  # three failures: left out a while


def test_a_silent_device_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        driver = ModbusDriver(
            Endpoint("mute", "127.0.0.1", port, 0.3, 1, (reg("quiet", 0, "float32"),))
        )

        async def main() -> list[tuple[str, str]]:
            result = await driver.read(["quiet"], T)
            await driver.close()
            return [(e.meter, e.reason) for e in result.errors]

        assert asyncio.run(main()) == [("quiet", TIMEOUT)]


_INT_RANGES = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
}


@given(
    dtype=st.sampled_from(["int16", "uint16", "int32", "uint32", "float32", "float64"]),
    word_order=st.sampled_from(["big", "little"]),
    byte_order=st.sampled_from(["big", "little"]),
    data=st.data(),
)
def test_decode_inverts_encode_for_every_type_and_order(
    dtype: str, word_order: str, byte_order: str, data: st.DataObject
) -> None:
    if dtype in _INT_RANGES:
        lo, hi = _INT_RANGES[dtype]
        value: float = data.draw(st.integers(lo, hi))
    elif dtype == "float32":
        value = data.draw(st.floats(width=32, allow_nan=False))
    else:
        value = data.draw(st.floats(allow_nan=False))
    regs = encode(value, dtype, word_order, byte_order)  # type: ignore[arg-type]
    assert all(0 <= r <= 0xFFFF for r in regs)
    assert decode(regs, dtype, word_order, byte_order) == value  # type: ignore[arg-type]
