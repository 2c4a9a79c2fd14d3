"""End-to-end ingest benchmark: publisher → mosquitto → ingest → influxd, on this machine.

Prints, from one run on the same servers:

- raw ceilings: mosquitto delivery rate to a bare paho subscriber (QoS 1, auto-ack), and
  influxd's write rate for pre-built line protocol (batches of ``--batch-size`` points);
- a naive baseline: paho ``on_message`` → ``json.loads`` → one HTTP write per message;
- ``smartpark ingest`` (the real CLI, in its own process, full validation, ack after
  write): sustained readings/s at full speed, then p50/p99 publish→stored latency at
  half that rate, and the ingest process's peak RSS;
- the ratios: ingest / naive and ingest / the lower raw ceiling.

Every message carries 100 readings (one gateway's 100 meters). "Stored" is when the
ingest's ``Store.write`` returned (its ``readings_stored_total`` metric, polled every
10 ms); messages are stored in publish order, so message *i* is stored once that counter
reaches 100·(i+1). Polling /metrics costs the ingest about 1 ms of CPU per poll, so it
is polled every 50 ms (the latency figures have that resolution). The final count in
influxd is checked with InfluxQL.

    /tmp/venv/bin/python bench/bench_ingest.py            # about 3 minutes
    /tmp/venv/bin/python bench/bench_ingest.py --messages 5000 --naive-messages 1000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

from smartpark.core import contract, quantities
from smartpark.core.registry import load as load_registry
from smartpark.core.timestamps import now_ms
from smartpark.store.base import ReadingColumns
from smartpark.store.lineprotocol import LineBuilder
from smartpark.testing.servers import Influxd, Mosquitto, free_port

PER_MESSAGE = 100
QUANTITY_CYCLE = [
    ("electricity_import", "MWh"),
    ("fresh_water", "m3"),
    ("natural_gas", "m3"),
    ("steam", "kg"),
]


# --------------------------------------------------------------------------- workload


def registry_toml(gateways: int) -> str:
    lines = ['[zone.z]\nname = "Bench zone"\n', '[park.bench]\nzone = "z"\nname = "Bench"\n']
    for g in range(gateways):
        lines.append(f'[enterprise.ent-{g}]\npark = "bench"\nname = "Enterprise {g}"\n')
        lines.append(f'[gateway.gw-{g}]\npark = "bench"\n')
        for m in range(PER_MESSAGE):
            quantity, _ = QUANTITY_CYCLE[m % len(QUANTITY_CYCLE)]
            lines.append(
                f'[meter.m-{g}-{m}]\nenterprise = "ent-{g}"\ngateway = "gw-{g}"\n'
                f'quantity = "{quantity}"\n'
            )
    return "\n".join(lines)


def topic(g: int) -> str:
    return f"smartpark/v1/bench/gw-{g}/telemetry"


def build_payloads(gateways: int, messages: int, base_ts: int) -> list[tuple[str, bytes]]:
    """Message i: gateway i % G, its 100 meters, ts base + i // G (every point distinct)."""
    out = []
    for i in range(messages):
        g, step = i % gateways, i // gateways
        readings = [
            contract.Reading(
                f"m-{g}-{m}",
                QUANTITY_CYCLE[m % len(QUANTITY_CYCLE)][0],
                base_ts + step,
                float(step) + m / 8.0,
                QUANTITY_CYCLE[m % len(QUANTITY_CYCLE)][1],
            )
            for m in range(PER_MESSAGE)
        ]
        out.append((topic(g), contract.encode(f"gw-{g}", i, base_ts, readings)))
    return out


# --------------------------------------------------------------------------- publisher


def publisher_main(
    host: str,
    port: int,
    gateways: int,
    messages: int,
    base_ts: int,
    rate_msgs: float | None,
    ready: Any,
    go: Any,
    out_path: str,
) -> None:
    """Subprocess: pre-build payloads, wait for go, publish QoS 1, save publish times."""
    payloads = build_payloads(gateways, messages, base_ts)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, port, keepalive=60)
    client.loop_start()
    sent_at = np.zeros(messages, dtype=np.float64)
    ready.set()
    go.wait(60)
    start = time.time()
    infos = []
    for i, (t, p) in enumerate(payloads):
        if rate_msgs is not None:
            due = start + i / rate_msgs
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
        sent_at[i] = time.time()
        infos.append(client.publish(t, p, qos=1))
    for info in infos:
        info.wait_for_publish(timeout=120)
    np.save(out_path, sent_at)
    client.disconnect()
    client.loop_stop()


@dataclass
class Publishing:
    proc: Any
    go: Any
    out: str

    def start(self) -> float:
        self.go.set()
        return time.time()

    def publish_times(self) -> np.ndarray:
        self.proc.join(300)
        return np.load(self.out + ".npy")


def start_publisher(
    broker: Mosquitto, gateways: int, messages: int, base_ts: int, rate_msgs: float | None
) -> Publishing:
    ctx = mp.get_context("spawn")
    ready, go = ctx.Event(), ctx.Event()
    out = tempfile.mktemp(prefix="bench-pub-")
    proc = ctx.Process(
        target=publisher_main,
        args=(broker.host, broker.port, gateways, messages, base_ts, rate_msgs, ready, go, out),
        daemon=True,
    )
    proc.start()
    if not ready.wait(120):
        raise RuntimeError("publisher did not get ready")
    return Publishing(proc, go, out)


# --------------------------------------------------------------------------- ceilings


def paho_subscriber_rate(
    broker: Mosquitto,
    client_id: str,
    handle: Callable[[Any], None],
    gateways: int,
    messages: int,
    base_ts: int,
    timeout_s: float,
) -> float:
    """Readings/s from the start of publishing until a paho subscriber (QoS 1, paho's
    automatic ack) has run ``handle`` on the last of ``messages`` messages."""
    got = 0
    done = threading.Event()
    last = [0.0]

    def on_message(_c: Any, _u: Any, message: Any) -> None:
        nonlocal got
        handle(message)
        got += 1
        if got == messages:
            last[0] = time.time()
            done.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    sub.on_message = on_message
    sub.connect(broker.host, broker.port)
    sub.subscribe("smartpark/v1/+/+/telemetry", qos=1)
    sub.loop_start()
    time.sleep(0.5)
    pub = start_publisher(broker, gateways, messages, base_ts, None)
    t0 = pub.start()
    done.wait(timeout_s)
    pub.publish_times()
    sub.disconnect()
    sub.loop_stop()
    return messages * PER_MESSAGE / (last[0] - t0)


def mosquitto_ceiling(broker: Mosquitto, gateways: int, messages: int, base_ts: int) -> float:
    """Readings/s delivered to a bare paho subscriber (QoS 1, paho's automatic ack)."""
    return paho_subscriber_rate(
        broker, "bench-bare-sub", lambda _m: None, gateways, messages, base_ts, 300
    )


def influx_ceiling(
    influxd: Influxd, db: str, registry_path: Path, points: int, batch: int
) -> float:
    """Points/s influxd takes of pre-built line protocol, one client, sequential batches."""
    registry = load_registry(registry_path)
    builder = LineBuilder(registry)
    n_meters = len(registry.meter_ids)
    bodies = []
    for start in range(0, points, batch):
        idx = np.arange(start, min(points, start + batch))
        cols = ReadingColumns(
            (idx % n_meters).astype(np.int32),
            (1_700_000_000_000 + idx // n_meters).astype(np.int64),
            idx.astype(np.float64),
        )
        bodies.append(builder.build(cols))
    with httpx.Client(base_url=influxd.url, trust_env=False, timeout=60) as http:
        t0 = time.perf_counter()
        for body in bodies:
            r = http.post("/write", params={"db": db, "precision": "ms"}, content=body)
            r.raise_for_status()
        elapsed = time.perf_counter() - t0
    return points / elapsed


# --------------------------------------------------------------------------- naive


def naive_baseline(
    broker: Mosquitto, influxd: Influxd, db: str, gateways: int, messages: int, base_ts: int
) -> float:
    """paho on_message → json.loads → line protocol → one HTTP POST per message."""
    http = httpx.Client(base_url=influxd.url, trust_env=False, timeout=60)
    kinds = {q.name: q.kind for q in quantities.QUANTITIES}

    def write_one(message: Any) -> None:
        doc = json.loads(message.payload)
        park = message.topic.split("/")[2]
        lines = []
        for r in doc["readings"]:
            factor = quantities.BY_NAME[r["quantity"]].units[r["unit"]]
            lines.append(
                f"{kinds[r['quantity']]},meter={r['meter']},park={park},quantity={r['quantity']}"
                f" value={r['value'] * factor} {r['ts']}"
            )
        http.post("/write", params={"db": db, "precision": "ms"}, content="\n".join(lines))

    try:
        return paho_subscriber_rate(
            broker, "bench-naive-sub", write_one, gateways, messages, base_ts, 600
        )
    finally:
        http.close()


# --------------------------------------------------------------------------- ingest


class Ingest:
    """``smartpark ingest`` in its own process, its metrics polled every 50 ms."""

    def __init__(
        self,
        broker: Mosquitto,
        store_url: str,
        registry: Path,
        workdir: Path,
        args: argparse.Namespace,
    ) -> None:
        self.port = free_port()
        self.client_id = f"bench-ingest-{os.getpid()}-{time.time_ns()}"
        cmd = [
            sys.executable,
            "-m",
            "smartpark",
            "ingest",
            "--registry",
            str(registry),
            "--broker",
            broker.url,
            "--store",
            store_url,
            "--metrics-port",
            str(self.port),
            "--client-id",
            self.client_id,
            "--batch-size",
            str(args.batch_size),
            "--batch-ms",
            str(args.batch_ms),
            "--log-level",
            "warning",
        ]
        env_protocol = {"SMARTPARK_MQTT_PROTOCOL": args.mqtt_protocol}
        env = dict(os.environ, SMARTPARK_DEAD_LETTERS=str(workdir / "dead.db"), **env_protocol)
        self.log = (workdir / "ingest.log").open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.ps = psutil.Process(self.proc.pid)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", trust_env=False)
        self.peak_rss = 0
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.health() == 200:
                return
            time.sleep(0.1)
        raise RuntimeError("ingest did not become healthy; see " + str(workdir / "ingest.log"))

    def health(self) -> int:
        try:
            return self.http.get("/healthz", timeout=1).status_code
        except httpx.HTTPError:
            return 0

    def stored(self) -> float:
        text = self.http.get("/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith("smartpark_ingest_readings_stored_total "):
                return float(line.split()[1])
        return 0.0

    def watch(self, target: float, timeout: float) -> np.ndarray:
        """Poll until ``target`` readings are stored: rows of (time, stored)."""
        rows = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            now, value = time.time(), self.stored()
            rows.append((now, value))
            self.peak_rss = max(self.peak_rss, self.ps.memory_info().rss)
            if value >= target:
                break
            time.sleep(0.05)
        return np.array(rows)

    def stop(self) -> int:
        self.proc.terminate()
        code = self.proc.wait(60)
        self.http.close()
        self.log.close()
        return code


def stored_times(watch: np.ndarray, messages: int, offset: float) -> np.ndarray:
    """When message i was stored: the first poll where stored >= offset + 100·(i+1)."""
    need = offset + PER_MESSAGE * (np.arange(messages) + 1)
    pos = np.searchsorted(watch[:, 1], need, side="left")
    pos = np.minimum(pos, len(watch) - 1)
    return watch[pos, 0]


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateways", type=int, default=10)
    parser.add_argument("--messages", type=int, default=30_000, help="full-speed run")
    parser.add_argument("--naive-messages", type=int, default=3_000)
    parser.add_argument("--ceiling-messages", type=int, default=20_000)
    parser.add_argument("--half-rate-seconds", type=float, default=15.0)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--batch-ms", type=int, default=100)
    parser.add_argument("--mqtt-protocol", choices=["5", "3.1.1"], default="5")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    registry = work / "registry.toml"
    registry.write_text(registry_toml(args.gateways))
    base = now_ms() - 6 * 3600 * 1000
    print(
        f"machine: {os.cpu_count()} cores; {args.gateways} gateways x {PER_MESSAGE} meters; "
        f"ingest MQTT {args.mqtt_protocol}, batch {args.batch_size} / {args.batch_ms} ms"
    )
    with (
        Mosquitto(work / "mosquitto", max_inflight_messages=1000) as broker,
        Influxd(work / "influxd") as influxd,
    ):
        for db in ("ceiling", "naive", "ingest", "half"):
            influxd.create_database(db)

        mq = mosquitto_ceiling(broker, args.gateways, args.ceiling_messages, base)
        print(f"ceiling  mosquitto -> bare paho subscriber : {mq:12,.0f} readings/s")
        ix = influx_ceiling(
            influxd, "ceiling", registry, args.ceiling_messages * PER_MESSAGE, args.batch_size
        )
        print(f"ceiling  influxd pre-built line protocol   : {ix:12,.0f} points/s")
        naive = naive_baseline(broker, influxd, "naive", args.gateways, args.naive_messages, base)
        print(f"baseline naive (one HTTP write per message): {naive:12,.0f} readings/s")

        # Full speed: the publisher runs ahead, the broker queues, ingest drains.
        ingest = Ingest(broker, influxd.store_url("ingest"), registry, work, args)
        total = args.messages * PER_MESSAGE
        pub = start_publisher(broker, args.gateways, args.messages, base, None)
        cpu0 = sum(ingest.ps.cpu_times()[:2])
        t0 = pub.start()
        watch = ingest.watch(total, timeout=900)
        cpu = sum(ingest.ps.cpu_times()[:2]) - cpu0
        pub.publish_times()
        done = watch[-1, 0]
        overall = watch[-1, 1] / (done - t0)
        lo, hi = np.searchsorted(watch[:, 1], [0.1 * total, 0.9 * total])
        steady = (watch[hi, 1] - watch[lo, 1]) / (watch[hi, 0] - watch[lo, 0])
        print(
            f"ingest   full speed, {args.messages} msgs      : {overall:12,.0f} readings/s "
            f"overall, {steady:,.0f} steady (10%..90%)"
        )
        print(
            f"ingest   CPU per 100,000 readings          : {cpu / total * 1e5:12.3f} s "
            f"(so one core alone would ingest {total / cpu:,.0f} readings/s)"
        )

        # Half rate: paced publisher, latency from publish to stored.
        rate = steady / 2 / PER_MESSAGE  # messages/s
        n_half = max(100, int(rate * args.half_rate_seconds))
        offset = ingest.stored()
        pub = start_publisher(broker, args.gateways, n_half, base + 10_000_000, rate)
        pub.start()
        watch2 = ingest.watch(offset + n_half * PER_MESSAGE, timeout=300)
        sent = pub.publish_times()
        lat = stored_times(watch2, n_half, offset) - sent
        p50, p99 = np.percentile(lat, [50, 99])
        print(
            f"ingest   half rate ({rate * PER_MESSAGE:,.0f} readings/s, {n_half} msgs): "
            f"latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (50 ms polling)"
        )
        rss = ingest.peak_rss / 2**20
        code = ingest.stop()
        print(f"ingest   peak RSS                          : {rss:12.1f} MB (exit code {code})")

        counted = influxd.query("ingest", "SELECT count(value) FROM energy, water")
        in_db = sum(int(row["count"]) for row in counted)
        expected = (args.messages + n_half) * PER_MESSAGE
        print(f"check    points in influxd (ingest db)     : {in_db:12,} of {expected:,}")

        lower = min(mq, ix)
        print()
        print(f"ingest / naive            : {steady / naive:6.2f} x  (target >= 2)")
        print(
            f"ingest / lower ceiling    : {steady / lower:6.2f}    (lower ceiling {lower:,.0f}/s)"
        )
        print(
            f"targets: >= 100,000 readings/s {'OK' if steady >= 100_000 else 'MISSED'}; "
            f"p99 < 1 s {'OK' if p99 < 1 else 'MISSED'}; "
            f"RSS < 200 MB {'OK' if rss < 200 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
