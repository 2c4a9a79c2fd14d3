"""smartpark.testing.mqtt against a real mosquitto: delivery, filters, bounded waits."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from smartpark.core.topics import status_topic, telemetry_topic
from smartpark.testing.mqtt import Collector, Publisher
from smartpark.testing.payloads import payload, reading
from smartpark.testing.servers import Mosquitto

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]

T0 = 1_764_000_000_000


def gateway() -> str:
    return f"gw-{uuid.uuid4().hex[:8]}"  # the session broker is shared: topics of our own


@contextmanager
def frozen(broker: Mosquitto) -> Iterator[None]:
    """The broker process stopped (SIGSTOP): connections stay open, nothing is answered."""
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(broker.pid, signal.SIGCONT)


def test_every_published_payload_arrives_in_order(mosquitto: Mosquitto) -> None:
    gw = gateway()
    sent = [payload(gw, [reading("m-1", T0 + i, float(i))], seq=i) for i in range(50)]
    with Collector(mosquitto.host, mosquitto.port, topic=f"smartpark/v1/p1/{gw}/#") as seen:
        with Publisher(mosquitto) as pub:
            pub.publish(telemetry_topic("p1", gw), sent)
            pub.publish(status_topic("p1", gw), [b"online"], retain=True)
        got = seen.wait_for(50, timeout=20)
        deadline = time.monotonic() + 20
        while not seen.statuses() and time.monotonic() < deadline:
            time.sleep(0.02)
    assert [r["value"] for r in got] == [float(i) for i in range(50)]
    assert [p["seq"] for p in seen.payloads()] == list(range(50))
    assert seen.payloads() == [json.loads(p) for p in sent]
    assert seen.statuses() == [(b"online", False)]  # live delivery: retain flag not set
    assert [t for t, _, _ in seen.messages].count(telemetry_topic("p1", gw)) == 50


def test_a_collector_receives_only_its_topic(mosquitto: Mosquitto) -> None:
    gw = gateway()
    with Collector(mosquitto.host, mosquitto.port, topic=status_topic("p1", gw)) as seen:
        with Publisher(mosquitto) as pub:
            pub.publish(telemetry_topic("p1", gw), [payload(gw, [reading("m-1", T0)])])
            pub.publish(status_topic("p1", gw), [b"offline"])
        deadline = time.monotonic() + 20
        while not seen.messages and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # time for a wrongly delivered telemetry message to show up
    assert seen.messages == [(status_topic("p1", gw), b"offline", False)]
    assert seen.readings() == []


def test_wait_for_returns_what_arrived_when_too_few_did(mosquitto: Mosquitto) -> None:
    gw = gateway()
    with Collector(mosquitto.host, mosquitto.port, topic=f"smartpark/v1/p1/{gw}/#") as seen:
        with Publisher(mosquitto) as pub:
            pub.publish(telemetry_topic("p1", gw), [payload(gw, [reading("m-1", T0, 5.0)])])
        started = time.monotonic()
        got = seen.wait_for(2, timeout=1.0)
    assert time.monotonic() - started >= 1.0
    assert [r["value"] for r in got] == [5.0]


def test_publish_raises_when_no_puback_comes(tmp_path: Path) -> None:
    with (
        Mosquitto(tmp_path) as broker,
        Publisher(broker, timeout_s=0.5) as pub,
        frozen(broker),
        pytest.raises(TimeoutError, match=r"no PUBACK from .* within 0\.5 s"),
    ):
        pub.publish(telemetry_topic("p1", "g"), [payload("g", [])])


def test_start_raises_when_no_suback_comes(tmp_path: Path) -> None:
    with Mosquitto(tmp_path) as broker, frozen(broker):
        collector = Collector(broker.host, broker.port, timeout_s=0.5)
        with pytest.raises(TimeoutError, match="no SUBACK"):
            collector.start()
