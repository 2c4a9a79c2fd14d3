"""The HJ 212 receiver through real TCP sockets on 127.0.0.1 (ephemeral ports).

Every loop is bounded in count and time; every hostile input is rejected with a counted
reason and the server keeps serving the next frame.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import structlog

from smartpark.gateway.drivers.base import PollResult
from smartpark.gateway.hj212 import Hj212Config, Hj212Receiver, LoggerConfig
from smartpark.gateway.hj212 import simulator as sim
from smartpark.gateway.hj212.codec import FrameScanner, Packet, data_response, encode, frame, parse
from smartpark.gateway.outbox import Outbox
from smartpark.gateway.plausibility import screen

MN = "010000A8900016F000169DC0"
PW = "123456"
METERS = {
    "a21026": "b-so2",
    "a21002": "b-nox",
    "a34013": "b-pm",
    "a19001": "b-o2",
    "a00000": "b-flow",
    "a01012": "b-temp",
}
# 2024-01-01 08:00:00 in Shanghai = 00:00:00 UTC
T0 = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()) * 1000


def config(**kw: object) -> Hj212Config:
    base = Hj212Config(loggers={MN: LoggerConfig(MN, PW, dict(METERS))}, port=0)
    return replace(base, **kw)  # type: ignore[arg-type]


class Sink:
    def __init__(self) -> None:
        self.results: list[PollResult] = []

    def __call__(self, result: PollResult, received_ms: int) -> None:
        self.results.append(result)

    @property
    def rows(self) -> list[tuple[str, str, str, int, float]]:
        out = []
        for r in self.results:
            b = r.readings
            out += list(
                zip(
                    b.meter.tolist(), b.quantity.tolist(), b.unit.tolist(),
                    b.ts.tolist(), b.value.tolist(), strict=True,
                )
            )  # fmt: skip
        return out


Body = Callable[[Hj212Receiver, Sink], Awaitable[None]]


def serve(cfg: Hj212Config, body: Body, timeout_s: float = 30.0) -> tuple[Hj212Receiver, Sink]:
    """Run ``body`` against a started receiver (bounded by ``timeout_s``), then close it."""

    async def main() -> tuple[Hj212Receiver, Sink]:
        sink = Sink()
        rx = Hj212Receiver(cfg, sink)
        await rx.start()
        try:
            await asyncio.wait_for(body(rx, sink), timeout_s)
        finally:
            await rx.close()
        return rx, sink

    return asyncio.run(main())


async def exchange(port: int, data: bytes, *, replies: int, wait_s: float = 2.0) -> list[bytes]:
    """Send ``data``, read until ``replies`` frames came back, the peer closed, or ``wait_s``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    scanner = FrameScanner()
    got: list[bytes] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    try:
        writer.write(data)
        await writer.drain()
        while len(got) < replies and loop.time() < deadline:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), deadline - loop.time())
            except TimeoutError:
                break
            if not chunk:
                break
            got += [s for s in scanner.feed(chunk) if isinstance(s, bytes)]
    finally:
        writer.close()
    return got


async def settle(rx: Hj212Receiver, done: Callable[[], bool], wait_s: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while not done() and loop.time() < deadline:
        await asyncio.sleep(0.01)


LOGGER = sim.SimLogger(MN, PW, tuple(METERS))


def test_real_time_upload_is_stored_and_acknowledged() -> None:
    values = dict(zip(METERS, [35.5, 80.0, 8.25, 6.5, 15.0, 125.0], strict=True))
    up = sim.upload(LOGGER, T0, values=values)

    async def body(rx: Hj212Receiver, sink: Sink) -> None:
        [reply] = await exchange(rx.port, up, replies=1)
        request = parse(up[6:-6])
        assert frame(reply) == data_response(request)
        assert parse(reply).qn == request.qn == "20240101080000000"

    rx, sink = serve(config(), body)
    assert sink.rows == [
        ("b-so2", "so2", "mg/m3", T0, 35.5),
        ("b-nox", "nox", "mg/m3", T0, 80.0),
        ("b-pm", "particulate", "mg/m3", T0, 8.25),
        ("b-o2", "o2", "%", T0, 6.5),
        ("b-flow", "flue_gas_flow", "m3/s", T0, 15.0),
        ("b-temp", "flue_gas_temperature", "degC", T0, 125.0),
    ]
    good, bad = screen(sink.results[0].readings)
    assert len(good) == 6
    assert bad == []
    assert (rx.stats.packets, rx.stats.acks, rx.stats.readings) == (1, 1, 6)
    assert rx.stats.flags == {"N": 6}


def test_flags_are_counted_and_only_n_and_t_stored() -> None:
    flags = dict(zip(METERS, ["N", "T", "F", "M", "D", "C"], strict=True))
    up = sim.upload(LOGGER, T0, flags=flags) + sim.upload(
        LOGGER, T0 + 30_000, flags=dict.fromkeys(METERS, "B")
    )

    async def body(rx: Hj212Receiver, sink: Sink) -> None:
        assert len(await exchange(rx.port, up, replies=2)) == 2

    rx, sink = serve(config(), body)
    rows = sink.rows
    assert [r[0] for r in rows] == ["b-so2", "b-nox"]
    assert rx.stats.flags == {"N": 1, "T": 1, "F": 1, "M": 1, "D": 1, "C": 1, "B": 6}


def test_interval_data_uses_avg_and_only_configured_commands_are_stored() -> None:
    minute = sim.upload(LOGGER, T0, cn="2051", values=dict.fromkeys(METERS, 1.5))
    hourly = sim.upload(LOGGER, T0, cn="2061", values=dict.fromkeys(METERS, 9.0))

    async def body(rx: Hj212Receiver, sink: Sink) -> None:
        assert len(await exchange(rx.port, minute + hourly, replies=2)) == 2

    rx, sink = serve(config(store_commands=frozenset({"2051"})), body)
    rows = sink.rows
    assert len(rows) == 6
    assert {r[4] for r in rows} == {1.5}
    assert {r[3] for r in rows} == {T0}
    assert rx.stats.commands == {"2051": 1, "2061": 1}
    assert rx.stats.acks == 2


def test_a_2005_packet_without_qn_is_stored_not_acknowledged() -> None:
    segment = (
        f"ST=32;CN=2011;PW={PW};MN={MN};CP=&&DataTime=20240101080000;B01-Rtd=36.91;"
        "011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N;001-Rtd=7.1&&"
    ).encode()
    logger = LoggerConfig(MN, PW, {"B01": "w-flow", "011": "w-cod", "060": "w-nh3n", "001": "w-ph"})

    async def body(rx: Hj212Receiver, sink: Sink) -> None:
        assert await exchange(rx.port, frame(segment), replies=1, wait_s=0.5) == []
        await settle(rx, lambda: rx.stats.packets == 1)

    rx, sink = serve(config(loggers={MN: logger}), body)
    assert sink.rows == [
        ("w-flow", "wastewater_flow", "L/s", T0, 36.91),
        ("w-cod", "cod", "mg/L", T0, 231.0),
        ("w-nh3n", "nh3_n", "mg/L", T0, 1.803),
        ("w-ph", "ph", "pH", T0, 7.1),
    ]
    assert rx.stats.acks == 0


def test_split_packets_are_processed_one_by_one() -> None:
    def part(pno: int, qn: str, codes: dict[str, str]) -> bytes:
        values = {c: {"Rtd": v, "Flag": "N"} for c, v in codes.items()}
        p = Packet(
            st="31", cn="2011", pw=PW, mn=MN, qn=qn, flag=7, pnum=2, pno=pno,
            cp={"DataTime": "20240101080000"}, values=values,
        )  # fmt: skip
        return frame(encode(p))

    up = part(1, "20240101080000001", {"a21026": "1"}) + part(
        2, "20240101080000002", {"a21002": "2"}
    )

    async def body(rx: Hj212Receiver, sink: Sink) -> None:
        replies = await exchange(rx.port, up, replies=2)
        assert [parse(r).qn for r in replies] == ["20240101080000001", "20240101080000002"]

    rx, sink = serve(config(), body)
    assert [r[0] for r in sink.rows] == ["b-so2", "b-nox"]
    assert rx.stats.split_packets == 2


def seg(text: str) -> bytes:
    return frame(text.encode())


def test_hostile_stream_is_rejected_reason_by_reason_and_the_good_frame_survives() -> None:
    good = sim.upload(LOGGER, T0, values=dict.fromkeys(METERS, 2.0))
    bad_crc = good[:-6] + (b"0000" if not good.endswith(b"0000\r\n") else b"1111") + b"\r\n"
    header = f"QN=20240101080000000;ST=31;CN=2011;PW={PW};MN={MN};Flag=5;"
    stream = b"".join(
        [
            b"GET / HTTP/1.1\r\n\r\n",  # garbage
            bad_crc,
            b"##0100" + good[6:],  # wrong length
            good[:40],  # truncated
            b"##12ab",  # bad length field
            b"##2000",  # too long
            seg(header.replace(MN, "FFFFFFFFFFFFFFFFFFFFFFFF") + "CP=&&DataTime=20240101080000&&"),
            seg(header.replace(PW, "000000") + "CP=&&DataTime=20240101080000&&"),
            seg(header + "CP=&&DataTime=2024&&"),  # bad DataTime
            seg(header + "CP=&&DataTime=20240101080000;a99999-Rtd=1;w01018-Rtd=2;a21026-Rtd=x&&"),
            seg(header + "CP=&&DataTime=20240101080000;a21026-Rtd=1.0,a21026-Flag=N&&"),
            seg("ST=31;CN=2011"),  # no CP
            good,
        ]
    )

    async def body(rx: Hj212Receiver, sink: Sink) -> None:
        with structlog.testing.capture_logs() as logs:
            replies = await exchange(rx.port, stream, replies=3)
            await settle(rx, lambda: rx.stats.frames >= 7)
        assert len(replies) == 3  # unknown and bad values, the small one, the good one
        logged = {e.get("reason") for e in logs if e["event"] == "hj212_rejected"}
        assert {"garbage", "bad_crc", "bad_terminator", "unknown_mn", "bad_pw"} <= logged

    rx, sink = serve(config(), body)
    r = rx.stats.rejects
    assert r["bad_crc"] == 1
    assert r["bad_length"] == 1
    assert r["too_long"] == 1
    assert r["bad_terminator"] >= 2  # wrong length, truncated
    assert r["unknown_mn"] == 1
    assert r["bad_pw"] == 1
    assert r["bad_datatime"] == 1
    assert r["bad_segment"] == 1
    assert r["garbage"] >= 1
    assert rx.stats.unknown_codes == {"a99999": 1}
    assert rx.stats.unmapped_codes == {"w01018": 1}
    assert rx.stats.value_errors == {"bad_value": 1}
    rows = sink.rows
    assert rows[0] == ("b-so2", "so2", "mg/m3", T0, 1.0)
    assert len(rows) == 1 + 6
    errors = [e for res in sink.results for e in res.errors]
    assert [(e.meter, e.reason) for e in errors] == [("b-so2", "bad_value")]


@pytest.mark.parametrize("junk", [b"\x00" * 1024, None])
def test_a_peer_sending_too_much_without_a_valid_packet_is_disconnected(
    junk: bytes | None,
) -> None:
    # junk None: valid frames (right CRC) from an MN that is not allowed
    unknown = sim.upload(sim.SimLogger("FFFF0000FFFF0000", PW, tuple(METERS)), T0)
    chunk = junk if junk is not None else unknown * (1024 // len(unknown) + 1)

    async def body(rx: Hj212Receiver, sink: Sink) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", rx.port)
        try:
            for _ in range(64):  # 64 KiB at most; the limit is 8 KiB
                writer.write(chunk)
                await writer.drain()
                await asyncio.sleep(0.005)
                if rx.stats.disconnects:
                    break
            assert await asyncio.wait_for(reader.read(), 2.0) == b""
        except ConnectionError:
            pass
        finally:
            writer.close()

    rx, _sink = serve(config(), body)
    assert rx.stats.disconnects["flood"] == 1
    assert rx.stats.bytes_in <= 8192 + 2 * len(chunk) + 65536


def test_connection_limit() -> None:
    async def body(rx: Hj212Receiver, sink: Sink) -> None:
        conns = [await asyncio.open_connection("127.0.0.1", rx.port) for _ in range(3)]
        await settle(rx, lambda: rx.stats.open == 3)
        reader, writer = await asyncio.open_connection("127.0.0.1", rx.port)
        assert await asyncio.wait_for(reader.read(), 2.0) == b""  # closed at once
        writer.close()
        assert rx.stats.rejects["too_many_connections"] == 1
        conns[0][1].close()
        await settle(rx, lambda: rx.stats.open == 2)
        replies = await exchange(rx.port, sim.upload(LOGGER, T0), replies=1)
        assert len(replies) == 1
        for _, w in conns[1:]:
            w.close()

    rx, _sink = serve(config(max_connections=3), body)
    assert rx.stats.connections == 4


def test_idle_peer_is_disconnected() -> None:
    async def body(rx: Hj212Receiver, sink: Sink) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", rx.port)
        writer.write(b"##01")  # half a header, then silence
        assert await asyncio.wait_for(reader.read(), 3.0) == b""
        writer.close()

    rx, _sink = serve(config(idle_timeout_s=0.2), body)
    assert rx.stats.disconnects["idle_timeout"] == 1


def test_fifty_loggers_at_once_all_received() -> None:
    n_loggers, uploads = 50, 20
    loggers = [sim.SimLogger(f"SIMLOGGER{i:04d}", f"{i:06d}") for i in range(n_loggers)]
    cfg = config(
        loggers={
            lg.mn: LoggerConfig(lg.mn, lg.pw, {c: f"m{i}-{c}" for c in lg.codes})
            for i, lg in enumerate(loggers)
        },
        max_connections=64,
    )

    async def body(rx: Hj212Receiver, sink: Sink) -> None:
        reports = await asyncio.gather(
            *(
                sim.run("127.0.0.1", rx.port, lg, start_ms=T0, count=uploads, step_ms=30_000)
                for lg in loggers
            )
        )
        assert [(r.sent, r.acked) for r in reports] == [(uploads, uploads)] * n_loggers

    rx, sink = serve(cfg, body, timeout_s=60)
    rows = sink.rows
    assert len(rows) == n_loggers * uploads * len(sim.FLUE_GAS)
    assert rx.stats.packets == n_loggers * uploads
    assert sum(rx.stats.rejects.values()) == 0
    ts = np.array([r[3] for r in rows])
    assert ts.min() == T0
    assert ts.max() == T0 + (uploads - 1) * 30_000
    assert len({(r[0], r[3]) for r in rows}) == len(rows)  # every meter x time exactly once


def test_readings_enter_the_outbox_like_any_driver_s(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db")

    def sink(result: PollResult, received_ms: int) -> None:  # as the gateway service does
        good, bad = screen(result.readings)
        assert bad == []
        box.add(good)

    async def main() -> None:
        rx = Hj212Receiver(config(), sink)
        await rx.start()
        try:
            report = await sim.run("127.0.0.1", rx.port, LOGGER, start_ms=T0, count=3)
            assert report.acked == 3
        finally:
            await rx.close()

    asyncio.run(asyncio.wait_for(main(), 30))
    assert box.count == 3 * len(METERS)
    fetched = box.fetch(0, 100)
    assert fetched is not None
    assert {r.meter for r in fetched.readings} == set(METERS.values())
    assert sorted({r.ts for r in fetched.readings}) == [T0, T0 + 30_000, T0 + 60_000]
    box.close()


def test_a_trickle_of_garbage_does_not_hold_a_connection() -> None:
    async def body(rx: Hj212Receiver, sink: Sink) -> None:
        _reader, writer = await asyncio.open_connection("127.0.0.1", rx.port)
        try:
            for _ in range(40):  # 2 s at most; the idle limit is 0.3 s
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.05)
                if rx.stats.disconnects:
                    break
        except ConnectionError:
            pass
        finally:
            writer.close()

    rx, _sink = serve(config(idle_timeout_s=0.3), body)
    assert rx.stats.disconnects["idle_timeout"] == 1


def test_a_failing_sink_is_not_acknowledged_and_the_server_goes_on() -> None:
    calls: list[int] = []

    def sink(result: PollResult, received_ms: int) -> None:
        calls.append(len(result.readings))
        if len(calls) == 1:
            raise OSError("disk full")

    async def main() -> Hj212Receiver:
        rx = Hj212Receiver(config(), sink)
        await rx.start()
        try:
            first = await exchange(rx.port, sim.upload(LOGGER, T0), replies=1, wait_s=1.0)
            assert first == []
            second = await exchange(rx.port, sim.upload(LOGGER, T0), replies=1)
            assert len(second) == 1
        finally:
            await rx.close()
        return rx

    rx = asyncio.run(asyncio.wait_for(main(), 30))
    assert calls == [6, 6]
    assert rx.stats.acks == 1
    assert rx.stats.sink_errors == 1
    assert rx.stats.readings == 6
    assert not rx.stats.disconnects.get("internal_error")
