"""Random payloads through the real broker into a running ingest (real SQLite store).

Whatever arrives, the service keeps running, acknowledges every message, stores only
readings the registry allows (on the topic's gateway, finite, in canonical units), and
its counters add up.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartpark.core.timestamps import now_ms
from smartpark.ingest.service import Running, serve
from smartpark.store.sqlite import SqliteStore
from smartpark.testing.mqtt import Publisher
from smartpark.testing.servers import Mosquitto, wait_until
from tests.ingest.park import UNITS, park_registry
from tests.ingest.service_runner import settings_for

pytestmark = [pytest.mark.servers, pytest.mark.timeout(300)]

REG = park_registry()
T0 = now_ms() - 3_600_000


class LiveService:
    """The service on its own event loop in a thread, for many examples."""

    def __init__(self, broker: Mosquitto, tmp_path: Path) -> None:
        self.db = tmp_path / "store.db"
        self.settings = settings_for(
            broker, tmp_path, store=f"sqlite:///{self.db}", client_id=f"prop-{uuid.uuid4().hex}"
        )
        self.running: Running | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            started: asyncio.Future[Running] = self._loop.create_future()
            started.add_done_callback(lambda f: self._started(f.result()))
            await serve(self.settings, registry=REG, stop=self._stop, started=started)

        try:
            asyncio.run(main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    def _started(self, running: Running) -> None:
        self.running = running
        self._ready.set()

    def __enter__(self) -> Running:
        self._thread.start()
        assert self._ready.wait(30), "service did not start"
        assert self.running is not None, self._error
        running = self.running
        wait_until(lambda: running.subscriber.subscribed, timeout=30, what="subscription")
        return running

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
        assert not self._thread.is_alive()
        assert self._error is None, self._error


@pytest.fixture(scope="module")
def live(
    mosquitto: Mosquitto, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Running, Path]]:
    service = LiveService(mosquitto, tmp_path_factory.mktemp("property"))
    with service as running:
        yield running, service.db


TOPICS = [
    "smartpark/v1/p1/g1/telemetry",
    "smartpark/v1/p1/g2/telemetry",
    "smartpark/v1/p2/g3/telemetry",
    "smartpark/v1/p2/g1/telemetry",  # wrong park for g1
    "smartpark/v1/p1/g-x/telemetry",  # unknown gateway
]
GATEWAYS = ["g1", "g2", "g3", "g-x", "", "G1", None, 5]
METERS = [*REG.meter_ids, "m-ghost", "M", "m elec", "m\n", "", 7]
UNIT_PAIRS = [*UNITS.values(), ("electricity_import", "MWh"), ("nox", "kWh"), ("gass", "m3")]
JSON_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def readings(draw: st.DrawFn) -> Any:
    quantity, unit = draw(st.sampled_from(UNIT_PAIRS))
    r: dict[str, Any] = {
        "meter": draw(st.sampled_from(METERS)),
        "quantity": quantity,
        "ts": draw(
            st.one_of(
                st.integers(T0, T0 + 10**7),
                st.integers(-(2**63), 2**63 - 1),
                st.sampled_from(["2025-11-24T16:00:00Z", "soon", 1.5e12]),
            )
        ),
        "value": draw(
            st.one_of(
                st.floats(allow_nan=False, allow_infinity=False, width=32),
                st.sampled_from(["1.5", True, None, 1e308, [1.0]]),
            )
        ),
        "unit": unit,
    }
    for key in draw(st.lists(st.sampled_from(list(r)), max_size=2)):
        if draw(st.booleans()):
            r.pop(key, None)
        else:
            r[key] = draw(JSON_VALUES)
    return r


@st.composite
def payloads(draw: st.DrawFn) -> tuple[str, bytes]:
    topic = draw(st.sampled_from(TOPICS))
    kind = draw(st.sampled_from(["structured", "structured", "json", "bytes"]))
    if kind == "bytes":
        return topic, draw(st.binary(max_size=200))
    if kind == "json":
        return topic, json.dumps(draw(JSON_VALUES)).encode()
    doc = {
        "gateway": draw(st.sampled_from(GATEWAYS)) if draw(st.booleans()) else topic.split("/")[3],
        "seq": draw(st.integers(0, 10**6)),
        "sent_at": T0,
        "readings": draw(st.lists(st.one_of(readings(), JSON_VALUES), max_size=12)),
    }
    return topic, json.dumps(doc).encode()


def total(running: Running, name: str) -> float:
    return sum(
        s.value
        for metric in running.metrics.registry.collect()
        for s in metric.samples
        if s.name == f"smartpark_ingest_{name}_total"
    )


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(payloads(), min_size=1, max_size=6))
def test_random_payloads_never_break_the_service(
    live: tuple[Running, Path], mosquitto: Mosquitto, batch: list[tuple[str, bytes]]
) -> None:
    running, db = live
    acked = running.subscriber.acker.acked
    with Publisher(mosquitto) as pub:
        for topic, data in batch:
            pub.publish(topic, [data])
    wait_until(
        lambda: running.subscriber.acker.acked == acked + len(batch), timeout=30, what="acks"
    )
    assert running.subscriber.connected
    assert running.pipeline.health() is None
    # Counters add up: every telemetry message is rejected whole or admitted.
    assert total(running, "messages") == running.subscriber.acker.acked
    stored = total(running, "readings_stored")
    assert stored == total(running, "readings_accepted")
    # What is stored is allowed: only a registry meter, published on its own gateway's
    # topic in its park (an oracle independent of the service), finite values.
    for topic, data in batch:
        _, _, park, gateway, _ = topic.split("/")
        for r in _readings_of(data):
            meter_id = r.get("meter")
            meter = REG.meters.get(meter_id) if isinstance(meter_id, str) else None
            ts = r.get("ts")
            if (
                meter is not None
                and meter.gateway == gateway
                and REG.park_of_meter(meter.id) == park
                and type(ts) is int
            ):
                ALLOWED.add((REG.meter_code[meter.id], ts))
    with SqliteStore(db, REG) as store:
        points = store.read(-(2**62), 2**62)
    keys = set(zip(points.meter.tolist(), points.ts.tolist(), strict=True))
    assert keys <= ALLOWED
    assert all(math.isfinite(v) for v in points.value.tolist())
    assert len(points) <= stored  # identical (meter, ts) overwrite each other


ALLOWED: set[tuple[int, int]] = set()


def _readings_of(data: bytes) -> list[dict[str, Any]]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return []
    items = doc.get("readings") if isinstance(doc, dict) else None
    return [r for r in items if isinstance(r, dict)] if isinstance(items, list) else []
