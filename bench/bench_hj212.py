"""HJ 212 receiver benchmark: CPU and memory with 50 data loggers uploading real-time data.

    .venv/bin/python bench/bench_hj212.py [--loggers 50] [--windows 20] [--window-s 0.3]

The receiver runs as its own process (``--serve``), exactly as in the gateway: its sink
screens each result (plausibility) and adds it to a real on-disk outbox. The loggers
(``smartpark.gateway.hj212.simulator``, one TCP connection each) run in this process and
upload a 6-code flue-gas real-time packet (CN 2011, acknowledgement requested) once per
logger interval. Time is compressed: the loggers' 30 s interval passes in ``--window-s``
wall seconds (default 0.3 s, i.e. 100x), so one window is one round of 50 uploads. Every
window prints the receiver's CPU (user+system over the window, % of one core) and RSS.
Bounded: ``--windows`` rounds (at most 1000), then every logger disconnects.
Prints figures; decides nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from smartpark.gateway.hj212 import simulator as sim  # noqa: E402

T0 = 1_704_067_200_000  # 2024-01-01T00:00Z


def loggers(n: int) -> list[sim.SimLogger]:
    return [sim.SimLogger(f"BENCH{i:019d}", f"{i:06d}") for i in range(n)]


def serve(n: int, outbox_dir: str) -> None:
    """The receiver process: prints its port, then serves until stdin closes."""
    from smartpark.core.logs import configure
    from smartpark.gateway.drivers.base import PollResult
    from smartpark.gateway.hj212 import Hj212Config, Hj212Receiver, LoggerConfig
    from smartpark.gateway.outbox import Outbox
    from smartpark.gateway.plausibility import screen

    configure("warning")  # logs on stderr; stdout carries the port and the totals
    box = Outbox(Path(outbox_dir) / "outbox.db")

    def sink(result: PollResult, received_ms: int) -> None:
        good, _bad = screen(result.readings)
        box.add(good)

    cfg = Hj212Config(
        loggers={
            lg.mn: LoggerConfig(lg.mn, lg.pw, {c: f"m{i}-{c}" for c in lg.codes})
            for i, lg in enumerate(loggers(n))
        },
        port=0,
        max_connections=n + 8,
    )

    async def main() -> None:
        rx = Hj212Receiver(cfg, sink)
        await rx.start()
        print(rx.port, flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # until the bench closes stdin
        await rx.close()
        print(rx.stats.packets, rx.stats.readings, sum(rx.stats.rejects.values()), flush=True)

    asyncio.run(main())


def uploads(
    port: int, n: int, windows: int, window_s: float, start_ms: int = T0
) -> list[Coroutine[Any, Any, sim.RunReport]]:
    """One coroutine per logger: ``windows`` real-time uploads, 30 s of logger time and
    ``window_s`` wall seconds apart, then the acknowledgements are awaited and it closes."""
    return [
        sim.run(
            "127.0.0.1",
            port,
            lg,
            start_ms=start_ms,
            count=windows,
            step_ms=30_000,
            interval_s=window_s,
        )
        for lg in loggers(n)
    ]


async def drive(port: int, n: int, windows: int, window_s: float, proc: psutil.Process) -> None:
    tasks = [asyncio.create_task(c) for c in uploads(port, n, windows, window_s)]
    cpu0 = cpu_start = proc.cpu_times()
    t_start = time.perf_counter()
    rss_peak = 0
    print(f"{'window':>6} {'t_s':>6} {'cpu_%':>6} {'rss_MB':>7}")
    for w in range(windows):
        await asyncio.sleep(window_s)
        cpu1, t1 = proc.cpu_times(), time.perf_counter()
        busy = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
        rss = proc.memory_info().rss
        rss_peak = max(rss_peak, rss)
        print(f"{w + 1:>6} {t1 - t_start:>6.2f} {100 * busy / window_s:>6.1f} {rss / 2**20:>7.1f}")
        cpu0 = cpu1
    elapsed = time.perf_counter() - t_start
    total = (cpu0.user - cpu_start.user) + (cpu0.system - cpu_start.system)
    rate = n / window_s
    print(
        f"mean CPU {100 * total / elapsed:.1f} % of one core at {rate:.0f} uploads/s "
        f"({rate * len(sim.FLUE_GAS):.0f} readings/s; real time, 50 loggers every 30 s, is "
        f"{n / 30:.2f} uploads/s, so about {100 * total / elapsed * window_s / 30:.2f} %)"
    )
    reports = await asyncio.gather(*tasks)
    sent = sum(r.sent for r in reports)
    acked = sum(r.acked for r in reports)
    print(f"uploads sent {sent}, acknowledged {acked}, peak RSS {rss_peak / 2**20:.1f} MB")


def main() -> int:
    p = argparse.ArgumentParser(description="HJ 212 receiver CPU and memory with N loggers")
    p.add_argument("--loggers", type=int, default=50)
    p.add_argument("--windows", type=int, default=20, help="30 s logger intervals (<= 1000)")
    p.add_argument("--window-s", type=float, default=0.3, help="wall seconds per interval")
    p.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--outbox-dir", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(args.serve, args.outbox_dir)
        return 0
    windows = max(1, min(args.windows, 1000))
    with tempfile.TemporaryDirectory() as tmp:
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(args.loggers), "--outbox-dir", tmp],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            assert child.stdin is not None
            port = int(child.stdout.readline())
            proc = psutil.Process(child.pid)
            print(f"receiver pid {child.pid} port {port}; {args.loggers} loggers, "
                  f"30 s -> {args.window_s} s, {windows} windows")  # fmt: skip
            asyncio.run(drive(port, args.loggers, windows, args.window_s, proc))
            child.stdin.close()
            packets, readings, rejects = child.stdout.readline().split()
            print(f"receiver: {packets} packets, {readings} readings, {rejects} rejects")
        finally:
            if child.stdin is not None and not child.stdin.closed:
                child.stdin.close()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
