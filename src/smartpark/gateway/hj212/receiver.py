"""The HJ 212 receiver: a TCP server inside the gateway that data loggers dial into.

Each connection gets its own :class:`~smartpark.gateway.hj212.codec.FrameScanner`. A data
segment with the right length, terminator and CRC is parsed; a packet whose MN is
configured and whose PW matches is *accepted*, and a data upload (CN 2011, 2051, 2061,
2031) that asked for it (Flag bit 0) is answered with the data response (CN 9014). An
accepted upload of a command in ``store_commands`` becomes a
:class:`~smartpark.gateway.drivers.base.PollResult` handed to ``sink`` (the same sink the
scheduler feeds, so readings are screened and enter the same outbox).

Which values become readings: the code is mapped to a meter for that MN; the value is
``-Rtd`` for 2011 and ``-Avg`` for the interval commands, timestamped with ``DataTime``
(2011: the instant; 2051/2061/2031: the interval start) in the configured zone; the
value's ``-Flag`` (``N`` when absent, as 2005 loggers often send) is in ``store_flags``
(default N and T: see docs/gateway.md). Every flag is counted. Split messages
(PNUM/PNO) are processed packet by packet: each sub-packet carries whole
``code-field=value`` groups and its own DataTime, so nothing waits for a lost sibling.

Everything else is rejected with a counted reason (``stats.rejects``), logged (the first
:data:`LOG_PER_CONNECTION` per connection, then a summary at close), and never crashes the
server: frame errors resynchronise on the next ``##``; a peer that sends more than
``max_invalid_bytes`` without an accepted packet, or no accepted packet for
``idle_timeout_s`` (so a trickle of garbage cannot hold a connection), is disconnected;
connections beyond ``max_connections`` are closed at once. A sink that raises (the outbox
failed) leaves the upload unacknowledged, so the logger sends it again.
"""

from __future__ import annotations

import asyncio
import hmac
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np

from smartpark.core.errors import FrameError
from smartpark.core.logs import get_logger
from smartpark.core.timestamps import now_ms
from smartpark.gateway.drivers.base import MeterError, PollResult
from smartpark.gateway.hj212.codec import FrameScanner, Packet, Reject, data_response, parse
from smartpark.gateway.hj212.codes import CODES
from smartpark.gateway.hj212.config import DATA_COMMANDS, Hj212Config, LoggerConfig
from smartpark.gateway.readings import ReadingBatch, str_array

log = get_logger(__name__)

ResultSink = Callable[[PollResult, int], None]

LOG_PER_CONNECTION: Final = 20
_READ_SIZE: Final = 16_384
_MAX_COUNTER_KEYS: Final = 1024  # per-code counters keyed by peer data stay bounded

# Rejection reasons beyond the codec's (see codec.py).
UNKNOWN_MN = "unknown_mn"
BAD_PW = "bad_pw"
BAD_DATATIME = "bad_datatime"
TOO_MANY_CONNECTIONS = "too_many_connections"
# Disconnect reasons.
FLOOD = "flood"
IDLE = "idle_timeout"
CLOSED = "closed"  # the peer closed
# Reasons a value yields no reading (MeterError.reason or stats counters).
BAD_VALUE = "bad_value"
MISSING_VALUE = "missing_value"


@dataclass(slots=True)
class ReceiverStats:
    connections: int = 0  # accepted TCP connections, ever
    open: int = 0
    bytes_in: int = 0
    frames: int = 0  # frames with a right CRC
    packets: int = 0  # accepted packets (MN and PW right)
    split_packets: int = 0
    acks: int = 0
    readings: int = 0
    sink_errors: int = 0  # the sink raised: the upload was not acknowledged
    rejects: Counter[str] = field(default_factory=Counter)
    disconnects: Counter[str] = field(default_factory=Counter)
    commands: Counter[str] = field(default_factory=Counter)
    flags: Counter[str] = field(default_factory=Counter)  # every value's data flag
    unknown_codes: Counter[str] = field(default_factory=Counter)  # not in codes.CODES
    unmapped_codes: Counter[str] = field(default_factory=Counter)  # known, no meter for MN
    value_errors: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, object]:
        return {
            k: dict(v) if isinstance(v, Counter) else v
            for k, v in ((name, getattr(self, name)) for name in self.__slots__)
        }


def _bump(counter: Counter[str], key: str) -> None:
    if key in counter or len(counter) < _MAX_COUNTER_KEYS:
        counter[key] += 1
    else:
        counter["(other)"] += 1


class Hj212Receiver:
    """Listens on ``config.host:config.port``; readings go to ``sink(result, received_ms)``."""

    name = "hj212"

    def __init__(
        self, config: Hj212Config, sink: ResultSink, *, clock_ms: Callable[[], int] = now_ms
    ) -> None:
        self.config = config
        self.stats = ReceiverStats()
        self._sink = sink
        self._clock = clock_ms
        self._zone = ZoneInfo(config.timezone)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def meters(self) -> list[str]:
        return self.config.meters

    @property
    def serving(self) -> bool:
        """Whether the receiver listens (between :meth:`start` and :meth:`close`)."""
        return self._server is not None and bool(self._server.sockets)

    @property
    def port(self) -> int:
        """The bound port (useful with ``port = 0``)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("receiver not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connect, self.config.host, self.config.port, limit=_READ_SIZE
        )
        log.info("hj212_listening", host=self.config.host, port=self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    # -- connections ----------------------------------------------------------------

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer(writer)
        if self.stats.open >= self.config.max_connections:
            self.stats.rejects[TOO_MANY_CONNECTIONS] += 1
            log.warning(
                "hj212_rejected",
                reason=TOO_MANY_CONNECTIONS,
                peer=peer,
                limit=self.config.max_connections,
            )
            writer.close()
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.stats.connections += 1
        self.stats.open += 1
        try:
            await self._serve(reader, writer, peer)
        except asyncio.CancelledError:
            self.stats.disconnects["shutdown"] += 1
        except (ConnectionError, OSError) as exc:
            self.stats.disconnects["connection_error"] += 1
            log.info("hj212_connection_error", peer=peer, error=str(exc))
        except Exception as exc:  # a bug, not input: logged, this connection closed
            self.stats.disconnects["internal_error"] += 1
            log.error("hj212_internal_error", peer=peer, error=repr(exc))
        finally:
            self.stats.open -= 1
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> None:
        conn = _Connection(peer)
        scanner = FrameScanner()
        unproductive = 0  # bytes since the last accepted packet
        timeout = self.config.idle_timeout_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout  # idle: no accepted packet for idle_timeout_s
        while True:
            try:
                data = await asyncio.wait_for(reader.read(_READ_SIZE), deadline - loop.time())
            except TimeoutError:
                self._disconnect(conn, IDLE, f"no accepted packet for {timeout} s")
                return
            if not data:
                self._disconnect(conn, CLOSED, "peer closed")
                return
            self.stats.bytes_in += len(data)
            unproductive += len(data)
            replies: list[bytes] = []
            for item in scanner.feed(data):
                if isinstance(item, Reject):
                    self._reject(conn, item.reason, item.detail)
                    continue
                accepted, reply = self._segment(conn, item)
                if accepted:
                    unproductive = scanner.buffered
                    deadline = loop.time() + timeout
                if reply is not None:
                    replies.append(reply)
            if replies:
                writer.write(b"".join(replies))
                await asyncio.wait_for(writer.drain(), timeout)
            if unproductive > self.config.max_invalid_bytes:
                detail = f"{unproductive} bytes without an accepted packet"
                self._disconnect(conn, FLOOD, detail)
                return

    def _disconnect(self, conn: _Connection, reason: str, detail: str) -> None:
        self.stats.disconnects[reason] += 1
        level = log.info if reason == CLOSED else log.warning
        level("hj212_disconnected", reason=reason, peer=conn.peer, detail=detail)
        if conn.suppressed:
            log.warning("hj212_rejects_not_logged", peer=conn.peer, counts=dict(conn.suppressed))

    def _reject(self, conn: _Connection, reason: str, detail: str, **kw: object) -> None:
        self.stats.rejects[reason] += 1
        conn.rejects += 1
        if conn.rejects <= LOG_PER_CONNECTION:
            log.warning("hj212_rejected", reason=reason, peer=conn.peer, detail=detail, **kw)
        else:
            conn.suppressed[reason] += 1

    # -- packets --------------------------------------------------------------------

    def _segment(self, conn: _Connection, segment: bytes) -> tuple[bool, bytes | None]:
        """(accepted, the reply frame to send or None) for one CRC-valid data segment."""
        self.stats.frames += 1
        try:
            packet = parse(segment)
        except FrameError as exc:
            self._reject(conn, exc.reason, exc.detail)
            return False, None
        logger = self.config.loggers.get(packet.mn)
        if logger is None:
            self._reject(conn, UNKNOWN_MN, "MN not configured", mn=packet.mn)
            return False, None
        if not hmac.compare_digest(packet.pw.encode(), logger.pw.encode()):
            self._reject(conn, BAD_PW, "PW does not match the configured one", mn=packet.mn)
            return False, None
        self.stats.packets += 1
        _bump(self.stats.commands, packet.cn)
        if packet.pnum is not None:
            self.stats.split_packets += 1
        if packet.cn not in DATA_COMMANDS:
            return True, None  # heartbeats, responses: accepted, nothing to store
        try:
            result = self.readings(packet, logger)
        except FrameError as exc:
            self._reject(conn, exc.reason, exc.detail, mn=packet.mn, qn=packet.qn)
            return True, None
        if packet.cn in self.config.store_commands and (len(result.readings) or result.errors):
            try:
                self._sink(result, self._clock())
            except Exception as exc:  # the outbox failed: not acknowledged, sent again later
                self.stats.sink_errors += 1
                log.error("hj212_sink_failed", mn=packet.mn, qn=packet.qn, error=repr(exc))
                return True, None
            self.stats.readings += len(result.readings)
        if packet.ack_requested and packet.qn is not None:
            self.stats.acks += 1
            return True, data_response(packet)
        return True, None

    def readings(self, packet: Packet, logger: LoggerConfig) -> PollResult:
        """The readings of an accepted data upload; ``FrameError`` if its DataTime is bad."""
        ts = self.data_time(packet)
        field_name = DATA_COMMANDS[packet.cn]
        store_flags = self.config.store_flags
        meters: list[str] = []
        quantity: list[str] = []
        unit: list[str] = []
        value: list[float] = []
        errors: list[MeterError] = []
        for code, fields in packet.values.items():
            flag = fields.get("Flag", "N")
            _bump(self.stats.flags, flag)
            meter = logger.meters.get(code)
            if meter is None:
                known = code in CODES
                _bump(self.stats.unmapped_codes if known else self.stats.unknown_codes, code)
                continue
            if flag not in store_flags:
                continue
            text = fields.get(field_name)
            if text is None:
                if not fields.keys() <= {"Flag", "SampleTime", "EFlag"}:
                    self.stats.value_errors[MISSING_VALUE] += 1
                    detail = f"{code} has no -{field_name} in CN {packet.cn}"
                    errors.append(MeterError(meter, MISSING_VALUE, detail))
                continue
            try:
                number = float(text)
            except ValueError:
                self.stats.value_errors[BAD_VALUE] += 1
                errors.append(MeterError(meter, BAD_VALUE, f"{code}-{field_name}={text[:20]!r}"))
                continue
            meters.append(meter)
            quantity.append(CODES[code].quantity)
            unit.append(logger.unit(code))
            value.append(number)
        batch = ReadingBatch(
            str_array(meters),
            str_array(quantity),
            str_array(unit),
            np.full(len(meters), ts, dtype=np.int64),
            np.asarray(value, dtype=np.float64),
        )
        return PollResult(batch, errors)

    def data_time(self, packet: Packet) -> int:
        """Epoch ms of the packet's DataTime (local time of the logger)."""
        text = packet.cp.get("DataTime")
        if text is None or len(text) != 14 or not text.isdigit():
            raise FrameError(BAD_DATATIME, f"DataTime {text!r} is not YYYYMMDDhhmmss")
        try:
            local = datetime(
                int(text[0:4]), int(text[4:6]), int(text[6:8]),
                int(text[8:10]), int(text[10:12]), int(text[12:14]), tzinfo=self._zone,
            )  # fmt: skip
        except ValueError:
            raise FrameError(BAD_DATATIME, f"DataTime {text!r} is not a valid time") from None
        return int(local.timestamp()) * 1000


@dataclass(slots=True)
class _Connection:
    peer: str
    rejects: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)


def _peer(writer: asyncio.StreamWriter) -> str:
    name = writer.get_extra_info("peername")
    if isinstance(name, tuple) and len(name) >= 2:
        return f"{name[0]}:{name[1]}"
    return str(name)
