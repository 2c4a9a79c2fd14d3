"""Gateway benchmark: CPU and RSS of a running gateway, and the drain rate after an outage.

    /tmp/venv/bin/python bench/bench_gateway.py [--seconds 30] [--drain 200000]

1. Steady state: the gateway runs as a real process against a local mosquitto, started
   as the systemd unit starts it (``python -m smartpark.gateway``, the lean runner; pass
   ``--runner cli`` for ``smartpark gateway``, which carries typer and ~10 MiB more),
   with simulated meters polled every second (100 meters = 100 readings/s, then 1000
   meters = 1000 readings/s; registry intervals are whole seconds), and a subscriber
   process counting what arrives. CPU (user+system time of the gateway process over the
   window, % of one core) and RSS (peak of 10 samples per second) are measured with psutil.
2. Drain: an outbox filled with N readings (a long outage) is emptied into mosquitto by
   the publisher with no rate limit; readings/s = N / time until the last PUBACK deleted
   the last row. Run with and without a subscriber, for a few batch sizes.

3. Field protocols (``--protocols``, instead of 1 and 2): the real gateway process reads a
   DL/T 645-2007 bus of 32 simulated meters (bench_dlt645's line simulator in its own
   process, on a pty pair, each reply held for the time it takes at 9600 baud 8E1),
   forward energy and total power of each (64 exchanges a poll), every ``--dlt645-interval``
   seconds (default 10; a site polls every 60 s, which only lengthens the idle time), and
   receives HJ 212 real-time uploads (``[hj212]``) from 50 simulated loggers (another
   process, bench_hj212's loggers) every 30 s of logger time, compressed to
   ``--hj212-window-s`` wall seconds (default 0.3, i.e. 100x). Phase A (``--seconds``):
   the bus alone; phase B (as long again): the bus and the loggers. Per phase: the
   gateway's CPU; the poll cycle as the line saw it (first request to last reply) and from
   the scheduled poll time to the readings' arrival at a subscriber; then uploads
   acknowledged, readings polled and published, meter errors, peak RSS.

Targets (issues 4 and 14): RSS < 60 MB, < 10 % of one core at 1,000 readings/s, drain
>= 20,000/s. Prints figures; decides nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path

import bench_dlt645  # this script's directory is on sys.path
import bench_hj212
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smartpark.core import registry  # noqa: E402
from smartpark.core.errors import OutboxError  # noqa: E402
from smartpark.core.mqtt import MqttOptions  # noqa: E402
from smartpark.gateway.drivers.simulator import sim_meters, simulate  # noqa: E402
from smartpark.gateway.hj212.codes import CODES  # noqa: E402
from smartpark.gateway.hj212.simulator import FLUE_GAS  # noqa: E402
from smartpark.gateway.outbox import Outbox, read_status  # noqa: E402
from smartpark.gateway.publisher import Publisher, PublishOptions  # noqa: E402
from smartpark.testing.servers import Mosquitto, free_port, wait_until  # noqa: E402

QUANTITIES = [
    "electricity_import",
    "active_power",
    "natural_gas",
    "steam",
    "fresh_water",
    "water_flow",
    "so2",
    "nox",
    "o2",
    "pv_generation",
]

SUBSCRIBER = textwrap.dedent(
    """
    import json, sys, threading, time
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    count = 0
    prefix = sys.argv[2] if len(sys.argv) > 2 else ""
    arrivals = {}  # ts -> [readings, last arrival ms] of the meters named prefix...
    lock = threading.Lock()
    def on_message(c, u, msg):
        global count
        if msg.topic.endswith("/telemetry"):
            readings = json.loads(msg.payload)["readings"]
            now = time.time() * 1000
            with lock:
                count += len(readings)
                for r in readings if prefix else ():
                    if r["meter"].startswith(prefix):
                        a = arrivals.setdefault(r["ts"], [0, 0.0])
                        a[0] += 1
                        a[1] = now
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-sub", protocol=mqtt.MQTTv311)
    c.on_message = on_message
    c.on_connect = lambda c, u, f, rc, p: c.subscribe("smartpark/v1/#", qos=1)
    c.connect("127.0.0.1", int(sys.argv[1]))
    c.loop_start()
    print("ready", flush=True)
    for line in sys.stdin:
        with lock:
            print(json.dumps(arrivals) if line.strip() == "t" else count, flush=True)
    """
)


def write_registry(path: Path, meters: int, extra: Sequence[tuple[str, str, int]] = ()) -> None:
    """``meters`` simulated meters polled every second, plus ``extra`` (meter, quantity,
    interval_s): the meters the field-protocol section reads."""
    parts = [
        '[zone.z]\nname = "Bench zone"\n',
        '[park.bench]\nzone = "z"\nname = "Bench park"\n',
        '[gateway.gw-bench]\npark = "bench"\n',
    ]
    for e in range(max(1, meters // 10)):
        parts.append(f'[enterprise.e{e}]\npark = "bench"\nname = "Firm {e}"\n')
    for i in range(meters):
        q = QUANTITIES[i % len(QUANTITIES)]
        parts.append(
            f'[meter.m{i:04d}]\nenterprise = "e{(i // 10) % max(1, meters // 10)}"\n'
            f'gateway = "gw-bench"\nquantity = "{q}"\ninterval_s = 1\n'
        )
    for meter, quantity, interval_s in extra:
        parts.append(
            f'[meter.{meter}]\nenterprise = "e0"\ngateway = "gw-bench"\n'
            f'quantity = "{quantity}"\ninterval_s = {interval_s}\n'
        )
    path.write_text("\n".join(parts), encoding="utf-8")


class Subscriber:
    """A paho subscriber in its own process (so it does not share the gateway's CPU)."""

    def __init__(self, port: int, prefix: str = "") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SUBSCRIBER, str(port), prefix],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)

    def count(self) -> int:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write("?\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def arrivals(self) -> dict[int, tuple[int, float]]:
        """Scheduled ts -> (readings, last arrival in epoch ms) of the ``prefix`` meters."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write("t\n")
        self.proc.stdin.flush()
        got = json.loads(self.proc.stdout.readline())
        return {int(ts): (int(n), float(last)) for ts, (n, last) in got.items()}

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


# How the gateway process is started: as the systemd unit does, or through the CLI.
RUNNERS = {"lean": ["smartpark.gateway"], "cli": ["smartpark", "gateway"]}


def steady_state(
    broker: Mosquitto, work: Path, meters: int, seconds: float, runner: str = "lean"
) -> None:
    reg = work / f"registry-{meters}.toml"
    write_registry(reg, meters)
    cfg = work / f"gw-{meters}.toml"
    cfg.write_text(
        f'gateway = "gw-bench"\nregistry = "{reg}"\nbroker = "{broker.url}"\n'
        f'outbox = "{work / f"outbox-{meters}.db"}"\nbatch_max = 500\nbatch_ms = 1000\n'
        'log_level = "warning"\n[simulator]\nseed = 1\n',
        encoding="utf-8",
    )
    sub = Subscriber(broker.port)
    proc = subprocess.Popen(
        [sys.executable, "-m", *RUNNERS[runner], "--config", str(cfg)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    try:
        p = psutil.Process(proc.pid)
        time.sleep(5.0)  # start-up, imports, first polls
        c0, t0, n0 = p.cpu_times(), time.monotonic(), sub.count()
        rss = []
        while time.monotonic() - t0 < seconds:
            rss.append(p.memory_info().rss)
            time.sleep(0.1)
        c1, t1, n1 = p.cpu_times(), time.monotonic(), sub.count()
        cpu = (c1.user + c1.system - c0.user - c0.system) / (t1 - t0) * 100
        rate = (n1 - n0) / (t1 - t0)
        print(
            f"steady  {meters:5d} meters @1 s: {rate:8.0f} readings/s arrived, "
            f"CPU {cpu:5.1f} % of one core, RSS peak {max(rss) / 2**20:5.1f} MiB "
            f"(median {sorted(rss)[len(rss) // 2] / 2**20:.1f} MiB)"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        sub.close()


def drain(
    broker: Mosquitto, work: Path, n: int, batch_max: int, inflight: int, with_sub: bool
) -> None:
    reg = work / "registry-100.toml"
    write_registry(reg, 100)
    r = registry.load(reg)
    meters = sim_meters(r, r.meter_ids, seed=2)
    start = 1_767_225_600_000
    seconds = -(-n // len(meters))
    batch = simulate(meters, start, start + seconds * 1000)
    path = work / f"drain-{batch_max}-{inflight}-{with_sub}.db"
    path.unlink(missing_ok=True)
    box = Outbox(path)
    for k in range(0, min(n, len(batch)), 50_000):
        box.add(batch.select(slice(k, min(k + 50_000, n))))  # type: ignore[arg-type]
    total = box.count
    sub = Subscriber(broker.port) if with_sub else None
    pub = Publisher(
        box,
        park="bench",
        gateway="gw-bench",
        mqtt_options=MqttOptions(broker.host, broker.port, f"bench-drain-{batch_max}-{inflight}"),
        options=PublishOptions(
            batch_max=batch_max, max_inflight=inflight, drain_rate=0, live_during_drain=True
        ),
    )

    async def run() -> float:
        t0 = time.perf_counter()  # includes connecting (a few ms): the drain starts with it
        task = asyncio.create_task(pub.run())
        while box.count > 0:
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - t0
        pub.stop()
        await task
        return elapsed

    cpu0 = psutil.Process().cpu_times()
    elapsed = asyncio.run(run())
    cpu1 = psutil.Process().cpu_times()
    arrived = ""
    if sub is not None:
        deadline = time.monotonic() + 30
        got = sub.count()
        while got < total and time.monotonic() < deadline:
            time.sleep(0.1)
            got = sub.count()
        arrived = f", subscriber got {got:,}"
        sub.close()
    cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / elapsed * 100
    print(
        f"drain   {total:,} readings, batch {batch_max:4d}, in-flight {inflight:3d}, "
        f"{'with' if with_sub else 'no  '} subscriber: {total / elapsed:9.0f} readings/s "
        f"({elapsed:.2f} s, publisher CPU {cpu:.0f} %{arrived})"
    )
    box.close()


def simulate_week(work: Path) -> None:
    """The demo's fast path: a week of 100 meters polled every minute, in one call."""
    reg = work / "registry-sim.toml"
    write_registry(reg, 100)
    text = reg.read_text(encoding="utf-8").replace("interval_s = 1\n", "interval_s = 60\n")
    reg.write_text(text, encoding="utf-8")
    r = registry.load(reg)
    meters = sim_meters(r, r.meter_ids, seed=3, resets_per_year=1)
    start = 1_767_225_600_000
    t0 = time.perf_counter()
    batch = simulate(meters, start, start + 7 * 86_400_000)
    elapsed = time.perf_counter() - t0
    print(
        f"simulate 100 meters x 1 week @60 s: {len(batch):,} readings in {elapsed:.2f} s "
        f"({len(batch) / elapsed:,.0f} readings/s, cold caches)"
    )


# -- field protocols: a DL/T 645 bus and HJ 212 loggers -------------------------------------

BUS_BAUD = 9600


def dlt645_reads(meters: int) -> list[tuple[str, str, str, str]]:
    """(registry meter, quantity, address, data item): energy and power of every meter."""
    return [
        (f"dl{i:02d}-{quantity}", quantity, bench_dlt645.address(i), item)
        for i in range(meters)
        for item, quantity in bench_dlt645.QUANTITY.items()
    ]


def hj212_meter(logger: int, code: str) -> str:
    return f"hj{logger:02d}-{code}"


def protocol_config(
    work: Path, broker: Mosquitto, device: str, dlt_meters: int, hj_port: int, loggers: int
) -> Path:
    lines = [
        'gateway = "gw-bench"',
        f'registry = "{work / "registry-protocols.toml"}"',
        f'broker = "{broker.url}"',
        f'outbox = "{work / "outbox-protocols.db"}"',
        'log_level = "warning"',
        "[dlt645.bench]",
        f'device = "{device}"',
        f"baudrate = {BUS_BAUD}",
    ]
    for meter, _quantity, address, item in dlt645_reads(dlt_meters):
        lines += ["[[dlt645.bench.read]]", f'meter = "{meter}"', f'address = "{address}"']
        lines.append(f'di = "{item}"')
    lines += ["[hj212]", f"port = {hj_port}", f"max_connections = {loggers + 8}"]
    for i, lg in enumerate(bench_hj212.loggers(loggers)):
        lines += [f"[hj212.logger.{lg.mn}]", f'pw = "{lg.pw}"', f"[hj212.logger.{lg.mn}.meters]"]
        lines += [f'{code} = "{hj212_meter(i, code)}"' for code in lg.codes]
    cfg = work / "gw-protocols.toml"
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return cfg


def upload_process(
    port: int, loggers: int, windows: int, window_s: float, start_ms: int, conn: Connection
) -> None:
    """The loggers' process: every logger uploads ``windows`` times; sends (sent, acked)."""

    async def main() -> tuple[int, int]:
        coros = bench_hj212.uploads(port, loggers, windows, window_s, start_ms)
        reports = await asyncio.gather(*coros)
        return sum(r.sent for r in reports), sum(r.acked for r in reports)

    conn.send(asyncio.run(main()))


class Phase:
    """A measured window: wall and monotonic start/end, gateway CPU seconds, RSS samples."""

    def __init__(self, proc: psutil.Process, name: str) -> None:
        self.proc, self.name = proc, name
        self.mono0, self.wall0, self.cpu0 = time.monotonic(), time.time(), self._cpu()
        self.mono1 = self.wall1 = self.cpu1 = 0.0
        self.rss: list[int] = []

    def _cpu(self) -> float:
        t = self.proc.cpu_times()
        return float(t.user + t.system)

    def sample_until(self, deadline: float, *, busy: mp.Process | None = None) -> None:
        """Sample RSS 10 times a second until ``deadline`` (or ``busy`` has ended)."""
        while time.monotonic() < deadline and (busy is None or busy.is_alive()):
            self.rss.append(self.proc.memory_info().rss)
            time.sleep(0.1)
        self.mono1, self.wall1, self.cpu1 = time.monotonic(), time.time(), self._cpu()

    @property
    def cpu_percent(self) -> float:
        return (self.cpu1 - self.cpu0) / (self.mono1 - self.mono0) * 100


def _seconds(values: list[float]) -> str:
    if not values:
        return "none measured"
    return f"median {statistics.median(values):6.2f} s, max {max(values):6.2f} s"


def report_polls(
    phase: Phase,
    line: list[tuple[float, float, int]],
    arrivals: dict[int, tuple[int, float]],
    reads: int,
) -> None:
    polls = [c for c in line if phase.mono0 <= c[0] < phase.mono1]
    seen = [(ts, n, last) for ts, (n, last) in arrivals.items()]
    seen = [x for x in seen if phase.wall0 * 1000 <= x[0] < phase.wall1 * 1000]
    complete = sum(1 for _ts, n, _last in seen if n == reads)
    exchanges = sorted({c[2] for c in polls})
    print(
        f"  {phase.name}: poll cycle on the line {_seconds([c[1] - c[0] for c in polls])} "
        f"({len(polls)} polls, {'/'.join(map(str, exchanges))} exchanges each)"
    )
    print(
        f"  {phase.name}: scheduled poll time -> readings at the subscriber "
        f"{_seconds([(last - ts) / 1000 for ts, _n, last in seen])} ({complete} of {len(seen)} "
        f"polls with all {reads} readings)"
    )


def protocols(
    broker: Mosquitto,
    work: Path,
    seconds: float,
    *,
    interval_s: int,
    window_s: float,
    runner: str = "lean",
    dlt_meters: int = 32,
    loggers: int = 50,
) -> None:
    reads = dlt645_reads(dlt_meters)
    hj = [(hj212_meter(i, c), CODES[c].quantity) for i in range(loggers) for c in FLUE_GAS]
    write_registry(
        work / "registry-protocols.toml",
        0,
        [(m, q, interval_s) for m, q, _a, _i in reads] + [(m, q, 30) for m, q in hj],
    )
    windows = max(1, min(1000, round(seconds / window_s)))
    line_end, line_child = mp.Pipe()
    line = mp.Process(
        target=bench_dlt645.serve,
        args=(dlt_meters, BUS_BAUD, line_child, 3 * seconds + 120),
        daemon=True,
    )
    up_end, up_child = mp.Pipe()
    uploader: mp.Process | None = None
    sub: Subscriber | None = None
    gw: subprocess.Popen[bytes] | None = None
    log_path = work / "gateway-protocols.log"
    outbox = work / "outbox-protocols.db"
    line.start()
    try:
        if not line_end.poll(10):
            raise SystemExit("the DL/T 645 line simulator did not start")
        device = line_end.recv()
        hj_port = free_port()
        cfg = protocol_config(work, broker, device, dlt_meters, hj_port, loggers)
        sub = Subscriber(broker.port, prefix="dl")
        with log_path.open("wb") as log:
            gw = subprocess.Popen(
                [sys.executable, "-m", *RUNNERS[runner], "--config", str(cfg)],
                cwd=ROOT,
                stderr=log,
            )
        proc = psutil.Process(gw.pid)

        def connected() -> bool:
            if gw is not None and gw.poll() is not None:
                raise SystemExit(f"the gateway exited:\n{log_path.read_text()[-2000:]}")
            try:
                return bool(read_status(outbox).status.get("connected"))
            except OutboxError:
                return False

        wait_until(connected, timeout=30, what="the gateway to connect")
        time.sleep(1.0)
        print(
            f"protocols: {dlt_meters} DL/T 645 meters x {len(bench_dlt645.QUANTITY)} items "
            f"at {BUS_BAUD} baud (pty, line time emulated) every {interval_s} s; "
            f"{loggers} HJ 212 loggers, 30 s -> {window_s} s ({30 / window_s:.0f}x), "
            f"{windows} uploads each"
        )
        bus = Phase(proc, "A (bus alone)")
        bus.sample_until(bus.mono0 + seconds)
        # Logger time ends at about now, so the readings are not in the future.
        start_ms = (int(time.time()) // 30 - windows) * 30_000
        uploader = mp.Process(
            target=upload_process,
            args=(hj_port, loggers, windows, window_s, start_ms, up_child),
            daemon=True,
        )
        uploader.start()
        both = Phase(proc, "B (bus + loggers)")
        both.sample_until(both.mono0 + seconds + 60, busy=uploader)
        uploads = up_end.recv() if up_end.poll(5) else None
        gw.terminate()
        gw.wait(30)
        time.sleep(0.5)  # the last messages reach the subscriber
        status = read_status(outbox).status
        arrived, arrivals = sub.count(), sub.arrivals()
        line_end.send("stop")
        cycles = line_end.recv() if line_end.poll(10) else []
    finally:
        if gw is not None and gw.poll() is None:
            gw.terminate()
            try:
                gw.wait(30)
            except subprocess.TimeoutExpired:
                gw.kill()
                gw.wait()
        if uploader is not None:
            uploader.join(5)
            if uploader.is_alive():
                uploader.kill()
                uploader.join()
        with contextlib.suppress(OSError):
            line_end.send("stop")
        line.join(10)
        if line.is_alive():
            line.kill()
            line.join()
        if sub is not None:
            sub.close()
    for phase in (bus, both):
        report_polls(phase, cycles, arrivals, len(reads))
    rate = loggers / window_s
    extra = both.cpu_percent - bus.cpu_percent
    polls_a = sum(1 for c in cycles if bus.mono0 <= c[0] < bus.mono1)
    print(
        f"  gateway CPU: A {bus.cpu_percent:.2f} % of one core "
        f"({(bus.cpu1 - bus.cpu0) / max(1, polls_a) * 1000:.0f} ms a poll, idle time included), "
        f"B {both.cpu_percent:.2f} % "
        f"({rate:.0f} uploads/s, {rate * len(FLUE_GAS):.0f} readings/s); the loggers add "
        f"{extra:.2f} %, at real time ({loggers} every 30 s) about {extra * window_s / 30:.3f} %"
    )
    sent, acked = uploads if uploads is not None else (0, 0)
    errors = status.get("meter_errors", {})
    print(
        f"  uploads sent {sent}, acknowledged {acked}"
        f"{'' if uploads is not None else ' (the loggers process failed)'}; readings polled "
        f"{status.get('polled', 0):,}, published {status.get('published', 0):,}, at the "
        f"subscriber {arrived:,}; meter errors {errors or 'none'}"
    )
    rss = bus.rss + both.rss
    print(
        f"  gateway RSS peak {max(rss) / 2**20:.1f} MiB = {max(rss) / 1e6:.1f} MB "
        f"(A {max(bus.rss) / 2**20:.1f} MiB, B {max(both.rss) / 2**20:.1f} MiB)"
    )
    warnings = log_path.read_text(encoding="utf-8").splitlines()
    if warnings:
        print(f"  gateway log: {len(warnings)} lines, first: {warnings[0][:200]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="steady-state window")
    parser.add_argument("--drain", type=int, default=200_000, help="readings in the outbox")
    parser.add_argument("--skip-steady", action="store_true")
    parser.add_argument(
        "--protocols", action="store_true", help="only the DL/T 645 + HJ 212 section"
    )
    parser.add_argument(
        "--dlt645-interval", type=int, default=10, help="DL/T 645 poll interval, s (site: 60)"
    )
    parser.add_argument(
        "--hj212-window-s", type=float, default=0.3, help="wall seconds per 30 s logger interval"
    )
    parser.add_argument(
        "--runner", choices=sorted(RUNNERS), default="lean", help="how the gateway starts"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smartpark-bench-") as tmp:
        work = Path(tmp)
        with Mosquitto(work / "broker", max_inflight_messages=1000) as broker:
            version = sys.version.split()[0]
            print(f"python {version}, {psutil.cpu_count()} CPUs, mosquitto {broker.url}")
            if args.protocols:
                protocols(
                    broker,
                    work,
                    args.seconds,
                    interval_s=args.dlt645_interval,
                    window_s=args.hj212_window_s,
                    runner=args.runner,
                )
                return
            simulate_week(work)
            if not args.skip_steady:
                for meters in (100, 1000):
                    steady_state(broker, work, meters, args.seconds, args.runner)
            for batch_max, inflight in ((500, 20), (1000, 20), (1000, 100)):
                drain(broker, work, args.drain, batch_max, inflight, with_sub=False)
            drain(broker, work, args.drain, 1000, 20, with_sub=True)


if __name__ == "__main__":
    main()
