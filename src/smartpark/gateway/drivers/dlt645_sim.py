"""Simulated DL/T 645-2007 meters on one line, served over a pty or TCP (tests, demo, bench).

:class:`LineSimulator` holds the meters of one RS-485 line and answers the frames a master
sends, as the meters would: only the addressed meter answers; reads (11h) of a data item
it has are answered 91h (or B1h + follow-ups 12h/92h/B2h when ``max_data`` splits the
reply), an item it has not 0xD1 with error bit 1 ("no data requested"); a broadcast
read-address (13h to AAAAAAAAAAAA) is answered 93h by the one meter on the line (several
meters answering at once collide: the simulator ORs their replies, as a line would garble
them). Energy counters grow with the simulated power; voltages, currents and power
factors wander slightly. Faults for tests: ``dead`` addresses never answer, ``refuse``
makes one answer an error byte, ``mangle`` rewrites reply bytes (garbage, bad checksums).

:func:`serve_pty` serves a line on a pseudo-terminal (give the driver its ``device``
path); :func:`serve_tcp` on a TCP port, as a transparent serial server would. With
``baudrate`` set, replies are delayed by the time the request and the reply would take on
a real line at that speed (11 bits a byte, 8E1).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import pty
import time
import tty
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from smartpark.gateway.drivers import dlt645_codec as codec


@dataclass(slots=True)
class SimMeter:
    """One simulated meter: a three-phase meter of ``power_kw`` around ``voltage_v``."""

    address: str
    power_kw: float = 12.0
    energy_kwh: float = 1000.0  # forward active energy at t = 0
    export_kwh: float = 10.0
    voltage_v: float = 230.0
    power_factor: float = 0.92
    overrides: dict[int, float] = field(default_factory=dict)  # DI -> fixed value

    def value(self, di: codec.DataId, t: float) -> float:
        if di.di in self.overrides:
            return self.overrides[di.di]
        # Power wanders ±10 % over minutes; energy is its exact integral (never decreases).
        p = self.power_kw * (1.0 + 0.1 * math.sin(t / 60.0))
        energy = self.energy_kwh + self.power_kw * (t + 6.0 * (1.0 - math.cos(t / 60.0))) / 3600
        name = di.name
        if name == "forward_active_energy":
            return energy
        if name == "reverse_active_energy":
            return self.export_kwh
        if name == "combined_active_energy":
            return energy - self.export_kwh
        if name.startswith("combined_active_energy_t"):
            tariff = int(name[-1])
            return (energy - self.export_kwh) * (0.1, 0.4, 0.3, 0.2)[tariff - 1]
        if name.startswith("combined_reactive_energy"):
            return energy * 0.3 * (1 if name.endswith("1") else -0.1)
        if name.startswith("voltage_"):
            return self.voltage_v + 2.0 * math.sin(t / 30.0 + "abc".index(name[-1]))
        if name.startswith("current_"):
            return p * 1000 / (3 * self.voltage_v * self.power_factor)
        if name.startswith("active_power_"):
            return p if name.endswith("total") else p / 3
        if name.startswith("power_factor_"):
            return self.power_factor
        raise KeyError(di.code)


Mangle = Callable[[codec.Frame, bytes], bytes]


class LineSimulator:
    """The meters of one line; :meth:`receive` takes the master's bytes, returns replies."""

    def __init__(
        self,
        meters: Sequence[SimMeter],
        *,
        clock: Callable[[], float] | None = None,
        max_data: int = 200,
        baudrate: int | None = None,
        preamble: int = 0,
    ) -> None:
        self.meters = {m.address: m for m in meters}
        start = time.monotonic()

        def since_start() -> float:
            return time.monotonic() - start

        self._clock = clock if clock is not None else since_start
        self.max_data = max_data
        self.baudrate = baudrate
        self.preamble = preamble
        self.dead: set[str] = set()
        self.refuse: dict[str, int] = {}  # address -> error byte for every read
        self.mangle: Mangle | None = None
        self.decoder = codec.StreamDecoder()
        self.requests: Counter[str] = Counter()  # address -> frames received
        self._pending: dict[tuple[str, int], bytes] = {}  # (address, DI) -> rest to send

    def receive(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        for raw in self.decoder.feed(data):
            frame = codec.decode_frame(raw)
            if frame.is_reply:
                continue  # our own echo, or another master's traffic: ignore
            self.requests[frame.address] += 1
            reply = self.answer(frame)
            if reply is not None:
                out.append(self.mangle(frame, reply) if self.mangle is not None else reply)
        return out

    def line_time(self, nbytes: int) -> float:
        """Seconds ``nbytes`` take on the line (0 without ``baudrate``)."""
        return 0.0 if self.baudrate is None else nbytes * 11 / self.baudrate

    def answer(self, frame: codec.Frame) -> bytes | None:
        if frame.control == codec.READ_ADDRESS and frame.address == codec.BROADCAST_ADDRESS:
            live = [a for a in self.meters if a not in self.dead]
            replies = [self._frame(a, codec.ADDRESS_REPLY, codec.address_bytes(a)) for a in live]
            if not replies:
                return None
            garbled = bytearray(replies[0])
            for other in replies[1:]:
                for i, b in enumerate(other[: len(garbled)]):
                    garbled[i] |= b
            return bytes(garbled)
        meter = self.meters.get(frame.address)
        if meter is None or frame.address in self.dead:
            return None
        if frame.control not in (codec.READ, codec.READ_FOLLOW) or len(frame.data) < 4:
            return self._frame(frame.address, (frame.control | 0xC0) & 0xFF, b"\x01")
        error = codec.READ_ERROR if frame.control == codec.READ else codec.FOLLOW_ERROR
        if frame.address in self.refuse:
            return self._frame(frame.address, error, bytes((self.refuse[frame.address],)))
        di_code = int.from_bytes(frame.data[:4], "little")
        di = codec.DATA_IDS.get(di_code)
        if di is None:
            return self._frame(frame.address, error, b"\x02")
        if frame.control == codec.READ:
            number = meter.value(di, self._clock())
            value = codec.encode_bcd(number, di.nbytes, di.decimals, di.signed)
            return self._chunk(frame.address, di, value, codec.READ_REPLY, None)
        rest = self._pending.pop((frame.address, di_code), None)
        if rest is None:
            return self._frame(frame.address, error, b"\x02")
        seq = frame.data[4] if len(frame.data) > 4 else 0
        return self._chunk(frame.address, di, rest, codec.FOLLOW_REPLY, seq)

    def _chunk(
        self, address: str, di: codec.DataId, value: bytes, control: int, seq: int | None
    ) -> bytes:
        room = max(1, self.max_data - 4 - (0 if seq is None else 1))
        part, rest = value[:room], value[room:]
        if rest:
            self._pending[(address, di.di)] = rest
            control |= codec.MORE
        data = di.wire + part + (b"" if seq is None else bytes((seq,)))
        return self._frame(address, control, data)

    def _frame(self, address: str, control: int, data: bytes) -> bytes:
        return codec.encode_frame(address, control, data, preamble=self.preamble)


class PtyLine:
    """A line served on a pseudo-terminal: the driver opens :attr:`device`."""

    def __init__(self, sim: LineSimulator) -> None:
        self.sim = sim
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)  # no echo, no line discipline: bytes as on a wire
        self.device = os.ttyname(self._slave)
        os.set_blocking(self._master, False)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._master, self._readable)
        self._handles: list[asyncio.TimerHandle] = []

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except OSError:
            return
        for reply in self.sim.receive(data):
            delay = self.sim.line_time(len(data) + len(reply))
            if delay > 0:
                self._handles.append(self._loop.call_later(delay, self._send, reply))
            else:
                self._send(reply)

    def _send(self, reply: bytes) -> None:
        with contextlib.suppress(OSError):  # the driver closed its end: nobody listens
            os.write(self._master, reply)

    def close(self) -> None:
        for handle in self._handles:
            handle.cancel()
        self._loop.remove_reader(self._master)
        os.close(self._master)
        os.close(self._slave)


def serve_pty(sim: LineSimulator) -> PtyLine:
    """Serve ``sim`` on a new pty (call from the running loop); ``close()`` when done."""
    return PtyLine(sim)


class TcpLine:
    """A line served as a transparent serial server; :meth:`close` drops its clients too."""

    def __init__(self, sim: LineSimulator) -> None:
        self.sim = sim
        self.port = 0
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Transport] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> TcpLine:
        loop = asyncio.get_running_loop()
        line = self

        class _Conn(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                assert isinstance(transport, asyncio.Transport)
                self.transport = transport
                line._clients.add(transport)

            def connection_lost(self, exc: Exception | None) -> None:
                line._clients.discard(self.transport)

            def data_received(self, data: bytes) -> None:
                for reply in line.sim.receive(data):
                    delay = line.sim.line_time(len(data) + len(reply))
                    if delay > 0:
                        loop.call_later(delay, self._send, reply)
                    else:
                        self._send(reply)

            def _send(self, reply: bytes) -> None:
                if not self.transport.is_closing():
                    self.transport.write(reply)

        self._server = await loop.create_server(_Conn, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for client in list(self._clients):
                client.close()
            await self._server.wait_closed()
            self._server = None


async def serve_tcp(sim: LineSimulator, host: str = "127.0.0.1", port: int = 0) -> TcpLine:
    """Serve ``sim`` as a transparent serial server on ``host:port`` (0: a free port)."""
    return await TcpLine(sim).start(host, port)
