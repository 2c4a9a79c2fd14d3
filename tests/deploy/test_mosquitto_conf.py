"""deploy/mosquitto/mosquitto.conf: the settings it must have, and a real broker running it.

The production file is started as it is, except for what a test machine must change:
its /mosquitto/ paths point into a temp directory, the listeners bind free loopback
ports, and ``user root`` keeps mosquitto from dropping to a user that cannot read the
temp files. TLS uses a throwaway CA made with the openssl command.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartpark.core import registry
from smartpark.deploy.acl import mosquitto_acl
from smartpark.testing.servers import LOOPBACK, find_mosquitto, free_port, wait_until
from tests.deploy.test_acl import (
    PASSWORDS,
    Client,
    connected_ok,
    missing,
    write_password_file,
)

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
EXAMPLE = ROOT / "examples" / "registry.toml"


def directives(text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            out.append((key, value.strip()))
    return out


def test_production_settings():
    settings = directives(CONF.read_text())
    single = dict(settings)
    assert single["persistence"] == "true"
    assert single["allow_anonymous"] == "false"
    assert single["per_listener_settings"] == "false"
    assert int(single["max_queued_messages"]) > 1000  # mosquitto's default drops QoS 1
    assert int(single["max_inflight_messages"]) > 20
    assert single["max_queued_bytes"] == "0"
    assert single["password_file"].startswith("/mosquitto/config/")
    assert single["acl_file"].startswith("/mosquitto/config/")
    assert int(single["message_size_limit"]) == 256 * 1024
    listeners = [v for k, v in settings if k == "listener"]
    assert listeners == ["8883", "1883"]
    for key in ("certfile", "keyfile", "cafile"):
        assert single[key].startswith("/mosquitto/certs/"), key
    assert single["tls_version"] == "tlsv1.2"


def make_certs(directory: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl command not installed")
    directory.mkdir()

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=directory, timeout=60)

    (directory / "san.ext").write_text(f"subjectAltName=IP:{LOOPBACK}\n")
    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=smartpark test CA",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        f"/CN={LOOPBACK}",
    )
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    )


class Broker:
    host = LOOPBACK

    def __init__(self, port: int) -> None:
        self.port = port


@pytest.fixture(scope="module")
def production_broker(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Broker, Broker, Path]]:
    binary = find_mosquitto()
    if binary is None:
        missing("mosquitto not installed (apt-get install mosquitto)")
        return
    work = tmp_path_factory.mktemp("prod-broker")
    config, data = work / "config", work / "data"
    config.mkdir()
    data.mkdir()
    make_certs(work / "certs")
    write_password_file(config / "passwd", PASSWORDS)
    (config / "smartpark.acl").write_text(mosquitto_acl(registry.load(EXAMPLE)))
    tls_port, plain_port = free_port(), free_port()
    text = (
        CONF.read_text()
        .replace("/mosquitto/config/", f"{config}/")
        .replace("/mosquitto/data/", f"{data}/")
        .replace("/mosquitto/certs/", f"{work}/certs/")
        .replace("listener 8883\n", f"listener {tls_port} {LOOPBACK}\n")
        .replace("listener 1883\n", f"listener {plain_port} {LOOPBACK}\n")
    )
    conf = work / "mosquitto.conf"
    conf.write_text("user root\n" + text)
    log = (work / "mosquitto.out").open("wb")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)

    def listening() -> bool:
        if proc.poll() is not None:
            raise AssertionError((work / "mosquitto.out").read_text())
        try:
            socket.create_connection((LOOPBACK, plain_port), timeout=1.0).close()
        except OSError:
            return False
        return True

    try:
        wait_until(listening, timeout=20, what="mosquitto with the production config")
        yield Broker(tls_port), Broker(plain_port), work / "certs" / "ca.crt"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def test_production_config_serves_tls_with_passwords_and_acl(production_broker):
    tls, plain, ca = production_broker
    ingest = Client(plain, "smartpark-ingest")
    gateway = Client(tls, "gw-chem-a")
    anonymous = Client(tls, None)
    gateway.paho.tls_set(ca_certs=str(ca))
    anonymous.paho.tls_set(ca_certs=str(ca))
    try:
        assert connected_ok(ingest.connect())
        ingest.subscribe("smartpark/v1/#")
        assert connected_ok(gateway.connect())
        gateway.publish("smartpark/v1/new-materials/gw-alu-a/telemetry", b"spoofed")
        gateway.publish("smartpark/v1/petrochem/gw-chem-a/telemetry", b"over-tls")
        message = ingest.next_message()
        assert (message.topic, message.payload) == (
            "smartpark/v1/petrochem/gw-chem-a/telemetry",
            b"over-tls",
        )
        assert ingest.messages.empty()
        assert not connected_ok(anonymous.connect())
    finally:
        for client in (ingest, gateway, anonymous):
            client.close()
