"""Modbus meters (pymodbus, async): one driver per line of the config's ``[modbus.X]``.

A line is a Modbus TCP device or gateway (``host``), an RS-485 bus read in Modbus RTU
through a serial port (``device``: pymodbus's serial client, 8 data bits, ``parity``,
``stopbits``), or RTU frames over TCP to a transparent serial server (``host`` with
``framer = "rtu"``). The meters of one line are asked one request at a time, so several
slave ids share a bus as RS-485 requires.

Each ``[[modbus.X.read]]`` entry maps one registry meter to registers: unit id, function
(holding | input), zero-based address, data type (int16, uint16, int32, uint32, float32,
float64), word order (big = ABCD, little = CDAB), byte order within a word, scale and
unit. The value published is ``raw × scale`` in ``unit``.

Faults never block the other meters: every request has a timeout and ``retries``; an
endpoint that cannot be reached fails its meters at once (``connection``); a meter that
answers with a Modbus exception or not at all is reported (``device_exception`` /
``timeout``) and, after three failures in a row, skipped for a growing number of polls
(up to a minute) so a dead meter does not cost every poll its timeouts. Endpoints are
independent drivers, polled concurrently by the scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Sequence
from typing import Final

import numpy as np
from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from smartpark.core.logs import get_logger
from smartpark.gateway.drivers.base import (
    CONNECTION,
    DEVICE_EXCEPTION,
    SKIPPED,
    TIMEOUT,
    MeterError,
    PollResult,
)
from smartpark.gateway.drivers.registers import (
    TYPES,
    DataType,
    Endpoint,
    Function,
    Order,
    RegisterMap,
    decode,
    encode,
)
from smartpark.gateway.readings import ReadingBatch

log = get_logger(__name__)
# We report every failure ourselves, with the meter id; pymodbus's own lines would repeat
# them unstructured.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

__all__ = [
    "TYPES",
    "DataType",
    "Endpoint",
    "Function",
    "ModbusDriver",
    "Order",
    "RegisterMap",
    "decode",
    "encode",
]

_FAILURES_BEFORE_SKIP: Final = 3
_MAX_SKIP_S: Final = 60.0


class _Failing:
    """Consecutive failures of one meter and when to try it again."""

    __slots__ = ("count", "retry_at")

    def __init__(self) -> None:
        self.count = 0
        self.retry_at = 0.0


class ModbusDriver:
    """Reads the meters of one Modbus line (TCP endpoint or RS-485 bus)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.name = f"modbus.{endpoint.name}"
        self._maps = {r.meter: r for r in endpoint.reads}
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self._failing: dict[str, _Failing] = {}

    @property
    def meters(self) -> Sequence[str]:
        return list(self._maps)

    def _new_client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        ep = self.endpoint
        if ep.device is not None:
            return AsyncModbusSerialClient(
                ep.device,
                framer=FramerType.RTU,
                baudrate=ep.baudrate,
                bytesize=8,
                parity=ep.parity,
                stopbits=ep.stopbits,
                timeout=ep.timeout_s,
                retries=0,
                reconnect_delay=0,
            )
        framer = FramerType.RTU if ep.framer == "rtu" else FramerType.SOCKET
        return AsyncModbusTcpClient(
            ep.host,
            port=ep.port,
            framer=framer,
            timeout=ep.timeout_s,
            retries=0,
            reconnect_delay=0,
        )

    async def _connected(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient | None:
        client = self._client
        if client is not None and client.connected:
            return client
        if client is not None:
            client.close()
        ep = self.endpoint
        client = self._new_client()
        try:
            async with asyncio.timeout(ep.timeout_s):
                ok = await client.connect()
        except (TimeoutError, OSError, ModbusException):
            ok = False
        if not ok:
            client.close()
            self._client = None
            return None
        self._client = client
        return client

    async def read(self, meters: Sequence[str], ts_ms: int) -> PollResult:
        now = time.monotonic()
        due = [m for m in meters if m in self._maps and self._due(m, now)]
        skipped = [
            MeterError(m, SKIPPED, f"{self.name}: not answering, retried later")
            for m in meters
            if m in self._maps and m not in due
        ]
        if not due:
            return PollResult(ReadingBatch.empty(), skipped)
        client = await self._connected()
        if client is None:
            ep = self.endpoint
            detail = f"cannot connect to {ep.where} ({self.name})"
            for m in due:
                self._failed(m, now)
            errs = [MeterError(m, CONNECTION, detail) for m in due]
            return PollResult(ReadingBatch.empty(), skipped + errs)
        got: list[tuple[RegisterMap, float]] = []
        errors: list[MeterError] = skipped
        for meter in due:
            reg = self._maps[meter]
            value, error = await self._read_one(client, reg)
            if error is not None:
                errors.append(error)
                self._failed(meter, now)
            else:
                assert value is not None
                got.append((reg, value))
                self._failing.pop(meter, None)
        readings = ReadingBatch.of(
            [r.meter for r, _ in got],
            [r.quantity for r, _ in got],
            [r.unit for r, _ in got],
            np.full(len(got), ts_ms, dtype=np.int64),
            [v * r.scale for r, v in got],
        )
        return PollResult(readings, errors)

    async def _read_one(
        self, client: AsyncModbusTcpClient | AsyncModbusSerialClient, reg: RegisterMap
    ) -> tuple[float | None, MeterError | None]:
        ep = self.endpoint
        call = (
            client.read_holding_registers
            if reg.function == "holding"
            else client.read_input_registers
        )
        last: MeterError | None = None
        for _attempt in range(ep.retries + 1):
            try:
                async with asyncio.timeout(ep.timeout_s):
                    response = await call(reg.address, count=reg.count, device_id=reg.device_id)
            except (TimeoutError, ModbusException, OSError) as exc:
                kind = TIMEOUT if isinstance(exc, TimeoutError) else CONNECTION
                last = MeterError(reg.meter, kind, f"{self.name}: {type(exc).__name__}: {exc}")
                if not client.connected:
                    break
                continue
            if response.isError():
                code = getattr(response, "exception_code", "?")
                return None, MeterError(
                    reg.meter,
                    DEVICE_EXCEPTION,
                    f"{self.name}: unit {reg.device_id} {reg.function} {reg.address}: "
                    f"Modbus exception code {code}",
                )
            try:
                return decode(response.registers, reg.type, reg.word_order, reg.byte_order), None
            except (ValueError, struct.error) as exc:
                return None, MeterError(reg.meter, DEVICE_EXCEPTION, f"{self.name}: {exc}")
        return None, last

    def _due(self, meter: str, now: float) -> bool:
        failing = self._failing.get(meter)
        return failing is None or now >= failing.retry_at

    def _failed(self, meter: str, now: float) -> None:
        failing = self._failing.setdefault(meter, _Failing())
        failing.count += 1
        if failing.count >= _FAILURES_BEFORE_SKIP:
            skip = min(_MAX_SKIP_S, 2.0 ** (failing.count - _FAILURES_BEFORE_SKIP))
            failing.retry_at = now + skip
            if failing.count == _FAILURES_BEFORE_SKIP:
                log.warning("meter_skipped", meter=meter, driver=self.name, failures=failing.count)

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
