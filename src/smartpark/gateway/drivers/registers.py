"""Modbus register maps (docs/gateway.md) and the decoding of register words into numbers.

Pure data and arithmetic, no I/O: the configuration validates against it without loading
pymodbus, and :mod:`gateway.drivers.modbus` reads with it.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

DataType = Literal["int16", "uint16", "int32", "uint32", "float32", "float64"]
Order = Literal["big", "little"]
Function = Literal["holding", "input"]
Parity = Literal["E", "N", "O"]
Framer = Literal["socket", "rtu"]

# data type -> (struct format, registers)
TYPES: Final[dict[str, tuple[str, int]]] = {
    "int16": (">h", 1),
    "uint16": (">H", 1),
    "int32": (">i", 2),
    "uint32": (">I", 2),
    "float32": (">f", 2),
    "float64": (">d", 4),
}


@dataclass(frozen=True, slots=True)
class RegisterMap:
    """How to read one meter's value."""

    meter: str
    quantity: str
    device_id: int
    function: Function
    address: int
    type: DataType
    word_order: Order = "big"
    byte_order: Order = "big"
    scale: float = 1.0
    unit: str = ""

    @property
    def count(self) -> int:
        return TYPES[self.type][1]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One Modbus line: a TCP device or gateway (``host``), or an RS-485 bus (``device``).

    ``framer`` is ``socket`` (Modbus TCP, MBAP header) or ``rtu`` (RTU frames with CRC:
    always on a serial ``device``, and over TCP to a transparent serial server). Several
    slave ids (``RegisterMap.device_id``) share one line and are asked one at a time.
    """

    name: str
    host: str = ""
    port: int = 502
    timeout_s: float = 1.0
    retries: int = 2
    reads: tuple[RegisterMap, ...] = ()
    device: str | None = None  # serial port, e.g. /dev/ttyUSB0: Modbus RTU on RS-485
    baudrate: int = 9600
    parity: Parity = "E"  # the Modbus serial line default: 8 data bits, even parity, 1 stop
    stopbits: int = 1
    framer: Framer = "socket"

    @property
    def where(self) -> str:
        """The line as a person names it: ``/dev/ttyUSB0 9600 8E1`` or ``host:port``."""
        if self.device is not None:
            return f"{self.device} {self.baudrate} 8{self.parity}{self.stopbits}"
        return f"{self.host}:{self.port}" + (" (RTU over TCP)" if self.framer == "rtu" else "")


def decode(
    registers: Sequence[int], dtype: DataType, word_order: Order, byte_order: Order
) -> float:
    """Registers (16-bit words as received) -> number, honouring word and byte order."""
    fmt, count = TYPES[dtype]
    if len(registers) != count:
        raise ValueError(f"{dtype} needs {count} registers, got {len(registers)}")
    words = list(registers) if word_order == "big" else list(reversed(registers))
    data = b"".join(w.to_bytes(2, "big" if byte_order == "big" else "little") for w in words)
    value: Any = struct.unpack(fmt, data)[0]
    return float(value)


def encode(
    value: float, dtype: DataType, word_order: Order = "big", byte_order: Order = "big"
) -> list[int]:
    """The inverse of :func:`decode` (for tests and simulators serving registers)."""
    fmt, count = TYPES[dtype]
    number: float | int = int(value) if dtype.startswith(("int", "uint")) else value
    data = struct.pack(fmt, number)
    words = [
        int.from_bytes(data[i : i + 2], "big" if byte_order == "big" else "little")
        for i in range(0, 2 * count, 2)
    ]
    return words if word_order == "big" else list(reversed(words))
