"""The demo's embedded brokers carry QoS 1 telemetry to a persistent-session subscriber."""

import asyncio

import aiomqtt
import paho.mqtt.client as mqtt
import pytest

from smartpark.core.urls import parse_broker_url
from smartpark.demo.broker import embedded_broker
from smartpark.testing.servers import find_mosquitto


async def round_trip(url: str, count: int) -> list[bytes]:
    broker = parse_broker_url(url)
    got: list[bytes] = []
    async with aiomqtt.Client(
        broker.host, broker.port, identifier="demo-test-ingest", clean_session=False
    ) as sub:
        await sub.subscribe("smartpark/v1/+/+/telemetry", qos=1)

        def publish() -> None:
            pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="demo-test-gw")
            pub.connect(broker.host, broker.port)
            pub.loop_start()
            infos = [
                pub.publish("smartpark/v1/p/g/telemetry", f"m{i}".encode(), qos=1)
                for i in range(count)
            ]
            for info in infos:
                info.wait_for_publish(10)
            pub.loop_stop()
            pub.disconnect()

        sender = asyncio.create_task(asyncio.to_thread(publish))
        async with asyncio.timeout(30):
            async for message in sub.messages:
                got.append(bytes(message.payload))  # type: ignore[arg-type]
                if len(got) == count:
                    break
        await sender
    return got


@pytest.mark.parametrize("use_mosquitto", [False, True], ids=["amqtt", "mosquitto"])
def test_embedded_broker_delivers_every_qos1_message(tmp_path, use_mosquitto):
    if use_mosquitto and find_mosquitto() is None:
        pytest.skip("mosquitto not installed")

    async def main() -> tuple[str, list[bytes]]:
        async with embedded_broker(tmp_path, mosquitto=use_mosquitto) as (url, description):
            return description, await round_trip(url, 200)

    description, got = asyncio.run(main())
    assert description.startswith("mosquitto" if use_mosquitto else "amqtt")
    assert sorted(got) == sorted(f"m{i}".encode() for i in range(200))
