"""DL/T 645-2007 meters on an RS-485 line: one driver per ``[dlt645.BUS]`` of the config.

Each ``[[dlt645.BUS.read]]`` maps one registry meter to one data item (DI) of one meter
address; the value published is ``BCD value × scale`` converted into the quantity's
canonical unit (kWh, kW). The driver reads the line's meters one request at a time
(:class:`~smartpark.gateway.drivers.serialbus.Bus`), grouped by address: a read (control
11h) answered 91h is the value, B1h means more frames follow (read subsequent data, 12h,
until a reply without D5), D1h is an error reply whose error byte is decoded.

A dead meter never stalls the line: every request has its timeout and retries; once an
address failed in a poll its other items are not asked in that poll (``timeout``); after
three failing polls in a row the address is skipped for a growing number of polls (up to
a minute). A lost line (port gone, serial server down) fails the rest of the poll at once
(``connection``) and is reopened on the next one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from smartpark.core.errors import BusError, BusTimeoutError, FrameError, MeterRefusedError
from smartpark.core.logs import get_logger
from smartpark.gateway.drivers import dlt645_codec as codec
from smartpark.gateway.drivers.base import (
    CONNECTION,
    DEVICE_EXCEPTION,
    SKIPPED,
    TIMEOUT,
    MeterError,
    PollResult,
)
from smartpark.gateway.drivers.dlt645_config import Dlt645Bus, Dlt645Read
from smartpark.gateway.drivers.serialbus import (
    Bus,
    Match,
    SerialTransport,
    TcpTransport,
    Transport,
)
from smartpark.gateway.readings import ReadingBatch

log = get_logger(__name__)

_FAILURES_BEFORE_SKIP: Final = 3
_MAX_SKIP_S: Final = 60.0
MAX_FOLLOW_FRAMES: Final = 16  # a read answered in more frames than this is refused


def make_transport(bus: Dlt645Bus) -> Transport:
    """The transport of ``bus``: its serial device or its serial server."""
    framer = codec.StreamDecoder()
    if bus.device is not None:
        return SerialTransport(bus.device, framer, baudrate=bus.baudrate, parity=bus.parity)
    assert bus.host is not None
    return TcpTransport(bus.host, bus.port, framer, connect_timeout=max(1.0, bus.timeout_s))


@dataclass(slots=True)
class MeterStats:
    """Per address: what its requests gave."""

    reads: int = 0  # values read
    timeouts: int = 0  # reads that got no reply after every retry
    refused: int = 0  # error replies (D1h/D2h)
    bad_replies: int = 0  # replies that could not be decoded (not BCD, too short)
    consecutive: int = 0  # failing polls in a row
    retry_at: float = 0.0  # monotonic time before which the address is skipped


def _reply_match(address: str, normal: set[int], error: int, di: codec.DataId | None) -> Match:
    wire = codec.address_bytes(address)

    def match(raw: bytes) -> str | None:
        if raw[1:7] != wire:
            return "wrong_address"
        control = raw[8]
        if control == error:
            return None
        if control not in normal:
            return "unexpected"
        if di is not None and codec.decode_frame(raw).data[:4] != di.wire:
            return "unexpected"
        return None

    return match


class Dlt645Driver:
    """Reads the meters of one RS-485 line (``[dlt645.BUS]``)."""

    def __init__(self, bus: Dlt645Bus, *, transport: Transport | None = None) -> None:
        self.config = bus
        self.name = f"dlt645.{bus.name}"
        self.bus = Bus(
            transport if transport is not None else make_transport(bus),
            timeout_s=bus.timeout_s,
            retries=bus.retries,
            gap_s=bus.gap_ms / 1000.0,
        )
        self._reads = {r.meter: r for r in bus.reads}
        self.stats: dict[str, MeterStats] = {r.address: MeterStats() for r in bus.reads}

    @property
    def meters(self) -> Sequence[str]:
        return list(self._reads)

    @property
    def rejects(self) -> Counter[str]:
        """Frames and bytes rejected on this line, by reason."""
        return self.bus.rejects

    async def read(self, meters: Sequence[str], ts_ms: int) -> PollResult:
        now = time.monotonic()
        by_address: dict[str, list[Dlt645Read]] = {}
        for meter in meters:
            read = self._reads.get(meter)
            if read is not None:
                by_address.setdefault(read.address, []).append(read)
        got: list[tuple[Dlt645Read, float]] = []
        errors: list[MeterError] = []
        line_down: str | None = None
        for address, reads in by_address.items():
            stats = self.stats[address]
            if line_down is not None:
                errors += [MeterError(r.meter, CONNECTION, line_down) for r in reads]
                continue
            if now < stats.retry_at:
                detail = f"{self.name}: meter {address} not answering, retried later"
                errors += [MeterError(r.meter, SKIPPED, detail) for r in reads]
                continue
            timed_out = False
            for k, read in enumerate(reads):
                if timed_out:
                    detail = f"{self.name}: meter {address} did not answer earlier in this poll"
                    errors.append(MeterError(read.meter, TIMEOUT, detail))
                    continue
                try:
                    value = await self.read_value(address, read.di)
                except BusTimeoutError as exc:
                    stats.timeouts += 1
                    timed_out = True
                    errors.append(MeterError(read.meter, TIMEOUT, f"meter {address}: {exc}"))
                except MeterRefusedError as exc:
                    stats.refused += 1
                    errors.append(MeterError(read.meter, DEVICE_EXCEPTION, str(exc)))
                except FrameError as exc:
                    stats.bad_replies += 1
                    detail = f"{self.name}: meter {address} {read.di.code}: bad reply: {exc}"
                    errors.append(MeterError(read.meter, DEVICE_EXCEPTION, detail))
                except BusError as exc:
                    line_down = str(exc)
                    errors += [MeterError(r.meter, CONNECTION, line_down) for r in reads[k:]]
                    break
                else:
                    stats.reads += 1
                    got.append((read, value))
            if line_down is None:
                self._account(address, stats, failed=timed_out, now=now)
        readings = ReadingBatch.of(
            [r.meter for r, _ in got],
            [r.quantity for r, _ in got],
            [r.unit for r, _ in got],
            np.full(len(got), ts_ms, dtype=np.int64),
            [v * r.factor for r, v in got],
        )
        return PollResult(readings, errors)

    def _account(self, address: str, stats: MeterStats, *, failed: bool, now: float) -> None:
        if not failed:
            stats.consecutive = 0
            stats.retry_at = 0.0
            return
        stats.consecutive += 1
        if stats.consecutive >= _FAILURES_BEFORE_SKIP:
            skip = min(_MAX_SKIP_S, 2.0 ** (stats.consecutive - _FAILURES_BEFORE_SKIP))
            stats.retry_at = now + skip
            if stats.consecutive == _FAILURES_BEFORE_SKIP:
                log.warning("meter_skipped", address=address, driver=self.name)

    async def read_value(self, address: str, di: codec.DataId) -> float:
        """The value of ``di`` at ``address`` in the DI's own unit (raw, before ``scale``)."""
        data = await self.read_data(address, di)
        if len(data) < di.nbytes:
            raise FrameError(
                "bad_reply", f"{di.code} needs {di.nbytes} value bytes, the meter sent {len(data)}"
            )
        return codec.decode_bcd(data[: di.nbytes], di.decimals, di.signed)

    async def read_data(self, address: str, di: codec.DataId) -> bytes:
        """The data bytes of ``di`` (after the DI), follow-up frames joined."""
        pre = self.config.preamble
        raw = await self.bus.request(
            codec.read_request(address, di, preamble=pre),
            _reply_match(address, {codec.READ_REPLY, codec.READ_REPLY_MORE}, codec.READ_ERROR, di),
        )
        frame = self._checked(codec.decode_frame(raw), address, di)
        data = frame.data[4:]
        seq = 0
        follow = _reply_match(
            address, {codec.FOLLOW_REPLY, codec.FOLLOW_REPLY_MORE}, codec.FOLLOW_ERROR, di
        )
        while frame.has_more:
            seq += 1
            if seq > MAX_FOLLOW_FRAMES:
                raise FrameError(
                    "too_many_frames", f"{di.code} still not complete after {seq} frames"
                )
            raw = await self.bus.request(
                codec.follow_request(address, di, seq, preamble=pre), follow
            )
            frame = self._checked(codec.decode_frame(raw), address, di)
            data += frame.data[4:-1]  # DI, data, SEQ
        return data

    def _checked(self, frame: codec.Frame, address: str, di: codec.DataId) -> codec.Frame:
        if frame.is_error:
            code = frame.data[0] if frame.data else 0
            raise MeterRefusedError(
                code,
                f"{self.name}: meter {address} refused {di.code} ({di.name}): error byte "
                f"{code:02X}h: {codec.describe_error(code)}",
            )
        return frame

    async def read_address(self) -> str:
        """The address of the one meter on the line (broadcast read, control 13h)."""

        def match(raw: bytes) -> str | None:
            return None if raw[8] == codec.ADDRESS_REPLY and raw[9] == 6 else "unexpected"

        raw = await self.bus.request(
            codec.read_address_request(preamble=self.config.preamble), match
        )
        return codec.address_text(codec.decode_frame(raw).data)

    async def close(self) -> None:
        await self.bus.close()
