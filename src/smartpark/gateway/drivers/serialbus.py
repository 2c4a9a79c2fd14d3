"""A shared RS-485 line: transports that exchange one request for one reply frame, and the bus.

Two transports behind one interface, ``exchange(request, timeout, match) -> frame bytes``:
:class:`SerialTransport` (a local port via pyserial: an RS-485 adapter, or a pty in tests)
and :class:`TcpTransport` (a transparent serial server: the bytes of the line over a TCP
stream). Both read through the loop (no thread, no blocking read), cut frames with the
protocol's framer, and count every rejection by reason in ``rejects``: the framer's
reasons, plus ``wrong_address`` / ``unexpected`` (a valid frame that does not answer the
request, as ``match`` says) and ``late`` (a frame nobody was waiting for: the reply to an
earlier request that had already timed out).

A :class:`Bus` is one line with several meters: one request at a time (an asyncio lock),
a timeout per request and a retry count, so a meter that never answers costs a bounded
``timeout × (retries + 1)`` and the next meter is asked after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import serial

from smartpark.core.errors import BusError, BusTimeoutError

# ``match(frame) -> None`` accepts the frame as the reply; a string rejects it (the reason).
Match = Callable[[bytes], str | None]


class Framer(Protocol):
    rejects: Counter[str]

    def feed(self, data: bytes) -> list[bytes]: ...

    def discard(self) -> None: ...


class Transport(Protocol):
    name: str
    rejects: Counter[str]

    async def exchange(self, request: bytes, timeout: float, match: Match | None = None) -> bytes:
        """Send ``request``, return the first frame ``match`` accepts; ``TimeoutError`` if none
        comes within ``timeout`` seconds, ``BusError`` if the line cannot be used."""
        ...

    async def close(self) -> None: ...


class _FramedTransport:
    """Frames arrive through ``_on_data`` (a loop callback); ``exchange`` waits for them."""

    name: str

    def __init__(self, framer: Framer) -> None:
        self.framer = framer
        self.rejects = framer.rejects
        self._frames: deque[bytes] = deque()
        self._arrived = asyncio.Event()
        self._lost: str | None = None

    # subclass hooks
    @property
    def is_open(self) -> bool:
        raise NotImplementedError

    async def open(self) -> None:
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def _drain_input(self) -> None:
        """Feed whatever the OS holds already (so stale bytes are counted, not mistaken)."""

    async def close(self) -> None:
        raise NotImplementedError

    def _on_data(self, data: bytes) -> None:
        frames = self.framer.feed(data)
        if frames:
            self._frames.extend(frames)
            self._arrived.set()

    def _on_lost(self, why: str) -> None:
        self._lost = why
        self._arrived.set()

    async def exchange(self, request: bytes, timeout: float, match: Match | None = None) -> bytes:
        if not self.is_open:
            await self.open()
        self._drain_input()
        if self._frames:
            self.rejects["late"] += len(self._frames)
            self._frames.clear()
        self.framer.discard()  # a stale partial frame (counted ``truncated``)
        self._write(request)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            while self._frames:
                raw = self._frames.popleft()
                reason = None if match is None else match(raw)
                if reason is None:
                    return raw
                self.rejects[reason] += 1
            if self._lost is not None:
                why, self._lost = self._lost, None
                await self.close()
                raise BusError(f"{self.name}: {why}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                self.framer.discard()
                raise TimeoutError(f"{self.name}: no reply within {timeout:g} s")
            self._arrived.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._arrived.wait()
            except TimeoutError:
                pass


_PARITY = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


class SerialTransport(_FramedTransport):
    """A local serial port (RS-485 adapter, or a pty), default 2400 baud 8E1 as DL/T 645."""

    def __init__(
        self,
        device: str,
        framer: Framer,
        *,
        baudrate: int = 2400,
        parity: str = "E",
        bytesize: int = 8,
        stopbits: int = 1,
    ) -> None:
        super().__init__(framer)
        if parity not in _PARITY:
            raise ValueError(f"parity must be one of {', '.join(_PARITY)}, got {parity!r}")
        self.device = device
        self.name = f"serial {device}"
        self.baudrate = baudrate
        self._parity = _PARITY[parity]
        self._bytesize = bytesize
        self._stopbits = stopbits
        self._port: serial.Serial | None = None
        self._fd = -1

    @property
    def is_open(self) -> bool:
        return self._port is not None

    async def open(self) -> None:
        try:
            port = serial.Serial(
                self.device,
                baudrate=self.baudrate,
                parity=self._parity,
                bytesize=self._bytesize,
                stopbits=self._stopbits,
                timeout=0,
                write_timeout=2.0,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise BusError(
                f"cannot open serial port {self.device}: {exc} (check the device path, and "
                "that the gateway's user may open it, e.g. is in the dialout group)"
            ) from None
        self._port = port
        self._fd = port.fileno()
        asyncio.get_running_loop().add_reader(self._fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, 4096)
        except BlockingIOError:
            return
        except OSError as exc:
            self._stop_reading()
            self._on_lost(f"read failed: {exc}")
            return
        if not data:
            self._stop_reading()
            self._on_lost("the port was closed")
            return
        self._on_data(data)

    def _drain_input(self) -> None:
        if self._port is None:
            return
        for _ in range(64):  # bounded: at most 256 KiB of stale input
            try:
                data = os.read(self._fd, 4096)
            except OSError:
                return
            if not data:
                return
            self._on_data(data)

    def _write(self, data: bytes) -> None:
        assert self._port is not None
        try:
            self._port.write(data)
        except (serial.SerialException, OSError) as exc:
            self._on_lost(f"write failed: {exc}")

    def _stop_reading(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(RuntimeError):  # no loop any more: nothing to remove
                asyncio.get_running_loop().remove_reader(self._fd)

    async def close(self) -> None:
        self._stop_reading()
        if self._port is not None:
            self._port.close()
        self._port = None
        self._fd = -1


class _StreamProtocol(asyncio.Protocol):
    def __init__(self, owner: TcpTransport) -> None:
        self.owner = owner

    def data_received(self, data: bytes) -> None:
        self.owner._on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner._on_lost(f"connection lost ({exc or 'closed by the server'})")
        self.owner._transport = None


class TcpTransport(_FramedTransport):
    """A transparent serial server: the line's bytes over one TCP connection."""

    def __init__(
        self, host: str, port: int, framer: Framer, *, connect_timeout: float = 3.0
    ) -> None:
        super().__init__(framer)
        self.host = host
        self.port = port
        self.name = f"tcp {host}:{port}"
        self._connect_timeout = connect_timeout
        self._transport: asyncio.Transport | None = None

    @property
    def is_open(self) -> bool:
        return self._transport is not None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._lost = None
        try:
            async with asyncio.timeout(self._connect_timeout):
                transport, _ = await loop.create_connection(
                    lambda: _StreamProtocol(self), self.host, self.port
                )
        except (OSError, TimeoutError) as exc:
            raise BusError(
                f"cannot connect to the serial server {self.host}:{self.port}: "
                f"{exc or 'timed out'} (check host, port and that it is in TCP server mode)"
            ) from None
        self._transport = transport

    def _write(self, data: bytes) -> None:
        assert self._transport is not None
        self._transport.write(data)

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        self._transport = None


@dataclass(slots=True)
class BusStats:
    requests: int = 0  # frames sent, retries included
    replies: int = 0
    timeouts: int = 0  # attempts that got no reply in time
    failures: int = 0  # requests that failed after every retry


class Bus:
    """One line, several meters: one request at a time, timeout and retries per request."""

    def __init__(
        self,
        transport: Transport,
        *,
        timeout_s: float = 1.0,
        retries: int = 1,
        gap_s: float = 0.0,
    ) -> None:
        self.transport = transport
        self.name = transport.name
        self.timeout_s = timeout_s
        self.retries = retries
        self.gap_s = gap_s  # silence after a reply before the next request (slow meters)
        self.stats = BusStats()
        self._lock = asyncio.Lock()

    @property
    def rejects(self) -> Counter[str]:
        return self.transport.rejects

    async def request(
        self, request: bytes, match: Match | None = None, *, timeout_s: float | None = None
    ) -> bytes:
        """The reply to ``request``; ``BusTimeoutError`` after the retries, ``BusError`` if the
        line is gone (not retried: the next poll reconnects)."""
        timeout = self.timeout_s if timeout_s is None else timeout_s
        attempts = self.retries + 1
        async with self._lock:
            for _ in range(attempts):
                self.stats.requests += 1
                try:
                    raw = await self.transport.exchange(request, timeout, match)
                except TimeoutError:
                    self.stats.timeouts += 1
                    continue
                self.stats.replies += 1
                if self.gap_s > 0:
                    await asyncio.sleep(self.gap_s)
                return raw
            self.stats.failures += 1
        raise BusTimeoutError(f"{self.name}: no reply within {timeout:g} s, {attempts} attempt(s)")

    async def close(self) -> None:
        async with self._lock:
            await self.transport.close()
