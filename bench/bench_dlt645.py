"""DL/T 645 poll cycle of a 32-meter RS-485 line at 9600 baud over a pty pair.

The line simulator runs in a child process (so the CPU figure is the driver's alone) and
serves 32 meters on a pseudo-terminal; the driver polls 4 data items of each (forward
energy, phase A voltage and current, total active power) = 128 request/reply exchanges a
cycle. Two runs: the bare pty (protocol and Python cost only), and with the simulator
holding each reply for the time request + reply take on a real 9600 baud 8E1 line (what
a site would see, less the meters' own turnaround). Prints figures; asserts nothing.

    .venv/bin/python bench/bench_dlt645.py [--meters 32] [--cycles 5]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import time
from multiprocessing.connection import Connection

from smartpark.gateway.drivers import dlt645_codec as c
from smartpark.gateway.drivers.dlt645 import Dlt645Driver
from smartpark.gateway.drivers.dlt645_config import Dlt645Bus, Dlt645Read
from smartpark.gateway.drivers.dlt645_sim import LineSimulator, SimMeter, serve_pty

ITEMS = ("forward_active_energy", "voltage_a", "current_a", "active_power_total")
QUANTITY = {"forward_active_energy": "electricity_import", "active_power_total": "active_power"}


def address(i: int) -> str:
    return f"{i + 1:012d}"


class TimedLine(LineSimulator):
    """A line that notes, for every reply, when its request came and when the reply left
    the line (``time.monotonic()``, the same clock in every process of the machine)."""

    def __init__(self, meters: int, baudrate: int | None) -> None:
        super().__init__([SimMeter(address(i)) for i in range(meters)], baudrate=baudrate)
        self.exchanges: list[tuple[float, float]] = []

    def receive(self, data: bytes) -> list[bytes]:
        t = time.monotonic()
        replies = super().receive(data)
        for reply in replies:
            self.exchanges.append((t, t + self.line_time(len(data) + len(reply))))
        return replies

    def cycles(self, gap_s: float = 1.0) -> list[tuple[float, float, int]]:
        """The polls seen on the line: (first request, last reply out, exchanges), a new
        poll starting after ``gap_s`` of silence."""
        out: list[tuple[float, float, int]] = []
        for start, end in self.exchanges:
            if out and start - out[-1][1] < gap_s:
                out[-1] = (out[-1][0], end, out[-1][2] + 1)
            else:
                out.append((start, end, 1))
        return out


def serve(meters: int, baudrate: int | None, conn: Connection, seconds: float) -> None:
    """The line process: sends the pty's path, serves until told to stop (or ``seconds``),
    then sends the polls it saw (:meth:`TimedLine.cycles`)."""

    async def main() -> None:
        sim = TimedLine(meters, baudrate)
        line = serve_pty(sim)
        conn.send(line.device)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline and not conn.poll():
            await asyncio.sleep(0.05)
        line.close()
        conn.send(sim.cycles())

    asyncio.run(main())


async def poll(device: str, meters: int, cycles: int) -> tuple[list[float], list[float], int]:
    # Only energy and power have a smartpark quantity; voltage and current are read with
    # read_value (the cost on the line is the same).
    reads = tuple(
        Dlt645Read(f"m{i}-{item}", QUANTITY[item], address(i), c.data_id(item))
        for i in range(meters)
        for item in ITEMS
        if item in QUANTITY
    )
    driver = Dlt645Driver(
        Dlt645Bus("bench", device=device, baudrate=9600, timeout_s=1.0, retries=0, reads=reads)
    )
    walls: list[float] = []
    cpus: list[float] = []
    readings = 0
    try:
        for _ in range(cycles):
            w0, c0 = time.perf_counter(), time.process_time()
            result = await driver.read(driver.meters, 0)
            for i in range(meters):
                for item in ("voltage_a", "current_a"):
                    await driver.read_value(address(i), c.data_id(item))
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            readings += len(result.readings)
            assert not result.errors, result.errors[:3]
    finally:
        await driver.close()
    return walls, cpus, readings


def run(meters: int, cycles: int, baudrate: int | None) -> None:
    parent, child = mp.Pipe()
    proc = mp.Process(target=serve, args=(meters, baudrate, child, 600.0), daemon=True)
    proc.start()
    try:
        if not parent.poll(10):
            raise SystemExit("the simulator did not start")
        device = parent.recv()
        walls, cpus, readings = asyncio.run(poll(device, meters, cycles))
    finally:
        parent.send("stop")
        proc.join(5)
    exchanges = meters * len(ITEMS)
    label = "bare pty" if baudrate is None else f"line time of {baudrate} baud 8E1"
    print(f"{label}: {meters} meters × {len(ITEMS)} items = {exchanges} exchanges a cycle")
    print(
        f"  cycle wall  median {statistics.median(walls) * 1000:8.1f} ms  "
        f"max {max(walls) * 1000:8.1f} ms  ({cycles} cycles, {readings} readings published)"
    )
    print(
        f"  driver CPU  median {statistics.median(cpus) * 1000:8.1f} ms a cycle  "
        f"= {statistics.median(cpus) / exchanges * 1e6:6.0f} µs an exchange"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=32)
    parser.add_argument("--cycles", type=int, default=5)
    args = parser.parse_args()
    request = len(c.read_request(address(0), c.data_id("00010000")))
    replies = [12 + 4 + c.data_id(item).nbytes for item in ITEMS]
    wire = sum(request + r for r in replies) * 11 / 9600
    print(
        f"on the wire at 9600 baud 8E1: {wire * 1000:.0f} ms a meter for 4 items "
        f"({request}-byte requests with 4 FE), {wire * args.meters:.2f} s for {args.meters} meters"
    )
    run(args.meters, args.cycles, None)
    run(args.meters, max(1, args.cycles // 2), 9600)


if __name__ == "__main__":
    main()
