"""Smoke tests of the real-server fixtures: the broker and the database work as used."""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from smartpark.testing.servers import Influxd, Mosquitto

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]

WAIT = 10.0  # seconds, for every single MQTT round trip


class Received:
    """What an on_message callback saw."""

    def __init__(self, message: mqtt.MQTTMessage) -> None:
        self.topic = message.topic
        self.payload = message.payload
        self.qos = message.qos
        self.retain = message.retain


class Client:
    """A paho 2.x (callback API v2, MQTT 3.1.1) client with bounded, blocking helpers."""

    def __init__(self, broker: Mosquitto, client_id: str, *, clean_session: bool = True) -> None:
        self.broker = broker
        self.messages: queue.Queue[Received] = queue.Queue()
        self.session_present: bool | None = None
        self._connected = threading.Event()
        self._subscribed: dict[int, list[Any]] = {}
        self._suback = threading.Condition()
        self.paho = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean_session,
            protocol=mqtt.MQTTv311,
        )
        self.paho.on_connect = self._on_connect
        self.paho.on_subscribe = self._on_subscribe
        self.paho.on_message = self._on_message

    def _on_connect(self, _c: mqtt.Client, _u: Any, flags: Any, rc: Any, _p: Any) -> None:
        if not rc.is_failure:
            self.session_present = bool(flags.session_present)
            self._connected.set()

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, codes: Any, _p: Any) -> None:
        with self._suback:
            self._subscribed[mid] = list(codes)
            self._suback.notify_all()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.messages.put(Received(message))

    def connect(self) -> None:
        self.paho.connect(self.broker.host, self.broker.port, keepalive=30)
        self.paho.loop_start()
        assert self._connected.wait(WAIT), f"no CONNACK within {WAIT} s\n{self.broker.log_tail()}"

    def subscribe(self, topic: str, qos: int = 1) -> None:
        result, mid = self.paho.subscribe(topic, qos=qos)
        assert result == mqtt.MQTT_ERR_SUCCESS
        assert mid is not None
        with self._suback:
            assert self._suback.wait_for(lambda: mid in self._subscribed, WAIT), "no SUBACK"
            codes = self._subscribed[mid]
        assert [code.value for code in codes] == [qos], codes

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        info = self.paho.publish(topic, payload, qos=qos)
        info.wait_for_publish(timeout=WAIT)  # raises on error, returns on PUBACK or timeout
        assert info.is_published(), f"no PUBACK within {WAIT} s"

    def receive(self) -> Received:
        try:
            return self.messages.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"no message within {WAIT} s") from None

    def disconnect(self) -> None:
        self.paho.disconnect()
        self.paho.loop_stop()


@contextmanager
def connected(broker: Mosquitto, client_id: str, *, clean_session: bool = True) -> Iterator[Client]:
    client = Client(broker, client_id, clean_session=clean_session)
    client.connect()
    try:
        yield client
    finally:
        client.disconnect()


def _id(role: str) -> str:
    return f"smoke-{role}-{uuid.uuid4().hex[:8]}"


def test_mqtt_qos1_round_trip(mosquitto: Mosquitto) -> None:
    topic = f"smartpark/test/{uuid.uuid4().hex}"
    assert mosquitto.url == f"mqtt://127.0.0.1:{mosquitto.port}"
    with connected(mosquitto, _id("sub")) as sub, connected(mosquitto, _id("pub")) as pub:
        sub.subscribe(topic, qos=1)
        pub.publish(topic, b'{"v": 1.5}', qos=1)
        got = sub.receive()
    assert (got.topic, got.payload, got.qos, got.retain) == (topic, b'{"v": 1.5}', 1, False)


def test_mqtt_persistent_session_survives_restart(mosquitto: Mosquitto) -> None:
    topic = f"smartpark/test/{uuid.uuid4().hex}"
    sub_id = _id("persistent")
    with connected(mosquitto, sub_id, clean_session=False) as sub:
        assert sub.session_present is False
        sub.subscribe(topic, qos=1)
    # The subscriber is away: the broker queues QoS 1 messages for its session.
    with connected(mosquitto, _id("pub")) as pub:
        pub.publish(topic, b"while-away", qos=1)
    old_pid = mosquitto.pid
    try:
        mosquitto.restart()
    finally:
        mosquitto.start()  # no-op when running; later tests need the broker
    assert mosquitto.pid != old_pid
    with connected(mosquitto, sub_id, clean_session=False) as sub:
        assert sub.session_present is True
        got = sub.receive()
        assert (got.topic, got.payload, got.qos) == (topic, b"while-away", 1)
        assert sub.messages.empty()


LINES = "\n".join(
    [
        'power,meter=chem-a-main,park=east value=12.5,count=3i,ok=true,note="a" 1700000000000',
        'power,meter=chem-a-main,park=east value=13.25,count=4i,ok=false,note="b" 1700000001500',
        "power,meter=boiler\\ 2,park=east value=-0.5,count=-1i,ok=true,"
        'note="q \\"x\\"" 1700000002999',
        "other,meter=chem-a-main value=99 1700000000000",
    ]
)

EXPECTED = [
    {
        "time": 1700000000000,
        "meter": "chem-a-main",
        "park": "east",
        "value": 12.5,
        "count": 3,
        "ok": True,
        "note": "a",
    },
    {
        "time": 1700000001500,
        "meter": "chem-a-main",
        "park": "east",
        "value": 13.25,
        "count": 4,
        "ok": False,
        "note": "b",
    },
    {
        "time": 1700000002999,
        "meter": "boiler 2",
        "park": "east",
        "value": -0.5,
        "count": -1,
        "ok": True,
        "note": 'q "x"',
    },
]


def test_influx_write_and_query_ms(influxd: Influxd, influx_db: str) -> None:
    assert influxd.url == f"http://127.0.0.1:{influxd.port}"
    assert influxd.store_url(influx_db) == f"influxdb://127.0.0.1:{influxd.port}/{influx_db}"
    assert influxd.query(influx_db, "SELECT * FROM power") == []
    influxd.write(influx_db, LINES)

    assert influxd.query(influx_db, "SELECT * FROM power ORDER BY time") == EXPECTED
    # Tags of GROUP BY series are merged into the rows.
    grouped = influxd.query(influx_db, "SELECT value FROM power GROUP BY meter")
    assert sorted((r["meter"], r["time"], r["value"]) for r in grouped) == [
        ("boiler 2", 1700000002999, -0.5),
        ("chem-a-main", 1700000000000, 12.5),
        ("chem-a-main", 1700000001500, 13.25),
    ]
    # The ms precision of the write is exact in other units too.
    rfc = influxd.query(influx_db, "SELECT value FROM power", epoch=None)
    assert [r["time"] for r in rfc] == [
        "2023-11-14T22:13:20Z",
        "2023-11-14T22:13:21.5Z",
        "2023-11-14T22:13:22.999Z",
    ]
    ns = influxd.query(influx_db, "SELECT value FROM power", epoch="ns")
    assert [r["time"] for r in ns] == [
        1700000000000000000,
        1700000001500000000,
        1700000002999000000,
    ]
    assert influxd.query(influx_db, "SELECT value FROM other") == [
        {"time": 1700000000000, "value": 99}
    ]


def test_influx_restart_keeps_data(influxd: Influxd, influx_db: str) -> None:
    influxd.write(influx_db, LINES)
    try:
        influxd.restart()
    finally:
        influxd.start()
    assert influx_db in influxd.databases()
    assert influxd.query(influx_db, "SELECT * FROM power ORDER BY time") == EXPECTED
