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

Targets (issue 4): RSS < 60 MB, < 10 % of one core at 1,000 readings/s, drain >= 20,000/s.
Prints figures; decides nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smartpark.core import registry  # noqa: E402
from smartpark.core.mqtt import MqttOptions  # noqa: E402
from smartpark.gateway.drivers.simulator import sim_meters, simulate  # noqa: E402
from smartpark.gateway.outbox import Outbox  # noqa: E402
from smartpark.gateway.publisher import Publisher, PublishOptions  # noqa: E402
from smartpark.testing.servers import Mosquitto  # noqa: E402

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
    lock = threading.Lock()
    def on_message(c, u, msg):
        global count
        if msg.topic.endswith("/telemetry"):
            n = len(json.loads(msg.payload)["readings"])
            with lock:
                count += n
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-sub", protocol=mqtt.MQTTv311)
    c.on_message = on_message
    c.on_connect = lambda c, u, f, rc, p: c.subscribe("smartpark/v1/#", qos=1)
    c.connect("127.0.0.1", int(sys.argv[1]))
    c.loop_start()
    print("ready", flush=True)
    for line in sys.stdin:
        with lock:
            print(count, flush=True)
    """
)


def write_registry(path: Path, meters: int) -> None:
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
    path.write_text("\n".join(parts), encoding="utf-8")


class Subscriber:
    """A paho subscriber in its own process (so it does not share the gateway's CPU)."""

    def __init__(self, port: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SUBSCRIBER, str(port)],
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="steady-state window")
    parser.add_argument("--drain", type=int, default=200_000, help="readings in the outbox")
    parser.add_argument("--skip-steady", action="store_true")
    parser.add_argument(
        "--runner", choices=sorted(RUNNERS), default="lean", help="how the gateway starts"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smartpark-bench-") as tmp:
        work = Path(tmp)
        with Mosquitto(work / "broker", max_inflight_messages=1000) as broker:
            version = sys.version.split()[0]
            print(f"python {version}, {psutil.cpu_count()} CPUs, mosquitto {broker.url}")
            simulate_week(work)
            if not args.skip_steady:
                for meters in (100, 1000):
                    steady_state(broker, work, meters, args.seconds, args.runner)
            for batch_max, inflight in ((500, 20), (1000, 20), (1000, 100)):
                drain(broker, work, args.drain, batch_max, inflight, with_sub=False)
            drain(broker, work, args.drain, 1000, 20, with_sub=True)


if __name__ == "__main__":
    main()
