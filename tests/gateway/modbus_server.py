"""Real pymodbus servers for the tests: TCP on a loopback port, RTU on a serial device."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from pymodbus import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from smartpark.testing.servers import free_port


def _device(device_id: int, holding: Sequence[int], inputs: Sequence[int]) -> SimDevice:
    bits = [SimData(0, values=False, datatype=DataType.BITS)]
    return SimDevice(
        device_id,
        simdata=(
            bits,
            bits,
            [SimData(0, values=list(holding), datatype=DataType.REGISTERS)],
            [SimData(0, values=list(inputs), datatype=DataType.REGISTERS)],
        ),
    )


@contextlib.asynccontextmanager
async def modbus_server(
    holding: Sequence[int],
    inputs: Sequence[int] = (0,),
    device_id: int = 1,
    framer: FramerType = FramerType.SOCKET,
) -> AsyncIterator[int]:
    """Serve ``holding``/``inputs`` registers for ``device_id`` on 127.0.0.1; yields the port.

    ``framer=FramerType.RTU``: RTU frames over TCP, as a transparent serial server passes
    them from an RS-485 line."""
    port = free_port()
    server = ModbusTcpServer(
        [_device(device_id, holding, inputs)], address=("127.0.0.1", port), framer=framer
    )
    await server.serve_forever(background=True)
    try:
        yield port
    finally:
        await server.shutdown()


@contextlib.asynccontextmanager
async def modbus_rtu_server(
    device: str,
    slaves: dict[int, Sequence[int]],
    *,
    baudrate: int = 9600,
    parity: str = "E",
    noise: bytes = b"",
    noisy_replies: int = 0,
    corrupt: frozenset[int] = frozenset(),
) -> AsyncIterator[None]:
    """Serve each slave id's holding registers in Modbus RTU on the serial ``device``
    (one end of a pty pair); ids not in ``slaves`` never answer, as on a real bus.

    ``noise``: bytes sent before each of the first ``noisy_replies`` replies (line noise
    between frames); ``corrupt``: slave ids whose replies go out with a wrong CRC."""
    sent = [0]

    def silent_unless_present(sending: bool, packet: bytes) -> bytes:
        # an RTU frame starts with the slave id; pymodbus's simulator would answer an
        # unknown id with an exception, a real bus stays silent
        if not sending or not packet:
            return packet
        if packet[0] not in slaves:
            return b""
        if packet[0] in corrupt:
            packet = packet[:-1] + bytes([packet[-1] ^ 0xFF])
        sent[0] += 1
        return (noise if sent[0] <= noisy_replies else b"") + packet

    server = ModbusSerialServer(
        [_device(i, regs, (0,)) for i, regs in slaves.items()],
        framer=FramerType.RTU,
        port=device,
        baudrate=baudrate,
        parity=parity,
        stopbits=1,
        bytesize=8,
        trace_packet=silent_unless_present,
    )
    await server.serve_forever(background=True)
    try:
        yield
    finally:
        await server.shutdown()
