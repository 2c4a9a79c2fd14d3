"""TLS and username/password against a separately started mosquitto (TLS-only listener)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from smartpark.core.mqtt import MqttOptions
from smartpark.gateway.outbox import Outbox
from smartpark.gateway.publisher import Publisher, PublishOptions
from smartpark.gateway.readings import ReadingBatch
from smartpark.testing.mqtt import Collector
from smartpark.testing.servers import find_mosquitto, free_port

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """mosquitto with one TLS listener, password auth, a CA and a server cert for 127.0.0.1."""
    binary = find_mosquitto()
    if (
        binary is None
        or shutil.which("openssl") is None
        or shutil.which("mosquitto_passwd") is None
    ):
        pytest.skip("needs mosquitto, mosquitto_passwd and openssl")
    d = tmp_path
    _run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=smartpark-test-ca",
        cwd=d,
    )
    _run(
        "openssl",
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
        cwd=d,
    )
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _run(
        "openssl",
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        cwd=d,
    )
    _run("mosquitto_passwd", "-b", "-c", str(d / "passwd"), "gw-tls", "s3cret", cwd=d)
    _run("mosquitto_passwd", "-b", str(d / "passwd"), "reader", "r3ader", cwd=d)
    port = free_port()
    (d / "mosquitto.conf").write_text(
        "\n".join(
            [
                "per_listener_settings true",
                "user root",
                f"listener {port} 127.0.0.1",
                f"cafile {d / 'ca.pem'}",
                f"certfile {d / 'server.pem'}",
                f"keyfile {d / 'server.key'}",
                "allow_anonymous false",
                f"password_file {d / 'passwd'}",
                f"log_dest file {d / 'mosquitto.log'}",
            ]
        )
        + "\n"
    )
    proc = subprocess.Popen(
        [binary, "-c", str(d / "mosquitto.conf")],
        cwd=d,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, (d / "mosquitto.log").read_text()
                assert time.monotonic() < deadline, "mosquitto (TLS) did not start"
                time.sleep(0.05)
        yield port, d
    finally:
        proc.terminate()
        proc.wait(10)


def _outbox(path: Path, n: int) -> Outbox:
    box = Outbox(path)
    i = np.arange(n)
    box.add(
        ReadingBatch.of(["m"] * n, ["o2"] * n, ["%"] * n, 1_767_225_600_000 + i * 1000, i * 0.1)
    )
    return box


def test_publishes_over_tls_with_username_and_password(
    tls_broker: tuple[int, Path], tmp_path: Path
) -> None:
    port, d = tls_broker
    collector = Collector(
        "127.0.0.1", port, ca_file=str(d / "ca.pem"), username="reader", password="r3ader"
    ).start()
    try:
        with _outbox(tmp_path / "o.db", 120) as box:
            pub = Publisher(
                box,
                park="p1",
                gateway="gw-tls",
                mqtt_options=MqttOptions(
                    "127.0.0.1",
                    port,
                    "gw-tls",
                    tls=True,
                    ca_file=str(d / "ca.pem"),
                    username="gw-tls",
                    password="s3cret",
                ),
                options=PublishOptions(batch_max=50),
            )

            async def main() -> None:
                task = asyncio.create_task(pub.run())
                deadline = time.monotonic() + 30
                while box.count and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                pub.stop()
                await asyncio.wait_for(task, 20)

            asyncio.run(main())
            assert box.count == 0
        got = collector.wait_for(120)
        assert [round(r["value"], 1) for r in got] == [round(v * 0.1, 1) for v in range(120)]
    finally:
        collector.stop()


@pytest.mark.parametrize(
    ("password", "ca"), [("wrong", True), ("s3cret", False)], ids=["bad-password", "untrusted-ca"]
)
def test_refused_connection_keeps_readings_and_retries(
    tls_broker: tuple[int, Path], tmp_path: Path, password: str, ca: bool
) -> None:
    port, d = tls_broker
    other_ca = tmp_path / "other-ca.pem"
    _run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-keyout",
        "o.key",
        "-out",
        str(other_ca),
        "-subj",
        "/CN=other",
        cwd=tmp_path,
    )
    with _outbox(tmp_path / "o.db", 10) as box:
        pub = Publisher(
            box,
            park="p1",
            gateway="gw-tls",
            mqtt_options=MqttOptions(
                "127.0.0.1",
                port,
                "gw-tls",
                tls=True,
                ca_file=str(d / "ca.pem") if ca else str(other_ca),
                username="gw-tls",
                password=password,
                connect_timeout_s=3,
            ),
            options=PublishOptions(backoff_min_s=0.05, backoff_max_s=0.2),
        )

        async def main() -> None:
            task = asyncio.create_task(pub.run())
            deadline = time.monotonic() + 30
            while pub.stats.connect_failures < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            pub.stop()
            await asyncio.wait_for(task, 20)

        asyncio.run(main())
        assert pub.stats.connect_failures >= 3
        assert pub.stats.published == 0
        assert box.count == 10  # nothing lost, nothing deleted


def test_a_broken_certificate_is_reported_and_retried_not_a_crash(tmp_path: Path) -> None:
    bad_ca = tmp_path / "ca.pem"
    bad_ca.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    with _outbox(tmp_path / "o.db", 5) as box:
        pub = Publisher(
            box,
            park="p1",
            gateway="gw-tls",
            mqtt_options=MqttOptions(
                "127.0.0.1", free_port(), "gw-tls", tls=True, ca_file=str(bad_ca)
            ),
            options=PublishOptions(backoff_min_s=0.02, backoff_max_s=0.05),
        )

        async def main() -> None:
            task = asyncio.create_task(pub.run())
            deadline = time.monotonic() + 20
            while pub.stats.connect_failures < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            pub.stop()
            await asyncio.wait_for(task, 10)

        asyncio.run(main())
        assert pub.stats.connect_failures >= 2
        assert box.count == 5
