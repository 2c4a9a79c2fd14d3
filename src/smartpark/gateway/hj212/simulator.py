"""A simulated HJ 212-2017 data logger: dials the receiver as a TCP client and uploads data.

Used by the tests, ``bench/bench_hj212.py`` and the demo. Each upload is a correct frame
(length, CRC, CRLF) with Flag=5 (version 2017, acknowledgement requested) by default;
values are deterministic functions of (MN, code, time) around each code's typical value,
all flagged ``N``. Time can be compressed: ``step_ms`` of logger time per upload while
``interval_s`` of wall time passes between uploads.

    python -m smartpark.gateway.hj212.simulator --port 9212 --mn MN --pw 123456 --count 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

from smartpark.gateway.hj212.codec import FrameScanner, Packet, encode, frame, parse

# Typical values, in each code's HJ 212 unit.
TYPICAL: Final[dict[str, float]] = {
    "a21026": 35.0,
    "a21002": 80.0,
    "a34013": 8.0,
    "a19001": 6.5,
    "a00000": 15.0,
    "a01011": 12.0,
    "a01012": 125.0,
    "a01013": 0.3,
    "a01014": 9.0,
    "a21005": 20.0,
    "w00000": 8.0,
    "w01018": 45.0,
    "w21003": 3.0,
    "w01001": 7.2,
}
FLUE_GAS: Final = ("a21026", "a21002", "a34013", "a19001", "a00000", "a01012")


@dataclass(frozen=True, slots=True)
class SimLogger:
    mn: str
    pw: str
    codes: Sequence[str] = FLUE_GAS
    st: str = "31"  # 31: air pollution source; 32 for wastewater
    flag: int = 5
    timezone: str = "Asia/Shanghai"


def value(mn: str, code: str, ts_ms: int) -> float:
    """A deterministic value near ``TYPICAL[code]``: a daily swing and a hashed jitter."""
    base = TYPICAL.get(code, 10.0)
    jitter = (zlib.crc32(f"{mn}|{code}|{ts_ms}".encode()) % 1000) / 1000.0 - 0.5
    day = math.sin(2 * math.pi * (ts_ms % 86_400_000) / 86_400_000)
    return round(base * (1.0 + 0.1 * day + 0.1 * jitter), 3)


def _local(ts_ms: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).astimezone(zone)


def upload(
    logger: SimLogger,
    ts_ms: int,
    *,
    cn: str = "2011",
    values: Mapping[str, float] | None = None,
    flags: Mapping[str, str] | None = None,
) -> bytes:
    """The frame of one data upload at ``ts_ms`` (DataTime = that instant, local time)."""
    zone = ZoneInfo(logger.timezone)
    local = _local(ts_ms, zone)
    qn = local.strftime("%Y%m%d%H%M%S") + f"{ts_ms % 1000:03d}"
    field_name = "Rtd" if cn == "2011" else "Avg"
    fields: dict[str, dict[str, str]] = {}
    for code in logger.codes:
        v = values[code] if values is not None else value(logger.mn, code, ts_ms)
        flag = (flags or {}).get(code, "N")
        fields[code] = {field_name: f"{v:g}", "Flag": flag}
    packet = Packet(
        st=logger.st,
        cn=cn,
        pw=logger.pw,
        mn=logger.mn,
        qn=qn,
        flag=logger.flag,
        cp={"DataTime": local.strftime("%Y%m%d%H%M%S")},
        values=fields,
    )
    return frame(encode(packet))


@dataclass(slots=True)
class RunReport:
    sent: int = 0
    acked: int = 0
    acked_qns: list[str] = field(default_factory=list)


async def run(
    host: str,
    port: int,
    logger: SimLogger,
    *,
    start_ms: int,
    count: int,
    step_ms: int = 30_000,
    interval_s: float = 0.0,
    cn: str = "2011",
    ack_timeout_s: float = 5.0,
) -> RunReport:
    """Connect, send ``count`` uploads (``step_ms`` of logger time apart, ``interval_s`` of
    wall time apart), wait for the acknowledgements that Flag asks for, close."""
    report = RunReport()
    reader, writer = await asyncio.open_connection(host, port)
    scanner = FrameScanner()
    want_ack = bool(logger.flag & 1)
    try:
        for i in range(count):
            writer.write(upload(logger, start_ms + i * step_ms, cn=cn))
            await writer.drain()
            report.sent += 1
            if interval_s:
                await asyncio.sleep(interval_s)
            await _collect(reader, scanner, report, 0.0)
        if want_ack:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + ack_timeout_s
            while report.acked < report.sent and loop.time() < deadline:
                if not await _collect(reader, scanner, report, deadline - loop.time()):
                    break
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
    return report


async def _collect(
    reader: asyncio.StreamReader, scanner: FrameScanner, report: RunReport, wait_s: float
) -> bool:
    """Read what has arrived (waiting up to ``wait_s``); False at EOF."""
    try:
        data = await asyncio.wait_for(reader.read(65_536), max(wait_s, 0.001))
    except TimeoutError:
        return True
    if not data:
        return False
    for item in scanner.feed(data):
        if isinstance(item, bytes):
            reply = parse(item)
            if reply.cn == "9014" and reply.qn is not None:
                report.acked += 1
                report.acked_qns.append(reply.qn)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9212)
    p.add_argument("--mn", required=True)
    p.add_argument("--pw", required=True)
    p.add_argument("--codes", default=",".join(FLUE_GAS))
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--interval", type=float, default=1.0, help="wall seconds between uploads")
    p.add_argument("--step-ms", type=int, default=30_000, help="logger time between uploads")
    p.add_argument("--cn", default="2011", choices=["2011", "2051", "2061", "2031"])
    args = p.parse_args(argv)
    logger = SimLogger(args.mn, args.pw, tuple(args.codes.split(",")))
    start = (int(datetime.now(UTC).timestamp()) // 30) * 30_000
    report = asyncio.run(
        run(
            args.host,
            args.port,
            logger,
            start_ms=start,
            count=max(0, min(args.count, 1_000_000)),
            step_ms=args.step_ms,
            interval_s=args.interval,
            cn=args.cn,
        )
    )
    print(f"sent {report.sent}, acknowledged {report.acked}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
