"""A real pymodbus TCP server for the tests, serving known registers on a loopback port."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from pymodbus.server import ModbusTcpServer
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
    holding: Sequence[int], inputs: Sequence[int] = (0,), device_id: int = 1
) -> AsyncIterator[int]:
    """Serve ``holding``/``inputs`` registers for ``device_id`` on 127.0.0.1; yields the port."""
    port = free_port()
    server = ModbusTcpServer([_device(device_id, holding, inputs)], address=("127.0.0.1", port))
    await server.serve_forever(background=True)
    try:
        yield port
    finally:
        await server.shutdown()
