"""The generated ACL against a real mosquitto: each gateway publishes only under its topic.

Users and passwords are made with ``mosquitto_passwd``; the broker runs with
``allow_anonymous false``, the password file and the ACL that ``smartpark deploy acl``
writes for the example registry. Non-delivery is shown without waiting on a clock: a
forbidden message is published *before* an allowed one on the same connection, and the
broker keeps order, so once the allowed one has arrived the forbidden one never will.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from smartpark.core import registry
from smartpark.core.errors import ConfigError, ServerNotInstalledError
from smartpark.deploy.acl import mosquitto_acl
from smartpark.testing.servers import Mosquitto

pytestmark = pytest.mark.servers

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.toml"
REG = registry.load(EXAMPLE)
PASSWORDS = {"smartpark-ingest": "ingest-pw", "gw-chem-a": "chem-pw", "gw-alu-a": "alu-pw"}
WAIT_S = 10.0


def missing(message: str) -> None:
    """Skip, or fail under CI (as tests/conftest.py does for the server binaries)."""
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{message} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(message)


def write_password_file(path: Path, users: dict[str, str]) -> None:
    tool = shutil.which("mosquitto_passwd") or (
        "/usr/bin/mosquitto_passwd" if Path("/usr/bin/mosquitto_passwd").exists() else None
    )
    if tool is None:
        missing("mosquitto_passwd not installed (Debian package mosquitto)")
        return
    path.touch(mode=0o600)
    for user, password in users.items():
        subprocess.run([tool, "-b", str(path), user, password], check=True, timeout=30)


class AuthMosquitto(Mosquitto):
    """A broker that refuses anonymous clients: "not authorised" (CONNACK code 5) to the
    harness's anonymous readiness probe means it is up and checking passwords."""

    def _ready(self) -> bool:
        connect = b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x0a\x00\x00"
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0) as sock:
                sock.sendall(connect)
                connack = sock.recv(4)
        except OSError:
            return False
        return connack == b"\x20\x02\x00\x05"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    work = tmp_path_factory.mktemp("acl-broker")
    passwd = work / "passwd"
    write_password_file(passwd, PASSWORDS)
    acl = work / "smartpark.acl"
    acl.write_text(mosquitto_acl(REG), encoding="utf-8")
    try:
        server = AuthMosquitto(
            work / "server",
            extra_config=["allow_anonymous false", f"password_file {passwd}", f"acl_file {acl}"],
        )
    except ServerNotInstalledError as exc:
        missing(str(exc))
        return
    with server:
        yield server


@dataclass
class Client:
    """A paho client with its events as queues, so every wait is bounded."""

    broker: Mosquitto
    user: str | None
    protocol: int = mqtt.MQTTv311
    connected: queue.Queue[object] = field(default_factory=queue.Queue)
    messages: queue.Queue[mqtt.MQTTMessage] = field(default_factory=queue.Queue)
    subacks: queue.Queue[list[object]] = field(default_factory=queue.Queue)
    pubacks: queue.Queue[object] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        self.paho = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-{self.user}-{uuid.uuid4().hex[:6]}",
            protocol=self.protocol,
        )
        if self.user is not None:
            self.paho.username_pw_set(self.user, PASSWORDS.get(self.user, "wrong"))
        self.paho.on_connect = lambda c, u, f, rc, p: self.connected.put(rc)
        self.paho.on_message = lambda c, u, msg: self.messages.put(msg)
        self.paho.on_subscribe = lambda c, u, mid, rcs, p: self.subacks.put(rcs)
        self.paho.on_publish = lambda c, u, mid, rc, p: self.pubacks.put(rc)

    def connect(self) -> object:
        self.paho.connect(self.broker.host, self.broker.port, keepalive=30)
        self.paho.loop_start()
        return self.connected.get(timeout=WAIT_S)

    def subscribe(self, topic: str) -> list[object]:
        self.paho.subscribe(topic, qos=1)
        return self.subacks.get(timeout=WAIT_S)

    def publish(self, topic: str, payload: bytes) -> object:
        info = self.paho.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=WAIT_S)
        return self.pubacks.get(timeout=WAIT_S)

    def next_message(self) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=WAIT_S)

    def close(self) -> None:
        self.paho.disconnect()
        self.paho.loop_stop()


@pytest.fixture
def clients(broker: Mosquitto) -> Iterator[callable]:
    made: list[Client] = []

    def make(user: str | None, protocol: int = mqtt.MQTTv311) -> Client:
        client = Client(broker, user, protocol)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def connected_ok(reason: object) -> bool:
    return not getattr(reason, "is_failure", True)


def test_acl_text_confines_each_gateway_to_its_park():
    text = mosquitto_acl(REG)
    assert "user gw-chem-a\ntopic write smartpark/v1/petrochem/gw-chem-a/#\n" in text
    assert "user gw-alu-a\ntopic write smartpark/v1/new-materials/gw-alu-a/#\n" in text
    assert "user smartpark-ingest\ntopic read smartpark/v1/#\n" in text
    assert text.count("\nuser ") == len(REG.gateways) + 1
    assert "readwrite" not in text
    assert "pattern" not in text


def test_acl_rejects_bad_ingest_users():
    with pytest.raises(ConfigError) as err:
        mosquitto_acl(REG, ["bad user", "gw-chem-a"])
    assert err.value.problems == [
        "ingest user 'bad user': must match [a-z0-9][a-z0-9_-]{0,63}",
        "ingest user 'gw-chem-a': is also a gateway id",
    ]


def test_gateway_cannot_publish_under_another_parks_topic(clients):
    ingest = clients("smartpark-ingest")
    assert connected_ok(ingest.connect())
    assert [int(getattr(rc, "value", rc)) for rc in ingest.subscribe("smartpark/v1/#")] == [1]
    gateway = clients("gw-chem-a")
    assert connected_ok(gateway.connect())

    forbidden = "smartpark/v1/new-materials/gw-alu-a/telemetry"  # another park's gateway
    also_forbidden = "smartpark/v1/petrochem/gw-chem-b/telemetry"  # same park, other gateway
    own = "smartpark/v1/petrochem/gw-chem-a/telemetry"
    gateway.publish(forbidden, b"spoofed-1")
    gateway.publish(also_forbidden, b"spoofed-2")
    gateway.publish(own, b"genuine")

    message = ingest.next_message()
    assert (message.topic, message.payload) == (own, b"genuine")
    assert ingest.messages.empty()


def test_mqtt5_gateway_is_told_it_is_not_authorised(clients):
    gateway = clients("gw-alu-a", mqtt.MQTTv5)
    assert connected_ok(gateway.connect())
    denied = gateway.publish("smartpark/v1/petrochem/gw-chem-a/telemetry", b"x")
    allowed = gateway.publish("smartpark/v1/new-materials/gw-alu-a/status", b"online")
    assert str(denied) == "Not authorized"
    assert not getattr(allowed, "is_failure", True)


def test_ingest_can_read_through_a_shared_subscription_but_not_publish(clients):
    ingest = clients("smartpark-ingest", mqtt.MQTTv5)
    assert connected_ok(ingest.connect())
    [granted] = ingest.subscribe("$share/smartpark-ingest/smartpark/v1/+/+/telemetry")
    assert not granted.is_failure
    ingest.publish("smartpark/v1/petrochem/gw-chem-a/telemetry", b"from-ingest")
    gateway = clients("gw-chem-a")
    assert connected_ok(gateway.connect())
    gateway.publish("smartpark/v1/petrochem/gw-chem-a/telemetry", b"from-gateway")
    message = ingest.next_message()
    assert message.payload == b"from-gateway"
    assert ingest.messages.empty()


def test_gateway_cannot_read_other_gateways(clients):
    """mosquitto 2.0 grants the SUBSCRIBE but checks read access on every delivery."""
    spy = clients("gw-chem-a")
    assert connected_ok(spy.connect())
    spy.subscribe("smartpark/v1/#")
    ingest = clients("smartpark-ingest")
    assert connected_ok(ingest.connect())
    ingest.subscribe("smartpark/v1/#")
    other = clients("gw-alu-a")
    assert connected_ok(other.connect())
    other.publish("smartpark/v1/new-materials/gw-alu-a/telemetry", b"private")
    assert ingest.next_message().payload == b"private"
    # A PUBACK on the spy's own connection comes after anything already queued for it.
    spy.publish("smartpark/v1/petrochem/gw-chem-a/status", b"online")
    assert spy.messages.empty()


@pytest.mark.parametrize("user", [None, "gw-chem-a-wrong", "nobody"])
def test_anonymous_and_wrong_passwords_are_refused(clients, user):
    client = clients(user)
    if user == "gw-chem-a-wrong":
        client.paho.username_pw_set("gw-chem-a", "not-the-password")
    assert not connected_ok(client.connect())


def test_cli_writes_the_same_acl(tmp_path):
    out = tmp_path / "smartpark.acl"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smartpark",
            "deploy",
            "acl",
            "--registry",
            str(EXAMPLE),
            "--ingest-user",
            "ingest-a",
            "--ingest-user",
            "ingest-b",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text() == mosquitto_acl(REG, ["ingest-a", "ingest-b"])
